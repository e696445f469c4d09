#include "engine/node/spdy_session.h"

#include <array>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include "engine/api/split.h"

namespace kd::node::spdy {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;

// Frames are written to the client in batches of at most this many bytes.
constexpr size_t kWriteBatch = 128 * 1024;

class RawTransport : public Transport {
 public:
  explicit RawTransport(TunnelStream& stream) : stream_(stream) {}
  void read(ReadHandler handler) override {
    stream_.async_read_some(net::buffer(buf_), [this, handler](beast::error_code ec, size_t n) {
      handler(ec, std::string_view(buf_.data(), n));
    });
  }
  void write(const std::string& bytes, WriteHandler handler) override {
    net::async_write(stream_, net::buffer(bytes),
                     [handler](beast::error_code ec, size_t) { handler(ec); });
  }
  void close() override { beast::get_lowest_layer(stream_).close(); }

 private:
  TunnelStream& stream_;
  std::array<char, 64 * 1024> buf_{};
};

class WebSocketTransport : public Transport {
 public:
  explicit WebSocketTransport(websocket::stream<TunnelStream>& ws) : ws_(ws) { ws_.binary(true); }
  void read(ReadHandler handler) override {
    ws_.async_read(in_, [this, handler](beast::error_code ec, size_t) {
      const std::string message = beast::buffers_to_string(in_.data());
      in_.consume(in_.size());
      handler(ec, message);
    });
  }
  void write(const std::string& bytes, WriteHandler handler) override {
    ws_.async_write(net::buffer(bytes), [handler](beast::error_code ec, size_t) { handler(ec); });
  }
  void close() override { beast::get_lowest_layer(ws_).close(); }

 private:
  websocket::stream<TunnelStream>& ws_;
  beast::flat_buffer in_;
};

std::string trimmed(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(" \t") - b + 1));
}

}  // namespace

std::unique_ptr<Transport> rawTransport(TunnelStream& stream) {
  return std::make_unique<RawTransport>(stream);
}

std::unique_ptr<Transport> webSocketTransport(websocket::stream<TunnelStream>& ws) {
  return std::make_unique<WebSocketTransport>(ws);
}

bool isUpgrade(const http::request<http::string_body>& req) {
  std::string upgrade(req[http::field::upgrade]);
  for (auto& c : upgrade) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return upgrade.find("spdy/3.1") != std::string::npos;
}

std::vector<std::string> offeredProtocols(const http::request<http::string_body>& req) {
  std::vector<std::string> out;
  for (auto [it, end] = req.equal_range("X-Stream-Protocol-Version"); it != end; ++it) {
    const std::string value(it->value());
    for (const auto& item : api::splitOn(value, ',')) {
      if (std::string p = trimmed(item); !p.empty()) out.push_back(std::move(p));
    }
  }
  return out;
}

bool acceptUpgrade(TunnelStream& stream, const std::string& protocol) {
  const std::string reply =
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
      "X-Stream-Protocol-Version: " +
      protocol + "\r\n\r\n";
  beast::error_code ec;
  net::write(stream, net::buffer(reply), ec);
  return !ec;
}

Session::Session(net::io_context& ioc, std::unique_ptr<Transport> transport)
    : ioc_(ioc), transport_(std::move(transport)) {}

Session::~Session() = default;

void Session::start(std::string_view leftover) {
  if (!leftover.empty()) decoder_.feed(leftover);
  processFrames();
}

void Session::readClient() {
  if (reading_ || ended_) return;
  if (!acceptsInput()) {
    readPaused_ = true;
    return;
  }
  reading_ = true;
  transport_->read([self = shared_from_this()](beast::error_code ec, std::string_view bytes) {
    self->reading_ = false;
    if (ec) return self->end();
    self->decoder_.feed(bytes);
    self->processFrames();
  });
}

void Session::resumeReading() {
  if (!readPaused_ || !acceptsInput()) return;
  readPaused_ = false;
  readClient();
}

void Session::processFrames() {
  for (;;) {
    auto frame = decoder_.next();
    if (!frame.ok()) {
      send(goAway(lastStream_, kProtocolError));
      return endAfterFlush();
    }
    if (!*frame) break;
    handle(std::move(**frame));
    if (ended_) return;
  }
  readClient();
}

void Session::handle(Frame f) {
  switch (f.type) {
    case FrameType::SynStream:
      lastStream_ = std::max(lastStream_, f.streamId);
      flow_.openStream(f.streamId);
      send(synReply(f.streamId));
      return onStream(f);
    case FrameType::Data:
      return onData(std::move(f));
    case FrameType::RstStream:
      onReset(f.streamId);
      return flow_.closeStream(f.streamId);
    case FrameType::Settings:
      flow_.settings(f.settings);
      return onWritable();
    case FrameType::WindowUpdate:
      if (!flow_.windowUpdate(f.streamId, f.value).isOk()) {
        send(rstStream(f.streamId, kFlowControlError));
      }
      return onWritable();
    case FrameType::Ping:
      return send(ping(f.value));
    case FrameType::GoAway:
      return endAfterFlush();
    default:
      return;
  }
}

void Session::consumed(uint32_t id, size_t bytes) {
  for (auto& update : flow_.consumed(id, bytes)) send(update);
}

void Session::send(const Frame& frame) {
  if (ended_) return;
  std::string bytes;
  if (!encoder_.encode(frame, bytes).isOk()) return end();
  outBytes_ += bytes.size();
  outq_.push_back(std::move(bytes));
  flush();
}

void Session::flush() {
  if (writing_ || ended_) return;
  if (outq_.empty()) {
    if (endAfterFlush_) end();
    return;
  }
  auto batch = std::make_shared<std::string>();
  while (!outq_.empty() && batch->size() < kWriteBatch) {
    *batch += outq_.front();
    outq_.pop_front();
  }
  writing_ = true;
  transport_->write(*batch, [self = shared_from_this(), batch](beast::error_code ec) {
    self->writing_ = false;
    self->outBytes_ -= batch->size();
    if (ec) return self->end();
    self->flush();
    if (!self->ended_) self->onWritable();
  });
}

void Session::endAfterFlush() {
  endAfterFlush_ = true;
  flush();
}

void Session::end() {
  if (ended_) return;
  ended_ = true;
  onEnd();
  transport_->close();
}

}  // namespace kd::node::spdy

#include "engine/node/port_forward.h"

#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <functional>
#include <map>
#include <set>

#include "engine/node/probes.h"
#include "engine/node/spdy.h"

namespace kd::node {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using spdy::Frame;
using spdy::FrameType;

constexpr const char* kProtocol = "portforward.k8s.io";
constexpr auto kDialTimeout = std::chrono::seconds(5);
constexpr size_t kReadChunk = 32 * 1024;
// Bytes queued towards kubectl above which pods are not read, and bytes queued towards one pod
// above which kubectl is not read: back-pressure instead of unbounded buffers.
constexpr size_t kClientQueueLimit = 512 * 1024;
constexpr size_t kPodQueueLimit = 1024 * 1024;

// --- byte transports for the SPDY session ------------------------------------------------------

class Transport {
 public:
  using ReadHandler = std::function<void(beast::error_code, std::string_view)>;
  using WriteHandler = std::function<void(beast::error_code)>;
  virtual ~Transport() = default;
  // One read or write in flight each at a time.
  virtual void read(ReadHandler handler) = 0;
  virtual void write(const std::string& bytes, WriteHandler handler) = 0;
  virtual void close() = 0;
};

// The SPDY bytes straight on the tunnel stream.
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

// The SPDY bytes in WebSocket binary messages (KEP-4006 tunnelling).
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

// --- the session -------------------------------------------------------------------------------

// One forwarded connection: a pair of streams and the socket in the pod.
struct Forward {
  explicit Forward(net::io_context& ioc) : socket(ioc) {}
  uint32_t errorStream = 0, dataStream = 0;
  std::string port;
  tcp::socket socket;
  std::deque<std::string> toPod;  // data from kubectl not yet written to the pod
  size_t toPodBytes = 0;
  bool writing = false, reading = false, waitingToRead = false;
  bool clientFin = false, podEof = false, errorFinSent = false, closed = false;
  std::array<char, kReadChunk> buf{};
};

class PortForwardSession : public std::enable_shared_from_this<PortForwardSession> {
 public:
  PortForwardSession(net::io_context& ioc, std::unique_ptr<Transport> transport,
                     PortForwardTarget target)
      : ioc_(ioc), transport_(std::move(transport)), target_(std::move(target)) {}

  void start(std::string_view leftover) {
    if (!leftover.empty()) decoder_.feed(leftover);
    processFrames();
  }

 private:
  // --- kubectl -> agent

  void readClient() {
    if (reading_ || ended_) return;
    if (podQueuesFull()) {
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

  void processFrames() {
    for (;;) {
      auto frame = decoder_.next();
      if (!frame.ok()) {
        send(spdy::goAway(lastStream_, 1));
        return endAfterFlush();
      }
      if (!*frame) break;
      handle(std::move(**frame));
      if (ended_) return;
    }
    readClient();
  }

  void handle(Frame f) {
    switch (f.type) {
      case FrameType::SynStream:
        return onSynStream(f);
      case FrameType::Data:
        return onData(std::move(f));
      case FrameType::RstStream:
        if (auto fw = forwardOf(f.streamId)) closeForward(fw, false);
        forgetPending(f.streamId);
        return;
      case FrameType::Settings:
        flow_.settings(f.settings);
        return wakeReaders();
      case FrameType::WindowUpdate:
        if (!flow_.windowUpdate(f.streamId, f.value).isOk()) {
          send(spdy::rstStream(f.streamId, spdy::kFlowControlError));
        }
        return wakeReaders();
      case FrameType::Ping:
        return send(spdy::ping(f.value));
      case FrameType::GoAway:
        return endAfterFlush();
      default:
        return;
    }
  }

  void onSynStream(const Frame& f) {
    lastStream_ = std::max(lastStream_, f.streamId);
    flow_.openStream(f.streamId);
    send(spdy::synReply(f.streamId));
    const std::string type = spdy::headerValue(f.headers, "streamtype");
    const std::string id = spdy::headerValue(f.headers, "requestid");
    if (type != "error" && type != "data") {
      send(spdy::rstStream(f.streamId, spdy::kProtocolError));
      return flow_.closeStream(f.streamId);
    }
    auto& fw = pending_[id];
    if (!fw) fw = std::make_shared<Forward>(ioc_);
    (type == "error" ? fw->errorStream : fw->dataStream) = f.streamId;
    fw->port = spdy::headerValue(f.headers, "port");
    if (fw->errorStream == 0 || fw->dataStream == 0) return;
    auto ready = fw;
    pending_.erase(id);
    connect(ready);
  }

  void onData(Frame f) {
    auto fw = forwardOf(f.streamId);
    if (!fw || f.streamId != fw->dataStream || fw->closed) {
      // The error stream carries nothing from kubectl; data for a stream already gone is
      // still returned to the session window.
      for (auto& update : flow_.consumed(f.streamId, f.data.size())) send(std::move(update));
      return;
    }
    if (!f.data.empty()) {
      fw->toPodBytes += f.data.size();
      fw->toPod.push_back(std::move(f.data));
    }
    if (f.fin()) fw->clientFin = true;
    writePod(fw);
  }

  // --- agent -> pod

  void connect(const std::shared_ptr<Forward>& fw) {
    const int port = std::atoi(fw->port.c_str());
    Result<int> fd = Status::badRequest("invalid port \"" + fw->port + "\"");
    if (port > 0 && port < 65536) fd = dialLoopback(target_.netns, port, kDialTimeout);
    if (!fd.ok()) return failForward(fw, fd.status().message());
    beast::error_code ec;
    fw->socket.assign(tcp::v4(), *fd, ec);
    if (ec) return failForward(fw, ec.message());
    forwards_[fw->errorStream] = fw;
    forwards_[fw->dataStream] = fw;
    readPod(fw);
    writePod(fw);
  }

  // The kubelet's report of a connection it could not make, then both streams end.
  void failForward(const std::shared_ptr<Forward>& fw, const std::string& why) {
    const std::string message = "error forwarding port " + fw->port + " to pod " + target_.ns +
                                "/" + target_.pod + ", uid " + target_.uid +
                                ": failed to connect to localhost:" + fw->port +
                                " inside the pod's network namespace: " + why;
    send(spdy::dataFrame(fw->errorStream, message, true));
    send(spdy::dataFrame(fw->dataStream, {}, true));
    flow_.closeStream(fw->errorStream);
    flow_.closeStream(fw->dataStream);
  }

  void writePod(const std::shared_ptr<Forward>& fw) {
    if (fw->writing || fw->closed || !fw->socket.is_open()) return;
    if (fw->toPod.empty()) {
      if (fw->clientFin) {
        beast::error_code ec;
        fw->socket.shutdown(tcp::socket::shutdown_send, ec);
        maybeDone(fw);
      }
      return;
    }
    fw->writing = true;
    net::async_write(fw->socket, net::buffer(fw->toPod.front()),
                     [self = shared_from_this(), fw](beast::error_code ec, size_t n) {
                       fw->writing = false;
                       if (fw->closed) return;
                       if (ec) return self->closeForward(fw, true);
                       fw->toPod.pop_front();
                       fw->toPodBytes -= n;
                       for (auto& u : self->flow_.consumed(fw->dataStream, n)) self->send(u);
                       self->writePod(fw);
                       if (self->readPaused_ && !self->podQueuesFull()) {
                         self->readPaused_ = false;
                         self->readClient();
                       }
                     });
  }

  void readPod(const std::shared_ptr<Forward>& fw) {
    if (fw->reading || fw->podEof || fw->closed) return;
    const int64_t window = flow_.sendable(fw->dataStream);
    if (outBytes_ >= kClientQueueLimit || window <= 0) {
      fw->waitingToRead = true;
      return;
    }
    fw->waitingToRead = false;
    fw->reading = true;
    const size_t n = static_cast<size_t>(std::min<int64_t>(window, kReadChunk));
    fw->socket.async_read_some(
        net::buffer(fw->buf.data(), n),
        [self = shared_from_this(), fw](beast::error_code ec, size_t got) {
          fw->reading = false;
          if (fw->closed) return;
          if (ec) return self->podEnded(fw);
          self->flow_.sent(fw->dataStream, got);
          self->send(spdy::dataFrame(fw->dataStream, std::string(fw->buf.data(), got)));
          self->readPod(fw);
        });
  }

  // The pod closed its end (or the connection failed): FIN on the data and error streams.
  void podEnded(const std::shared_ptr<Forward>& fw) {
    fw->podEof = true;
    send(spdy::dataFrame(fw->dataStream, {}, true));
    finishErrorStream(fw);
    maybeDone(fw);
  }

  void finishErrorStream(const std::shared_ptr<Forward>& fw) {
    if (fw->errorFinSent) return;
    fw->errorFinSent = true;
    send(spdy::dataFrame(fw->errorStream, {}, true));
  }

  void maybeDone(const std::shared_ptr<Forward>& fw) {
    if (fw->podEof && fw->clientFin && fw->toPod.empty()) closeForward(fw, false);
  }

  // `reset`: the pod side failed, so kubectl learns with RST_STREAM.
  void closeForward(const std::shared_ptr<Forward>& fw, bool reset) {
    if (fw->closed) return;
    fw->closed = true;
    beast::error_code ec;
    fw->socket.close(ec);
    if (reset) send(spdy::rstStream(fw->dataStream, spdy::kCancel));
    finishErrorStream(fw);
    for (uint32_t id : {fw->errorStream, fw->dataStream}) {
      forwards_.erase(id);
      flow_.closeStream(id);
    }
    if (readPaused_ && !podQueuesFull()) {
      readPaused_ = false;
      readClient();
    }
  }

  std::shared_ptr<Forward> forwardOf(uint32_t stream) const {
    const auto it = forwards_.find(stream);
    return it == forwards_.end() ? nullptr : it->second;
  }

  void forgetPending(uint32_t stream) {
    std::erase_if(pending_, [stream](const auto& entry) {
      return entry.second->errorStream == stream || entry.second->dataStream == stream;
    });
  }

  bool podQueuesFull() const {
    for (const auto& [id, fw] : forwards_)
      if (fw->toPodBytes >= kPodQueueLimit) return true;
    return false;
  }

  void wakeReaders() {
    std::set<std::shared_ptr<Forward>> waiting;
    for (const auto& [id, fw] : forwards_)
      if (fw->waitingToRead) waiting.insert(fw);
    for (const auto& fw : waiting) readPod(fw);
  }

  // --- agent -> kubectl

  void send(const Frame& frame) {
    if (ended_) return;
    std::string bytes;
    if (!encoder_.encode(frame, bytes).isOk()) return end();
    outBytes_ += bytes.size();
    outq_.push_back(std::move(bytes));
    flush();
  }

  void flush() {
    if (writing_ || outq_.empty()) {
      if (!writing_ && endAfterFlush_) end();
      return;
    }
    auto batch = std::make_shared<std::string>();
    while (!outq_.empty() && batch->size() < kReadChunk * 4) {
      *batch += outq_.front();
      outq_.pop_front();
    }
    writing_ = true;
    transport_->write(*batch, [self = shared_from_this(), batch](beast::error_code ec) {
      self->writing_ = false;
      self->outBytes_ -= batch->size();
      if (ec) return self->end();
      self->flush();
      if (self->outBytes_ < kClientQueueLimit) self->wakeReaders();
    });
  }

  void endAfterFlush() {
    endAfterFlush_ = true;
    flush();
  }

  // kubectl is gone or misbehaved: every connection ends with it.
  void end() {
    if (ended_) return;
    ended_ = true;
    std::set<std::shared_ptr<Forward>> all;
    for (const auto& [id, fw] : forwards_) all.insert(fw);
    for (const auto& fw : all) {
      fw->closed = true;
      beast::error_code ec;
      fw->socket.close(ec);
    }
    forwards_.clear();
    pending_.clear();
    transport_->close();
  }

  net::io_context& ioc_;
  std::unique_ptr<Transport> transport_;
  PortForwardTarget target_;
  spdy::Encoder encoder_;
  spdy::Decoder decoder_;
  spdy::FlowControl flow_;
  std::map<std::string, std::shared_ptr<Forward>> pending_;  // by requestID, until both streams
  std::map<uint32_t, std::shared_ptr<Forward>> forwards_;    // by either stream id
  std::deque<std::string> outq_;
  size_t outBytes_ = 0;
  uint32_t lastStream_ = 0;
  bool reading_ = false, readPaused_ = false, writing_ = false;
  bool endAfterFlush_ = false, ended_ = false;
};

bool isSpdyUpgrade(const http::request<http::string_body>& req) {
  std::string upgrade(req[http::field::upgrade]);
  for (auto& c : upgrade) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return upgrade.find("spdy/3.1") != std::string::npos;
}

}  // namespace

Status servePortForward(net::io_context& ioc, TunnelStream& stream,
                        const http::request<http::string_body>& req, std::string leftover,
                        const PortForwardTarget& target) {
  if (websocket::is_upgrade(req)) {
    websocket::stream<TunnelStream> ws(std::move(stream));
    ws.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::sec_websocket_protocol, kPortForwardWebSocketProtocol);
    }));
    beast::error_code ec;
    ws.accept(req, ec);
    if (ec) return {};  // the client is gone; nothing to answer
    std::make_shared<PortForwardSession>(ioc, std::make_unique<WebSocketTransport>(ws), target)
        ->start({});
    ioc.run();
    return {};
  }
  if (!isSpdyUpgrade(req)) {
    return Status::badRequest("port-forward needs an upgrade to SPDY/3.1 or WebSocket (" +
                              std::string(kPortForwardWebSocketProtocol) + ")");
  }
  const std::string reply =
      std::string("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n") +
      "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: " + kProtocol + "\r\n\r\n";
  beast::error_code ec;
  net::write(stream, net::buffer(reply), ec);
  if (ec) return {};
  std::make_shared<PortForwardSession>(ioc, std::make_unique<RawTransport>(stream), target)
      ->start(leftover);
  ioc.run();
  return {};
}

}  // namespace kd::node

#include "engine/node/remote_command.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <map>

#include "engine/api/split.h"
#include "engine/node/container_io.h"
#include "engine/node/spdy_session.h"

namespace kd::node {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;

// The kubelet's default stream-creation timeout.
constexpr auto kStreamCreationTimeout = std::chrono::seconds(30);
// After the last frame, how long the client gets to close the connection itself.
constexpr auto kCloseGrace = std::chrono::seconds(5);

// The SPDY versions served, and how they differ.
struct SpdyVersion {
  const char* name;
  bool jsonStatus;  // the error stream carries the Status as JSON (else a failure's message)
  bool resize;      // a terminal has a resize stream
};
constexpr SpdyVersion kSpdyVersions[] = {
    {"v4.channel.k8s.io", true, true},
    {"v3.channel.k8s.io", false, true},
    {"v2.channel.k8s.io", false, false},
};

const SpdyVersion* spdyVersion(const std::string& name) {
  for (const auto& v : kSpdyVersions)
    if (name == v.name) return &v;
  return nullptr;
}

// Calls an event's handler, when there is one.
template <typename F, typename... Args>
void fire(const F& handler, Args&&... args) {
  if (handler) handler(std::forward<Args>(args)...);
}

// --- WebSocket ---------------------------------------------------------------------------------

class WebSocketChannels : public ClientChannels,
                          public std::enable_shared_from_this<WebSocketChannels> {
 public:
  explicit WebSocketChannels(TunnelStream stream) : ws_(std::move(stream)) {}

  bool accept(const http::request<http::string_body>& req, const std::string& protocol) {
    ws_.set_option(websocket::stream_base::decorator([protocol](websocket::response_type& res) {
      res.set(http::field::sec_websocket_protocol, protocol);
    }));
    beast::error_code ec;
    ws_.accept(req, ec);
    return !ec;
  }

  void open(Events events) override {
    events_ = std::move(events);
    ws_.binary(true);
    fire(events_.ready);
    readClient();
  }

  void write(uint8_t channel, std::string_view data) override {
    std::string message(1, static_cast<char>(channel));
    message.append(data);
    queue_.push_back(std::move(message));
    flush();
  }

  void finish() override {
    finishing_ = true;
    events_ = {};
    flush();
  }

  void abandon() override {
    stopped_ = true;
    events_ = {};
    beast::get_lowest_layer(ws_).close();
  }

  void holdInput(bool hold) override {
    held_ = hold;
    readClient();
  }

 private:
  void readClient() {
    if (held_ || reading_ || stopped_) return;
    reading_ = true;
    ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->reading_ = false;
      if (ec) return self->clientGone();
      std::string message = beast::buffers_to_string(self->in_.data());
      self->in_.consume(self->in_.size());
      self->onMessage(std::move(message));
      self->readClient();
    });
  }

  void onMessage(std::string message) {
    if (message.empty()) return;
    const auto channel = static_cast<uint8_t>(message[0]);
    message.erase(0, 1);
    const bool known = (channel == kStdin && !message.empty()) || channel == kResize ||
                       (channel == kClose && !message.empty());
    if (known) fire(events_.input, channel, std::move(message));
  }

  void clientGone() {
    if (stopped_) return;
    stopped_ = true;
    auto events = std::move(events_);
    events_ = {};
    beast::get_lowest_layer(ws_).close();
    fire(events.gone);
  }

  void flush() {
    if (writing_ || stopped_) return;
    if (queue_.empty()) {
      if (finishing_ && !closing_) {
        closing_ = true;
        ws_.async_close(websocket::close_code::normal,
                        [self = shared_from_this()](beast::error_code) {
                          beast::get_lowest_layer(self->ws_).close();
                        });
      }
      return;
    }
    writing_ = true;
    ws_.async_write(net::buffer(queue_.front()),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      self->writing_ = false;
                      self->queue_.pop_front();
                      if (ec) return self->clientGone();
                      self->flush();
                    });
  }

  websocket::stream<TunnelStream> ws_;
  Events events_;
  beast::flat_buffer in_;
  std::deque<std::string> queue_;
  bool reading_ = false, held_ = false, writing_ = false;
  bool finishing_ = false, closing_ = false, stopped_ = false;
};

// --- SPDY --------------------------------------------------------------------------------------

// The tunnel stream, owned ahead of the session that reads it (base-from-member).
struct OwnedStream {
  explicit OwnedStream(TunnelStream s) : stream(std::move(s)) {}
  TunnelStream stream;
};

class SpdyChannels : private OwnedStream, public spdy::Session, public ClientChannels {
 public:
  SpdyChannels(net::io_context& ioc, TunnelStream stream, const SpdyVersion& version,
               const RemoteCommandOptions& options, std::string leftover)
      : OwnedStream(std::move(stream)),
        Session(ioc, spdy::rawTransport(this->stream)),
        version_(version),
        timer_(ioc),
        leftover_(std::move(leftover)) {
    expected_ = 1 + options.input + options.output + (options.errorOutput && !options.tty) +
                (options.tty && version.resize);
  }

  void open(Events events) override {
    events_ = std::move(events);
    timer_.expires_after(kStreamCreationTimeout);
    timer_.async_wait([self = self()](beast::error_code ec) {
      if (!ec && !self->ready_) self->end();  // as the kubelet: the streams never came
    });
    start(leftover_);
  }

  void write(uint8_t channel, std::string_view data) override {
    const auto it = streams_.find(channel);
    if (it == streams_.end() || ended()) return;
    std::string payload(data);
    if (channel == kError && !version_.jsonStatus) payload = failureMessage(payload);
    if (payload.empty()) return;
    flow().sent(it->second, payload.size());
    send(spdy::dataFrame(it->second, std::move(payload)));
  }

  void finish() override {
    if (finished_) return;
    finished_ = true;
    events_ = {};
    for (uint8_t channel : {kStdout, kStderr, kError}) {
      if (auto it = streams_.find(channel); it != streams_.end()) {
        send(spdy::dataFrame(it->second, {}, true));
      }
    }
    timer_.expires_after(kCloseGrace);
    timer_.async_wait([self = self()](beast::error_code ec) {
      if (!ec) self->end();
    });
  }

  void abandon() override {
    finished_ = true;
    events_ = {};
    end();
  }

  void holdInput(bool hold) override {
    held_ = hold;
    if (!hold) resumeReading();
  }

 private:
  std::shared_ptr<SpdyChannels> self() {
    return std::static_pointer_cast<SpdyChannels>(shared_from_this());
  }

  // v2/v3 carry no Status on the error stream: only a failure's message, as text.
  static std::string failureMessage(const std::string& statusJson) {
    const json status = json::parse(statusJson, nullptr, false);
    if (!status.is_object() || status.value("status", "") == "Success") return {};
    return status.value("message", "error");
  }

  std::optional<uint8_t> channelOf(const std::string& type) const {
    static const std::map<std::string, uint8_t> kTypes = {{"error", kError},
                                                          {"stdin", kStdin},
                                                          {"stdout", kStdout},
                                                          {"stderr", kStderr},
                                                          {"resize", kResize}};
    const auto it = kTypes.find(type);
    if (it == kTypes.end() || (it->second == kResize && !version_.resize)) return std::nullopt;
    return it->second;
  }

  void onStream(const spdy::Frame& f) override {
    const auto channel = channelOf(spdy::headerValue(f.headers, "streamtype"));
    if (!channel || streams_.contains(*channel)) return;  // the kubelet ignores them too
    streams_[*channel] = f.streamId;
    channels_[f.streamId] = *channel;
    if (ready_ || static_cast<int>(streams_.size()) < expected_) return;
    ready_ = true;
    timer_.cancel();
    fire(events_.ready);
  }

  void onData(spdy::Frame f) override {
    consumed(f.streamId, f.data.size());
    const auto it = channels_.find(f.streamId);
    if (it == channels_.end()) return;
    if (it->second == kStdin) {
      if (!f.data.empty()) fire(events_.input, kStdin, std::move(f.data));
      if (f.fin()) endOfInput();
    } else if (it->second == kResize) {
      resizes_ += f.data;
      for (size_t nl; (nl = resizes_.find('\n')) != std::string::npos;) {
        std::string line = resizes_.substr(0, nl);
        resizes_.erase(0, nl + 1);
        if (!line.empty()) fire(events_.input, kResize, std::move(line));
      }
    }
  }

  void onReset(uint32_t id) override {
    if (const auto it = channels_.find(id); it != channels_.end() && it->second == kStdin) {
      endOfInput();
    }
  }

  void endOfInput() {
    if (stdinClosed_) return;
    stdinClosed_ = true;
    fire(events_.input, kClose, std::string(1, static_cast<char>(kStdin)));
  }

  bool acceptsInput() const override { return !held_; }

  void onEnd() override {
    timer_.cancel();
    auto events = std::move(events_);
    events_ = {};
    if (!finished_) fire(events.gone);
  }

  const SpdyVersion& version_;
  net::steady_timer timer_;
  std::string leftover_;
  Events events_;
  int expected_ = 1;
  std::map<uint8_t, uint32_t> streams_;   // by channel
  std::map<uint32_t, uint8_t> channels_;  // by stream id
  std::string resizes_;                   // a resize message not yet complete
  bool ready_ = false, finished_ = false, held_ = false, stdinClosed_ = false;
};

}  // namespace

std::string chooseSubprotocol(const http::request<http::string_body>& req,
                              std::initializer_list<const char*> wanted) {
  const std::string header(req[http::field::sec_websocket_protocol]);
  const auto offered = api::splitOn(header, ',');
  for (const char* p : wanted) {
    for (const auto& item : offered) {
      const size_t b = item.find_first_not_of(' ');
      if (b != std::string::npos && item.substr(b, item.find_last_not_of(' ') - b + 1) == p) {
        return p;
      }
    }
  }
  return {};
}

Result<ChannelProtocol> negotiateChannels(const http::request<http::string_body>& req,
                                          const std::string& verb) {
  if (websocket::is_upgrade(req)) {
    const std::string chosen = chooseSubprotocol(req, {"v5.channel.k8s.io", "v4.channel.k8s.io"});
    if (chosen.empty()) {
      return Status::badRequest(verb +
                                " needs the WebSocket subprotocol v5.channel.k8s.io or "
                                "v4.channel.k8s.io");
    }
    return ChannelProtocol{true, chosen};
  }
  if (!spdy::isUpgrade(req)) {
    return Status::badRequest(verb + " needs an upgrade to WebSocket (v5.channel.k8s.io) or " +
                              "SPDY/3.1 (v4.channel.k8s.io)");
  }
  const auto offered = spdy::offeredProtocols(req);
  for (const auto& p : offered) {
    if (spdyVersion(p)) return ChannelProtocol{false, p};
  }
  std::string client, server;
  for (const auto& p : offered) client += (client.empty() ? "" : " ") + p;
  for (const auto& v : kSpdyVersions) server += (server.empty() ? "" : " ") + std::string(v.name);
  return Status::forbidden("unable to upgrade: unable to negotiate protocol: client supports [" +
                           client + "], server accepts [" + server + "]");
}

std::shared_ptr<ClientChannels> acceptChannels(net::io_context& ioc, TunnelStream& stream,
                                               const http::request<http::string_body>& req,
                                               const ChannelProtocol& protocol,
                                               const RemoteCommandOptions& options,
                                               std::string leftover) {
  if (protocol.webSocket) {
    auto channels = std::make_shared<WebSocketChannels>(std::move(stream));
    if (!channels->accept(req, protocol.name)) return nullptr;
    return channels;
  }
  const SpdyVersion* version = spdyVersion(protocol.name);
  if (!version || !spdy::acceptUpgrade(stream, protocol.name)) return nullptr;
  return std::make_shared<SpdyChannels>(ioc, std::move(stream), *version, options,
                                        std::move(leftover));
}

}  // namespace kd::node

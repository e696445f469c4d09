#include "engine/node/port_forward.h"

#include <sys/socket.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <map>
#include <set>

#include "engine/node/probes.h"
#include "engine/node/spdy_session.h"

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

class PortForwardSession : public spdy::Session {
 public:
  PortForwardSession(net::io_context& ioc, std::unique_ptr<spdy::Transport> transport,
                     PortForwardTarget target)
      : Session(ioc, std::move(transport)), target_(std::move(target)) {}

 private:
  std::shared_ptr<PortForwardSession> self() {
    return std::static_pointer_cast<PortForwardSession>(shared_from_this());
  }

  // --- kubectl -> agent

  void onStream(const Frame& f) override {
    const std::string type = spdy::headerValue(f.headers, "streamtype");
    const std::string id = spdy::headerValue(f.headers, "requestid");
    if (type != "error" && type != "data") {
      send(spdy::rstStream(f.streamId, spdy::kProtocolError));
      return flow().closeStream(f.streamId);
    }
    auto& fw = pending_[id];
    if (!fw) fw = std::make_shared<Forward>(ioc());
    (type == "error" ? fw->errorStream : fw->dataStream) = f.streamId;
    fw->port = spdy::headerValue(f.headers, "port");
    if (fw->errorStream == 0 || fw->dataStream == 0) return;
    auto ready = fw;
    pending_.erase(id);
    connect(ready);
  }

  void onReset(uint32_t stream) override {
    if (auto fw = forwardOf(stream)) closeForward(fw, false);
    forgetPending(stream);
  }

  void onData(Frame f) override {
    auto fw = forwardOf(f.streamId);
    if (!fw || f.streamId != fw->dataStream || fw->closed) {
      // The error stream carries nothing from kubectl; data for a stream already gone is
      // still returned to the session window.
      return consumed(f.streamId, f.data.size());
    }
    if (!f.data.empty()) {
      fw->toPodBytes += f.data.size();
      fw->toPod.push_back(std::move(f.data));
    }
    if (f.fin()) fw->clientFin = true;
    writePod(fw);
  }

  bool acceptsInput() const override { return !podQueuesFull(); }

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
    flow().closeStream(fw->errorStream);
    flow().closeStream(fw->dataStream);
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
                     [self = self(), fw](beast::error_code ec, size_t n) {
                       fw->writing = false;
                       if (fw->closed) return;
                       if (ec) return self->closeForward(fw, true);
                       fw->toPod.pop_front();
                       fw->toPodBytes -= n;
                       self->consumed(fw->dataStream, n);
                       self->writePod(fw);
                       self->resumeReading();
                     });
  }

  void readPod(const std::shared_ptr<Forward>& fw) {
    if (fw->reading || fw->podEof || fw->closed) return;
    const int64_t window = flow().sendable(fw->dataStream);
    if (queuedBytes() >= kClientQueueLimit || window <= 0) {
      fw->waitingToRead = true;
      return;
    }
    fw->waitingToRead = false;
    fw->reading = true;
    const size_t n = static_cast<size_t>(std::min<int64_t>(window, kReadChunk));
    fw->socket.async_read_some(
        net::buffer(fw->buf.data(), n), [self = self(), fw](beast::error_code ec, size_t got) {
          fw->reading = false;
          if (fw->closed) return;
          if (ec) return self->podEnded(fw);
          self->flow().sent(fw->dataStream, got);
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
      flow().closeStream(id);
    }
    resumeReading();
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

  void onWritable() override {
    std::set<std::shared_ptr<Forward>> waiting;
    for (const auto& [id, fw] : forwards_)
      if (fw->waitingToRead) waiting.insert(fw);
    for (const auto& fw : waiting) readPod(fw);
  }

  // kubectl is gone or misbehaved: every connection ends with it.
  void onEnd() override {
    std::set<std::shared_ptr<Forward>> all;
    for (const auto& [id, fw] : forwards_) all.insert(fw);
    for (const auto& fw : all) {
      fw->closed = true;
      beast::error_code ec;
      fw->socket.close(ec);
    }
    forwards_.clear();
    pending_.clear();
  }

  PortForwardTarget target_;
  std::map<std::string, std::shared_ptr<Forward>> pending_;  // by requestID, until both streams
  std::map<uint32_t, std::shared_ptr<Forward>> forwards_;    // by either stream id
};

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
    std::make_shared<PortForwardSession>(ioc, spdy::webSocketTransport(ws), target)->start();
    ioc.run();
    return {};
  }
  if (!spdy::isUpgrade(req)) {
    return Status::badRequest("port-forward needs an upgrade to SPDY/3.1 or WebSocket (" +
                              std::string(kPortForwardWebSocketProtocol) + ")");
  }
  if (!spdy::acceptUpgrade(stream, kProtocol)) return {};
  std::make_shared<PortForwardSession>(ioc, spdy::rawTransport(stream), target)->start(leftover);
  ioc.run();
  return {};
}

}  // namespace kd::node

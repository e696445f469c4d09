#include "engine/client/port_forward_client.h"

#include <unistd.h>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <map>
#include <utility>

#include "engine/client/remote_stream.h"
#include "engine/client/spdy.h"

namespace kd::client {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr size_t kReadChunk = 32 * 1024;
// Bytes from the server queued towards local connections above which the server is not read.
constexpr size_t kLocalQueueLimit = 1024 * 1024;

Result<uint16_t> parsePort(const std::string& text, const char* side, bool zeroAllowed) {
  uint32_t value = 0;
  const bool digits = !text.empty() && text.size() <= 5 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
  if (digits) value = static_cast<uint32_t>(std::stoul(text));
  if (!digits || value > 65535) {
    return Status::badRequest(std::string("error parsing ") + side + " port '" + text +
                              "': strconv.ParseUint: parsing \"" + text + "\": invalid syntax");
  }
  if (value == 0 && !zeroAllowed) return Status::badRequest("remote port must be > 0");
  return static_cast<uint16_t>(value);
}

// One forwarded local connection and its stream pair.
struct Forward {
  explicit Forward(tcp::socket s) : socket(std::move(s)) {}
  tcp::socket socket;
  ForwardedPort port;
  uint32_t errorStream = 0, dataStream = 0;
  std::string errorMessage;
  std::deque<std::string> toLocal;
  std::array<char, kReadChunk> buf{};
  bool writing = false, remoteFin = false, closed = false;
};

}  // namespace

Result<ForwardedPort> parsePortSpec(const std::string& spec) {
  const size_t colon = spec.find(':');
  const std::string local = colon == std::string::npos ? spec : spec.substr(0, colon);
  const std::string remote = colon == std::string::npos ? spec : spec.substr(colon + 1);
  ForwardedPort port;
  if (!local.empty()) {
    auto l = parsePort(local, "local", true);
    if (!l.ok()) return l.status();
    port.local = *l;
  }
  auto r = parsePort(remote, "remote", false);
  if (!r.ok()) return r.status();
  port.remote = *r;
  return port;
}

namespace {

bool isNumber(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

std::string nameOf(const json& object) {
  return object.value("/metadata/name"_json_pointer, "");
}

const json& arrayAt(const json& object, const json::json_pointer& where) {
  static const json kEmpty = json::array();
  if (!object.contains(where)) return kEmpty;
  const json& found = object.at(where);
  return found.is_array() ? found : kEmpty;
}

Result<std::string> namedContainerPort(const json& pod, const std::string& name) {
  for (const json& c : arrayAt(pod, "/spec/containers"_json_pointer)) {
    for (const json& p : arrayAt(c, "/ports"_json_pointer)) {
      if (p.value("name", "") == name) return std::to_string(p.value("containerPort", 0));
    }
  }
  return Status::badRequest("Pod '" + nameOf(pod) + "' does not have a named port '" + name + "'");
}

}  // namespace

Result<std::string> podPortFor(const json* service, const json& pod, const std::string& remote) {
  if (!service)
    return isNumber(remote) ? Result<std::string>(remote) : namedContainerPort(pod, remote);
  for (const json& p : arrayAt(*service, "/spec/ports"_json_pointer)) {
    const bool matches = isNumber(remote) ? std::to_string(p.value("port", 0)) == remote
                                          : p.value("name", "") == remote;
    if (!matches) continue;
    const json target = p.value("targetPort", json());
    if (target.is_string()) return namedContainerPort(pod, target.get<std::string>());
    if (target.is_number_integer() && target.get<int>() > 0) {
      return std::to_string(target.get<int>());
    }
    return std::to_string(p.value("port", 0));
  }
  return Status::badRequest("Service " + nameOf(*service) + " does not have a service port " +
                            remote);
}

class PortForwarder::Impl {
 public:
  explicit Impl(PortForwardEvents events) : events_(std::move(events)) {}

  Status open(const ApiClient& client, const std::string& path,
              const std::vector<std::string>& addresses, std::vector<ForwardedPort> ports) {
    ports_ = std::move(ports);
    for (auto& port : ports_) {
      if (Status st = listen(addresses, port); !st) return st;
    }
    auto conn = dialWebSocket(ioc_, client, path, {kPortForwardProtocol});
    if (!conn.ok()) return conn.status();
    conn_ = std::move(*conn);
    return {};
  }

  const std::vector<ForwardedPort>& ports() const { return ports_; }

  Status run() {
    for (auto& l : listeners_) {
      const auto ep = l.acceptor->local_endpoint();
      const std::string host =
          ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
      say(events_.onOutput, "Forwarding from " + host + ":" + std::to_string(ep.port()) + " -> " +
                                std::to_string(l.port.remote));
      accept(l);
    }
    readServer();
    ioc_.restart();  // dialling ran it to a stop
    ioc_.run();
    return lost_;
  }

  void stop() {
    net::post(ioc_, [this] { shutdown(); });
  }

  void adopt(int fd, uint16_t remote) {
    // Closes the descriptor unless a socket took it: a handler the stopped io_context never
    // runs is destroyed with it.
    struct OwnedFd {
      explicit OwnedFd(int f) : fd(f) {}
      OwnedFd(const OwnedFd&) = delete;
      OwnedFd& operator=(const OwnedFd&) = delete;
      ~OwnedFd() {
        if (fd >= 0) ::close(fd);
      }
      int fd;
    };
    auto owned = std::make_shared<OwnedFd>(fd);
    net::post(ioc_, [this, owned, remote] {
      if (ended_) return;
      tcp::socket socket(ioc_);
      beast::error_code ec;
      socket.assign(tcp::v4(), std::exchange(owned->fd, -1), ec);
      if (!ec) startForward(std::move(socket), {0, remote});
    });
  }

 private:
  struct Listener {
    std::unique_ptr<tcp::acceptor> acceptor;
    ForwardedPort port;
  };

  static void say(const std::function<void(const std::string&)>& to, const std::string& line) {
    if (to) to(line);
  }

  // --- local side

  Status listen(const std::vector<std::string>& addresses, ForwardedPort& port) {
    size_t listening = 0;
    std::string lastError;
    for (const auto& address : addresses) {
      const bool loose = address == "localhost";
      for (const char* ip : loose ? std::vector<const char*>{"127.0.0.1", "::1"}
                                  : std::vector<const char*>{address.c_str()}) {
        beast::error_code ec;
        const auto addr = net::ip::make_address(ip, ec);
        if (ec) return Status::badRequest("unable to listen on address " + address);
        auto acceptor = std::make_unique<tcp::acceptor>(ioc_);
        const tcp::endpoint ep(addr, port.local);
        acceptor->open(ep.protocol(), ec);
        if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec && addr.is_v6()) acceptor->set_option(net::ip::v6_only(true), ec);
        if (!ec) acceptor->bind(ep, ec);
        if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
        if (ec) {
          lastError = "unable to listen on port " + std::to_string(port.local) + ": " +
                      "listen tcp " + std::string(ip) + ":" + std::to_string(port.local) + ": " +
                      ec.message();
          if (!loose) return Status::badRequest(lastError);
          continue;
        }
        if (port.local == 0) port.local = acceptor->local_endpoint().port();
        listeners_.push_back({std::move(acceptor), port});
        ++listening;
      }
    }
    if (listening == 0) {
      return Status::badRequest("unable to listen on any of the requested ports: " + lastError);
    }
    return {};
  }

  void accept(Listener& l) {
    l.acceptor->async_accept([this, &l](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // the listener closed
      say(events_.onOutput, "Handling connection for " + std::to_string(l.port.local));
      startForward(std::move(socket), l.port);
      accept(l);
    });
  }

  void startForward(tcp::socket socket, ForwardedPort port) {
    auto fw = std::make_shared<Forward>(std::move(socket));
    fw->port = port;
    const std::string requestId = std::to_string(nextRequest_++);
    const std::string remote = std::to_string(port.remote);
    fw->errorStream =
        openStream({{"port", remote}, {"requestid", requestId}, {"streamtype", "error"}});
    // Nothing travels from us on the error stream.
    send(spdy::dataFrame(fw->errorStream, {}, true));
    fw->dataStream =
        openStream({{"port", remote}, {"requestid", requestId}, {"streamtype", "data"}});
    forwards_[fw->errorStream] = fw;
    forwards_[fw->dataStream] = fw;
    readLocal(fw);
  }

  uint32_t openStream(spdy::Headers headers) {
    spdy::Frame f;
    f.type = spdy::FrameType::SynStream;
    f.streamId = nextStream_;
    nextStream_ += 2;
    f.headers = std::move(headers);
    send(f);
    return f.streamId;
  }

  void readLocal(const std::shared_ptr<Forward>& fw) {
    fw->socket.async_read_some(net::buffer(fw->buf), [this, fw](beast::error_code ec, size_t n) {
      if (fw->closed) return;
      if (n > 0) send(spdy::dataFrame(fw->dataStream, std::string(fw->buf.data(), n)));
      if (ec) {
        // End of the local input (or a broken connection): half-close the data stream.
        return send(spdy::dataFrame(fw->dataStream, {}, true));
      }
      readLocal(fw);
    });
  }

  void writeLocal(const std::shared_ptr<Forward>& fw) {
    if (fw->writing || fw->closed) return;
    if (fw->toLocal.empty()) {
      // The pod's side is done: the local connection ends, as kubectl ends it.
      if (fw->remoteFin) closeForward(fw);
      return;
    }
    fw->writing = true;
    net::async_write(fw->socket, net::buffer(fw->toLocal.front()),
                     [this, fw](beast::error_code ec, size_t) {
                       fw->writing = false;
                       localQueued_ -= fw->toLocal.front().size();
                       fw->toLocal.pop_front();
                       if (ec) {
                         send(spdy::rstStream(fw->dataStream, spdy::kCancel));
                         return closeForward(fw);
                       }
                       resumeServer();
                       writeLocal(fw);
                     });
  }

  void closeForward(const std::shared_ptr<Forward>& fw) {
    if (fw->closed) return;
    fw->closed = true;
    for (const auto& data : fw->toLocal) localQueued_ -= data.size();
    fw->toLocal.clear();
    beast::error_code ignored;
    fw->socket.close(ignored);
    forwards_.erase(fw->dataStream);
    resumeServer();
  }

  // --- the server side

  void send(const spdy::Frame& frame) {
    if (ended_) return;
    std::string bytes;
    if (!encoder_.encode(frame, bytes).isOk()) return lose();
    outq_.push_back(std::move(bytes));
    flush();
  }

  void flush() {
    if (writing_ || outq_.empty() || ended_) return;
    auto batch = std::make_shared<std::string>();
    while (!outq_.empty() && batch->size() < kReadChunk * 4) {
      *batch += outq_.front();
      outq_.pop_front();
    }
    writing_ = true;
    conn_.ws->async_write(net::buffer(*batch), [this, batch](beast::error_code ec, size_t) {
      writing_ = false;
      if (ec) return lose();
      flush();
    });
  }

  void readServer() {
    if (reading_ || ended_) return;
    if (localQueued_ > kLocalQueueLimit) {
      paused_ = true;
      return;
    }
    reading_ = true;
    conn_.ws->async_read(in_, [this](beast::error_code ec, size_t) {
      reading_ = false;
      if (ec) return lose();
      decoder_.feed(beast::buffers_to_string(in_.data()));
      in_.consume(in_.size());
      for (;;) {
        auto frame = decoder_.next();
        if (!frame.ok()) return lose();
        if (!*frame) break;
        handle(std::move(**frame));
        if (ended_) return;
      }
      readServer();
    });
  }

  void resumeServer() {
    if (!paused_ || localQueued_ > kLocalQueueLimit) return;
    paused_ = false;
    readServer();
  }

  void handle(spdy::Frame f) {
    switch (f.type) {
      case spdy::FrameType::Data:
        return onData(std::move(f));
      case spdy::FrameType::RstStream:
        if (auto fw = forwardOf(f.streamId)) closeForward(fw);
        return;
      case spdy::FrameType::Ping:
        return send(spdy::ping(f.value));
      case spdy::FrameType::GoAway:
        return lose();
      default:
        return;  // SYN_REPLY, SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do
    }
  }

  void onData(spdy::Frame f) {
    auto fw = forwardOf(f.streamId);
    if (!fw) return;
    if (f.streamId == fw->errorStream) {
      fw->errorMessage += f.data;
      if (f.fin()) errorStreamDone(fw);
      return;
    }
    if (!fw->closed && !f.data.empty()) {
      localQueued_ += f.data.size();
      fw->toLocal.push_back(std::move(f.data));
    }
    if (f.fin()) fw->remoteFin = true;
    writeLocal(fw);
  }

  void errorStreamDone(const std::shared_ptr<Forward>& fw) {
    forwards_.erase(fw->errorStream);
    if (fw->errorMessage.empty()) return;
    closeForward(fw);
    say(events_.onError, "an error occurred forwarding " + std::to_string(fw->port.local) + " -> " +
                             std::to_string(fw->port.remote) + ": " + fw->errorMessage);
    if (events_.endOnForwardError) lose();
  }

  std::shared_ptr<Forward> forwardOf(uint32_t stream) {
    auto it = forwards_.find(stream);
    return it == forwards_.end() ? nullptr : it->second;
  }

  // The connection to the server broke or a forward failed: kubectl's "lost connection to pod".
  void lose() {
    if (ended_) return;
    lost_ = Status::serviceUnavailable("lost connection to pod");
    shutdown();
  }

  void shutdown() {
    ended_ = true;
    beast::error_code ignored;
    for (auto& l : listeners_) l.acceptor->close(ignored);
    auto forwards = std::move(forwards_);
    forwards_.clear();
    for (auto& [id, fw] : forwards) closeForward(fw);
    if (conn_.ws) beast::get_lowest_layer(*conn_.ws).socket().close(ignored);
  }

  PortForwardEvents events_;
  net::io_context ioc_;
  WebSocketConnection conn_;
  std::vector<ForwardedPort> ports_;
  std::deque<Listener> listeners_;  // stable addresses: accept handlers refer to them
  std::map<uint32_t, std::shared_ptr<Forward>> forwards_;
  spdy::Encoder encoder_;
  spdy::Decoder decoder_;
  std::deque<std::string> outq_;
  beast::flat_buffer in_;
  uint32_t nextStream_ = 1;  // a client's streams are odd
  uint64_t nextRequest_ = 0;
  size_t localQueued_ = 0;
  bool writing_ = false, reading_ = false, paused_ = false, ended_ = false;
  Status lost_;
};

PortForwarder::PortForwarder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PortForwarder::~PortForwarder() = default;

Result<std::unique_ptr<PortForwarder>> PortForwarder::open(
    const ApiClient& client, const std::string& path, const std::vector<std::string>& addresses,
    const std::vector<ForwardedPort>& ports, PortForwardEvents events) {
  auto impl = std::make_unique<Impl>(std::move(events));
  if (Status st = impl->open(client, path, addresses, ports); !st) return st;
  return std::make_unique<PortForwarder>(std::move(impl));
}

const std::vector<ForwardedPort>& PortForwarder::ports() const {
  return impl_->ports();
}
void PortForwarder::adopt(int fd, uint16_t remote) {
  impl_->adopt(fd, remote);
}
Status PortForwarder::run() {
  return impl_->run();
}
void PortForwarder::stop() {
  impl_->stop();
}

}  // namespace kd::client

#include "engine/server/api_server.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <deque>
#include <limits>
#include <thread>

#include "engine/server/node_authorizer.h"
#include "engine/server/request_info.h"
#include "engine/server/tunnel_broker.h"
#include "engine/store/store.h"

namespace kd::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

constexpr size_t kMaxBodyBytes = 3 * 1024 * 1024;
constexpr auto kIdleTimeout = std::chrono::minutes(5);
constexpr auto kBookmarkInterval = std::chrono::seconds(30);
constexpr std::string_view kTunnelPrefix = "/kubedesk/v1/";
// A tunnel's control connection carries an empty line this often so the agent notices a
// dead engine by silence.
constexpr auto kTunnelPingInterval = std::chrono::seconds(20);
// How long a streaming request waits for the agent to dial back: kube-apiserver's dial
// timeout to a kubelet (30 s). A busy machine's TLS handshake back can take over 10 s.
constexpr auto kTunnelDialTimeout = std::chrono::seconds(30);

std::string nameEntry(X509_NAME* name, int nid) {
  char buf[256];
  int n = X509_NAME_get_text_by_NID(name, nid, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

struct Shared {
  ApiHandler& handler;
  std::function<UserInfo(std::string_view)> authenticateToken;
  TunnelBroker broker;
};

// Only a node's own agent (or a cluster admin, which agents are today) may serve its pods.
bool mayServeNode(const UserInfo& user, const std::string& node) {
  if (nodeOfUser(user) == node) return true;
  return std::find(user.groups.begin(), user.groups.end(), "system:masters") != user.groups.end();
}

// /api/v1/nodes/<name>/proxy[/...]: carried to the node's agent, body and all.
bool isNodeProxyTarget(std::string_view target) {
  if (!target.starts_with("/api/v1/nodes/")) return false;  // most requests: no decoding
  auto info = parseRequestInfo("GET", target);
  return info.ok() && info->group.empty() && info->resource == "nodes" &&
         info->subresource == "proxy";
}

// The reverse tunnel's paths; other /kubedesk/v1/ paths (metrics) are ordinary requests that
// the handler serves.
bool isTunnelPath(std::string_view target) {
  if (!target.starts_with(kTunnelPrefix)) return false;
  const std::string_view path = target.substr(0, target.find('?'));
  return path.substr(kTunnelPrefix.size()).starts_with("tunnel/") || path.ends_with("/tunnel");
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, ssl::context& ctx, Shared& shared)
      : stream_(std::move(socket), ctx),
        shared_(shared),
        bookmarkTimer_(stream_.get_executor()),
        timeoutTimer_(stream_.get_executor()) {}

  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      beast::get_lowest_layer(self->stream_).expires_after(std::chrono::seconds(30));
      self->stream_.async_handshake(ssl::stream_base::server,
                                    [self](beast::error_code ec) { self->onHandshake(ec); });
    });
  }

 private:
  void onHandshake(beast::error_code ec) {
    if (ec) return;
    authenticateCertificate();
    readRequest();
  }

  void authenticateCertificate() {
    SSL* ssl = stream_.native_handle();
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (!cert) return;
    if (SSL_get_verify_result(ssl) == X509_V_OK) {
      X509_NAME* subject = X509_get_subject_name(cert);
      certUser_.name = nameEntry(subject, NID_commonName);
      std::string org = nameEntry(subject, NID_organizationName);
      if (!org.empty()) certUser_.groups.push_back(org);
    }
    X509_free(cert);
  }

  UserInfo userFor(const http::request<http::string_body>& req) {
    auto auth = req[http::field::authorization];
    if (auth.starts_with("Bearer ")) {
      return shared_.authenticateToken
                 ? shared_.authenticateToken(std::string_view(auth.data() + 7, auth.size() - 7))
                 : UserInfo{};
    }
    return certUser_;
  }

  void readRequest() {
    parser_.emplace();
    // No limit until the header says what the request is (boost::none would refuse every
    // Content-Length: Beast compares it with the optional limit).
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    parser_->header_limit(64 * 1024);
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->onHeader(ec); });
  }

  // A node proxy request's body (an image tarball: any size) is not read here: it streams to
  // the agent with the rest of the connection (startTunnel). Every other body is read whole.
  void onHeader(beast::error_code ec) {
    if (ec) return onRead(ec);
    const auto target = parser_->get().target();
    nodeProxy_ = isNodeProxyTarget({target.data(), target.size()});
    if (nodeProxy_) return onRead(ec);
    // Beast checks a Content-Length against the limit only while parsing the header.
    if (parser_->content_length().value_or(0) > kMaxBodyBytes) {
      return onRead(http::error::body_limit);
    }
    parser_->body_limit(kMaxBodyBytes);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->onRead(ec); });
  }

  void onRead(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      sendStatus(
          Status::requestEntityTooLarge("the request body is larger than the limit of 3 MiB"),
          false);
      return;
    }
    if (ec) return close();
    // Watchers this request's writes wake are woken after its answer is on its way (the
    // answer's write starts within this function when the socket can take it).
    store::DeferredWakeups wakeups;
    auto& req = parser_->get();
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.accept = std::string(req[http::field::accept]);
    request.contentType = std::string(req[http::field::content_type]);
    request.body = std::move(req.body());
    request.user = userFor(req);
    keepAlive_ = req.keep_alive();
    const bool head = req.method() == http::verb::head;
    if (isTunnelPath(request.target)) return serveTunnelPath(request);

    std::weak_ptr<Session> weak = weak_from_this();
    auto executor = stream_.get_executor();
    HandlerResult result = shared_.handler.handle(request, [weak, executor] {
      net::post(executor, [weak] {
        if (auto self = weak.lock()) self->pump();
      });
    });
    if (result.watch) return startWatch(std::move(result.watch), result.watchContentType);
    if (result.tunnel) return startTunnel(*result.tunnel, req, request.body);
    if (nodeProxy_) keepAlive_ = false;  // its body was never read
    sendResponse(std::move(result.response), head);
  }

  void sendStatus(const Status& status, bool keepAlive) {
    keepAlive_ = keepAlive;
    sendResponse(statusResponse(status), false);
  }

  void sendResponse(HttpResponse response, bool head) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), 11);
    res->set(http::field::server, "kubedesk");
    res->set(http::field::content_type, response.contentType);
    res->set(http::field::cache_control, "no-cache, private");
    for (const auto& w : response.warnings) {
      res->insert(http::field::warning, "299 - \"" + w + "\"");
    }
    res->keep_alive(keepAlive_);
    if (!head) res->body() = std::move(response.body);
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec || !self->keepAlive_) return self->close();
                        self->readRequest();
                      });
  }

  // --- watch streaming ---------------------------------------------------------------------

  void startWatch(std::unique_ptr<WatchSession> watch, const std::string& contentType) {
    watch_ = std::move(watch);
    watchHeader_.result(http::status::ok);
    watchHeader_.version(11);
    watchHeader_.set(http::field::server, "kubedesk");
    watchHeader_.set(http::field::content_type, contentType);
    watchHeader_.set(http::field::cache_control, "no-cache, private");
    watchHeader_.chunked(true);
    watchSerializer_.emplace(watchHeader_);
    beast::get_lowest_layer(stream_).expires_never();
    writing_ = true;
    http::async_write_header(stream_, *watchSerializer_,
                             [self = shared_from_this()](beast::error_code ec, size_t) {
                               self->writing_ = false;
                               if (ec) return self->close();
                               self->armTimers();
                               self->watchForDisconnect();
                               self->pump();
                             });
  }

  void armTimers() {
    if (int t = watch_->timeoutSeconds(); t > 0) {
      timeoutTimer_.expires_after(std::chrono::seconds(t));
      timeoutTimer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (!ec) self->finishWatch();
      });
    }
    armBookmark();
  }

  void armBookmark() {
    bookmarkTimer_.expires_after(kBookmarkInterval);
    bookmarkTimer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->finishing_) return;
      std::string b = self->watch_->bookmark();
      if (!b.empty()) self->queueChunk(std::move(b));
      self->armBookmark();
    });
  }

  // The client sends nothing while it watches; a read completing means it went away.
  void watchForDisconnect() {
    stream_.async_read_some(net::buffer(sink_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) {
                                self->closed_ = true;
                                self->cancelTimers();
                                return;
                              }
                              self->watchForDisconnect();
                            });
  }

  void pump() {
    if (!watch_ || finishing_ || closed_) return;
    bool ended = false;
    std::string data = watch_->pump(ended);
    if (!data.empty()) outq_.push_back(std::move(data));
    if (ended) return finishWatch();
    flush();  // also sends what an earlier pump queued while the header was being written
  }

  void queueChunk(std::string data) {
    outq_.push_back(std::move(data));
    flush();
  }

  void flush() {
    if (writing_ || closed_) return;
    if (outq_.empty()) {
      if (finishing_ && !lastChunkSent_) {
        lastChunkSent_ = true;
        writing_ = true;
        net::async_write(stream_, http::make_chunk_last(),
                         [self = shared_from_this()](beast::error_code, size_t) {
                           self->writing_ = false;
                           self->close();
                         });
      }
      return;
    }
    auto data = std::make_shared<std::string>();
    // Coalesce queued events into one chunk: fewer TLS records under bursts.
    while (!outq_.empty()) {
      *data += outq_.front();
      outq_.pop_front();
    }
    writing_ = true;
    net::async_write(stream_, http::make_chunk(net::buffer(*data)),
                     [self = shared_from_this(), data](beast::error_code ec, size_t) {
                       self->writing_ = false;
                       if (ec) {
                         self->closed_ = true;
                         self->cancelTimers();
                         return;
                       }
                       self->flush();
                     });
  }

  void finishWatch() {
    if (finishing_) return;
    finishing_ = true;
    cancelTimers();
    flush();
  }

  void cancelTimers() {
    timeoutTimer_.cancel();
    bookmarkTimer_.cancel();
    watch_.reset();  // releases the store watch
  }

  // --- reverse tunnel to node agents (tunnel_broker.h) ---------------------------------------

  // /kubedesk/v1/nodes/<node>/tunnel: an agent's control connection. /kubedesk/v1/tunnel/<id>:
  // an agent dialling back for a stream the broker asked for.
  void serveTunnelPath(const HttpRequest& request) {
    if (!request.user.authenticated())
      return sendStatus(Status::unauthorized("Unauthorized"), false);
    const std::string path = request.target.substr(kTunnelPrefix.size());
    if (path.starts_with("tunnel/")) {
      beast::get_lowest_layer(stream_).expires_never();
      if (shared_.broker.deliver(path.substr(7), request.user.name, shared_from_this())) return;
      return sendStatus(Status::notFound("no pending tunnel stream " + path.substr(7)), false);
    }
    const std::string node =
        path.starts_with("nodes/") ? path.substr(6, path.find('/', 6) - 6) : "";
    if (node.empty() || path != "nodes/" + node + "/tunnel") {
      return sendStatus(Status::notFound("the server could not find the requested resource"),
                        false);
    }
    if (!mayServeNode(request.user, node)) {
      return sendStatus(Status::forbidden("user \"" + request.user.name +
                                          "\" may not serve the pods of node \"" + node + "\""),
                        false);
    }
    startTunnelControl(node, request.user.name);
  }

  void startTunnelControl(const std::string& node, const std::string& user) {
    beast::get_lowest_layer(stream_).expires_never();
    writeRaw(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: kubedesk-tunnel\r\n"
        "Connection: Upgrade\r\n\r\n");
    std::weak_ptr<Session> weak = weak_from_this();
    auto executor = stream_.get_executor();
    tunnelNode_ = node;
    tunnelHandle_ =
        shared_.broker.registerAgent(node, user, [weak, executor](const std::string& id) {
          net::post(executor, [weak, id] {
            if (auto self = weak.lock()) self->writeRaw(id + "\n");
          });
        });
    readTunnelControl();
    pingTunnel();
  }

  // The agent sends nothing on its control connection; a completed read means it is gone.
  void readTunnelControl() {
    stream_.async_read_some(
        net::buffer(sink_), [self = shared_from_this()](beast::error_code ec, size_t) {
          if (!ec) return self->readTunnelControl();
          self->shared_.broker.unregisterAgent(self->tunnelNode_, self->tunnelHandle_);
          self->bookmarkTimer_.cancel();
          self->close();
        });
  }

  void pingTunnel() {
    bookmarkTimer_.expires_after(kTunnelPingInterval);
    bookmarkTimer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_) return;
      self->writeRaw("\n");
      self->pingTunnel();
    });
  }

  void writeRaw(std::string data) {
    outq_.push_back(std::move(data));
    if (writing_ || closed_) return;
    auto batch = std::make_shared<std::string>();
    while (!outq_.empty()) {
      *batch += outq_.front();
      outq_.pop_front();
    }
    writing_ = true;
    net::async_write(stream_, net::buffer(*batch),
                     [self = shared_from_this(), batch](beast::error_code ec, size_t) {
                       self->writing_ = false;
                       if (ec) return self->close();
                       if (!self->outq_.empty()) self->writeRaw({});
                     });
  }

  // A pods/log|exec|attach|portforward request: ask the pod's agent for a stream, send it the
  // request rewritten to the kubelet path, then splice the two connections. WebSocket
  // upgrades happen end to end between the client and the agent.
  void startTunnel(const TunnelRequest& tunnel, const http::request<http::string_body>& req,
                   const std::string& body) {
    std::string head = std::string(req.method_string()) + " " + tunnel.target + " HTTP/1.1\r\n";
    for (const auto& field : req) {
      if (field.name() == http::field::authorization) continue;
      head += std::string(field.name_string()) + ": " + std::string(field.value()) + "\r\n";
    }
    head += "\r\n" + body;
    std::weak_ptr<Session> weak = weak_from_this();
    auto executor = stream_.get_executor();
    auto id = shared_.broker.requestStream(
        tunnel.node, [weak, executor, head](Result<TunnelConnection> agent) {
          net::post(executor, [weak, head, agent = std::move(agent)]() mutable {
            if (auto self = weak.lock()) self->onAgentStream(std::move(agent), std::move(head));
          });
        });
    if (!id.ok()) {
      return sendStatus(Status::serviceUnavailable(
                            "no node agent of node \"" + tunnel.node + "\" is connected to serve " +
                            (tunnel.subresource == "proxy" ? "nodes/" : "pods/") +
                            tunnel.subresource + " (simulated nodes run no containers)"),
                        false);
    }
    beast::get_lowest_layer(stream_).expires_never();
    timeoutTimer_.expires_after(kTunnelDialTimeout);
    timeoutTimer_.async_wait(
        [self = shared_from_this(), id = *id, node = tunnel.node](beast::error_code ec) {
          if (ec || !self->shared_.broker.cancel(id)) return;
          self->sendStatus(Status::serviceUnavailable("the node agent of node \"" + node +
                                                      "\" did not open a stream in time"),
                           false);
        });
  }

  void onAgentStream(Result<TunnelConnection> agent, std::string head) {
    timeoutTimer_.cancel();
    if (!agent.ok()) return sendStatus(agent.status(), false);
    auto peer = std::static_pointer_cast<Session>(*agent);
    auto self = shared_from_this();
    net::post(peer->stream_.get_executor(), [peer, self] { peer->beginSplice(self, {}); });
    beginSplice(peer, std::move(head));
  }

  // Runs on our thread: from now on every byte we read goes to `peer`, starting with `initial`
  // and whatever we had buffered beyond the last request.
  void beginSplice(std::shared_ptr<Session> peer, std::string initial) {
    peer_ = std::move(peer);
    initial += beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    if (initial.empty()) return spliceRead();
    forward(std::make_shared<std::string>(std::move(initial)));
  }

  void spliceRead() {
    stream_.async_read_some(
        net::buffer(spliceBuf_), [self = shared_from_this()](beast::error_code ec, size_t n) {
          if (ec) return self->endSplice();
          self->forward(std::make_shared<std::string>(self->spliceBuf_.data(), n));
        });
  }

  // Writes `data` to the peer on its thread, then reads more of ours: one buffer in flight per
  // direction keeps a slow reader from making us hold unbounded data.
  void forward(std::shared_ptr<std::string> data) {
    auto peer = peer_;
    if (!peer) return close();
    auto self = shared_from_this();
    net::post(peer->stream_.get_executor(), [peer, self, data] {
      net::async_write(peer->stream_, net::buffer(*data),
                       [peer, self, data](beast::error_code ec, size_t) {
                         net::post(self->stream_.get_executor(), [self, ec] {
                           if (ec) return self->endSplice();
                           self->spliceRead();
                         });
                       });
    });
  }

  void endSplice() {
    auto peer = std::move(peer_);
    close();
    if (!peer) return;
    net::post(peer->stream_.get_executor(), [peer] {
      peer->peer_.reset();
      peer->close();
    });
  }

  void close() {
    closed_ = true;
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(stream_).close();
  }

  beast::ssl_stream<beast::tcp_stream> stream_;
  Shared& shared_;
  beast::flat_buffer buffer_;
  bool nodeProxy_ = false;  // the request being read is a node proxy's: body not read
  std::optional<http::request_parser<http::string_body>> parser_;
  UserInfo certUser_;
  bool keepAlive_ = true;

  std::unique_ptr<WatchSession> watch_;
  http::response<http::empty_body> watchHeader_;
  std::optional<http::response_serializer<http::empty_body>> watchSerializer_;
  std::deque<std::string> outq_;
  bool writing_ = false, finishing_ = false, lastChunkSent_ = false, closed_ = false;
  net::steady_timer bookmarkTimer_, timeoutTimer_;
  char sink_[512];

  std::string tunnelNode_;
  uint64_t tunnelHandle_ = 0;
  std::shared_ptr<Session> peer_;  // the other end of a splice
  std::array<char, 16 * 1024> spliceBuf_;
};

}  // namespace

class ApiServer::Impl {
 public:
  Impl(ApiHandler& handler, ApiServerConfig config)
      : config_(std::move(config)),
        shared_{handler, config_.authenticateToken, {}},
        contexts_(makeContexts(config_.threads)),
        ctx_(ssl::context::tls_server),
        acceptor_(*contexts_.front()) {}

  Status start() {
    beast::error_code ec;
    ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx_.use_certificate_chain(net::buffer(config_.pki.serverCertPem), ec);
    if (!ec) ctx_.use_private_key(net::buffer(config_.pki.serverKeyPem), ssl::context::pem, ec);
    if (!ec) ctx_.add_certificate_authority(net::buffer(config_.pki.caCertPem), ec);
    if (ec) return Status::internal("TLS setup failed: " + ec.message());
    // Ask for a client certificate but never fail the handshake over it: identity is decided
    // per request (certificate, bearer token, or anonymous → 401).
    ctx_.set_verify_mode(ssl::verify_peer);
    ctx_.set_verify_callback([](bool, ssl::verify_context&) { return true; });
    SSL_CTX_set_session_id_context(ctx_.native_handle(),
                                   reinterpret_cast<const unsigned char*>("kubedesk"), 8);

    auto address = net::ip::make_address(config_.bindAddress, ec);
    if (ec) return Status::badRequest("invalid bind address " + config_.bindAddress);
    tcp::endpoint endpoint(address, config_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::internal("cannot listen on " + config_.bindAddress + ":" +
                              std::to_string(config_.port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    accept();
    for (auto& ioc : contexts_) {
      // A context without connections yet would otherwise return from run() at once.
      idleGuards_.push_back(net::make_work_guard(*ioc));
      threads_.emplace_back([ioc = ioc.get()] { ioc->run(); });
    }
    return {};
  }

  void stop() {
    if (stopped_.exchange(true)) return;
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    idleGuards_.clear();
    for (auto& ioc : contexts_) ioc->stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  void accept() {
    net::io_context& ioc = *contexts_[nextContext_++ % contexts_.size()];
    acceptor_.async_accept(ioc, [this](beast::error_code ec, tcp::socket s) {
      if (ec) {
        if (ec == net::error::operation_aborted || stopped_) return;
      } else {
        s.set_option(tcp::no_delay(true), ec);
        std::make_shared<Session>(std::move(s), ctx_, shared_)->run();
      }
      accept();
    });
  }

  static std::vector<std::unique_ptr<net::io_context>> makeContexts(int threads) {
    std::vector<std::unique_ptr<net::io_context>> contexts;
    for (int t = 0; t < std::max(1, threads); ++t) {
      contexts.push_back(std::make_unique<net::io_context>(1));
    }
    return contexts;
  }

  ApiServerConfig config_;
  Shared shared_;
  // One single-threaded io_context per thread, connections spread round robin: a connection's
  // handlers never hop threads, which costs futex wake-ups and epoll re-arms per request.
  std::vector<std::unique_ptr<net::io_context>> contexts_;
  size_t nextContext_ = 0;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> idleGuards_;
  ssl::context ctx_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
  uint16_t port_ = 0;
};

ApiServer::ApiServer(ApiHandler& handler, ApiServerConfig config)
    : impl_(std::make_unique<Impl>(handler, std::move(config))) {}
ApiServer::~ApiServer() {
  stop();
}
Status ApiServer::start() {
  return impl_->start();
}
void ApiServer::stop() {
  impl_->stop();
}
uint16_t ApiServer::port() const {
  return impl_->port_;
}

}  // namespace kd::server

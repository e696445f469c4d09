#include "engine/server/api_server.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <deque>
#include <mutex>
#include <thread>

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

std::string nameEntry(X509_NAME* name, int nid) {
  char buf[256];
  int n = X509_NAME_get_text_by_NID(name, nid, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

struct Shared {
  ApiHandler& handler;
  std::mutex tokensMu;
  std::map<std::string, UserInfo> tokens;
};

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
      std::string token(auth.substr(7));
      std::lock_guard lock(shared_.tokensMu);
      auto it = shared_.tokens.find(token);
      return it == shared_.tokens.end() ? UserInfo{} : it->second;
    }
    return certUser_;
  }

  void readRequest() {
    parser_.emplace();
    parser_->body_limit(kMaxBodyBytes);
    parser_->header_limit(64 * 1024);
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
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

    std::weak_ptr<Session> weak = weak_from_this();
    auto executor = stream_.get_executor();
    HandlerResult result = shared_.handler.handle(request, [weak, executor] {
      net::post(executor, [weak] {
        if (auto self = weak.lock()) self->pump();
      });
    });
    if (result.watch) return startWatch(std::move(result.watch), result.watchContentType);
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

  void close() {
    closed_ = true;
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(stream_).close();
  }

  beast::ssl_stream<beast::tcp_stream> stream_;
  Shared& shared_;
  beast::flat_buffer buffer_;
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
};

}  // namespace

class ApiServer::Impl {
 public:
  Impl(ApiHandler& handler, ApiServerConfig config)
      : config_(std::move(config)),
        shared_{handler, {}, config_.bearerTokens},
        ioc_(config_.threads),
        ctx_(ssl::context::tls_server),
        acceptor_(ioc_) {}

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
    for (int i = 0; i < std::max(1, config_.threads); ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
    return {};
  }

  void stop() {
    if (stopped_.exchange(true)) return;
    net::post(ioc_, [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    ioc_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  void accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket s) {
      if (ec) {
        if (ec == net::error::operation_aborted || stopped_) return;
      } else {
        s.set_option(tcp::no_delay(true), ec);
        std::make_shared<Session>(std::move(s), ctx_, shared_)->run();
      }
      accept();
    });
  }

  ApiServerConfig config_;
  Shared shared_;
  net::io_context ioc_;
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

void ApiServer::setBearerToken(const std::string& token, UserInfo user) {
  std::lock_guard lock(impl_->shared_.tokensMu);
  impl_->shared_.tokens[token] = std::move(user);
}

}  // namespace kd::server

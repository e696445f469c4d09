#include "engine/client/tls_transport.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <limits>
#include <optional>

#include "engine/client/api_client.h"

namespace kd::client::detail {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

// Not boost::none: Boost 1.74 compares a Content-Length against an empty limit and rejects it.
constexpr std::uint64_t kNoBodyLimit = std::numeric_limits<std::uint64_t>::max();

Status unreachable(const ServerEndpoint& ep, const std::string& why) {
  return Status::serviceUnavailable("unable to connect to the server " + ep.hostHeader + ": " +
                                    why);
}

bool isIpAddress(const std::string& host) {
  beast::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

bool allDigits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

std::string describe(const beast::error_code& ec) {
  if (ec == beast::error::timeout) return "timed out";
  return ec.message();
}

std::string handshakeFailure(SSL* ssl, const beast::error_code& ec) {
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    return std::string("TLS certificate verification failed: ") +
           X509_verify_cert_error_string(verify) +
           " (does the context's certificate-authority match this server?)";
  }
  return "TLS handshake failed: " + describe(ec);
}

void runToCompletion(net::io_context& ioc) {
  ioc.restart();
  ioc.run();
}

}  // namespace

Result<ServerEndpoint> ServerEndpoint::parse(const std::string& url) {
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme)) {
    return Status::badRequest("server \"" + url + "\": only https:// API servers are supported");
  }
  std::string_view rest = std::string_view(url).substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  ServerEndpoint ep;
  if (slash != std::string_view::npos) {
    ep.pathPrefix = std::string(rest.substr(slash));
    while (!ep.pathPrefix.empty() && ep.pathPrefix.back() == '/') ep.pathPrefix.pop_back();
  }
  std::string_view portPart;
  if (authority.starts_with('[')) {  // IPv6 literal
    const size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return Status::badRequest("server \"" + url + "\": bad IPv6 address");
    ep.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(':'))
      return Status::badRequest("server \"" + url + "\": bad address");
    if (!after.empty()) portPart = after.substr(1);
  } else {
    const size_t colon = authority.rfind(':');
    ep.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) portPart = authority.substr(colon + 1);
  }
  if (ep.host.empty()) return Status::badRequest("server \"" + url + "\": no host");
  if (!portPart.empty() && !allDigits(portPart)) {
    return Status::badRequest("server \"" + url + "\": bad port");
  }
  ep.port = portPart.empty() ? "443" : std::string(portPart);
  ep.hostHeader = std::string(authority);
  return ep;
}

Status configureClientContext(ssl::context& ctx, const ClusterAccess& access) {
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  // An idle connection (pooled, or a tunnel waiting) gives back its ~34 KB of record buffers.
  SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);
  beast::error_code ec;
  if (access.insecureSkipTlsVerify) {
    ctx.set_verify_mode(ssl::verify_none);
  } else {
    ctx.set_verify_mode(ssl::verify_peer);
    if (access.caPem.empty()) {
      ctx.set_default_verify_paths(ec);
    } else {
      ctx.add_certificate_authority(net::buffer(access.caPem), ec);
    }
    if (ec)
      return Status::badRequest("certificate authority of cluster \"" + access.clusterName +
                                "\" is unusable: " + ec.message());
  }
  if (!access.clientCertPem.empty() || !access.clientKeyPem.empty()) {
    ctx.use_certificate_chain(net::buffer(access.clientCertPem), ec);
    if (!ec) ctx.use_private_key(net::buffer(access.clientKeyPem), ssl::context::pem, ec);
    if (ec)
      return Status::badRequest("client certificate of user \"" + access.userName +
                                "\" is unusable: " + ec.message());
  }
  return {};
}

void pinServerName(SSL* ssl, const ClusterAccess& access, const ServerEndpoint& endpoint) {
  const std::string& name = access.tlsServerName.empty() ? endpoint.host : access.tlsServerName;
  if (isIpAddress(name)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, name.c_str());
    SSL_set1_host(ssl, name.c_str());
  }
}

// --- one connection -----------------------------------------------------------------------

namespace {

// Connects `stream` (on `ioc`, which nothing else runs meanwhile) and makes the TLS handshake.
Status dialTls(net::io_context& ioc, beast::ssl_stream<beast::tcp_stream>& stream,
               const ClusterAccess& access, const ServerEndpoint& ep,
               const TransportOptions& options) {
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(ep.host, ep.port, ec);
  if (ec) return unreachable(ep, "cannot resolve " + ep.host + ": " + ec.message());
  pinServerName(stream.native_handle(), access, ep);
  auto& tcpStream = beast::get_lowest_layer(stream);
  tcpStream.expires_after(options.connectTimeout);
  tcpStream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
  runToCompletion(ioc);
  if (ec) return unreachable(ep, describe(ec));
  tcpStream.socket().set_option(tcp::no_delay(true), ec);
  stream.async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
  runToCompletion(ioc);
  tcpStream.expires_never();
  if (ec) return unreachable(ep, handshakeFailure(stream.native_handle(), ec));
  return {};
}

}  // namespace

class TlsConnection::Impl {
 public:
  Impl(ssl::context& ctx, const ClusterAccess& access, const ServerEndpoint& ep,
       const TransportOptions& options, const std::string& authorization)
      : access_(access),
        ep_(ep),
        options_(options),
        authorization_(authorization),
        stream_(ioc_, ctx) {}

  Status connect() { return dialTls(ioc_, stream_, access_, ep_, options_); }

  Result<Response> roundTrip(const RequestSpec& request, bool& sawResponse) {
    sawResponse = false;
    if (Status st = send(request, options_.requestTimeout); !st) return st;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kNoBodyLimit);
    if (request.method == "HEAD") parser.skip(true);
    beast::error_code ec;
    http::async_read(stream_, buffer_, parser, [&](beast::error_code e, size_t) { ec = e; });
    run();
    sawResponse = parser.got_some();
    if (ec) {
      reusable_ = false;
      return unreachable(ep_, "reading the response: " + describe(ec));
    }
    reusable_ = parser.get().keep_alive();
    return toResponse(parser.release());
  }

  bool reusable() const { return reusable_; }

  Result<Response> upload(const RequestSpec& request, std::istream& body, std::uint64_t size,
                          const std::function<void(std::uint64_t)>& progress) {
    reusable_ = false;
    http::request<http::empty_body> req;
    setHead(req, request);
    req.content_length(size);
    http::request_serializer<http::empty_body> serializer{req};
    beast::error_code ec;
    beast::get_lowest_layer(stream_).expires_after(options_.connectTimeout);
    http::async_write_header(stream_, serializer, [&](beast::error_code e, size_t) { ec = e; });
    run();
    std::vector<char> piece(256 * 1024);
    for (std::uint64_t sent = 0; !ec && sent < size;) {
      body.read(piece.data(),
                static_cast<std::streamsize>(std::min<std::uint64_t>(piece.size(), size - sent)));
      const auto n = static_cast<size_t>(body.gcount());
      if (n == 0) return Status::badRequest("the upload's input ended early");
      beast::get_lowest_layer(stream_).expires_after(options_.requestTimeout);
      net::async_write(stream_, net::buffer(piece.data(), n),
                       [&](beast::error_code e, size_t) { ec = e; });
      run();
      sent += n;
      if (!ec && progress) progress(sent);
    }
    // A refusal arrives while (or instead of) taking the body: read whatever answer came.
    http::response_parser<http::string_body> parser;
    parser.body_limit(kNoBodyLimit);
    beast::error_code readEc;
    beast::get_lowest_layer(stream_).expires_after(options_.requestTimeout);
    http::async_read(stream_, buffer_, parser, [&](beast::error_code e, size_t) { readEc = e; });
    run();
    if (readEc && !parser.is_header_done()) {
      return unreachable(ep_, "sending the request: " + describe(ec ? ec : readEc));
    }
    return toResponse(parser.release());
  }

  Result<Response> startStream(const RequestSpec& request) {
    reusable_ = false;
    if (Status st = send(request, options_.connectTimeout); !st) return st;
    streamParser_.emplace();
    streamParser_->body_limit(kNoBodyLimit);
    beast::error_code ec;
    beast::get_lowest_layer(stream_).expires_after(options_.requestTimeout);
    http::async_read_header(stream_, buffer_, *streamParser_,
                            [&](beast::error_code e, size_t) { ec = e; });
    run();
    if (ec) return unreachable(ep_, "reading the response: " + describe(ec));
    Response head = headOf(streamParser_->get());
    if (head.ok()) return head;
    // A refused stream carries a Status body; read it whole.
    http::async_read(stream_, buffer_, *streamParser_,
                     [&](beast::error_code e, size_t) { ec = e; });
    run();
    if (ec) return unreachable(ep_, "reading the response: " + describe(ec));
    head.body = std::move(streamParser_->get().body());
    return head;
  }

  Status pumpBody(const std::function<void(std::string_view)>& onData) {
    auto& parser = *streamParser_;
    // The parser keeps a reference to the callback, so it lives in this frame.
    auto onChunk = [&](std::uint64_t, beast::string_view data, beast::error_code&) {
      onData(std::string_view(data.data(), data.size()));
      return data.size();
    };
    parser.on_chunk_body(onChunk);
    beast::get_lowest_layer(stream_).expires_never();
    beast::error_code ec;
    http::async_read(stream_, buffer_, parser, [&](beast::error_code e, size_t) { ec = e; });
    run();
    if (!parser.get().body().empty()) onData(parser.get().body());  // a body sent unchunked
    if (cancelled_ || !ec) return {};
    return Status::serviceUnavailable("the watch stream from " + ep_.hostHeader +
                                      " broke: " + describe(ec));
  }

  void cancel() {
    cancelled_ = true;
    net::post(ioc_, [this] {
      beast::error_code ec;
      auto& socket = beast::get_lowest_layer(stream_).socket();
      socket.shutdown(tcp::socket::shutdown_both, ec);
      socket.close(ec);
    });
  }

 private:
  void run() {
    ioc_.restart();
    ioc_.run();
  }

  template <class Request>
  void setHead(Request& req, const RequestSpec& r) {
    const http::verb verb = http::string_to_verb(r.method);
    if (verb == http::verb::unknown) {
      req.method_string(r.method);
    } else {
      req.method(verb);
    }
    req.target(ep_.pathPrefix + r.target);
    req.version(11);
    req.set(http::field::host, ep_.hostHeader);
    req.set(http::field::user_agent, options_.userAgent);
    if (!r.accept.empty()) req.set(http::field::accept, r.accept);
    if (!r.contentType.empty()) req.set(http::field::content_type, r.contentType);
    if (!authorization_.empty()) req.set(http::field::authorization, authorization_);
    req.keep_alive(true);
  }

  Status send(const RequestSpec& r, std::chrono::milliseconds timeout) {
    http::request<http::string_body> req;
    setHead(req, r);
    req.body() = r.body;
    req.prepare_payload();
    beast::error_code ec;
    beast::get_lowest_layer(stream_).expires_after(timeout);
    http::async_write(stream_, req, [&](beast::error_code e, size_t) { ec = e; });
    run();
    if (ec) {
      reusable_ = false;
      return unreachable(ep_, "sending the request: " + describe(ec));
    }
    return {};
  }

  template <class Message>
  static Response headOf(const Message& m) {
    Response r;
    r.status = static_cast<int>(m.result_int());
    for (const auto& field : m) {
      r.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    return r;
  }

  static Response toResponse(http::response<http::string_body> m) {
    Response r = headOf(m);
    r.body = std::move(m.body());
    return r;
  }

  const ClusterAccess& access_;
  const ServerEndpoint& ep_;
  const TransportOptions& options_;
  const std::string& authorization_;
  net::io_context ioc_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> streamParser_;
  bool reusable_ = true;
  std::atomic<bool> cancelled_{false};
};

TlsConnection::TlsConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsConnection::~TlsConnection() = default;
Result<Response> TlsConnection::roundTrip(const RequestSpec& request, bool& sawResponse) {
  return impl_->roundTrip(request, sawResponse);
}
bool TlsConnection::reusable() const {
  return impl_->reusable();
}
Result<Response> TlsConnection::upload(const RequestSpec& request, std::istream& body,
                                       std::uint64_t size,
                                       const std::function<void(std::uint64_t)>& progress) {
  return impl_->upload(request, body, size, progress);
}
Result<Response> TlsConnection::startStream(const RequestSpec& request) {
  return impl_->startStream(request);
}
Status TlsConnection::pumpBody(const std::function<void(std::string_view)>& onData) {
  return impl_->pumpBody(onData);
}
void TlsConnection::cancel() {
  impl_->cancel();
}

// --- the pool -----------------------------------------------------------------------------

class ConnectionPool::Impl {
 public:
  Impl(ServerEndpoint ep, TransportOptions options)
      : ep_(std::move(ep)), options_(std::move(options)), ctx_(ssl::context::tls_client) {}

  Status configure(const ClusterAccess& access) {
    if (Status s = configureClientContext(ctx_, access); !s) return s;
    if (!access.token.empty()) authorization_ = "Bearer " + access.token;
    access_ = access;
    return {};
  }

  Result<std::unique_ptr<TlsConnection>> dial() {
    auto impl = std::make_unique<TlsConnection::Impl>(ctx_, access_, ep_, options_, authorization_);
    if (Status st = impl->connect(); !st) return st;
    return std::make_unique<TlsConnection>(std::move(impl));
  }

  std::unique_ptr<TlsConnection> takeIdle() {
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
    while (!idle_.empty()) {
      auto [conn, since] = std::move(idle_.back());
      idle_.pop_back();
      if (now - since < options_.maxIdle) return std::move(conn);
    }
    return nullptr;
  }

  void giveBack(std::unique_ptr<TlsConnection> conn) {
    std::lock_guard lock(mu_);
    if (idle_.size() < options_.maxIdleConnections) {
      idle_.emplace_back(std::move(conn), Clock::now());
    }
  }

  // After one pooled connection turned out dead, the others (same server) likely are too.
  void dropIdle() {
    std::vector<std::pair<std::unique_ptr<TlsConnection>, Clock::time_point>> dead;
    std::lock_guard lock(mu_);
    dead.swap(idle_);
  }

  ClusterAccess access_;
  ServerEndpoint ep_;
  TransportOptions options_;
  ssl::context ctx_;
  std::string authorization_;
  std::mutex mu_;
  std::vector<std::pair<std::unique_ptr<TlsConnection>, Clock::time_point>> idle_;
};

ConnectionPool::ConnectionPool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ConnectionPool::~ConnectionPool() = default;

Result<std::shared_ptr<ConnectionPool>> ConnectionPool::create(const ClusterAccess& access,
                                                               TransportOptions options) {
  auto ep = ServerEndpoint::parse(access.server);
  if (!ep) return ep.status();
  auto impl = std::make_unique<Impl>(std::move(*ep), std::move(options));
  if (Status st = impl->configure(access); !st) return st;
  return std::make_shared<ConnectionPool>(std::move(impl));
}

Result<Response> ConnectionPool::roundTrip(const RequestSpec& request) {
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<TlsConnection> conn = attempt == 0 ? impl_->takeIdle() : nullptr;
    const bool reused = conn != nullptr;
    if (!conn) {
      auto dialled = impl_->dial();
      if (!dialled) return dialled.status();
      conn = std::move(*dialled);
    }
    bool sawResponse = false;
    auto response = conn->roundTrip(request, sawResponse);
    if (response.ok()) {
      if (conn->reusable()) impl_->giveBack(std::move(conn));
      return response;
    }
    // A keep-alive connection the server closed while idle: nothing was answered, so the
    // request never ran; repeat it once on a fresh connection.
    if (!reused || sawResponse) return response;
    impl_->dropIdle();
  }
}

Result<std::unique_ptr<TlsConnection>> ConnectionPool::openDedicated() {
  return impl_->dial();
}

Result<std::unique_ptr<ConnectionPool::TlsStream>> ConnectionPool::dialStream(
    net::io_context& ioc) {
  auto stream = std::make_unique<TlsStream>(ioc, impl_->ctx_);
  if (Status st = dialTls(ioc, *stream, impl_->access_, impl_->ep_, impl_->options_); !st)
    return st;
  return stream;
}

const std::string& ConnectionPool::authorization() const {
  return impl_->authorization_;
}

const ServerEndpoint& ConnectionPool::endpoint() const {
  return impl_->ep_;
}
const TransportOptions& ConnectionPool::options() const {
  return impl_->options_;
}

}  // namespace kd::client::detail

#include "engine/node/registry_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <fstream>
#include <limits>
#include <map>

#include "engine/api/base64.h"
#include "engine/api/percent_encoding.h"
#include "engine/client/api_client.h"
#include "engine/node/image_store.h"

namespace kd::node {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace fs = std::filesystem;
using tcp = net::ip::tcp;
using client::Response;

constexpr int kMaxRedirects = 5;
constexpr size_t kMaxInMemoryBody = 16u << 20;  // manifests, tokens and error bodies
constexpr std::uint64_t kNoBodyLimit = std::numeric_limits<std::uint64_t>::max();

bool isLoopback(const std::string& host) {
  beast::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  return host == "localhost" || (!ec && address.is_loopback());
}

struct Url {
  bool tls = true;
  std::string authority;  // as written in the URL and the Host header
  std::string host;       // without IPv6 brackets
  std::string port;
  std::string target;  // path and query

  static Result<Url> parse(std::string_view text) {
    Url url;
    if (text.starts_with("http://")) {
      url.tls = false;
      text.remove_prefix(7);
    } else if (text.starts_with("https://")) {
      text.remove_prefix(8);
    } else {
      return Status::badRequest("unsupported URL \"" + std::string(text) + "\"");
    }
    const size_t end = std::min(text.find('/'), text.find('?'));
    url.authority = std::string(text.substr(0, end));
    url.target = end == std::string_view::npos ? "/" : std::string(text.substr(end));
    if (url.target.front() == '?') url.target.insert(0, "/");
    std::string_view hostPort = url.authority;
    std::string_view port;
    if (hostPort.starts_with('[')) {
      const size_t close = hostPort.find(']');
      if (close == std::string_view::npos)
        return Status::badRequest("bad URL " + std::string(text));
      url.host = std::string(hostPort.substr(1, close - 1));
      if (close + 1 < hostPort.size() && hostPort[close + 1] == ':')
        port = hostPort.substr(close + 2);
    } else {
      const size_t colon = hostPort.rfind(':');
      url.host = std::string(hostPort.substr(0, colon));
      if (colon != std::string_view::npos) port = hostPort.substr(colon + 1);
    }
    if (url.host.empty()) return Status::badRequest("URL without a host: " + std::string(text));
    url.port = port.empty() ? (url.tls ? "443" : "80") : std::string(port);
    return url;
  }

  std::string origin() const { return (tls ? "https://" : "http://") + authority; }

  // A Location header: an absolute URL or an absolute path on this origin.
  Result<Url> resolve(const std::string& location) const {
    if (location.starts_with("/")) return parse(origin() + location);
    return parse(location);
  }
};

std::string describe(const beast::error_code& ec) {
  return ec == beast::error::timeout ? "timed out" : ec.message();
}

Status unreachable(const Url& url, const std::string& why) {
  return Status::serviceUnavailable("cannot reach " + url.authority + ": " + why);
}

using api::percentEncode;

// `Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull"`
// into its scheme (lower case) and parameters.
std::pair<std::string, std::map<std::string, std::string>> parseChallenge(std::string_view h) {
  std::map<std::string, std::string> params;
  const size_t space = std::min(h.find(' '), h.size());
  std::string scheme(h.substr(0, space));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), ::tolower);
  size_t i = space;
  while (i < h.size()) {
    while (i < h.size() && (h[i] == ' ' || h[i] == ',')) ++i;
    const size_t eq = h.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key(h.substr(i, eq - i));
    std::transform(key.begin(), key.end(), key.begin(), ::tolower);
    std::string value;
    i = eq + 1;
    if (i < h.size() && h[i] == '"') {
      for (++i; i < h.size() && h[i] != '"'; ++i) {
        if (h[i] == '\\' && i + 1 < h.size()) ++i;
        value += h[i];
      }
      ++i;
    } else {
      const size_t comma = std::min(h.find(',', i), h.size());
      value = std::string(h.substr(i, comma - i));
      i = comma;
    }
    params[key] = value;
  }
  return {scheme, params};
}

// The Status a registry's refusal stands for, quoting its error messages.
Status registryError(const Response& r, const std::string& what) {
  std::string messages;
  try {
    const json body = json::parse(r.body);
    for (const auto& e : body.value("errors", json::array())) {
      std::string m = e.value("message", "");
      if (m.empty()) m = e.value("code", "");
      messages += (messages.empty() ? "" : "; ") + m;
    }
    if (messages.empty()) messages = body.value("details", "");  // Docker Hub's token endpoint
  } catch (const std::exception&) {
  }
  if (messages.empty()) messages = "HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 200);
  const std::string message = what + ": " + messages;
  switch (r.status) {
    case 401:
      return Status::unauthorized(message);
    case 403:
      return Status::forbidden(message);
    case 404:
      return Status::notFound(message);
    case 429:
      return Status::tooManyRequests(message);
    default:
      return Status::internal(message);
  }
}

// One GET per connection; bodies stream through a fixed buffer.
class HttpClient {
 public:
  explicit HttpClient(const RegistryOptions& options)
      : options_(options), tls_(ssl::context::tls_client) {
    tls_.set_default_verify_paths();
    tls_.set_verify_mode(ssl::verify_peer);
  }

  // The body of a 2xx answer goes to `file` when one is given, every other body into the
  // Response.
  Result<Response> get(const Url& url, const std::string& accept, const std::string& authorization,
                       const fs::path* file, const std::function<void(uint64_t)>& onBytes) {
    if (url.host.ends_with(".invalid") || url.host == "invalid") {
      return unreachable(url, "no such host (the .invalid domain is reserved)");
    }
    if (!url.tls && !isLoopback(url.host)) {
      return Status::badRequest("plain HTTP is only used for registries on the loopback host; " +
                                url.authority + " must be reached over HTTPS");
    }
    http::request<http::empty_body> req{http::verb::get, url.target, 11};
    req.set(http::field::host, url.authority);
    req.set(http::field::user_agent, options_.userAgent);
    if (!accept.empty()) req.set(http::field::accept, accept);
    if (!authorization.empty()) req.set(http::field::authorization, authorization);
    req.keep_alive(false);
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    const auto endpoints = resolver.resolve(url.host, url.port, ec);
    if (ec) return unreachable(url, "cannot resolve " + url.host + ": " + ec.message());
    if (!url.tls) {
      beast::tcp_stream stream(ioc_);
      if (Status s = connect(stream, endpoints, url); !s.isOk()) return s;
      return exchange(stream, stream, req, url, file, onBytes);
    }
    beast::ssl_stream<beast::tcp_stream> stream(ioc_, tls_);
    pinServerName(stream.native_handle(), url.host);
    if (Status s = connect(beast::get_lowest_layer(stream), endpoints, url); !s.isOk()) return s;
    stream.async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
    run();
    if (ec) return unreachable(url, handshakeFailure(stream.native_handle(), ec));
    return exchange(stream, beast::get_lowest_layer(stream), req, url, file, onBytes);
  }

 private:
  void run() {
    ioc_.restart();
    ioc_.run();
  }

  Status connect(beast::tcp_stream& stream, const tcp::resolver::results_type& endpoints,
                 const Url& url) {
    beast::error_code ec;
    stream.expires_after(options_.connectTimeout);
    stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    run();
    return ec ? unreachable(url, describe(ec)) : Status{};
  }

  static void pinServerName(SSL* ssl, const std::string& host) {
    beast::error_code ec;
    net::ip::make_address(host, ec);
    if (!ec) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
      return;
    }
    SSL_set_tlsext_host_name(ssl, host.c_str());
    SSL_set1_host(ssl, host.c_str());
  }

  static std::string handshakeFailure(SSL* ssl, const beast::error_code& ec) {
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      return std::string("TLS certificate verification failed: ") +
             X509_verify_cert_error_string(verify);
    }
    return "TLS handshake failed: " + describe(ec);
  }

  template <class Stream>
  Result<Response> exchange(Stream& stream, beast::tcp_stream& socket,
                            const http::request<http::empty_body>& req, const Url& url,
                            const fs::path* file, const std::function<void(uint64_t)>& onBytes) {
    beast::error_code ec;
    socket.expires_after(options_.idleTimeout);
    http::async_write(stream, req, [&](beast::error_code e, size_t) { ec = e; });
    run();
    if (ec) return unreachable(url, "sending the request: " + describe(ec));
    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(kNoBodyLimit);
    socket.expires_after(options_.idleTimeout);
    http::async_read_header(stream, buffer, parser, [&](beast::error_code e, size_t) { ec = e; });
    run();
    if (ec) return unreachable(url, "reading the response: " + describe(ec));
    Response response;
    response.status = static_cast<int>(parser.get().result_int());
    for (const auto& field : parser.get()) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    const bool toFile = file != nullptr && response.ok();
    std::ofstream out;
    if (toFile) out.open(*file, std::ios::binary | std::ios::trunc);
    if (toFile && !out) return Status::internal("cannot write " + file->string());
    uint64_t written = 0;
    char chunk[64 * 1024];
    while (!parser.is_done()) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof chunk;
      socket.expires_after(options_.idleTimeout);
      http::async_read(stream, buffer, parser, [&](beast::error_code e, size_t) { ec = e; });
      run();
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return unreachable(url, "reading the response: " + describe(ec));
      const size_t n = sizeof chunk - parser.get().body().size;
      if (!toFile) {
        if (response.body.size() + n > kMaxInMemoryBody)
          return Status::internal(url.authority + ": answer too large");
        response.body.append(chunk, n);
        continue;
      }
      out.write(chunk, static_cast<std::streamsize>(n));
      written += n;
      if (onBytes) onBytes(written);
    }
    out.close();
    if (toFile && !out) return Status::internal("cannot write " + file->string());
    return response;
  }

  RegistryOptions options_;
  net::io_context ioc_;
  ssl::context tls_;
};

bool isRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace

class RegistryClient::Impl {
 public:
  Impl(std::string domain, std::string repository, RegistryOptions options)
      : domain_(std::move(domain)),
        repository_(std::move(repository)),
        credential_(options.credential),
        http_(options) {}

  std::string name() const { return domain_ + "/" + repository_; }

  // GET /v2/<repository><path>, authorizing once when the registry challenges.
  Result<Response> get(const std::string& path, const std::string& accept, const fs::path* file,
                       const std::function<void(uint64_t)>& onBytes) {
    auto base = baseUrl();
    if (!base.ok()) return base.status();
    base->target = "/v2/" + repository_ + path;
    auto r = follow(*base, accept, file, onBytes);
    if (!r.ok() || r->status != 401) return r;
    if (Status s = authorize(*r); !s.isOk()) return s;
    return follow(*base, accept, file, onBytes);
  }

 private:
  Result<Url> baseUrl() const {
    const std::string authority = domain_ == "docker.io" ? "registry-1.docker.io" : domain_;
    auto probe = Url::parse("https://" + authority + "/");
    if (!probe.ok()) return probe.status();
    return isLoopback(probe->host) ? Url::parse("http://" + authority + "/") : probe;
  }

  Result<Response> follow(Url url, const std::string& accept, const fs::path* file,
                          const std::function<void(uint64_t)>& onBytes) {
    const std::string registryOrigin = url.origin();
    for (int hop = 0;; ++hop) {
      // Credentials are the registry's; storage a blob is redirected to gets none.
      const std::string auth = url.origin() == registryOrigin ? authorization_ : "";
      auto r = http_.get(url, accept, auth, file, onBytes);
      if (!r.ok() || !isRedirect(r->status)) return r;
      if (hop == kMaxRedirects) return Status::internal(name() + ": too many redirects");
      auto next = url.resolve(r->header("Location"));
      if (!next.ok()) return next.status();
      url = *next;
    }
  }

  // Answers a challenge: Basic with the credential itself, Bearer with a pull token.
  Status authorize(const Response& challenged) {
    const auto [scheme, params] = parseChallenge(challenged.header("WWW-Authenticate"));
    if (scheme == "bearer" && params.count("realm")) return fetchToken(params);
    if (scheme == "basic" && credential_) {
      authorization_ = basicAuthorization(*credential_);
      return {};
    }
    if (credential_ && !scheme.empty() && scheme != "basic") {
      return Status::unauthorized(name() + ": the registry asks for \"" + scheme +
                                  "\" authentication, which is not supported");
    }
    return Status::unauthorized(name() + ": the registry requires " +
                                (scheme.empty() ? "credentials" : scheme + " credentials") +
                                ", and none are configured");
  }

  // Asks the challenge's token endpoint for a pull token, with the credential if there is one.
  Status fetchToken(const std::map<std::string, std::string>& params) {
    auto realm = Url::parse(params.at("realm"));
    if (!realm.ok()) return realm.status();
    const std::string scope =
        params.count("scope") ? params.at("scope") : "repository:" + repository_ + ":pull";
    realm->target += realm->target.find('?') == std::string::npos ? "?" : "&";
    if (params.count("service"))
      realm->target += "service=" + percentEncode(params.at("service")) + "&";
    if (credential_) realm->target += "account=" + percentEncode(credential_->username) + "&";
    realm->target += "scope=" + percentEncode(scope);
    const std::string auth = credential_ ? basicAuthorization(*credential_) : "";
    auto r = http_.get(*realm, "application/json", auth, nullptr, {});
    if (!r.ok()) return r.status();
    if (!r->ok()) return registryError(*r, "getting a pull token for " + name());
    std::string token;
    try {
      const json body = json::parse(r->body);
      token = body.value("token", body.value("access_token", ""));
    } catch (const std::exception&) {
    }
    if (token.empty()) {
      return Status::unauthorized("the token endpoint for " + name() + " sent no token");
    }
    authorization_ = "Bearer " + token;
    return {};
  }

  static std::string basicAuthorization(const RegistryCredential& c) {
    return "Basic " + api::base64Encode(c.username + ":" + c.password);
  }

  std::string domain_, repository_;
  std::optional<RegistryCredential> credential_;
  HttpClient http_;
  std::string authorization_;
};

RegistryClient::RegistryClient(std::string domain, std::string repository, RegistryOptions options)
    : impl_(std::make_unique<Impl>(std::move(domain), std::move(repository), std::move(options))) {}

RegistryClient::~RegistryClient() = default;

std::string RegistryClient::name() const {
  return impl_->name();
}

Result<FetchedManifest> RegistryClient::fetchManifest(const std::string& reference) {
  std::string accept;
  for (const char* type : kManifestMediaTypes)
    accept += (accept.empty() ? "" : ", ") + std::string(type);
  auto r = impl_->get("/manifests/" + reference, accept, nullptr, {});
  if (!r.ok()) return r.status();
  const std::string what = "reading manifest " + reference + " in " + name();
  if (!r->ok()) return registryError(*r, what);
  FetchedManifest m;
  m.body = std::move(r->body);
  m.digest = sha256Digest(m.body);
  const std::string announced = r->header("Docker-Content-Digest");
  for (const std::string& expected : {reference, announced}) {
    if (expected.starts_with("sha256:") && expected != m.digest) {
      return Status::badRequest(what + ": digest mismatch: expected " + expected + ", got " +
                                m.digest);
    }
  }
  try {
    m.parsed = json::parse(m.body);
  } catch (const std::exception& e) {
    return Status::badRequest(what + ": " + e.what());
  }
  const std::string contentType = r->header("Content-Type");
  m.mediaType = m.parsed.value("mediaType", contentType.substr(0, contentType.find(';')));
  if (std::none_of(std::begin(kManifestMediaTypes), std::end(kManifestMediaTypes),
                   [&](const char* t) { return m.mediaType == t; })) {
    return Status::badRequest(what + ": unsupported manifest type \"" + m.mediaType + "\"");
  }
  return m;
}

Status RegistryClient::fetchBlob(const std::string& digest, const fs::path& file,
                                 const std::function<void(uint64_t)>& onBytes) {
  auto r = impl_->get("/blobs/" + digest, "", &file, onBytes);
  if (!r.ok()) return r.status();
  return r->ok() ? Status{} : registryError(*r, "fetching blob " + digest + " from " + name());
}

}  // namespace kd::node

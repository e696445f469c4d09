#pragma once
// Internal to engine/client: HTTPS to one API server with Boost.Beast over OpenSSL. Callers
// outside engine/client use api_client.h instead.
//
// Every operation is synchronous for the caller but runs on the connection's own io_context
// so it can carry a deadline and be cancelled from another thread.

#include <openssl/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <functional>
#include <istream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/api/status.h"
#include "engine/client/kubeconfig.h"

namespace kd::client {

struct Response;  // api_client.h
struct WatchHandlers;
class Watch;

namespace detail {

// "https://host[:port][/prefix]" split into what the transport needs.
struct ServerEndpoint {
  std::string host;        // "127.0.0.1", "kube.example", "::1" (no brackets)
  std::string port;        // "443" when the URL names none
  std::string pathPrefix;  // "" or e.g. "/k8s/clusters/c-1", without a trailing slash
  std::string hostHeader;  // what goes into Host:

  static Result<ServerEndpoint> parse(const std::string& url);
};

// Makes the TLS handshake on `ssl` verify the server's certificate against the name a client
// of `access` expects: the kubeconfig's tls-server-name when set, else the URL's host (an IP
// address is matched as one). A DNS name is also sent as SNI. Shared by every TLS dialer of
// the API server (this transport, the node agent's tunnel).
void pinServerName(SSL* ssl, const ClusterAccess& access, const ServerEndpoint& endpoint);

// Sets up a client TLS context for `access`: TLS 1.2 and newer, idle connections giving back
// their record buffers, the server verified against the cluster's CA (or the system's when
// the kubeconfig names none) unless insecure-skip-tls-verify, the user's client certificate.
// Shared by every TLS dialer of the API server, as pinServerName is.
Status configureClientContext(boost::asio::ssl::context& ctx, const ClusterAccess& access);

struct RequestSpec {
  std::string method;
  std::string target;  // path and query, without the endpoint's prefix
  std::string body;
  std::string contentType;
  std::string accept;
};

struct TransportOptions {
  std::chrono::milliseconds connectTimeout{10'000};
  std::chrono::milliseconds requestTimeout{120'000};
  std::chrono::seconds maxIdle{60};  // idle connections older than this are not reused
  size_t maxIdleConnections = 16;
  std::string userAgent = "kubedesk";
};

class TlsConnection;

// Owns the TLS settings built from a ClusterAccess and the idle keep-alive connections.
// Thread-safe: each concurrent roundTrip uses a connection of its own.
class ConnectionPool : public std::enable_shared_from_this<ConnectionPool> {
 public:
  // Fails when the access data is unusable (bad URL, unparsable PEM).
  static Result<std::shared_ptr<ConnectionPool>> create(const ClusterAccess& access,
                                                        TransportOptions options);
  ~ConnectionPool();

  // One request on a pooled connection. A reused connection that the server had closed
  // (nothing of a response arrived) is replaced once, transparently. Fails only for transport
  // reasons; any HTTP status is a Response.
  Result<Response> roundTrip(const RequestSpec& request);

  // A fresh, unpooled connection for a long-lived stream.
  Result<std::unique_ptr<TlsConnection>> openDedicated();

  // A connected, handshaken TLS stream to the server on the caller's io_context, for
  // protocols that take the connection over (WebSocket exec, attach, port-forward). Runs `ioc`
  // until connected: call it while nothing else runs `ioc`. The pool must outlive the stream.
  using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
  Result<std::unique_ptr<TlsStream>> dialStream(boost::asio::io_context& ioc);
  // The Authorization header requests carry ("" for a client-certificate user).
  const std::string& authorization() const;

  const ServerEndpoint& endpoint() const;
  const TransportOptions& options() const;

  class Impl;
  explicit ConnectionPool(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

// One TLS connection, driven by whichever thread calls it (one at a time).
class TlsConnection {
 public:
  class Impl;
  explicit TlsConnection(std::unique_ptr<Impl> impl);
  ~TlsConnection();

  // Sends one request and reads the whole response. `sawResponse` tells whether any byte of a
  // response arrived, which decides whether a failed exchange may be retried elsewhere.
  Result<Response> roundTrip(const RequestSpec& request, bool& sawResponse);
  bool reusable() const;

  // Sends `request` (its `body` ignored) with `size` bytes from `body` as the request body,
  // read and sent a piece at a time (an image tarball need not fit in memory); `progress` is
  // told the bytes sent so far. Reads the whole response. When the server answers and closes
  // before taking the whole body (a refusal), its answer is returned all the same.
  Result<Response> upload(const RequestSpec& request, std::istream& body, std::uint64_t size,
                          const std::function<void(std::uint64_t)>& progress);

  // Sends a request and reads only the response head. A non-2xx answer is returned with its
  // body read; a 2xx one leaves the body for pumpBody.
  Result<Response> startStream(const RequestSpec& request);
  // Reads the streamed body until it ends, fails or cancel() is called, handing each piece to
  // `onData`. Returns OK on a clean end or cancel.
  Status pumpBody(const std::function<void(std::string_view)>& onData);
  // Aborts a pumpBody in progress; callable from any thread.
  void cancel();

 private:
  std::unique_ptr<Impl> impl_;
};

// Opens a dedicated connection, sends `request` (a ?watch=true GET) and streams its events
// (watch.cpp). A refused watch is the answer's Status.
Result<std::unique_ptr<Watch>> startWatch(std::shared_ptr<ConnectionPool> pool,
                                          const RequestSpec& request, WatchHandlers handlers);

}  // namespace detail
}  // namespace kd::client

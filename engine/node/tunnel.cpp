#include "engine/node/tunnel.h"

#include <poll.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>

#include "engine/client/tls_transport.h"

namespace kd::node {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

constexpr auto kInitialBackoff = std::chrono::seconds(1);
constexpr auto kMaxBackoff = std::chrono::seconds(30);
constexpr auto kEngineSilence = std::chrono::seconds(60);
constexpr auto kStopCheck = std::chrono::milliseconds(200);

void logLine(const std::string& line) {
  std::fprintf(stderr, "kubedesk-node: tunnel: %s\n", line.c_str());
}

}  // namespace

class ReverseTunnel::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(client::ClusterAccess access, std::string nodeName, StreamingContext streaming)
      : access_(std::move(access)),
        node_(std::move(nodeName)),
        streaming_(std::move(streaming)),
        ctx_(ssl::context::tls_client) {}

  Status configure() {
    auto endpoint = client::detail::ServerEndpoint::parse(access_.server);
    if (!endpoint.ok()) return endpoint.status();
    endpoint_ = *endpoint;
    return client::detail::configureClientContext(ctx_, access_);
  }

  void run() {
    auto backoff = std::chrono::duration_cast<std::chrono::seconds>(kInitialBackoff);
    std::string lastError;
    while (!stopped_) {
      const auto began = std::chrono::steady_clock::now();
      const Status s = controlSession();
      if (stopped_) break;
      if (std::chrono::steady_clock::now() - began > kMaxBackoff) backoff = kInitialBackoff;
      if (s.message() != lastError) logLine("control connection: " + s.message() + " (retrying)");
      lastError = s.message();
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, backoff, [&] { return stopped_.load(); });
      backoff =
          std::min(backoff * 2, std::chrono::duration_cast<std::chrono::seconds>(kMaxBackoff));
    }
  }

  void stop() {
    stopped_ = true;
    cv_.notify_all();
  }

 private:
  // A TLS connection to the engine that has sent `GET <path>`.
  Result<TunnelStream> dial(net::io_context& ioc, const std::string& path) {
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    auto addresses = resolver.resolve(endpoint_.host, endpoint_.port, ec);
    if (ec) return Status::serviceUnavailable("resolve " + endpoint_.host + ": " + ec.message());
    TunnelStream stream(ioc, ctx_);
    beast::get_lowest_layer(stream).socket().connect(*addresses.begin(), ec);
    if (ec) return Status::serviceUnavailable("connect " + access_.server + ": " + ec.message());
    // Streams carry small interactive writes (port-forwarded requests, keystrokes): Nagle's
    // algorithm against the peer's delayed ACK would hold each for ~40 ms.
    beast::get_lowest_layer(stream).socket().set_option(tcp::no_delay(true), ec);
    SSL* native = stream.native_handle();
    client::detail::pinServerName(native, access_, endpoint_);
    stream.handshake(ssl::stream_base::client, ec);
    if (ec) return Status::serviceUnavailable("TLS handshake: " + ec.message());
    std::string request = "GET " + endpoint_.pathPrefix + path +
                          " HTTP/1.1\r\nHost: " + endpoint_.hostHeader +
                          "\r\nUser-Agent: kubedesk-node/" + node_ + "\r\n";
    if (!access_.token.empty()) request += "Authorization: Bearer " + access_.token + "\r\n";
    request += "Connection: Upgrade\r\nUpgrade: kubedesk-tunnel\r\n\r\n";
    net::write(stream, net::buffer(request), ec);
    if (ec) return Status::serviceUnavailable("write: " + ec.message());
    return stream;
  }

  // Waits until `stream` has bytes to read: false on stop or when the engine stays silent.
  bool waitReadable(TunnelStream& stream) {
    if (SSL_pending(stream.native_handle()) > 0) return true;
    const int fd = beast::get_lowest_layer(stream).socket().native_handle();
    const auto deadline = std::chrono::steady_clock::now() + kEngineSilence;
    while (!stopped_ && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(kStopCheck.count())) > 0) return true;
    }
    return false;
  }

  // One control connection, until it is lost. Returns why.
  Status controlSession() {
    net::io_context ioc;
    auto stream = dial(ioc, "/kubedesk/v1/nodes/" + node_ + "/tunnel");
    if (!stream.ok()) return stream.status();
    std::string buffer;
    beast::error_code ec;
    const size_t headEnd = net::read_until(*stream, net::dynamic_buffer(buffer), "\r\n\r\n", ec);
    if (ec) return Status::serviceUnavailable("reading the engine's answer: " + ec.message());
    if (!buffer.starts_with("HTTP/1.1 101")) {
      return Status::serviceUnavailable("the engine refused the tunnel: " +
                                        buffer.substr(0, buffer.find("\r\n")));
    }
    buffer.erase(0, headEnd);
    logLine("connected to " + access_.server);
    char chunk[4096];
    for (;;) {
      for (size_t nl; (nl = buffer.find('\n')) != std::string::npos; buffer.erase(0, nl + 1)) {
        if (nl > 0) openStream(buffer.substr(0, nl));
      }
      if (!waitReadable(*stream)) {
        return Status::serviceUnavailable(stopped_ ? "stopped" : "the engine went silent");
      }
      const size_t n = stream->read_some(net::buffer(chunk), ec);
      if (ec) return Status::serviceUnavailable("connection lost: " + ec.message());
      buffer.append(chunk, n);
    }
  }

  // Dials back for stream `id` and serves it on a thread of its own.
  void openStream(const std::string& id) {
    std::thread([self = shared_from_this(), id] {
      net::io_context ioc;
      auto stream = self->dial(ioc, "/kubedesk/v1/tunnel/" + id);
      if (!stream.ok()) {
        logLine("stream " + id + ": " + stream.status().message());
        return;
      }
      serveStream(ioc, std::move(stream).value(), self->streaming_);
    }).detach();
  }

  client::ClusterAccess access_;
  std::string node_;
  StreamingContext streaming_;
  client::detail::ServerEndpoint endpoint_;
  ssl::context ctx_;
  std::atomic<bool> stopped_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
  friend class ReverseTunnel;
};

ReverseTunnel::ReverseTunnel(client::ClusterAccess access, std::string nodeName,
                             StreamingContext streaming)
    : impl_(std::make_shared<Impl>(std::move(access), std::move(nodeName), std::move(streaming))) {}

ReverseTunnel::~ReverseTunnel() {
  impl_->stop();
  if (impl_->thread_.joinable()) impl_->thread_.join();
}

Status ReverseTunnel::start() {
  if (Status s = impl_->configure(); !s.isOk()) return s;
  impl_->thread_ = std::thread([impl = impl_] { impl->run(); });
  return {};
}

}  // namespace kd::node

#include "engine/client/remote_stream.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "engine/api/percent_encoding.h"

namespace kd::client {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;

constexpr size_t kStdinChunk = 32 * 1024;
// Stdin bytes queued towards the server above which stdin is not read.
constexpr size_t kStdinQueueLimit = 1024 * 1024;

std::string joined(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

}  // namespace

Result<WebSocketConnection> dialWebSocket(net::io_context& ioc, const ApiClient& client,
                                          const std::string& path,
                                          const std::vector<std::string>& protocols) {
  auto pool = detail::ConnectionPool::create(client.access(), {});
  if (!pool.ok()) return pool.status();
  auto stream = (*pool)->dialStream(ioc);
  if (!stream.ok()) return stream.status();
  WebSocketConnection conn{*pool, std::make_unique<WebSocket>(std::move(**stream)), {}};
  const std::string offered = joined(protocols, ", ");
  conn.ws->set_option(websocket::stream_base::decorator(
      [offered, authorization = (*pool)->authorization(),
       userAgent = (*pool)->options().userAgent](websocket::request_type& req) {
        req.set(http::field::sec_websocket_protocol, offered);
        req.set(http::field::user_agent, userAgent);
        if (!authorization.empty()) req.set(http::field::authorization, authorization);
      }));
  const auto& ep = (*pool)->endpoint();
  websocket::response_type res;
  beast::error_code ec;
  conn.ws->handshake(res, ep.hostHeader, ep.pathPrefix + path, ec);
  if (res.result_int() != 0 && res.result() != http::status::switching_protocols) {
    return statusFromResponse(static_cast<int>(res.result_int()), res.body());
  }
  if (ec) {
    return Status::serviceUnavailable("unable to upgrade connection to " + ep.hostHeader + ": " +
                                      ec.message());
  }
  conn.protocol = std::string(res[http::field::sec_websocket_protocol]);
  if (std::find(protocols.begin(), protocols.end(), conn.protocol) == protocols.end()) {
    return Status::badRequest("the server chose no protocol this client speaks (offered " +
                              offered + ", got \"" + conn.protocol + "\")");
  }
  conn.ws->binary(true);
  return conn;
}

std::string remoteCommandQuery(const RemoteCommandQuery& q) {
  std::vector<std::string> parts;  // keys sorted, as url.Values.Encode writes them
  for (const auto& word : q.command) parts.push_back("command=" + api::percentEncode(word));
  if (!q.container.empty()) parts.push_back("container=" + api::percentEncode(q.container));
  const auto flag = [](bool b) { return std::string(b ? "true" : "false"); };
  parts.push_back("stderr=" + flag(q.errorOutput));
  parts.push_back("stdin=" + flag(q.input));
  parts.push_back("stdout=" + flag(q.output));
  parts.push_back("tty=" + flag(q.tty));
  return "?" + joined(parts, "&");
}

int exitCodeOf(const json& status) {
  if (status.value("status", "") == "Success") return 0;
  if (status.value("reason", "") != "NonZeroExitCode") return -1;
  const json causes = status.value("details", json::object()).value("causes", json::array());
  for (const json& cause : causes) {
    if (cause.value("reason", "") != "ExitCode") continue;
    try {
      return std::stoi(cause.value("message", ""));
    } catch (...) {
      return -1;
    }
  }
  return -1;
}

// --- the session -------------------------------------------------------------------------------

class RemoteCommand::Impl {
 public:
  Status open(const ApiClient& client, const std::string& path) {
    auto conn = dialWebSocket(ioc_, client, path, {"v5.channel.k8s.io", "v4.channel.k8s.io"});
    if (!conn.ok()) return conn.status();
    conn_ = std::move(*conn);
    return {};
  }

  const std::string& protocol() const { return conn_.protocol; }

  void resize(TerminalSize size) {
    const std::string body = "{\"Width\":" + std::to_string(size.width) +
                             ",\"Height\":" + std::to_string(size.height) + "}";
    send(kResizeChannel, body);
  }

  void writeStdin(std::string_view data) { send(kStdinChannel, data); }

  Result<json> run(const RemoteCommandIo& io) {
    io_ = &io;
    readServer();
    std::thread input;
    if (io.stdinFd >= 0) input = std::thread([this, fd = io.stdinFd] { pumpStdin(fd); });
    ioc_.restart();  // dialling ran it to a stop
    ioc_.run();
    stopInput_ = true;
    queueSpace_.notify_all();
    if (input.joinable()) input.join();
    if (cancelled_) return Status::timeout("the session was cancelled");
    if (!broken_.isOk()) return broken_;
    if (errorChannel_.empty()) return json{{"status", "Success"}};
    json status = json::parse(errorChannel_, nullptr, false);
    if (status.is_discarded()) {  // a bare message: older servers' failures
      return json{{"status", "Failure"}, {"message", errorChannel_}};
    }
    return status;
  }

  void cancel() {
    cancelled_ = true;
    net::post(ioc_, [this] {
      beast::error_code ec;
      beast::get_lowest_layer(*conn_.ws).socket().close(ec);
    });
  }

 private:
  void send(uint8_t channel, std::string_view data) {
    std::string message(1, static_cast<char>(channel));
    message.append(data);
    {
      std::lock_guard lock(mu_);
      queuedBytes_ += message.size();
    }
    net::post(ioc_, [this, message = std::move(message)]() mutable {
      outq_.push_back(std::move(message));
      flush();
    });
  }

  void flush() {
    if (writing_ || outq_.empty() || finished_) return;
    writing_ = true;
    conn_.ws->async_write(net::buffer(outq_.front()), [this](beast::error_code ec, size_t) {
      writing_ = false;
      {
        std::lock_guard lock(mu_);
        queuedBytes_ -= outq_.front().size();
      }
      queueSpace_.notify_all();
      outq_.pop_front();
      if (ec) return fail(ec);
      flush();
    });
  }

  void readServer() {
    conn_.ws->async_read(in_, [this](beast::error_code ec, size_t) {
      if (ec) return finish(ec);
      const std::string message = beast::buffers_to_string(in_.data());
      in_.consume(in_.size());
      onMessage(message);
      readServer();
    });
  }

  void onMessage(std::string_view message) {
    if (message.empty()) return;
    const auto channel = static_cast<uint8_t>(message[0]);
    message.remove_prefix(1);
    if (channel == kStdoutChannel && io_->onStdout) io_->onStdout(message);
    if (channel == kStderrChannel && io_->onStderr) io_->onStderr(message);
    if (channel == kErrorChannel) errorChannel_ += message;
  }

  // The server ended the session: a clean close (or, from servers that skip the close
  // handshake, end of file) after the error channel is the normal end.
  void finish(const beast::error_code& ec) {
    if (ec != websocket::error::closed && ec != net::error::eof &&
        ec != net::ssl::error::stream_truncated && !cancelled_) {
      fail(ec);
    }
    finished_ = true;
    beast::error_code ignored;
    beast::get_lowest_layer(*conn_.ws).socket().close(ignored);
  }

  void fail(const beast::error_code& ec) {
    if (broken_.isOk() && !finished_) {
      broken_ = Status::serviceUnavailable("the connection to the server broke: " + ec.message());
    }
    finished_ = true;
    beast::error_code ignored;
    beast::get_lowest_layer(*conn_.ws).socket().close(ignored);
  }

  void pumpStdin(int fd) {
    char buf[kStdinChunk];
    while (!stopInput_) {
      pollfd p{fd, POLLIN, 0};
      const int ready = ::poll(&p, 1, 200);
      if (ready < 0 && errno != EINTR) break;
      if (ready <= 0) continue;
      const ssize_t got = ::read(fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      send(kStdinChannel, std::string_view(buf, static_cast<size_t>(got)));
      std::unique_lock lock(mu_);
      queueSpace_.wait(lock, [this] { return stopInput_ || queuedBytes_ < kStdinQueueLimit; });
    }
    // v5 says where stdin ends; v4 cannot.
    if (!stopInput_ && conn_.protocol == "v5.channel.k8s.io") {
      send(kCloseChannel, std::string(1, static_cast<char>(kStdinChannel)));
    }
  }

  net::io_context ioc_;
  WebSocketConnection conn_;
  const RemoteCommandIo* io_ = nullptr;
  beast::flat_buffer in_;
  std::deque<std::string> outq_;  // the io thread's
  bool writing_ = false, finished_ = false;
  std::string errorChannel_;
  Status broken_;
  std::atomic<bool> cancelled_{false}, stopInput_{false};
  std::mutex mu_;
  std::condition_variable queueSpace_;
  size_t queuedBytes_ = 0;
};

RemoteCommand::RemoteCommand(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RemoteCommand::~RemoteCommand() = default;

Result<std::unique_ptr<RemoteCommand>> RemoteCommand::open(const ApiClient& client,
                                                           const std::string& path) {
  auto impl = std::make_unique<Impl>();
  if (Status st = impl->open(client, path); !st) return st;
  return std::make_unique<RemoteCommand>(std::move(impl));
}

const std::string& RemoteCommand::protocol() const {
  return impl_->protocol();
}
void RemoteCommand::resize(TerminalSize size) {
  impl_->resize(size);
}
void RemoteCommand::writeStdin(std::string_view data) {
  impl_->writeStdin(data);
}
Result<json> RemoteCommand::run(const RemoteCommandIo& io) {
  return impl_->run(io);
}
void RemoteCommand::cancel() {
  impl_->cancel();
}

}  // namespace kd::client

#pragma once
// The client side of the API server's streaming subresources over WebSocket, as kubectl 1.30+
// speaks them: a WebSocket dialled on the client library's TLS connection (same CA, client
// certificate or bearer token), and on it the remote-command protocol of pods/exec and
// pods/attach.
//
// Remote command (KEP-4006): subprotocol v5.channel.k8s.io, else v4.channel.k8s.io. Every
// binary message starts with its channel: 0 stdin, 1 stdout, 2 stderr, 3 error (the final
// meta/v1 Status as JSON), 4 resize (JSON {"Width","Height"}); v5 adds 255 "close", whose next
// byte names the channel the client will write no more to (the end of stdin). v4 has no way to
// end stdin, so with v4 input ends only with the session.

#include <boost/asio/io_context.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/api/status.h"
#include "engine/client/api_client.h"
#include "engine/client/tls_transport.h"

namespace kd::client {

using WebSocket = boost::beast::websocket::stream<detail::ConnectionPool::TlsStream>;

// A WebSocket to the server of `client`, opened on `ioc` (which nothing else runs meanwhile).
struct WebSocketConnection {
  std::shared_ptr<detail::ConnectionPool> pool;  // owns the TLS settings the stream uses
  std::unique_ptr<WebSocket> ws;
  std::string protocol;  // the subprotocol the server chose
};

// GET `path` (with query) upgraded to WebSocket, offering `protocols` in order of preference.
// A refusal (403, 404, 400 ...) is the Status the server sent; a server that chooses none of
// `protocols` is a 400.
Result<WebSocketConnection> dialWebSocket(boost::asio::io_context& ioc, const ApiClient& client,
                                          const std::string& path,
                                          const std::vector<std::string>& protocols);

inline constexpr uint8_t kStdinChannel = 0;
inline constexpr uint8_t kStdoutChannel = 1;
inline constexpr uint8_t kStderrChannel = 2;
inline constexpr uint8_t kErrorChannel = 3;
inline constexpr uint8_t kResizeChannel = 4;
inline constexpr uint8_t kCloseChannel = 255;

// The query of an exec or attach request ("?command=ls&command=-l&container=c&stdin=true..."),
// keys in the order kubectl's url.Values encodes them; `command` is empty for attach.
struct RemoteCommandQuery {
  std::vector<std::string> command;
  std::string container;
  bool input = false, output = true, errorOutput = true, tty = false;  // stdin, stdout, stderr, tty
};
std::string remoteCommandQuery(const RemoteCommandQuery& query);

// The exit code a finished command's Status carries: 0 for Success, the ExitCode cause of a
// NonZeroExitCode failure, -1 for any other failure (the Status is then the error to print).
int exitCodeOf(const json& status);

struct TerminalSize {
  uint16_t width = 0, height = 0;
};

// Where a remote command's streams come from and go to. Output callbacks run on the session's
// thread, in arrival order.
struct RemoteCommandIo {
  int stdinFd = -1;  // read until end of file; -1: no stdin
  std::function<void(std::string_view)> onStdout, onStderr;
};

// One exec or attach session. Thread-safe: resize() and cancel() may be called from any thread.
class RemoteCommand {
 public:
  // Dials `path` (pods/NAME/exec or attach, with remoteCommandQuery) offering v5, then v4.
  static Result<std::unique_ptr<RemoteCommand>> open(const ApiClient& client,
                                                     const std::string& path);
  ~RemoteCommand();
  RemoteCommand(const RemoteCommand&) = delete;
  RemoteCommand& operator=(const RemoteCommand&) = delete;

  const std::string& protocol() const;
  // Sends a terminal size on the resize channel (before or during run()).
  void resize(TerminalSize size);
  // Queues `data` for the command's stdin, for callers with no file to read it from (a
  // terminal widget; the query must ask for stdin and RemoteCommandIo::stdinFd stay -1).
  // Never blocks; bytes written before run() go out when it starts, bytes after it are dropped.
  void writeStdin(std::string_view data);
  // Moves the streams until the server ends the session; returns the Status it sent on the
  // error channel (a Success Status when it sent none), or why the connection broke.
  Result<json> run(const RemoteCommandIo& io);
  // Ends run() early (it returns a Timeout Status).
  void cancel();

  class Impl;
  explicit RemoteCommand(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace kd::client

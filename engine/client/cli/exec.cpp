// `kdctl exec` and `kdctl attach`: kubectl's remote-command client over WebSocket
// (engine/client/remote_stream.h), with the local terminal in raw mode for -t.

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <ostream>
#include <thread>

#include "engine/client/cli/commands.h"
#include "engine/client/cli/describe_parts.h"
#include "engine/client/cli/logs.h"
#include "engine/client/cli/pod_target.h"
#include "engine/client/remote_stream.h"

namespace kd::cli {
namespace {

using describe::asArray;
using describe::at;
using describe::str;

// --- the local terminal -------------------------------------------------------------------------

// The terminal settings to restore, readable from a signal handler.
struct termios g_saved;
volatile sig_atomic_t g_rawFd = -1;
int g_winchPipe[2] = {-1, -1};

void restoreTerminal() {
  if (g_rawFd >= 0) ::tcsetattr(g_rawFd, TCSAFLUSH, &g_saved);
}

// A terminating signal while raw: the terminal first, then the signal's default action.
void onTerminatingSignal(int sig) {
  restoreTerminal();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void onWindowChange(int) {
  const int saved = errno;
  const char byte = 0;
  [[maybe_unused]] const ssize_t n = ::write(g_winchPipe[1], &byte, 1);
  errno = saved;
}

client::TerminalSize terminalSize() {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 && ::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) != 0)
    return {};
  return {ws.ws_col, ws.ws_row};
}

// Holds stdin's terminal in raw mode, and reports its size now and on every SIGWINCH, until
// destroyed; the terminal is restored on every way out, terminating signals included.
class RawTerminal {
 public:
  explicit RawTerminal(client::RemoteCommand& session) : session_(session) {
    struct termios raw;
    if (::tcgetattr(STDIN_FILENO, &g_saved) != 0) return;
    raw = g_saved;
    ::cfmakeraw(&raw);
    g_rawFd = STDIN_FILENO;
    for (int sig : {SIGTERM, SIGHUP, SIGINT, SIGQUIT}) ::signal(sig, onTerminatingSignal);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
    session_.resize(terminalSize());
    if (::pipe2(g_winchPipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
    ::signal(SIGWINCH, onWindowChange);
    watcher_ = std::thread([this] { watchSize(); });
  }
  ~RawTerminal() {
    stop_ = true;
    if (watcher_.joinable()) watcher_.join();
    ::signal(SIGWINCH, SIG_DFL);
    for (int fd : g_winchPipe)
      if (fd >= 0) ::close(fd);
    g_winchPipe[0] = g_winchPipe[1] = -1;
    restoreTerminal();
    g_rawFd = -1;
    for (int sig : {SIGTERM, SIGHUP, SIGINT, SIGQUIT}) ::signal(sig, SIG_DFL);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  void watchSize() {
    while (!stop_) {
      pollfd p{g_winchPipe[0], POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char drain[64];
      while (::read(g_winchPipe[0], drain, sizeof drain) > 0) {
      }
      session_.resize(terminalSize());
    }
  }

  client::RemoteCommand& session_;
  std::atomic<bool> stop_{false};
  std::thread watcher_;
};

void writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// --- the verbs
// ------------------------------------------------------------------------------------

struct SessionRequest {
  std::string verb;  // "exec" or "attach"
  json pod;
  client::RemoteCommandQuery query;
};

// The container named by -c, or kubectl's default (with its "Defaulted container" notice).
Result<std::string> chooseContainer(Invocation& inv, const json& pod) {
  std::string notice;
  auto containers = logContainers(pod, inv.args.value("container"), false, notice);
  if (!containers.ok()) return containers.status();
  if (!inv.args.boolean("quiet")) inv.err << notice;
  return containers->front();
}

// -t needs -i and a terminal on stdin, as kubectl's; without them the session goes on without.
bool wantsTty(Invocation& inv) {
  if (!inv.args.boolean("tty") || !inv.args.boolean("stdin")) return false;
  if (::isatty(STDIN_FILENO)) return true;
  if (!inv.args.boolean("quiet")) {
    inv.err << "Unable to use a TTY - input is not a terminal or the right kind of file\n";
  }
  return false;
}

// Runs the session; returns kdctl's exit code: the command's, or 1 with the error printed.
int runSession(Invocation& inv, const SessionRequest& request) {
  const std::string path =
      client::ApiClient::resourcePath(*api::KindsRegistry::builtin().resolve("pods"),
                                      str(request.pod, "metadata.namespace"),
                                      str(request.pod, "metadata.name"), request.verb) +
      client::remoteCommandQuery(request.query);
  auto c = inv.client();
  if (!c.ok()) return inv.fail(c.status());
  auto session = client::RemoteCommand::open(**c, path);
  if (!session.ok()) return inv.fail(session.status());
  inv.out.flush();
  inv.err.flush();
  client::RemoteCommandIo io;
  io.stdinFd = request.query.input ? STDIN_FILENO : -1;
  io.onStdout = [](std::string_view data) { writeAll(STDOUT_FILENO, data); };
  io.onStderr = [](std::string_view data) { writeAll(STDERR_FILENO, data); };
  Result<json> outcome = Status::ok();
  if (request.query.tty) {
    RawTerminal terminal(**session);
    outcome = (*session)->run(io);
  } else {
    outcome = (*session)->run(io);
  }
  if (!outcome.ok()) return inv.fail(outcome.status());
  const int code = client::exitCodeOf(*outcome);
  if (code > 0) inv.err << "command terminated with exit code " << code << "\n";
  if (code >= 0) return code;
  json status = *outcome;
  status["kind"] = "Status";
  return inv.fail(client::statusFromResponse(status.value("code", 500), status.dump()));
}

const json* containerSpec(const json& pod, const std::string& name) {
  for (const json& c : asArray(at(pod, "spec.containers")))
    if (str(c, "name") == name) return &c;
  for (const json& c : asArray(at(pod, "spec.initContainers")))
    if (str(c, "name") == name) return &c;
  return nullptr;
}

// The session `verb` asks for; on failure prints why and returns kdctl's exit code.
std::optional<SessionRequest> sessionFor(Invocation& inv, const std::string& verb,
                                         const std::string& word, int& exitCode) {
  auto pod = attachablePod(inv, word);
  if (!pod.ok()) {
    exitCode = inv.fail(pod.status());
    return std::nullopt;
  }
  const std::string phase = str(*pod, "status.phase");
  if (phase == "Succeeded" || phase == "Failed") {
    exitCode = inv.usageError(
        std::string(verb == "exec" ? "cannot exec into a container" : "cannot attach a container") +
        " in a completed pod; current phase is " + phase);
    return std::nullopt;
  }
  auto container = chooseContainer(inv, *pod);
  if (!container.ok()) {
    exitCode = inv.failLocal(container.status());
    return std::nullopt;
  }
  SessionRequest request{verb, *pod, {}};
  request.query.container = *container;
  request.query.input = inv.args.boolean("stdin");
  request.query.tty = wantsTty(inv);
  request.query.errorOutput = !request.query.tty;
  return request;
}

}  // namespace

int runExec(Invocation& inv) {
  const auto& words = inv.args.words;
  if (words.size() < 2) {
    return inv.usageError(
        "expected 'exec (POD | TYPE/NAME) COMMAND [ARG1] [ARG2] ... [ARGN]'.\n"
        "POD or TYPE/NAME is a required argument for the exec command\n"
        "See 'kdctl exec -h' for help and examples");
  }
  if (words.size() < 3) {
    return inv.usageError("you must specify at least one command for the container");
  }
  int exitCode = 1;
  auto request = sessionFor(inv, "exec", words[1], exitCode);
  if (!request) return exitCode;
  request->query.command.assign(words.begin() + 2, words.end());
  return runSession(inv, *request);
}

int runAttach(Invocation& inv) {
  const auto& words = inv.args.words;
  if (words.size() != 2) {
    return inv.usageError(
        "expected 'attach (POD | TYPE/NAME) -c CONTAINER'.\n"
        "POD or TYPE/NAME is a required argument for the attach command\n"
        "See 'kdctl attach -h' for help and examples");
  }
  int exitCode = 1;
  auto request = sessionFor(inv, "attach", words[1], exitCode);
  if (!request) return exitCode;
  const json* spec = containerSpec(request->pod, request->query.container);
  const bool containerTty = spec && spec->value("tty", false);
  if (request->query.tty && !containerTty) {
    inv.err << "error: Unable to use a TTY - container " << request->query.container
            << " did not allocate one\n";
    request->query.tty = false;
    request->query.errorOutput = true;
  } else if (!request->query.tty && containerTty) {
    // The container writes to its terminal; only a terminal session reads it.
    request->query.tty = true;
    request->query.errorOutput = false;
  }
  if (request->query.tty && request->query.input && !inv.args.boolean("quiet")) {
    inv.err << "If you don't see a command prompt, try pressing enter.\n";
  }
  return runSession(inv, *request);
}

}  // namespace kd::cli

#include "engine/node/streaming.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "engine/api/percent_encoding.h"
#include "engine/api/split.h"
#include "engine/node/container_io.h"
#include "engine/node/image_service.h"
#include "engine/node/image_store.h"
#include "engine/node/network.h"
#include "engine/node/pod_worker.h"
#include "engine/node/port_forward.h"
#include "engine/node/remote_command.h"
#include "engine/node/shim.h"
#include "engine/node/timestamps.h"

namespace kd::node {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace fs = std::filesystem;

constexpr auto kFollowPollPeriod = std::chrono::milliseconds(100);
// After the exec'd process ends, output still in flight gets this long to arrive (a
// background child may hold the pipes open forever).
constexpr auto kDrainGrace = std::chrono::seconds(2);
// After the client went away, the process gets this long to end on SIGHUP before SIGKILL.
constexpr auto kHangupGrace = std::chrono::seconds(5);

// --- the request ---------------------------------------------------------------------------

struct KubeletRequest {
  std::string verb;  // containerLogs, exec, attach, portForward
  std::string ns, pod, uid, container;
  std::multimap<std::string, std::string> query;

  std::string param(const std::string& key) const {
    auto it = query.find(key);
    return it == query.end() ? std::string() : it->second;
  }
  bool flag(const std::string& key) const {
    const std::string v = param(key);
    return v == "true" || v == "1";
  }
  std::vector<std::string> all(const std::string& key) const {
    std::vector<std::string> out;
    for (auto [it, end] = query.equal_range(key); it != end; ++it) out.push_back(it->second);
    return out;
  }
};

Result<KubeletRequest> parseTarget(std::string_view target) {
  const size_t q = target.find('?');
  const auto segments = api::splitOn(target.substr(0, q), '/');
  if (segments.size() < 5 || !segments[0].empty()) {
    return Status::notFound("no such kubelet path: " + std::string(target));
  }
  KubeletRequest r;
  r.verb = segments[1];
  r.ns = segments[2];
  r.pod = segments[3];
  r.uid = segments[4];
  if (segments.size() > 5) r.container = segments[5];
  if (q != std::string_view::npos) {
    r.query = parseQuery(target.substr(q + 1));
  }
  return r;
}

// --- containers on disk --------------------------------------------------------------------

// A container's instances as the pod worker lays them out (pod_worker.h).
class ContainerFiles {
 public:
  ContainerFiles(const StreamingContext& ctx, const KubeletRequest& r)
      : ctx_(ctx),
        r_(r),
        dir_(PodWorker::podDir(ctx.stateDir, r.uid) / "containers" / r.container) {}

  // The newest instance, -1 before the first start.
  int currentAttempt() const {
    return PodWorker::latestAttempt(PodWorker::podDir(ctx_.stateDir, r_.uid), r_.container);
  }
  fs::path logPath(int attempt) const {
    return PodWorker::logPath(ctx_.stateDir, r_.ns, r_.pod, r_.uid, r_.container, attempt);
  }
  std::string runtimeId(int attempt) const {
    return PodWorker::containerId(r_.uid, r_.container, attempt);
  }
  bool running(int attempt) const {
    const fs::path dir = dir_ / std::to_string(attempt);
    const auto shim = readShimRecord(dir / "shim.json");
    return shim && !readExitRecord(dir / "exit.json") && shimAlive(shim->pid);
  }

 private:
  const StreamingContext& ctx_;
  const KubeletRequest& r_;
  fs::path dir_;
};

// --- plain HTTP answers --------------------------------------------------------------------

void writeStatus(TunnelStream& stream, const Status& status) {
  writeJson(stream, status.code(), status.toJson());
}

// True when the engine closed its end (the client left): it sends nothing else meanwhile.
bool peerGone(TunnelStream& stream) {
  pollfd p{beast::get_lowest_layer(stream).socket().native_handle(), POLLIN | POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0;
}

// --- logs ----------------------------------------------------------------------------------

struct CriRecord {
  std::string_view time, stream, content;
  bool partial = false;
};

std::optional<CriRecord> parseCriRecord(std::string_view line) {
  const size_t a = line.find(' ');
  const size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
  if (b == std::string_view::npos || b + 2 > line.size()) return std::nullopt;
  CriRecord r;
  r.time = line.substr(0, a);
  r.stream = line.substr(a + 1, b - a - 1);
  r.partial = line[b + 1] == 'P';
  r.content = b + 3 <= line.size() ? line.substr(b + 3) : std::string_view();
  return r;
}

// Turns CRI records into what `kubectl logs` prints, applying sinceSeconds/sinceTime,
// timestamps and limitBytes as the kubelet does.
class LogRenderer {
 public:
  explicit LogRenderer(const KubeletRequest& r) : timestamps_(r.flag("timestamps")) {
    if (const std::string s = r.param("sinceSeconds"); !s.empty()) {
      since_ = Clock::now() - std::chrono::seconds(std::stoll(s));
    } else if (const std::string t = r.param("sinceTime"); !t.empty()) {
      since_ = parseTime(t);
    }
    if (const std::string l = r.param("limitBytes"); !l.empty()) budget_ = std::stoll(l);
  }

  // Appends the rendering of one record to `out`.
  void render(const CriRecord& r, std::string& out) {
    if (since_ != Clock::time_point{} && parseTime(std::string(r.time)) < since_) return;
    std::string text;
    if (timestamps_ && atLineStart_) text.append(r.time).append(" ");
    text.append(r.content);
    if (!r.partial) text += '\n';
    atLineStart_ = !r.partial;
    if (budget_ >= 0) {
      if (static_cast<int64_t>(text.size()) > budget_) text.resize(static_cast<size_t>(budget_));
      budget_ -= static_cast<int64_t>(text.size());
    }
    out += text;
  }
  bool exhausted() const { return budget_ == 0; }

 private:
  bool timestamps_;
  Clock::time_point since_{};  // the epoch: no limit
  int64_t budget_ = -1;        // bytes left to print; -1: no limit
  bool atLineStart_ = true;
};

// Renders the complete lines of `data` (consumed from its front), keeping a trailing partial
// line for later.
std::string renderLines(std::string& data, LogRenderer& renderer) {
  std::string out;
  size_t start = 0;
  for (size_t nl; (nl = data.find('\n', start)) != std::string::npos; start = nl + 1) {
    if (auto rec = parseCriRecord(std::string_view(data).substr(start, nl - start))) {
      renderer.render(*rec, out);
    }
  }
  data.erase(0, start);
  return out;
}

// The start of the last `tail` lines of a CRI log (partial records belong to their line).
size_t tailOffset(const std::string& log, int64_t tail) {
  if (tail < 0) return 0;
  int64_t lines = 0;
  size_t end = log.size();  // one past the newline of the record looked at
  while (end > 0) {
    const size_t nl = end >= 2 ? log.rfind('\n', end - 2) : std::string::npos;
    const size_t begin = nl == std::string::npos ? 0 : nl + 1;
    auto rec = parseCriRecord(std::string_view(log).substr(begin, end - 1 - begin));
    if (rec && !rec->partial && ++lines > tail) return end;
    end = begin;
  }
  return 0;
}

// The file's inode number, 0 when it does not exist.
ino_t inodeOf(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

Status serveLogs(TunnelStream& stream, const KubeletRequest& r, const StreamingContext& ctx) {
  ContainerFiles files(ctx, r);
  int attempt = files.currentAttempt();
  if (r.flag("previous")) --attempt;
  const fs::path path = files.logPath(attempt);
  ino_t inode = inodeOf(path);
  std::ifstream in(path, std::ios::binary);
  if (attempt < 0 || !in) {
    if (r.flag("previous")) {
      return Status::badRequest("previous terminated container \"" + r.container + "\" in pod \"" +
                                r.pod + "\" not found");
    }
    return Status::badRequest("container \"" + r.container + "\" in pod \"" + r.pod +
                              "\" is waiting to start: ContainerCreating");
  }
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (const std::string tail = r.param("tailLines"); !tail.empty()) {
    data.erase(0, tailOffset(data, std::stoll(tail)));
  }

  http::response<http::empty_body> res{http::status::ok, 11};
  res.set(http::field::content_type, "text/plain");
  res.keep_alive(false);
  res.chunked(true);
  http::response_serializer<http::empty_body> serializer{res};
  beast::error_code ec;
  http::write_header(stream, serializer, ec);
  LogRenderer renderer(r);
  const bool follow = r.flag("follow") && !r.flag("previous");
  for (;;) {
    const std::string out = renderLines(data, renderer);
    if (!out.empty()) net::write(stream, http::make_chunk(net::buffer(out)), ec);
    if (ec || renderer.exhausted() || !follow || peerGone(stream)) break;
    const bool wasRunning = files.running(attempt);
    std::this_thread::sleep_for(kFollowPollPeriod);
    in.clear();
    std::string more((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (more.empty() && inode != inodeOf(path)) {
      // The shim rotated the log (cri_log.h): what follows is in the new live file.
      in = std::ifstream(path, std::ios::binary);
      inode = inodeOf(path);
      more.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    if (more.empty() && !wasRunning) break;
    data += more;
  }
  if (!ec) net::write(stream, http::make_chunk_last(), ec);
  return {};
}

// --- exec: the channel protocol over WebSocket ---------------------------------------------

// The Status kubectl turns into its own exit code.
json exitStatus(int code, const std::vector<std::string>& command) {
  if (code == 0) return {{"metadata", json::object()}, {"status", "Success"}};
  std::string cmd;
  for (const auto& c : command) cmd += (cmd.empty() ? "" : " ") + c;
  return {
      {"metadata", json::object()},
      {"status", "Failure"},
      {"message", "command terminated with non-zero exit code: error executing command [" + cmd +
                      "], exit code " + std::to_string(code)},
      {"reason", "NonZeroExitCode"},
      {"details",
       {{"causes", json::array({{{"reason", "ExitCode"}, {"message", std::to_string(code)}}})}}}};
}

// Stdin bytes queued towards a process above which the client's input is held back.
constexpr size_t kStdinQueueLimit = 1024 * 1024;

// The channels a request asks for.
RemoteCommandOptions channelOptions(const KubeletRequest& r) {
  return {r.flag("stdin"), r.flag("stdout"), r.flag("stderr"), r.flag("tty")};
}

// Answers the upgrade, starts a session (ExecSession or AttachSession) on the client's
// channels and runs `ioc` until it is over; false when the client left before the upgrade
// completed.
bool runSession(net::io_context& ioc, TunnelStream& stream,
                const http::request<http::string_body>& req, const beast::flat_buffer& buffer,
                const ChannelProtocol& protocol, const RemoteCommandOptions& options,
                const std::function<void(std::shared_ptr<ClientChannels>)>& startSession) {
  auto client =
      acceptChannels(ioc, stream, req, protocol, options, beast::buffers_to_string(buffer.data()));
  if (!client) return false;
  startSession(std::move(client));
  ioc.run();
  return true;
}

// `kubectl exec`: a process started in the container (runtime.h), bridged to the client's
// channels. Output flows once the client's channels are all there; the session ends with the
// exit Status once the process has ended and its output is drained.
class ExecSession : public std::enable_shared_from_this<ExecSession> {
 public:
  ExecSession(net::io_context& ioc, std::shared_ptr<ClientChannels> client, ExecProcess process,
              std::vector<std::string> command)
      : ioc_(ioc),
        client_(std::move(client)),
        process_(process),
        command_(std::move(command)),
        stdin_(ioc),
        stdout_(ioc),
        stderr_(ioc),
        timer_(ioc),
        work_(net::make_work_guard(ioc)) {
    if (process.stdinFd >= 0) stdin_.assign(process.tty ? ::dup(process.stdinFd) : process.stdinFd);
    if (process.stdoutFd >= 0) stdout_.assign(process.stdoutFd);
    if (process.stderrFd >= 0) stderr_.assign(process.stderrFd);
    outputsOpen_ = (process.stdoutFd >= 0) + (process.stderrFd >= 0);
  }

  // Starts the exchange; `waiter` reaps the process. Runs on the io_context thread.
  void start(std::thread& waiter) {
    auto self = shared_from_this();
    waiter = std::thread([self] {
      int status = 0;
      while (::waitpid(self->process_.pid, &status, 0) < 0 && errno == EINTR) {
      }
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      net::post(self->ioc_, [self, code] { self->onExit(code); });
    });
    client_->open(
        {[self] { self->onReady(); },
         [self](uint8_t channel, std::string data) { self->onInput(channel, std::move(data)); },
         [self] { self->clientGone(); }});
  }

 private:
  void onReady() {
    ready_ = true;
    readOutput(stdout_, kStdout);
    readOutput(stderr_, process_.tty ? kStdout : kStderr);
    if (exitCode_) startDrainTimer();
  }

  void onInput(uint8_t channel, std::string data) {
    if (channel == kStdin && stdin_.is_open()) {
      stdinBytes_ += data.size();
      stdinQueue_.push_back(std::move(data));
      if (stdinBytes_ >= kStdinQueueLimit) client_->holdInput(true);
      return writeStdin();
    }
    if (channel == kResize) resize(data);
    if (channel == kClose && !data.empty() && data[0] == kStdin) {
      stdinClosing_ = true;
      writeStdin();
    }
  }

  void writeStdin() {
    if (stdinWriting_ || !stdin_.is_open()) return;
    if (stdinQueue_.empty()) {
      if (stdinClosing_) closeStdin();
      return;
    }
    stdinWriting_ = true;
    net::async_write(stdin_, net::buffer(stdinQueue_.front()),
                     [self = shared_from_this()](beast::error_code ec, size_t n) {
                       self->stdinWriting_ = false;
                       self->stdinQueue_.pop_front();
                       self->stdinBytes_ -= n;
                       if (self->stdinBytes_ < kStdinQueueLimit) self->client_->holdInput(false);
                       if (ec) return self->closeStdin();
                       self->writeStdin();
                     });
  }

  void resize(const std::string& message) {
    if (!process_.tty || process_.stdoutFd < 0) return;
    const json size = json::parse(message, nullptr, false);
    if (!size.is_object()) return;
    const json width = size.value("Width", json()), height = size.value("Height", json());
    if (!width.is_number_unsigned() || !height.is_number_unsigned()) return;
    winsize ws{};
    ws.ws_col = width.get<uint16_t>();
    ws.ws_row = height.get<uint16_t>();
    ::ioctl(stdout_.native_handle(), TIOCSWINSZ, &ws);
  }

  void closeStdin() {
    if (!stdin_.is_open()) return;
    if (process_.tty) {
      // A terminal has no half-close: end-of-file is the EOT character.
      beast::error_code ec;
      net::write(stdin_, net::buffer("\x04", 1), ec);
    }
    beast::error_code ec;
    stdin_.close(ec);
    stdinQueue_.clear();
    stdinBytes_ = 0;
  }

  void readOutput(net::posix::stream_descriptor& fd, uint8_t channel) {
    if (!fd.is_open()) return;
    auto buffer = std::make_shared<std::array<char, 16 * 1024>>();
    fd.async_read_some(net::buffer(*buffer), [self = shared_from_this(), &fd, channel, buffer](
                                                 beast::error_code ec, size_t n) {
      if (ec) {  // EOF, or EIO once a terminal's last user is gone
        --self->outputsOpen_;
        return self->maybeFinish();
      }
      if (!self->clientGone_) self->client_->write(channel, std::string_view(buffer->data(), n));
      self->readOutput(fd, channel);
    });
  }

  void onExit(int code) {
    exitCode_ = code;
    work_.reset();
    if (ready_) startDrainTimer();
    maybeFinish();
  }

  void startDrainTimer() {
    timer_.expires_after(kDrainGrace);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->finish();
    });
  }

  void maybeFinish() {
    if (exitCode_ && outputsOpen_ <= 0) finish();
  }

  void finish() {
    if (finished_ || clientGone_) return;
    finished_ = true;
    timer_.cancel();
    client_->write(kError, exitStatus(*exitCode_, command_).dump());
    client_->finish();
    closeFds();
  }

  // The client left: hang up on the process and, if it lingers, kill it.
  void clientGone() {
    if (clientGone_ || finished_) return;
    clientGone_ = true;
    client_->abandon();
    closeFds();
    if (exitCode_) return;
    ::kill(process_.pid, SIGHUP);
    timer_.expires_after(kHangupGrace);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && !self->exitCode_) ::kill(self->process_.pid, SIGKILL);
    });
  }

  void closeFds() {
    beast::error_code ec;
    stdin_.close(ec);
    stdout_.close(ec);
    stderr_.close(ec);
  }

  net::io_context& ioc_;
  std::shared_ptr<ClientChannels> client_;
  ExecProcess process_;
  std::vector<std::string> command_;
  net::posix::stream_descriptor stdin_, stdout_, stderr_;
  net::steady_timer timer_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::deque<std::string> stdinQueue_;
  size_t stdinBytes_ = 0;
  bool stdinWriting_ = false, stdinClosing_ = false;
  int outputsOpen_ = 0;
  std::optional<int> exitCode_;
  bool ready_ = false, finished_ = false, clientGone_ = false;
};

// The running instance of the request's container, or why there is none.
Result<int> runningAttempt(const KubeletRequest& r, const StreamingContext& ctx) {
  ContainerFiles files(ctx, r);
  const int attempt = files.currentAttempt();
  if (attempt < 0 || !files.running(attempt)) {
    return Status::badRequest("container " + r.container + " is not running in pod " + r.pod);
  }
  return attempt;
}

Status serveExec(net::io_context& ioc, TunnelStream& stream,
                 const http::request<http::string_body>& req, const beast::flat_buffer& buffer,
                 const KubeletRequest& r, const StreamingContext& ctx) {
  auto protocol = negotiateChannels(req, "exec");
  if (!protocol.ok()) return protocol.status();
  const auto command = r.all("command");
  if (command.empty()) return Status::badRequest("you must specify at least 1 command");
  const auto attempt = runningAttempt(r, ctx);
  if (!attempt.ok()) return attempt.status();
  const ContainerFiles files(ctx, r);
  auto process =
      ctx.runtime->exec(files.runtimeId(*attempt), command, r.flag("tty"), r.flag("stdin"));
  if (!process.ok()) return process.status();
  std::thread waiter;
  const bool served = runSession(
      ioc, stream, req, buffer, *protocol, channelOptions(r),
      [&](std::shared_ptr<ClientChannels> client) {
        std::make_shared<ExecSession>(ioc, std::move(client), *process, command)->start(waiter);
      });
  if (waiter.joinable()) waiter.join();
  if (!served) {  // nobody to tell: end the process the client never saw
    ::kill(process->pid, SIGKILL);
    ::waitpid(process->pid, nullptr, 0);
    for (int fd : std::set<int>{process->stdinFd, process->stdoutFd, process->stderrFd}) {
      if (fd >= 0) ::close(fd);
    }
  }
  return {};
}

// `kubectl attach`: the container's stdio as its shim holds it (container_io.h), bridged to
// the client's channels. Output flows from the moment of attaching; the session ends when the
// container does (or the client leaves), with a Success Status as the kubelet sends.
class AttachSession : public std::enable_shared_from_this<AttachSession> {
 public:
  AttachSession(net::io_context& ioc, std::shared_ptr<ClientChannels> client, int shimSocket)
      : client_(std::move(client)), shim_(ioc), work_(net::make_work_guard(ioc)) {
    shim_.assign(shimSocket);
  }

  void start() {
    auto self = shared_from_this();
    client_->open(
        {[self] { self->readShim(); },
         [self](uint8_t channel, std::string data) { self->onInput(channel, std::move(data)); },
         [self] { self->end(); }});
  }

 private:
  void onInput(uint8_t channel, const std::string& payload) {
    if (channel == kStdin) toShim(kStdin, payload);
    if (channel == kClose && !payload.empty() && payload[0] == kStdin) toShim(kClose, "");
    if (channel == kResize) {
      const json size = json::parse(payload, nullptr, false);
      if (size.is_object() && size.value("Width", json()).is_number_unsigned() &&
          size.value("Height", json()).is_number_unsigned()) {
        toShim(kResize, std::to_string(size["Width"].get<unsigned>()) + " " +
                            std::to_string(size["Height"].get<unsigned>()));
      }
    }
  }

  void toShim(uint8_t channel, const std::string& payload) {
    beast::error_code ec;
    net::write(shim_, net::buffer(attach::frame(channel, payload)), ec);
  }

  void readShim() {
    shim_.async_read_some(net::buffer(buffer_),
                          [self = shared_from_this()](beast::error_code ec, size_t n) {
                            if (ec) return self->containerEnded();
                            self->frames_.feed(std::string_view(self->buffer_.data(), n));
                            while (auto f = self->frames_.next()) {
                              if (f->first == kStdout || f->first == kStderr)
                                self->client_->write(f->first, f->second);
                            }
                            self->readShim();
                          });
  }

  void containerEnded() {
    if (ended_) return;
    ended_ = true;
    client_->write(kError, json{{"metadata", json::object()}, {"status", "Success"}}.dump());
    client_->finish();
    work_.reset();
  }

  // The client is gone: detaching leaves the container running.
  void end() {
    ended_ = true;
    client_->abandon();
    beast::error_code ec;
    shim_.close(ec);
    work_.reset();
  }

  std::shared_ptr<ClientChannels> client_;
  net::posix::stream_descriptor shim_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::array<char, 16 * 1024> buffer_{};
  attach::FrameReader frames_;
  bool ended_ = false;
};

Status serveAttach(net::io_context& ioc, TunnelStream& stream,
                   const http::request<http::string_body>& req, const beast::flat_buffer& buffer,
                   const KubeletRequest& r, const StreamingContext& ctx) {
  auto protocol = negotiateChannels(req, "attach");
  if (!protocol.ok()) return protocol.status();
  const auto attempt = runningAttempt(r, ctx);
  if (!attempt.ok()) return attempt.status();
  const int shim = attach::connectUnix((PodWorker::podDir(ctx.stateDir, r.uid) / "containers" /
                                        r.container / std::to_string(*attempt) / "attach.sock")
                                           .string());
  if (shim < 0) {
    return Status::badRequest("container " + r.container + " in pod " + r.pod +
                              " was started before attach was served; restart it to attach");
  }
  const bool served =
      runSession(ioc, stream, req, buffer, *protocol, channelOptions(r),
                 [&](std::shared_ptr<ClientChannels> client) {
                   std::make_shared<AttachSession>(ioc, std::move(client), shim)->start();
                 });
  if (!served) ::close(shim);
  return {};
}

// Where port-forward connects: the pod's own network namespace, or the node's for a
// hostNetwork pod (its sandbox has no network namespace of its own).
Result<PortForwardTarget> portForwardTarget(const KubeletRequest& r, const StreamingContext& ctx) {
  const fs::path ns = PodWorker::podDir(ctx.stateDir, r.uid) / "ns";
  PortForwardTarget target{r.ns, r.pod, r.uid, {}};
  if (fs::exists(ns / "net")) {
    target.netns = (ns / "net").string();
  } else if (fs::exists(ns / "ready")) {
    target.netns = nodeNetnsPath(ctx.stateDir);
  } else {
    return Status::badRequest("pod \"" + r.pod + "\" has no running sandbox on this node");
  }
  return target;
}

Status servePortForward(net::io_context& ioc, TunnelStream& stream,
                        const http::request<http::string_body>& req,
                        const beast::flat_buffer& buffer, const KubeletRequest& r,
                        const StreamingContext& ctx) {
  if (websocket::is_upgrade(req) &&
      chooseSubprotocol(req, {kPortForwardWebSocketProtocol}).empty()) {
    return Status::badRequest(std::string("port-forward over WebSocket needs the subprotocol ") +
                              kPortForwardWebSocketProtocol);
  }
  auto target = portForwardTarget(r, ctx);
  if (!target.ok()) return target.status();
  return servePortForward(ioc, stream, req, beast::buffers_to_string(buffer.data()), *target);
}

}  // namespace

std::multimap<std::string, std::string> parseQuery(std::string_view query) {
  std::multimap<std::string, std::string> out;
  for (const auto& pair : api::splitOn(query, '&')) {
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    out.emplace(api::percentDecode(pair.substr(0, eq)),
                eq == std::string::npos ? std::string() : api::percentDecode(pair.substr(eq + 1)));
  }
  return out;
}

void writeJson(TunnelStream& stream, int code, const json& body) {
  http::response<http::string_body> res{static_cast<http::status>(code), 11};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(false);
  res.body() = body.dump();
  res.prepare_payload();
  beast::error_code ec;
  http::write(stream, res, ec);
}

void serveStream(net::io_context& ioc, TunnelStream stream, const StreamingContext& ctx) {
  beast::flat_buffer buffer;
  beast::error_code ec;
  // The header first: an image load's body is a tarball of any size, read by the image
  // service straight to disk; every other request's body is small.
  ImagesRequestHeader header;
  header.header_limit(64 * 1024);
  // Beast refuses a Content-Length over the limit while still parsing the header.
  header.body_limit(std::numeric_limits<std::uint64_t>::max());
  http::read_header(stream, buffer, header, ec);
  if (ec) return;
  if (const auto target = header.get().target(); isImagesPath({target.data(), target.size()})) {
    Status status;
    try {
      status = serveImages(stream, buffer, header, ctx);
    } catch (const std::exception& e) {
      status = Status::internal(e.what());
    }
    if (!status.isOk()) writeStatus(stream, status);
    return;
  }
  http::request_parser<http::string_body> full{std::move(header)};
  full.body_limit(1024 * 1024);
  http::read(stream, buffer, full, ec);
  if (ec) return;
  const http::request<http::string_body>& req = full.get();
  auto r = parseTarget(std::string(req.target()));
  Status status = r.status();
  try {
    if (r.ok() && r->verb == "containerLogs") {
      status = serveLogs(stream, *r, ctx);
    } else if (r.ok() && r->verb == "exec") {
      status = serveExec(ioc, stream, req, buffer, *r, ctx);
    } else if (r.ok() && r->verb == "attach") {
      status = serveAttach(ioc, stream, req, buffer, *r, ctx);
    } else if (r.ok() && r->verb == "portForward") {
      status = servePortForward(ioc, stream, req, buffer, *r, ctx);
    } else if (r.ok()) {
      status = Status::badRequest("pods/" + r->verb + " is not served by KubeDesk's node agent");
    }
  } catch (const std::exception& e) {  // a malformed parameter (tailLines=x) costs one request
    status = Status::badRequest(e.what());
  }
  if (!status.isOk()) writeStatus(stream, status);
}

}  // namespace kd::node

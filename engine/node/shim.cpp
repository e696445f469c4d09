#include "engine/node/shim.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "engine/node/container_io.h"
#include "engine/node/cri_log.h"
#include "engine/node/timestamps.h"

namespace kd::node {

namespace fs = std::filesystem;

namespace {

constexpr const char* kShimMarker = "shim";

void writeJsonAtomically(const fs::path& file, const json& value) {
  const fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << value.dump();
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
}

std::optional<json> readJsonFile(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  try {
    return json::parse(in);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::vector<std::string> shimArgs(const std::string& selfExe, const OciRuntime& runtime,
                                  const ShimOptions& o) {
  return {selfExe,
          kShimMarker,
          "--runtime",
          runtime.binary(),
          "--root",
          runtime.root(),
          "--id",
          o.id,
          "--bundle",
          o.bundle.string(),
          "--log",
          o.log.string(),
          "--pid-file",
          o.pidFile.string(),
          "--exit-file",
          o.exitFile.string(),
          "--memory-cgroup",
          o.memoryCgroup,
          "--log-max-size",
          std::to_string(o.logMaxBytes),
          "--log-max-files",
          std::to_string(o.logMaxFiles),
          "--stdin",
          o.stdin ? "true" : "false",
          "--stdin-once",
          o.stdinOnce ? "true" : "false",
          "--tty",
          o.tty ? "true" : "false"};
}

// The number of OOM kills the cgroup has seen (cgroup v1 memory.oom_control, v2 memory.events).
int64_t oomKills(const std::string& cgroup) {
  if (cgroup.empty()) return 0;
  for (const char* file : {"memory.oom_control", "memory.events"}) {
    std::ifstream in(cgroup + "/" + file);
    std::string key;
    int64_t value = 0;
    while (in >> key >> value) {
      if (key == "oom_kill") return value;
    }
  }
  return 0;
}

int waitFor(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

int exitCodeOf(int status) {
  if (status < 0) return 128;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The container's stdio as the runtime is given it: a created container inherits `in`
// (-1: /dev/null), `out` and `err`, unless it has a terminal (then they are the runtime's own).
struct RuntimeStdio {
  int in = -1, out = -1, err = -1;
};

// Runs `<runtime> [--root R] <command...>` in the bundle directory (so a console socket can
// be named relative to it) with `io`; returns its exit code.
int runRuntime(const std::map<std::string, std::string>& a, std::vector<std::string> command,
               const RuntimeStdio& io) {
  std::vector<std::string> argv = {a.at("--runtime")};
  if (!a.at("--root").empty()) argv.insert(argv.end(), {"--root", a.at("--root")});
  argv.insert(argv.end(), command.begin(), command.end());
  std::vector<char*> cargv;
  for (auto& s : argv) cargv.push_back(s.data());
  cargv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(io.in >= 0 ? io.in : ::open("/dev/null", O_RDONLY), 0);
    ::dup2(io.out, 1);
    ::dup2(io.err, 2);
    if (::chdir(a.at("--bundle").c_str()) != 0) ::_exit(127);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  return pid < 0 ? 128 : exitCodeOf(waitFor(pid));
}

// Creates and starts the container with `io` (and, with `consoleSocket`, a terminal whose
// master the runtime sends there); the container's pid once it runs, or the runtime's exit
// code (negated) when it could not be started.
int startContainer(const std::map<std::string, std::string>& a, const RuntimeStdio& io,
                   const std::string& consoleSocket) {
  const std::string pidFile = (fs::path(a.at("--pid-file")).parent_path() / "container.pid");
  const std::string& id = a.at("--id");
  std::vector<std::string> create = {"create", "--bundle", a.at("--bundle"), "--pid-file", pidFile};
  if (!consoleSocket.empty())
    create.insert(create.end(), {"--console-socket", fs::path(consoleSocket).filename()});
  create.push_back(id);
  int code = runRuntime(a, create, io);
  if (code == 0) code = runRuntime(a, {"start", id}, io);
  int pid = 0;
  std::ifstream(pidFile) >> pid;
  if (code == 0 && pid > 0) return pid;
  // A container created but not started still holds the pipes open: take it down.
  runRuntime(a, {"delete", "--force", id}, io);
  return -std::max(code, 1);
}

// The terminal's master that the runtime sends to the console socket for a container with
// `terminal: true`; -1 when none came.
int receiveConsole(int listenFd) {
  pollfd p{listenFd, POLLIN, 0};
  if (::poll(&p, 1, 5000) <= 0) return -1;
  const int conn = ::accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC);
  if (conn < 0) return -1;
  char name[4096];
  iovec iov{name, sizeof name};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  int fd = -1;
  if (::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) > 0) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
        std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    }
  }
  ::close(conn);
  return fd;
}

}  // namespace

Status startShim(const std::string& selfExe, const OciRuntime& runtime,
                 const ShimOptions& options) {
  std::error_code ec;
  fs::remove(options.pidFile, ec);
  fs::remove(options.exitFile, ec);
  std::vector<std::string> args = shimArgs(selfExe, runtime, options);
  std::vector<char*> argv;  // built before fork: the child may only make async-signal-safe calls
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t child = ::fork();
  if (child < 0) return Status::internal("fork failed");
  if (child == 0) {
    // Double fork: the shim is reparented to init and leads its own session, so neither the
    // agent's exit nor a signal to the agent's process group reaches it.
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    const int devNull = ::open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; ++fd) ::dup2(devNull, fd);
    ::close_range(3, ~0U, 0);  // the agent's connections are not the shim's business
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (readShimRecord(options.pidFile)) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Status::internal("the shim for container " + options.id + " did not start");
}

int runShim(const std::vector<std::string>& args) {
  std::map<std::string, std::string> a;
  for (size_t i = 0; i + 1 < args.size(); i += 2) a[args[i]] = args[i + 1];
  for (const char* key : {"--runtime", "--root", "--id", "--bundle", "--log", "--pid-file",
                          "--exit-file", "--memory-cgroup"}) {
    if (!a.count(key)) return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  // Shims started by an older agent may lack the rotation limits: the kubelet's defaults.
  RotatingLogFile log(a["--log"],
                      a.count("--log-max-size")
                          ? std::strtoull(a["--log-max-size"].c_str(), nullptr, 10)
                          : RotatingLogFile::kDefaultMaxBytes,
                      a.count("--log-max-files") ? std::atoi(a["--log-max-files"].c_str())
                                                 : RotatingLogFile::kDefaultMaxFiles);
  const bool tty = a["--tty"] == "true", withStdin = a["--stdin"] == "true";
  // A terminal carries all the container's stdio; the err pipe then only hears the runtime.
  int out[2] = {-1, -1}, err[2], in[2] = {-1, -1};
  if (!log.open() || ::pipe2(err, O_CLOEXEC) != 0) return 1;
  if (!tty && ::pipe2(out, O_CLOEXEC) != 0) return 1;
  if (!tty && withStdin && ::pipe2(in, O_CLOEXEC) != 0) return 1;
  const fs::path dir = fs::path(a["--pid-file"]).parent_path();
  const std::string consoleSocket = tty ? (dir / "console.sock").string() : "";
  const int console = tty ? attach::listenUnix(consoleSocket) : -1;
  if (tty && console < 0) return 1;
  // The container's process is reparented to the shim once `create` has exited, so the shim
  // reaps it and learns its exit status; and since nothing runs `delete` until the agent has
  // read the exit file, the container's cgroup is still there to tell whether it was OOM-killed.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  const int started = startContainer(a, {in[0], tty ? err[1] : out[1], err[1]}, consoleSocket);
  ContainerIoFds fds;
  fds.terminal = tty;
  fds.stdinOnce = a["--stdin-once"] == "true";
  fds.error = err[0];
  if (tty) {
    fds.output = started > 0 ? receiveConsole(console) : -1;
    fds.input = withStdin && fds.output >= 0 ? ::dup(fds.output) : -1;
    ::close(console);
    ::unlink(consoleSocket.c_str());
  } else {
    fds.output = out[0];
    fds.input = in[1];
  }
  for (int fd : {in[0], out[1], err[1]}) {
    if (fd >= 0) ::close(fd);
  }
  ContainerIo io(fds, log, (dir / "attach.sock").string());
  writeJsonAtomically(a["--pid-file"],
                      {{"pid", ::getpid()}, {"startedAt", formatTime(Clock::now())}});
  const std::string runtimeError = io.pumpOutput();
  int exitCode = started > 0 ? exitCodeOf(waitFor(started)) : -started;
  io.finish(exitCode);
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {  // orphans of the container
  }
  // Each container has a cgroup of its own, so any OOM kill it counts was this container's.
  json exit = {{"finishedAt", formatTime(Clock::now())},
               {"oomKilled", oomKills(a["--memory-cgroup"]) > 0}};
  if (exitCode != 0 && !runtimeError.empty()) {
    exitCode = 128;  // as the kubelet reports a container that never started
    exit["startError"] = runtimeError;
  }
  exit["exitCode"] = exitCode;
  writeJsonAtomically(a["--exit-file"], exit);
  return 0;
}

std::optional<ShimRecord> readShimRecord(const fs::path& pidFile) {
  auto j = readJsonFile(pidFile);
  if (!j || !j->contains("pid")) return std::nullopt;
  return ShimRecord{j->value("pid", 0), j->value("startedAt", "")};
}

std::optional<ExitRecord> readExitRecord(const fs::path& exitFile) {
  auto j = readJsonFile(exitFile);
  if (!j || !j->contains("exitCode")) return std::nullopt;
  return ExitRecord{j->value("exitCode", -1), j->value("finishedAt", ""),
                    j->value("oomKilled", false), j->value("startError", "")};
}

bool shimAlive(int pid) {
  if (pid <= 0) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // argv[1] is "shim"; a recycled pid runs something else. A zombie has an empty cmdline.
  const auto nul = cmdline.find('\0');
  return nul != std::string::npos && cmdline.compare(nul + 1, 4, kShimMarker) == 0;
}

}  // namespace kd::node

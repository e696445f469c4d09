#include "engine/node/shim.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

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
          std::to_string(o.logMaxFiles)};
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

// Runs `<runtime> [--root R] <command...>` with stdin on /dev/null and stdout/stderr on
// `out`/`err` (which a created container inherits); returns its exit code.
int runRuntime(const std::map<std::string, std::string>& a, std::vector<std::string> command,
               int out, int err) {
  std::vector<std::string> argv = {a.at("--runtime")};
  if (!a.at("--root").empty()) argv.insert(argv.end(), {"--root", a.at("--root")});
  argv.insert(argv.end(), command.begin(), command.end());
  std::vector<char*> cargv;
  for (auto& s : argv) cargv.push_back(s.data());
  cargv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int devNull = ::open("/dev/null", O_RDONLY);
    ::dup2(devNull, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  return pid < 0 ? 128 : exitCodeOf(waitFor(pid));
}

// Creates and starts the container with its stdio on the pipes; the container's pid once it
// runs, or the runtime's exit code (negated) when it could not be started.
int startContainer(const std::map<std::string, std::string>& a, int out, int err) {
  const std::string pidFile = (fs::path(a.at("--pid-file")).parent_path() / "container.pid");
  const std::string& id = a.at("--id");
  int code =
      runRuntime(a, {"create", "--bundle", a.at("--bundle"), "--pid-file", pidFile, id}, out, err);
  if (code == 0) code = runRuntime(a, {"start", id}, out, err);
  int pid = 0;
  std::ifstream(pidFile) >> pid;
  if (code == 0 && pid > 0) return pid;
  // A container created but not started still holds the pipes open: take it down.
  runRuntime(a, {"delete", "--force", id}, out, err);
  return -std::max(code, 1);
}

// The message of a runtime error line: time="..." level=error msg="<message>".
std::optional<std::string> runtimeErrorIn(std::string_view record) {
  constexpr std::string_view kMarker = " level=error msg=\"";
  if (record.find(" stderr F time=\"") == std::string_view::npos) return std::nullopt;
  const auto at = record.find(kMarker);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view msg = record.substr(at + kMarker.size());
  msg = msg.substr(0, msg.rfind('"'));
  return std::string(msg);
}

// Copies the two pipes into the log until both close. Returns the runtime's own last error
// line, e.g. a missing executable ("" when there was none).
std::string pumpOutput(int outFd, int errFd, RotatingLogFile& log) {
  std::string runtimeError;
  auto sink = [&log, &runtimeError](const std::string& record) {
    log.append(record);
    if (auto error = runtimeErrorIn(record)) runtimeError = *error;
  };
  CriLogWriter writers[2] = {CriLogWriter("stdout", sink), CriLogWriter("stderr", sink)};
  pollfd fds[2] = {{outFd, POLLIN, 0}, {errFd, POLLIN, 0}};
  int open = 2;
  char buf[8192];
  while (open > 0) {
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        writers[i].write(std::string_view(buf, static_cast<size_t>(n)));
      } else if (n == 0 || errno != EINTR) {
        writers[i].flush();
        fds[i].fd = -1;
        --open;
      }
    }
  }
  return runtimeError;
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
  int out[2], err[2];
  if (!log.open() || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return 1;
  // The container's process is reparented to the shim once `create` has exited, so the shim
  // reaps it and learns its exit status; and since nothing runs `delete` until the agent has
  // read the exit file, the container's cgroup is still there to tell whether it was OOM-killed.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  const int started = startContainer(a, out[1], err[1]);
  writeJsonAtomically(a["--pid-file"],
                      {{"pid", ::getpid()}, {"startedAt", formatTime(Clock::now())}});
  ::close(out[1]);
  ::close(err[1]);
  const std::string runtimeError = pumpOutput(out[0], err[0], log);
  int exitCode = started > 0 ? exitCodeOf(waitFor(started)) : -started;
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

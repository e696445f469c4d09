#include "engine/node/runtime.h"

#include <fcntl.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "engine/node/process.h"

namespace kd::node {

namespace {

std::string firstLineWord(const std::string& text, size_t word) {
  std::istringstream line(text.substr(0, text.find('\n')));
  std::string w;
  for (size_t i = 0; i <= word && (line >> w); ++i) {
  }
  return w;
}

std::string errnoText(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// Pipes whose ends the parent keeps are close-on-exec; the child's ends are dup2'ed onto
// 0/1/2, which clears the flag.
struct ChildStdio {
  int fds[3] = {-1, -1, -1};  // what the child gets as 0, 1, 2
  bool terminal = false;      // fds are a pty slave to become the controlling terminal
};

// Runs in the forked child of a multi-threaded process: async-signal-safe calls only.
[[noreturn]] void execWithStdio(char* const* args, const ChildStdio& stdio) {
  for (int i = 0; i < 3; ++i) ::dup2(stdio.fds[i], i);
  // On a terminal, the child leads a session whose controlling terminal it is, so a window
  // size set on the master reaches it as SIGWINCH.
  if (stdio.terminal && (::setsid() < 0 || ::ioctl(0, TIOCSCTTY, 0) != 0)) ::_exit(127);
  ::close_range(3, ~0U, 0);
  ::execv(args[0], args);
  ::_exit(127);
}

void closeAll(std::initializer_list<int> fds) {
  for (int fd : fds) {
    if (fd >= 0) ::close(fd);
  }
}

}  // namespace

bool cgroupV2() {
  return std::filesystem::exists("/sys/fs/cgroup/cgroup.controllers");
}

Result<OciRuntime> OciRuntime::detect(const std::string& requested, const std::string& root) {
  std::vector<std::string> candidates;
  if (!requested.empty()) {
    candidates.push_back(requested);
  } else if (cgroupV2()) {
    candidates = {"crun", "runc"};
  } else {
    candidates = {"runc"};
  }
  std::string tried;
  for (const auto& candidate : candidates) {
    const std::string path =
        candidate.find('/') != std::string::npos ? candidate : findInPath(candidate);
    tried += (tried.empty() ? "" : ", ") + candidate;
    if (path.empty()) continue;
    auto version = runProcess({path, "--version"});
    if (!version.ok() || version->exitCode != 0) continue;
    OciRuntime rt;
    rt.binary_ = path;
    rt.name_ = std::filesystem::path(path).filename().string();
    rt.version_ = firstLineWord(version->output, 2);
    rt.root_ = root;
    return rt;
  }
  return Status::notFound("no usable OCI runtime found (tried " + tried + ")");
}

std::vector<std::string> OciRuntime::command(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {binary_};
  if (!root_.empty()) {
    argv.push_back("--root");
    argv.push_back(root_);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

Status OciRuntime::kill(const std::string& id, const std::string& signal) const {
  return runChecked(command({"kill", "--all", id, signal}));
}

Status OciRuntime::remove(const std::string& id) const {
  auto r = runProcess(command({"delete", "--force", id}));
  if (!r.ok()) return r.status();
  if (r->exitCode == 0 || r->output.find("does not exist") != std::string::npos) return {};
  return Status::internal(name_ + " delete " + id + ": " + r->output);
}

Result<std::vector<std::string>> OciRuntime::list() const {
  auto r = runProcess(command({"list", "-q"}));
  if (!r.ok()) return r.status();
  if (r->exitCode != 0) return Status::internal(name_ + " list: " + r->output);
  std::vector<std::string> ids;
  std::istringstream in(r->output);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) ids.push_back(line);
  }
  return ids;
}

Result<ExecProcess> OciRuntime::exec(const std::string& id, const std::vector<std::string>& command,
                                     bool tty, bool withStdin) const {
  // With a terminal, the runtime runs on our pty and relays it to the one it makes in the
  // container (runc takes --console-socket only when detaching, and then nobody would wait for
  // the process's exit code).
  std::vector<std::string> argv = {"exec"};
  if (tty) argv.push_back("--tty");
  argv.push_back(id);
  argv.insert(argv.end(), command.begin(), command.end());
  argv = this->command(argv);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  // in[1], out[0], err[0] and the pty master stay with us; the others go to the child.
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, master = -1, slave = -1;
  const bool pipeIn = withStdin && !tty;
  bool made = ::pipe2(err, O_CLOEXEC) == 0;
  if (made && tty) {
    made = ::openpty(&master, &slave, nullptr, nullptr, nullptr) == 0 &&
           ::fcntl(master, F_SETFD, FD_CLOEXEC) == 0 && ::fcntl(slave, F_SETFD, FD_CLOEXEC) == 0;
  } else if (made) {
    made = (!pipeIn || ::pipe2(in, O_CLOEXEC) == 0) && ::pipe2(out, O_CLOEXEC) == 0;
  }
  if (!made) {
    const Status failed = Status::internal(errnoText(tty ? "openpty" : "pipe"));
    closeAll({in[0], in[1], out[0], out[1], err[0], err[1], master, slave});
    return failed;
  }
  const int devNull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  ChildStdio stdio;
  stdio.fds[0] = tty ? slave : pipeIn ? in[0] : devNull;
  stdio.fds[1] = tty ? slave : out[1];
  stdio.fds[2] = tty ? slave : err[1];
  stdio.terminal = tty;
  const pid_t pid = ::fork();
  if (pid == 0) execWithStdio(args.data(), stdio);
  closeAll({in[0], out[1], err[1], devNull, slave});
  if (pid < 0) {
    closeAll({in[1], out[0], err[0], master});
    return Status::internal(errnoText("fork"));
  }
  ExecProcess p;
  p.pid = pid;
  p.tty = tty;
  p.stderrFd = err[0];
  p.stdinFd = tty ? master : in[1];
  p.stdoutFd = tty ? master : out[0];
  return p;
}

}  // namespace kd::node

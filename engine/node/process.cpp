#include "engine/node/process.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace kd::node {

namespace {

// Runs in the forked child of a multi-threaded process: async-signal-safe calls only, so
// `args` is prepared (and argv[0] resolved) before the fork.
[[noreturn]] void execChild(char* const* args, int outFd) {
  const int devNull = ::open("/dev/null", O_RDONLY);
  if (devNull >= 0) ::dup2(devNull, 0);
  ::dup2(outFd, 1);
  ::dup2(outFd, 2);
  ::close_range(3, ~0U, 0);
  ::execv(args[0], args);
  ::_exit(127);
}

int decodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Result<ProcessResult> runProcess(const std::vector<std::string>& argv) {
  if (argv.empty()) return Status::internal("runProcess: empty command");
  const std::string program =
      argv[0].find('/') != std::string::npos ? argv[0] : findInPath(argv[0]);
  if (program.empty()) return Status::internal(argv[0] + ": command not found");
  std::vector<char*> args = {const_cast<char*>(program.c_str())};
  for (size_t i = 1; i < argv.size(); ++i) args.push_back(const_cast<char*>(argv[i].c_str()));
  args.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::internal(std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return Status::internal("fork: " + std::string(std::strerror(errno)));
  }
  if (pid == 0) execChild(args.data(), fds[1]);
  ::close(fds[1]);
  ProcessResult result;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) {
      result.output.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exitCode = decodeWaitStatus(status);
  if (result.exitCode == 127 && result.output.empty()) {
    return Status::internal(argv[0] + ": command not found");
  }
  return result;
}

Status runChecked(const std::vector<std::string>& argv) {
  auto r = runProcess(argv);
  if (!r.ok()) return r.status();
  if (r->exitCode == 0) return {};
  std::ostringstream msg;
  for (const auto& a : argv) msg << a << ' ';
  msg << "exited with " << r->exitCode << ": " << r->output;
  return Status::internal(msg.str());
}

std::string findInPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::istringstream in(dirs);
  std::string dir;
  while (std::getline(in, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

}  // namespace kd::node

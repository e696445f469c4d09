#pragma once
// The OCI runtime binary (runc or crun) and the few verbs the agent needs beyond `run`, which
// the shim issues (shim.h). Auto-detection prefers crun on cgroup v2 and runc on cgroup v1,
// where crun cannot set limits.

#include <string>
#include <vector>

#include "engine/api/status.h"

namespace kd::node {

// A process started in a running container by OciRuntime::exec. The caller owns the fds
// (close-on-exec) and must reap `pid` (waitpid); its exit code is the process's.
struct ExecProcess {
  int pid = -1;
  int stdinFd = -1;   // write end; -1 without stdin. With a tty: the pty master.
  int stdoutFd = -1;  // read end. With a tty: the pty master (the same fd as stdinFd).
  int stderrFd = -1;  // read end. With a tty: the runtime's own messages (e.g. why exec failed).
  bool tty = false;
};

class OciRuntime {
 public:
  // `requested`: a name or path ("runc", "/usr/bin/crun"), or "" to auto-detect. `root`: the
  // runtime's state directory ("" = its default, so `runc list` shows our containers).
  static Result<OciRuntime> detect(const std::string& requested, const std::string& root = {});

  const std::string& binary() const { return binary_; }
  const std::string& name() const { return name_; }        // "runc"
  const std::string& version() const { return version_; }  // "1.1.5+ds1"
  const std::string& root() const { return root_; }

  // binary [--root R] args...
  std::vector<std::string> command(const std::vector<std::string>& args) const;

  // Sends `signal` ("TERM", "KILL") to the container's processes.
  Status kill(const std::string& id, const std::string& signal) const;
  // Deletes the container's runtime state, killing it if needed; NotFound is success.
  Status remove(const std::string& id) const;
  // Starts `command` in running container `id` (`<runtime> exec`): with pipes for stdio, or
  // with a pseudo-terminal (the master is both stdinFd and stdoutFd; set its window size there).
  // Without `withStdin` the process reads /dev/null (or, with a tty, nothing is written).
  Result<ExecProcess> exec(const std::string& id, const std::vector<std::string>& command, bool tty,
                           bool withStdin) const;
  // The ids of the containers the runtime knows.
  Result<std::vector<std::string>> list() const;

 private:
  std::string binary_, name_, version_, root_;
};

// True when /sys/fs/cgroup is the unified (v2) hierarchy.
bool cgroupV2();

}  // namespace kd::node

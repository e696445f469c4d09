#pragma once
// The OCI runtime binary (runc or crun) and the few verbs the agent needs beyond `run`, which
// the shim issues (shim.h). Auto-detection prefers crun on cgroup v2 and runc on cgroup v1,
// where crun cannot set limits.

#include <string>
#include <vector>

#include "engine/api/status.h"

namespace kd::node {

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
  // The ids of the containers the runtime knows.
  Result<std::vector<std::string>> list() const;

 private:
  std::string binary_, name_, version_, root_;
};

// True when /sys/fs/cgroup is the unified (v2) hierarchy.
bool cgroupV2();

}  // namespace kd::node

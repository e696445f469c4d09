#pragma once
// Running helper programs (tar, unshare, the OCI runtime) and waiting for them. The child gets
// /dev/null as stdin; its stdout and stderr are captured together.

#include <string>
#include <vector>

#include "engine/api/status.h"

namespace kd::node {

struct ProcessResult {
  int exitCode = -1;   // 128 + signal when the child was killed by a signal
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv[0] (looked up in PATH) to completion. Fails only when it could not be started.
Result<ProcessResult> runProcess(const std::vector<std::string>& argv);

// Like runProcess, but a non-zero exit becomes an internal error naming the command and
// quoting its output.
Status runChecked(const std::vector<std::string>& argv);

// The first executable named `name` in PATH, or "".
std::string findInPath(const std::string& name);

}  // namespace kd::node

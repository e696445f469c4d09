#pragma once
// The container shim: one small process per container, started detached (its own session) so
// it outlives agent restarts. It runs `<runtime> create` and `start` with the container's
// stdio on its pipes and, as the container's subreaper, waits for it; it writes the container's
// stdout and stderr to its log file in the CRI format, and when the container ends records the
// exit code, the finish time and whether the kernel OOM-killed it. The stopped container (and
// its cgroup) stays until the agent deletes it after reading the exit file. The agent learns
// everything about a container from the files the shim writes:
//
//   pid file   {"pid": <shim pid>, "startedAt": "<RFC 3339>"}   written once the container has
//              started (or failed to), so the container exists when startShim returns
//   exit file  {"exitCode": N, "finishedAt": "...", "oomKilled": bool}   written when it ends;
//              when the runtime could not start the process (no such executable, ...) exitCode
//              is 128 and "startError" holds the runtime's message

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/api/status.h"
#include "engine/node/cri_log.h"
#include "engine/node/runtime.h"

namespace kd::node {

struct ShimOptions {
  std::string id;  // the runtime's container id
  std::filesystem::path bundle;
  std::filesystem::path log;
  std::filesystem::path pidFile;
  std::filesystem::path exitFile;
  // The container's memory cgroup directory, read for OOM kills ("" = don't look).
  std::string memoryCgroup;
  // Log rotation (cri_log.h RotatingLogFile).
  uint64_t logMaxBytes = RotatingLogFile::kDefaultMaxBytes;
  int logMaxFiles = RotatingLogFile::kDefaultMaxFiles;
  // The container's stdin/stdinOnce/tty: a stdin pipe or a terminal the shim holds for
  // `kubectl attach` (container_io.h).
  bool stdin = false, stdinOnce = false, tty = false;
};

// Starts `selfExe shim ...` detached and waits until it has written its pid file.
Status startShim(const std::string& selfExe, const OciRuntime& runtime, const ShimOptions& options);

// The shim's main: `args` are what followed "shim" on the command line. Returns the exit code.
int runShim(const std::vector<std::string>& args);

struct ShimRecord {
  int pid = 0;
  std::string startedAt;
};
struct ExitRecord {
  int exitCode = 0;
  std::string finishedAt;
  bool oomKilled = false;
  std::string startError;  // "" unless the process never started
};
std::optional<ShimRecord> readShimRecord(const std::filesystem::path& pidFile);
std::optional<ExitRecord> readExitRecord(const std::filesystem::path& exitFile);

// True while the shim `pid` (not a recycled pid) is alive.
bool shimAlive(int pid);

}  // namespace kd::node

#pragma once
// kubedesk-node's agent: our kubelet. It registers its Node and keeps its status and Lease
// fresh, watches the pods bound to it (fieldSelector spec.nodeName=<node>) and runs one
// PodWorker per pod. On start it adopts the containers a previous agent left running and tears
// down pods whose objects are gone. When the API server is unreachable it keeps retrying; the
// containers keep running meanwhile.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/api/status.h"
#include "engine/node/cri_log.h"

namespace kd::node {

struct AgentOptions {
  std::filesystem::path kubeconfig;
  std::string context;  // "" = current-context
  std::string nodeName;
  std::filesystem::path stateDir;
  std::string runtime;                              // "" = auto-detect
  std::string runtimeRoot;                          // "" = the runtime's default
  std::string nodeIp;                               // "" = first non-loopback IPv4 address
  std::vector<std::filesystem::path> imageLayouts;  // OCI layouts imported at start
  std::string selfExe;                              // this binary, for the shim
  // metrics: how often usage is read from cgroups and reported (metrics_collector.h); 0 = never.
  std::chrono::milliseconds metricsInterval{10000};
  // Container log rotation (cri_log.h), the kubelet's containerLogMaxSize/MaxFiles.
  uint64_t containerLogMaxBytes = RotatingLogFile::kDefaultMaxBytes;
  int containerLogMaxFiles = RotatingLogFile::kDefaultMaxFiles;
};

// Runs until `stop` becomes true. Fails only when it cannot start (bad kubeconfig, no OCI
// runtime, unusable state directory).
Status runAgent(const AgentOptions& options, const std::atomic<bool>& stop);

}  // namespace kd::node

#pragma once
// Resource usage of this node and its containers, read from cgroups, for the engine's
// metrics.k8s.io API (`kubectl top`). The agent calls collect() every interval and posts the
// report (postMetricsReport) to /kubedesk/v1/nodes/<node>/metrics; the report's format is
// documented in engine/server/metrics_store.h.
//
// What is measured, as cAdvisor/metrics-server measure it:
// * CPU: the cgroup's cumulative usage (v1 cpuacct.usage in ns, v2 cpu.stat usage_usec) turned
//   into a rate, nanocores, over the time between two collections. A container is reported
//   from its second collection on (a rate needs two readings).
// * Memory: the working set, usage minus inactive file pages (v1 memory.usage_in_bytes minus
//   memory.stat total_inactive_file; v2 memory.current minus memory.stat inactive_file), never
//   below zero.
// * Containers: the running containers of the pods under <state>/pods (pod_worker.h), each in
//   its cgroup /kubedesk/pod<uid>/<container id>; a cgroup without processes is not running.
// * Node: what this agent runs — the sum of its pods' cgroups (/kubedesk/pod<uid>, which hold
//   the pods' containers) plus the agent process itself (/proc/self). Several agents can share
//   one host (the local driver), so the host's root cgroup would not be this node's usage.
//
// Not thread-safe: one caller (the agent's loop).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "engine/api/status.h"
#include "engine/client/api_client.h"

namespace kd::node {

enum class CgroupVersion { V1, V2 };

struct CgroupReading {
  uint64_t cpuUsageNanos = 0;  // cumulative
  uint64_t workingSetBytes = 0;
};

// Reads the cgroup `relative` ("/kubedesk/pod<uid>/<id>") below `root` ("/sys/fs/cgroup"): on v1
// in the cpuacct and memory hierarchies (root/cpuacct/..., root/memory/...), on v2 in the
// unified one. NotFound when the cgroup or one of its files is missing or unreadable.
Result<CgroupReading> readCgroup(const std::filesystem::path& root, CgroupVersion version,
                                 const std::string& relative);

struct MetricsCollectorOptions {
  std::filesystem::path stateDir;  // the agent's, holding pods/<uid>/
  std::filesystem::path cgroupRoot = "/sys/fs/cgroup";
  std::optional<CgroupVersion> version;  // unset: detected from cgroupRoot
  bool includeAgentProcess = true;       // add /proc/self to the node's usage
};

class MetricsCollector {
 public:
  explicit MetricsCollector(MetricsCollectorOptions options);

  // Reads every running container now (`now` from a steady clock). Returns the report once an
  // earlier collection exists to measure rates against; nullopt on the first call.
  std::optional<json> collect(std::chrono::steady_clock::time_point now);

 private:
  struct Sampled {
    json containers = json::array();
    uint64_t cpuDeltaNanos = 0;  // the node's CPU use since the previous collection
    uint64_t memoryBytes = 0;
  };
  // The CPU used by `key` since the previous collection (nullopt when first seen), recording
  // `cumulative` for the next one.
  std::optional<uint64_t> cpuDelta(const std::string& key, uint64_t cumulative);
  json collectPod(const std::filesystem::path& podDir, double seconds, Sampled& node);

  MetricsCollectorOptions options_;
  CgroupVersion version_;
  std::map<std::string, uint64_t> previous_, current_;  // cumulative CPU ns by key
  std::optional<std::chrono::steady_clock::time_point> lastAt_;
};

// POST /kubedesk/v1/nodes/<node>/metrics.
Status postMetricsReport(client::ApiClient& api, const std::string& node, const json& report);

}  // namespace kd::node

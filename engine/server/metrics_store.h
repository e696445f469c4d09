#pragma once
// Resource usage of nodes and pods as the node agents report it, kept in memory only (as
// metrics-server keeps it: never in the store). Per node and per pod (per container) it holds
// the latest sample with its timestamp and window, plus a short history for the dashboard's
// charts (the last `retention`, at most `maxPoints` points per series).
//
// A node agent POSTs one report per interval to /kubedesk/v1/nodes/<node>/metrics:
//
//   {"windowSeconds": 10.003,                      // the interval the rates were measured over
//    "node": {"cpuNanoCores": 12000000, "memoryBytes": 73400320},
//    "pods": [{"namespace": "default", "name": "web", "uid": "…",
//              "containers": [{"name": "main", "cpuNanoCores": 1000, "memoryBytes": 4096}]}]}
//
// cpuNanoCores is a rate (CPU-nanoseconds per second), memoryBytes a working set. The sample is
// stamped with the engine's clock when it arrives (agents in VMs may have skewed clocks).
// A report replaces everything the node said before: pods missing from it are gone, with their
// history. A node that has not reported for `staleAfter` drops out with its pods, so nothing
// grows without bound. Thread-safe.

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/api/status.h"

namespace kd::server {

using TimePoint = std::chrono::system_clock::time_point;

struct Usage {
  int64_t cpuNanoCores = 0;
  int64_t memoryBytes = 0;
};

struct ContainerUsage {
  std::string name;
  Usage usage;
};

struct UsagePoint {
  TimePoint timestamp;
  Usage usage;
};

struct NodeMetricsSample {
  TimePoint timestamp;
  std::chrono::milliseconds window{0};
  Usage usage;
};

struct PodMetricsSample {
  std::string uid;
  TimePoint timestamp;
  std::chrono::milliseconds window{0};
  std::vector<ContainerUsage> containers;
  Usage total() const;
};

struct MetricsStoreOptions {
  std::chrono::seconds retention{15 * 60};
  size_t maxPoints = 15 * 60;  // one a second at most over the retention
  std::chrono::seconds staleAfter{60};
};

class MetricsStore {
 public:
  explicit MetricsStore(std::function<TimePoint()> clock, MetricsStoreOptions options = {});

  // Records `node`'s report (the JSON above); 400 with the reason when it is malformed.
  Status report(const std::string& node, const json& body);

  std::optional<NodeMetricsSample> node(const std::string& name) const;
  std::optional<PodMetricsSample> pod(const std::string& ns, const std::string& name) const;
  // Oldest first; empty when nothing is known.
  std::vector<UsagePoint> nodeHistory(const std::string& name) const;
  std::vector<UsagePoint> podHistory(const std::string& ns, const std::string& name) const;

  // How many nodes and pods are held (after dropping stale ones): for tests and diagnostics.
  size_t nodeCount() const;
  size_t podCount() const;

 private:
  struct PodEntry {
    PodMetricsSample latest;
    std::deque<UsagePoint> history;
  };
  struct NodeEntry {
    NodeMetricsSample latest;
    std::deque<UsagePoint> history;
    std::map<std::string, PodEntry> pods;  // by "<namespace>/<name>"
  };

  void dropStale(TimePoint now) const;
  void append(std::deque<UsagePoint>& history, UsagePoint point) const;
  const PodEntry* findPod(const std::string& ns, const std::string& name) const;

  std::function<TimePoint()> clock_;
  MetricsStoreOptions options_;
  mutable std::mutex mu_;
  mutable std::map<std::string, NodeEntry> nodes_;  // mutable: reads drop stale entries
};

}  // namespace kd::server

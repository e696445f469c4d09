#pragma once
// The scheduler's view of the cluster: per node, what it offers (allocatable, labels, taints)
// and what the pods on it already take (requests, pod count, host ports, affinity terms),
// kept up to date incrementally from informer events so that filtering a node costs a few
// comparisons instead of a walk over its pods.
//
// A pod the scheduler has just bound is "assumed" onto its node at once, before the informer
// reports the binding, so the next decision already counts it; the informer's event then
// confirms it without counting twice. Not thread-safe: the Scheduler guards it with a mutex.

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/scheduler/pod_info.h"

namespace kd::scheduler {

// What the scheduler remembers of a pod placed on a node.
struct PlacedPod {
  std::string key, ns, nodeName, controllerUid;
  api::Labels labels;
  ResourceList requests, nonZeroRequests;
  std::vector<HostPort> hostPorts;
  std::vector<PodAffinityTerm> requiredAntiAffinity;
};

struct NodeInfo {
  std::string name;
  bool known = false;  // the Node object exists (pods may name a node before it appears)
  api::Labels labels;
  bool unschedulable = false;
  std::vector<Taint> taints;
  ResourceList allocatable;
  int64_t allowedPods = 0;

  ResourceList requested, nonZeroRequested;
  int64_t podCount = 0;
  std::vector<const PlacedPod*> pods;
  std::unordered_map<std::string, int> controllerCounts;  // controller uid -> pods here

  bool portInUse(const HostPort& port) const;
};

class SchedulerCache {
 public:
  // Adds or refreshes a Node object.
  void upsertNode(const json& node);
  void removeNode(const std::string& name);

  // Records a pod bound to a node (assumed or seen), or drops it when it no longer takes
  // room there (deleted, finished, or the object says it is elsewhere).
  void upsertPod(const json& pod);
  void removePod(const std::string& key);
  // Places `pod` on `nodeName` before the binding is confirmed.
  void assume(const PodInfo& pod, const std::string& nodeName);

  bool hasPod(const std::string& key) const { return pods_.count(key) != 0; }
  // Known nodes in a stable order (the order they appeared).
  const std::vector<NodeInfo*>& nodes() const { return order_; }
  const NodeInfo* node(const std::string& name) const;
  size_t podsWithRequiredAntiAffinity() const { return antiAffinityPods_; }

 private:
  void place(std::unique_ptr<PlacedPod> pod);
  void unplace(const PlacedPod& pod);
  void rebuildOrder();

  std::unordered_map<std::string, std::unique_ptr<NodeInfo>> nodes_;
  std::vector<NodeInfo*> order_;
  std::unordered_map<std::string, std::unique_ptr<PlacedPod>> pods_;
  size_t antiAffinityPods_ = 0;
  uint64_t nextSeq_ = 0;
  std::unordered_map<std::string, uint64_t> seq_;  // node name -> order of appearance
};

}  // namespace kd::scheduler

#pragma once
// The scheduler's filters, in kube-scheduler's order: NodeUnschedulable, NodeName,
// TaintToleration, NodeAffinity (with nodeSelector), NodePorts, NodeResourcesFit and
// InterPodAffinity (required terms). A node passes when every filter does; the first failing
// filter gives the node's reasons, worded as Kubernetes words them, which the FailedScheduling
// message counts ("0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2
// Insufficient cpu. preemption: ...").

#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/scheduler/node_info.h"
#include "engine/scheduler/pod_info.h"

namespace kd::scheduler {

enum class FilterCode {
  Success,
  Unschedulable,                 // could fit if other pods went away (preemption may help)
  UnschedulableAndUnresolvable,  // nothing done to pods would help (taint, selector, ...)
};

struct FilterResult {
  FilterCode code = FilterCode::Success;
  std::vector<std::string> reasons;
  bool ok() const { return code == FilterCode::Success; }
};

// What inter-pod affinity needs to know about the pods already placed, computed once per
// pod being scheduled (kube-scheduler's PreFilter) rather than once per node.
struct AffinityState {
  // Per required (anti-)affinity term of the incoming pod: topology values holding a match.
  std::vector<std::unordered_set<std::string>> affinityDomains, antiAffinityDomains;
  bool anyAffinityMatch = false;
  bool matchesOwnAffinity = false;  // the first pod of a group may pass its own affinity
  // topologyKey -> values where a placed pod's anti-affinity term selects the incoming pod.
  std::unordered_map<std::string, std::unordered_set<std::string>> existingAntiAffinity;
};

AffinityState prepareAffinity(const PodInfo& pod, const SchedulerCache& cache);

// Runs the filters on one node; stops at the first failing filter.
FilterResult runFilters(const PodInfo& pod, const NodeInfo& node, const AffinityState& affinity);

// Why a pod fits nowhere: per node, the result of its failing filter.
struct Diagnosis {
  size_t numNodes = 0;
  std::map<std::string, int> reasons;  // reason -> nodes
  int unresolvable = 0, resolvable = 0;
};
void addToDiagnosis(Diagnosis& d, const FilterResult& r);

// Kubernetes' FailedScheduling message for `d`, including the preemption part (this
// scheduler does not preempt, so it says what kube-scheduler says when preemption finds no
// victims).
std::string failureMessage(const Diagnosis& d, const PodInfo& pod);

}  // namespace kd::scheduler

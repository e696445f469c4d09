#pragma once
// The scheduler's scores, each 0..100 per node and weighted as kube-scheduler's default
// profile weighs them: NodeResourcesFit (least allocated) 1, NodeResourcesBalancedAllocation 1,
// NodeAffinity (preferred terms) 2, PodTopologySpread (spreading a controller's pods across
// nodes) 2, TaintToleration (fewer untolerated PreferNoSchedule taints) 3.

#include <cstdint>
#include <vector>

#include "engine/scheduler/node_info.h"
#include "engine/scheduler/pod_info.h"

namespace kd::scheduler {

// cpu and memory left free after placing `pod`, averaged: 100 = empty node, 0 = full.
int64_t leastAllocatedScore(const PodInfo& pod, const NodeInfo& node);
// 100 when cpu and memory would be used in the same proportion, lower as they diverge.
int64_t balancedAllocationScore(const PodInfo& pod, const NodeInfo& node);

struct NodeScore {
  const NodeInfo* node = nullptr;
  int64_t score = 0;
};

// Fills in the weighted total of every score for each feasible node.
void scoreNodes(const PodInfo& pod, std::vector<NodeScore>& feasible);

}  // namespace kd::scheduler

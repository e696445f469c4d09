#include "engine/scheduler/scores.h"

#include <algorithm>
#include <cmath>

namespace kd::scheduler {
namespace {

constexpr int64_t kMaxScore = 100;

int64_t freeShare(int64_t requested, int64_t allocatable) {
  if (allocatable <= 0 || requested > allocatable) return 0;
  return (allocatable - requested) * kMaxScore / allocatable;
}

double usedFraction(int64_t requested, int64_t allocatable) {
  if (allocatable <= 0) return 1;
  return std::min(1.0, static_cast<double>(requested) / static_cast<double>(allocatable));
}

int64_t preferredAffinityWeight(const PodInfo& pod, const NodeInfo& node) {
  int64_t sum = 0;
  for (const auto& p : pod.preferredNodeTerms) {
    if (p.weight != 0 && matchesTerm(p.term, node.labels, node.name)) sum += p.weight;
  }
  return sum;
}

int64_t untoleratedPreferNoSchedule(const PodInfo& pod, const NodeInfo& node) {
  int64_t n = 0;
  for (const auto& t : node.taints) {
    if (t.effect == "PreferNoSchedule" && !tolerates(pod.tolerations, t)) ++n;
  }
  return n;
}

int64_t sameControllerPods(const PodInfo& pod, const NodeInfo& node) {
  if (pod.controllerUid.empty()) return 0;
  auto it = node.controllerCounts.find(pod.controllerUid);
  return it == node.controllerCounts.end() ? 0 : it->second;
}

// A raw per-node value turned into 0..100 relative to the best node; `lowerIsBetter` for
// counts that should be small (pods of the same controller, untolerated taints).
using Raw = int64_t (*)(const PodInfo&, const NodeInfo&);
struct Normalized {
  Raw raw;
  bool lowerIsBetter;
  int64_t weight;
};

constexpr Normalized kNormalized[] = {
    {preferredAffinityWeight, false, 2},
    {sameControllerPods, true, 2},
    {untoleratedPreferNoSchedule, true, 3},
};

void addNormalized(const PodInfo& pod, const Normalized& n, std::vector<NodeScore>& nodes,
                   std::vector<int64_t>& raw) {
  int64_t max = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    raw[i] = n.raw(pod, *nodes[i].node);
    max = std::max(max, raw[i]);
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    int64_t s = max == 0 ? (n.lowerIsBetter ? kMaxScore : 0) : raw[i] * kMaxScore / max;
    if (n.lowerIsBetter && max != 0) s = kMaxScore - s;
    nodes[i].score += n.weight * s;
  }
}

}  // namespace

int64_t leastAllocatedScore(const PodInfo& pod, const NodeInfo& node) {
  const int64_t cpu = freeShare(node.nonZeroRequested.milliCpu + pod.nonZeroRequests.milliCpu,
                                node.allocatable.milliCpu);
  const int64_t memory =
      freeShare(node.nonZeroRequested.memory + pod.nonZeroRequests.memory, node.allocatable.memory);
  return (cpu + memory) / 2;
}

int64_t balancedAllocationScore(const PodInfo& pod, const NodeInfo& node) {
  const double cpu =
      usedFraction(node.requested.milliCpu + pod.requests.milliCpu, node.allocatable.milliCpu);
  const double memory =
      usedFraction(node.requested.memory + pod.requests.memory, node.allocatable.memory);
  // The standard deviation of two fractions is half their distance.
  const double deviation = std::abs(cpu - memory) / 2;
  return static_cast<int64_t>((1 - deviation) * kMaxScore);
}

void scoreNodes(const PodInfo& pod, std::vector<NodeScore>& feasible) {
  for (auto& n : feasible) {
    n.score = leastAllocatedScore(pod, *n.node) + balancedAllocationScore(pod, *n.node);
  }
  std::vector<int64_t> raw(feasible.size());
  for (const auto& n : kNormalized) addNormalized(pod, n, feasible, raw);
}

}  // namespace kd::scheduler

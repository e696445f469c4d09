#include "engine/scheduler/filters.h"

#include <algorithm>

namespace kd::scheduler {
namespace {

using Filter = FilterResult (*)(const PodInfo&, const NodeInfo&, const AffinityState&);

FilterResult fail(FilterCode code, std::string reason) {
  return {code, {std::move(reason)}};
}

FilterResult nodeUnschedulable(const PodInfo& pod, const NodeInfo& node, const AffinityState&) {
  if (!node.unschedulable) return {};
  if (tolerates(pod.tolerations, {"node.kubernetes.io/unschedulable", "", "NoSchedule"})) {
    return {};
  }
  return fail(FilterCode::UnschedulableAndUnresolvable, "node(s) were unschedulable");
}

FilterResult nodeName(const PodInfo& pod, const NodeInfo& node, const AffinityState&) {
  if (pod.nodeName.empty() || pod.nodeName == node.name) return {};
  return fail(FilterCode::UnschedulableAndUnresolvable,
              "node(s) didn't match the requested node name");
}

FilterResult taintToleration(const PodInfo& pod, const NodeInfo& node, const AffinityState&) {
  for (const auto& taint : node.taints) {
    if (taint.effect != "NoSchedule" && taint.effect != "NoExecute") continue;
    if (tolerates(pod.tolerations, taint)) continue;
    return fail(FilterCode::UnschedulableAndUnresolvable,
                "node(s) had untolerated taint {" + taint.key + ": " + taint.value + "}");
  }
  return {};
}

FilterResult nodeAffinity(const PodInfo& pod, const NodeInfo& node, const AffinityState&) {
  bool ok = std::all_of(pod.nodeSelector.begin(), pod.nodeSelector.end(), [&](const auto& kv) {
    auto it = node.labels.find(kv.first);
    return it != node.labels.end() && it->second == kv.second;
  });
  if (ok && pod.requiredNodeTerms) {
    const auto& terms = *pod.requiredNodeTerms;
    ok = std::any_of(terms.begin(), terms.end(), [&](const NodeSelectorTerm& t) {
      return matchesTerm(t, node.labels, node.name);
    });
  }
  if (ok) return {};
  return fail(FilterCode::UnschedulableAndUnresolvable,
              "node(s) didn't match Pod's node affinity/selector");
}

FilterResult nodePorts(const PodInfo& pod, const NodeInfo& node, const AffinityState&) {
  for (const auto& port : pod.hostPorts) {
    if (node.portInUse(port)) {
      return fail(FilterCode::Unschedulable,
                  "node(s) didn't have free ports for the requested pod ports");
    }
  }
  return {};
}

FilterResult nodeResourcesFit(const PodInfo& pod, const NodeInfo& node, const AffinityState&) {
  FilterResult r;
  if (node.podCount + 1 > node.allowedPods) r.reasons.push_back("Too many pods");
  const ResourceList& want = pod.requests;
  const ResourceList& used = node.requested;
  const ResourceList& have = node.allocatable;
  auto check = [&](int64_t wanted, int64_t inUse, int64_t offered, std::string_view name) {
    if (wanted > 0 && wanted > offered - inUse) {
      r.reasons.push_back("Insufficient " + std::string(name));
    }
  };
  check(want.milliCpu, used.milliCpu, have.milliCpu, "cpu");
  check(want.memory, used.memory, have.memory, "memory");
  check(want.ephemeralStorage, used.ephemeralStorage, have.ephemeralStorage, "ephemeral-storage");
  for (const auto& [name, wanted] : want.scalar) {
    auto inUse = used.scalar.find(name);
    auto offered = have.scalar.find(name);
    check(wanted, inUse == used.scalar.end() ? 0 : inUse->second,
          offered == have.scalar.end() ? 0 : offered->second, name);
  }
  if (!r.reasons.empty()) r.code = FilterCode::Unschedulable;
  return r;
}

const std::string* topologyValue(const NodeInfo& node, const std::string& key) {
  auto it = node.labels.find(key);
  return it == node.labels.end() ? nullptr : &it->second;
}

FilterResult interPodAffinity(const PodInfo& pod, const NodeInfo& node, const AffinityState& s) {
  for (const auto& [key, values] : s.existingAntiAffinity) {
    const std::string* v = topologyValue(node, key);
    if (v && values.count(*v)) {
      return fail(FilterCode::Unschedulable,
                  "node(s) didn't satisfy existing pods anti-affinity rules");
    }
  }
  for (size_t i = 0; i < pod.requiredAntiAffinity.size(); ++i) {
    const std::string* v = topologyValue(node, pod.requiredAntiAffinity[i].topologyKey);
    if (v && s.antiAffinityDomains[i].count(*v)) {
      return fail(FilterCode::Unschedulable, "node(s) didn't match pod anti-affinity rules");
    }
  }
  for (size_t i = 0; i < pod.requiredAffinity.size(); ++i) {
    const std::string* v = topologyValue(node, pod.requiredAffinity[i].topologyKey);
    // The first pod of a group that selects itself may go anywhere the topology key exists.
    const bool firstOfGroup = !s.anyAffinityMatch && s.matchesOwnAffinity;
    if (v && (s.affinityDomains[i].count(*v) || firstOfGroup)) continue;
    return fail(FilterCode::UnschedulableAndUnresolvable,
                "node(s) didn't match pod affinity rules");
  }
  return {};
}

FilterResult volumeBinding(const PodInfo& pod, const NodeInfo& node, const AffinityState&) {
  if (!pod.volumeProblem.empty()) {
    return fail(FilterCode::UnschedulableAndUnresolvable, pod.volumeProblem);
  }
  for (const auto& terms : pod.volumeNodeTerms) {
    if (std::none_of(terms.begin(), terms.end(), [&](const NodeSelectorTerm& t) {
          return matchesTerm(t, node.labels, node.name);
        })) {
      return fail(FilterCode::UnschedulableAndUnresolvable,
                  "node(s) had volume node affinity conflict");
    }
  }
  return {};
}

constexpr Filter kFilters[] = {nodeUnschedulable, nodeName,        taintToleration,
                               nodeAffinity,      nodePorts,       nodeResourcesFit,
                               volumeBinding,     interPodAffinity};

void collectDomains(const std::vector<PodAffinityTerm>& terms, const PodInfo& pod,
                    const PlacedPod& other, const NodeInfo& node,
                    std::vector<std::unordered_set<std::string>>& domains, bool* any) {
  for (size_t i = 0; i < terms.size(); ++i) {
    if (!termSelects(terms[i], pod.ns, other.ns, other.labels)) continue;
    if (const std::string* v = topologyValue(node, terms[i].topologyKey)) {
      domains[i].insert(*v);
      if (any) *any = true;
    }
  }
}

}  // namespace

AffinityState prepareAffinity(const PodInfo& pod, const SchedulerCache& cache) {
  AffinityState s;
  s.affinityDomains.resize(pod.requiredAffinity.size());
  s.antiAffinityDomains.resize(pod.requiredAntiAffinity.size());
  const bool ownTerms = !pod.requiredAffinity.empty() || !pod.requiredAntiAffinity.empty();
  if (!ownTerms && cache.podsWithRequiredAntiAffinity() == 0) return s;
  s.matchesOwnAffinity = !pod.requiredAffinity.empty() &&
                         std::all_of(pod.requiredAffinity.begin(), pod.requiredAffinity.end(),
                                     [&](const PodAffinityTerm& t) {
                                       return termSelects(t, pod.ns, pod.ns, pod.labels);
                                     });
  for (const NodeInfo* node : cache.nodes()) {
    for (const PlacedPod* other : node->pods) {
      if (ownTerms) {
        collectDomains(pod.requiredAffinity, pod, *other, *node, s.affinityDomains,
                       &s.anyAffinityMatch);
        collectDomains(pod.requiredAntiAffinity, pod, *other, *node, s.antiAffinityDomains,
                       nullptr);
      }
      for (const auto& term : other->requiredAntiAffinity) {
        if (!termSelects(term, other->ns, pod.ns, pod.labels)) continue;
        if (const std::string* v = topologyValue(*node, term.topologyKey)) {
          s.existingAntiAffinity[term.topologyKey].insert(*v);
        }
      }
    }
  }
  return s;
}

FilterResult runFilters(const PodInfo& pod, const NodeInfo& node, const AffinityState& affinity) {
  for (Filter f : kFilters) {
    FilterResult r = f(pod, node, affinity);
    if (!r.ok()) return r;
  }
  return {};
}

void addToDiagnosis(Diagnosis& d, const FilterResult& r) {
  ++d.numNodes;
  if (r.ok()) return;
  for (const auto& reason : r.reasons) ++d.reasons[reason];
  ++(r.code == FilterCode::UnschedulableAndUnresolvable ? d.unresolvable : d.resolvable);
}

std::string failureMessage(const Diagnosis& d, const PodInfo& pod) {
  if (d.numNodes == 0) return "no nodes available to schedule pods";
  const std::string head = "0/" + std::to_string(d.numNodes) + " nodes are available";
  // Kubernetes sorts the "<count> <reason>" strings as strings.
  std::vector<std::string> parts;
  for (const auto& [reason, count] : d.reasons)
    parts.push_back(std::to_string(count) + " " + reason);
  std::sort(parts.begin(), parts.end());
  std::string msg = head + ":";
  for (size_t i = 0; i < parts.size(); ++i) msg += (i ? ", " : " ") + parts[i];
  msg += ".";
  if (pod.preemptionPolicy == "Never")
    return msg + " preemption: not eligible due to preemptionPolicy=Never.";
  std::vector<std::string> preemption;
  if (d.unresolvable > 0) {
    preemption.push_back(std::to_string(d.unresolvable) +
                         " Preemption is not helpful for scheduling");
  }
  if (d.resolvable > 0) {
    preemption.push_back(std::to_string(d.resolvable) +
                         " No preemption victims found for incoming pod");
  }
  std::sort(preemption.begin(), preemption.end());
  msg += " preemption: " + head + ":";
  for (size_t i = 0; i < preemption.size(); ++i) msg += (i ? ", " : " ") + preemption[i];
  return msg + ".";
}

}  // namespace kd::scheduler

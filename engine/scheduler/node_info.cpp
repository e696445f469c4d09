#include "engine/scheduler/node_info.h"

#include <algorithm>

#include "engine/api/quantity.h"

namespace kd::scheduler {
namespace {

bool takesRoom(const json& pod) {
  const std::string phase = objectField(pod, "status").value("phase", "");
  return phase != "Succeeded" && phase != "Failed";
}

bool wildcard(const std::string& ip) {
  return ip.empty() || ip == "0.0.0.0" || ip == "::";
}

std::unique_ptr<PlacedPod> placed(const PodInfo& info, const std::string& nodeName) {
  auto p = std::make_unique<PlacedPod>();
  p->key = info.key;
  p->ns = info.ns;
  p->nodeName = nodeName;
  p->controllerUid = info.controllerUid;
  p->labels = info.labels;
  p->requests = info.requests;
  p->nonZeroRequests = info.nonZeroRequests;
  p->hostPorts = info.hostPorts;
  p->requiredAntiAffinity = info.requiredAntiAffinity;
  return p;
}

}  // namespace

bool NodeInfo::portInUse(const HostPort& want) const {
  for (const PlacedPod* p : pods) {
    for (const auto& have : p->hostPorts) {
      if (have.port != want.port || have.protocol != want.protocol) continue;
      if (wildcard(have.ip) || wildcard(want.ip) || have.ip == want.ip) return true;
    }
  }
  return false;
}

void SchedulerCache::upsertNode(const json& node) {
  const json& meta = objectField(node, "metadata");
  const json& spec = objectField(node, "spec");
  const json& status = objectField(node, "status");
  const std::string name = meta.value("name", "");
  auto& slot = nodes_[name];
  if (!slot) {
    slot = std::make_unique<NodeInfo>();
    slot->name = name;
  }
  NodeInfo& n = *slot;
  const bool wasKnown = n.known;
  n.known = true;
  n.labels = api::labelsOf(node);
  n.unschedulable = spec.value("unschedulable", false);
  n.taints.clear();
  for (const auto& t : arrayField(spec, "taints")) {
    n.taints.push_back({t.value("key", ""), t.value("value", ""), t.value("effect", "")});
  }
  const json& allocatable =
      status.contains("allocatable") ? status["allocatable"] : status.value("capacity", json());
  n.allocatable = parseResourceList(allocatable);
  n.allowedPods = 0;
  if (allocatable.is_object() && allocatable.contains("pods")) {
    auto q = api::Quantity::fromJson(allocatable["pods"]);
    if (q.ok()) n.allowedPods = q->value();
  }
  if (!wasKnown) {
    // The newest node comes last in appearance order: no need to sort again.
    seq_.emplace(name, nextSeq_++);
    order_.push_back(&n);
  }
}

void SchedulerCache::removeNode(const std::string& name) {
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return;
  // Pods stay counted against the name: they still exist until deleted.
  it->second->known = false;
  if (it->second->pods.empty()) nodes_.erase(it);
  seq_.erase(name);
  rebuildOrder();
}

void SchedulerCache::upsertPod(const json& pod) {
  const json& meta = objectField(pod, "metadata");
  const std::string key = meta.value("namespace", "") + "/" + meta.value("name", "");
  const std::string nodeName = objectField(pod, "spec").value("nodeName", "");
  const bool keep = !nodeName.empty() && takesRoom(pod) && !meta.contains("deletionTimestamp");
  auto existing = pods_.find(key);
  if (existing != pods_.end()) {
    // Assumed or seen on the same node: already counted (a bound pod's spec cannot change
    // what the scheduler counts, except through in-place resize, which is not supported).
    if (keep && existing->second->nodeName == nodeName) return;
    removePod(key);
  }
  if (keep) place(placed(parsePod(pod), nodeName));
}

void SchedulerCache::removePod(const std::string& key) {
  auto it = pods_.find(key);
  if (it == pods_.end()) return;
  unplace(*it->second);
  pods_.erase(it);
}

void SchedulerCache::assume(const PodInfo& pod, const std::string& nodeName) {
  removePod(pod.key);
  place(placed(pod, nodeName));
}

const NodeInfo* SchedulerCache::node(const std::string& name) const {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : it->second.get();
}

void SchedulerCache::place(std::unique_ptr<PlacedPod> pod) {
  auto& slot = nodes_[pod->nodeName];
  if (!slot) {
    slot = std::make_unique<NodeInfo>();
    slot->name = pod->nodeName;
  }
  NodeInfo& n = *slot;
  n.requested.add(pod->requests);
  n.nonZeroRequested.add(pod->nonZeroRequests);
  ++n.podCount;
  n.pods.push_back(pod.get());
  if (!pod->controllerUid.empty()) ++n.controllerCounts[pod->controllerUid];
  if (!pod->requiredAntiAffinity.empty()) ++antiAffinityPods_;
  const std::string key = pod->key;
  pods_[key] = std::move(pod);
}

void SchedulerCache::unplace(const PlacedPod& pod) {
  auto it = nodes_.find(pod.nodeName);
  if (!pod.requiredAntiAffinity.empty()) --antiAffinityPods_;
  if (it == nodes_.end()) return;
  NodeInfo& n = *it->second;
  n.requested.subtract(pod.requests);
  n.nonZeroRequested.subtract(pod.nonZeroRequests);
  --n.podCount;
  n.pods.erase(std::find(n.pods.begin(), n.pods.end(), &pod));
  if (!pod.controllerUid.empty() && --n.controllerCounts[pod.controllerUid] == 0) {
    n.controllerCounts.erase(pod.controllerUid);
  }
  if (!n.known && n.pods.empty()) nodes_.erase(it);
}

void SchedulerCache::rebuildOrder() {
  order_.clear();
  for (auto& [name, n] : nodes_) {
    if (n->known) order_.push_back(n.get());
  }
  std::sort(order_.begin(), order_.end(),
            [&](const NodeInfo* a, const NodeInfo* b) { return seq_[a->name] < seq_[b->name]; });
}

}  // namespace kd::scheduler

#include "engine/controllers/node_lifecycle_controller.h"

#include <algorithm>

#include "engine/controllers/controller_manager.h"

namespace kd::controllers {
namespace {

using TimePoint = std::chrono::system_clock::time_point;

constexpr const char* kUnreachable = "node.kubernetes.io/unreachable";
constexpr const char* kNotReady = "node.kubernetes.io/not-ready";
constexpr const char* kLeaseNamespace = "kube-node-lease";
const char* const kKubeletConditions[] = {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"};

const json& field(const json& obj, const char* name) {
  static const json kEmpty = json::object();
  auto it = obj.find(name);
  return it == obj.end() || !it->is_object() ? kEmpty : *it;
}

std::string readyStatus(const json& node) {
  for (const auto& c : field(node, "status").value("conditions", json::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "Unknown");
  }
  return "Unknown";
}

std::optional<TimePoint> timeField(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_string()) return std::nullopt;
  return server::parseTime(it->get<std::string>());
}

// The NoExecute taint the Ready condition calls for, if any.
const char* wantedTaint(const std::string& ready) {
  if (ready == "Unknown") return kUnreachable;
  if (ready == "False") return kNotReady;
  return nullptr;
}

bool ourTaint(const json& t) {
  const std::string key = t.value("key", "");
  return key == kUnreachable || key == kNotReady;
}

// When `pod` must leave a node with these NoExecute taints: now when one is not tolerated,
// tolerationSeconds after the taint was added when all are, never (nullopt) when tolerated
// without a limit.
std::optional<TimePoint> evictionTime(const json& pod, const json& taints, TimePoint now) {
  std::optional<TimePoint> due;
  const json tolerations = field(pod, "spec").value("tolerations", json::array());
  for (const auto& taint : taints) {
    if (taint.value("effect", "") != "NoExecute") continue;
    std::optional<TimePoint> taintDue;
    bool tolerated = false, forever = false;
    for (const auto& t : tolerations) {
      const std::string effect = t.value("effect", ""), key = t.value("key", "");
      if (!effect.empty() && effect != "NoExecute") continue;
      if (!key.empty() && key != taint.value("key", "")) continue;
      if (t.value("operator", "Equal") != "Exists" &&
          t.value("value", "") != taint.value("value", "")) {
        continue;
      }
      tolerated = true;
      if (!t.contains("tolerationSeconds") || !t["tolerationSeconds"].is_number()) {
        forever = true;
        continue;
      }
      const TimePoint added = timeField(taint, "timeAdded").value_or(now);
      const TimePoint at =
          added + std::chrono::seconds(std::max<int64_t>(0, t["tolerationSeconds"].get<int64_t>()));
      taintDue = taintDue ? std::min(*taintDue, at) : at;
    }
    if (!tolerated) return now;
    if (forever && !taintDue) continue;
    if (taintDue) due = due ? std::min(*due, *taintDue) : *taintDue;
  }
  return due;
}

}  // namespace

NodeLifecycleController::NodeLifecycleController(server::ObjectService& objects,
                                                 NodeLifecycleOptions options)
    : objects_(objects),
      options_(std::move(options)),
      nodes_(objects.kinds().byResource("", "v1", "nodes")),
      pods_(objects.kinds().byResource("", "v1", "pods")),
      leases_(objects.kinds().byResource("coordination.k8s.io", "v1", "leases")),
      recorder_(objects, "node-controller") {}

NodeLifecycleController::~NodeLifecycleController() = default;

std::chrono::system_clock::time_point NodeLifecycleController::now() const {
  return options_.clock ? options_.clock() : objects_.now();
}

void NodeLifecycleController::setup(ControllerManager& manager, WorkQueue& queue) {
  queue_ = &queue;
  nodeInformer_ = &manager.informer(*nodes_);
  leaseInformer_ = &manager.informer(*leases_);
  podInformer_ = &manager.informer(*pods_);
  auto byName = [&queue](const CachedObject& obj) { queue.add(objectKey(*obj)); };
  nodeInformer_->addHandlers(
      {byName, [byName](const CachedObject&, const CachedObject& n) { byName(n); }, nullptr});
  auto byLease = [&queue](const CachedObject& lease) {
    const json& meta = field(*lease, "metadata");
    if (meta.value("namespace", "") == kLeaseNamespace) queue.add(meta.value("name", ""));
  };
  leaseInformer_->addHandlers(
      {byLease, [byLease](const CachedObject&, const CachedObject& l) { byLease(l); }, nullptr});
  // A pod arriving on a tainted node may have to go.
  Informer* nodes = nodeInformer_;
  auto byPodNode = [&queue, nodes](const CachedObject& pod) {
    const std::string node = field(*pod, "spec").value("nodeName", "");
    auto cached = node.empty() ? nullptr : nodes->get(node);
    if (cached && !field(*cached, "spec").value("taints", json::array()).empty()) queue.add(node);
  };
  podInformer_->addHandlers(
      {byPodNode, [byPodNode](const CachedObject&, const CachedObject& p) { byPodNode(p); },
       nullptr});
}

std::optional<std::chrono::system_clock::time_point> NodeLifecycleController::lastHeartbeat(
    const json& node) const {
  const std::string name = field(node, "metadata").value("name", "");
  std::optional<TimePoint> last = timeField(field(node, "metadata"), "creationTimestamp");
  auto later = [&](std::optional<TimePoint> t) {
    if (t && (!last || *t > *last)) last = t;
  };
  if (auto lease = leaseInformer_ ? leaseInformer_->get(kLeaseNamespace, name) : nullptr) {
    later(timeField(field(*lease, "spec"), "renewTime"));
  } else if (auto got = objects_.get(*leases_, kLeaseNamespace, name); got.ok()) {
    later(timeField(field((*got)->parse(), "spec"), "renewTime"));
  }
  for (const auto& c : field(node, "status").value("conditions", json::array())) {
    if (c.value("type", "") == "Ready") later(timeField(c, "lastHeartbeatTime"));
  }
  return last;
}

Status NodeLifecycleController::sync(const std::string& key) {
  auto got = objects_.get(*nodes_, "", key);
  if (!got.ok()) return got.status().code() == 404 ? Status::ok() : got.status();
  json node = (*got)->parse();
  const auto heartbeat = lastHeartbeat(node);
  const bool silent = heartbeat && now() - *heartbeat > options_.gracePeriod;
  if (silent && readyStatus(node) != "Unknown") {
    if (Status st = markUnknown(node); !st.isOk()) return st;
    auto again = objects_.get(*nodes_, "", key);
    if (!again.ok()) return again.status();
    node = (*again)->parse();
  }
  if (Status st = reconcileTaints(node); !st.isOk()) return st;
  auto reread = objects_.get(*nodes_, "", key);
  if (!reread.ok()) return {};
  auto nextEviction = evictPods((*reread)->parse());
  // Look again when the heartbeat would run out, or an eviction falls due.
  auto next = std::chrono::duration_cast<std::chrono::milliseconds>(options_.monitorPeriod);
  if (nextEviction) next = std::min(next, std::chrono::milliseconds(*nextEviction));
  if (queue_) queue_->addAfter(key, next);
  return {};
}

Status NodeLifecycleController::markUnknown(const json& node) {
  json body = node;
  const std::string at = server::formatTime(now());
  json conditions = json::array();
  for (auto c : field(node, "status").value("conditions", json::array())) {
    const std::string type = c.value("type", "");
    if (std::find(std::begin(kKubeletConditions), std::end(kKubeletConditions), type) !=
        std::end(kKubeletConditions)) {
      c["status"] = "Unknown";
      c["reason"] = "NodeStatusUnknown";
      c["message"] = "Kubelet stopped posting node status.";
      c["lastTransitionTime"] = at;
    }
    conditions.push_back(std::move(c));
  }
  if (readyStatus(node) == "Unknown" && conditions.empty()) {
    conditions.push_back({{"type", "Ready"},
                          {"status", "Unknown"},
                          {"reason", "NodeStatusNeverUpdated"},
                          {"message", "Kubelet never posted node status."},
                          {"lastTransitionTime", at}});
  }
  body["status"]["conditions"] = std::move(conditions);
  server::WriteOptions options;
  options.subresource = "status";
  auto r = objects_.update(*nodes_, "", field(node, "metadata").value("name", ""), body, options);
  if (!r.ok()) return r.status();
  recorder_.record(
      r->object, "Normal", "NodeNotReady",
      "Node " + field(node, "metadata").value("name", "") + " status is now: NodeNotReady");
  return {};
}

Status NodeLifecycleController::reconcileTaints(const json& node) {
  const json& spec = field(node, "spec");
  const json current = spec.value("taints", json::array());
  const char* wanted = wantedTaint(readyStatus(node));
  json taints = json::array();
  bool changed = false;
  std::vector<std::string> present;
  for (const auto& t : current) {
    const bool keep = !ourTaint(t) || (wanted && t.value("key", "") == wanted);
    if (!keep) {
      changed = true;
      continue;
    }
    if (ourTaint(t)) present.push_back(t.value("effect", ""));
    taints.push_back(t);
  }
  if (wanted) {
    // The NoSchedule taint keeps new pods away; the NoExecute one (with its timeAdded)
    // starts the eviction clock of pods already there.
    for (const char* effect : {"NoSchedule", "NoExecute"}) {
      if (std::find(present.begin(), present.end(), effect) != present.end()) continue;
      json t = {{"key", wanted}, {"effect", effect}};
      if (std::string(effect) == "NoExecute") t["timeAdded"] = server::formatTime(now());
      taints.push_back(std::move(t));
      changed = true;
    }
  }
  if (!changed) return {};
  json body = node;
  if (taints.empty()) {
    body["spec"].erase("taints");
  } else {
    body["spec"]["taints"] = std::move(taints);
  }
  auto r = objects_.update(*nodes_, "", field(node, "metadata").value("name", ""), body, {});
  return r.ok() ? Status::ok() : r.status();
}

std::optional<std::chrono::seconds> NodeLifecycleController::evictPods(const json& node) {
  const json taints = field(node, "spec").value("taints", json::array());
  const bool noExecute = std::any_of(taints.begin(), taints.end(), [](const json& t) {
    return t.value("effect", "") == "NoExecute";
  });
  if (!noExecute || !podInformer_) return std::nullopt;
  const std::string name = field(node, "metadata").value("name", "");
  const TimePoint at = now();
  std::optional<std::chrono::seconds> next;
  for (const auto& pod : podInformer_->list()) {
    if (field(*pod, "spec").value("nodeName", "") != name) continue;
    if (field(*pod, "metadata").contains("deletionTimestamp")) continue;
    auto due = evictionTime(*pod, taints, at);
    if (!due) continue;
    if (*due > at) {
      auto wait = std::chrono::ceil<std::chrono::seconds>(*due - at);
      next = next ? std::min(*next, wait) : wait;
      continue;
    }
    const json& meta = field(*pod, "metadata");
    auto removed = objects_.remove(*pods_, meta.value("namespace", ""), meta.value("name", ""), {});
    if (removed.ok()) {
      recorder_.record(*pod, "Normal", "TaintManagerEviction",
                       "Marking for deletion Pod " + objectKey(*pod));
    }
  }
  return next;
}

}  // namespace kd::controllers

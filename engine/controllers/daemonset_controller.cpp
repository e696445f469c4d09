#include "engine/controllers/daemonset_controller.h"

#include <algorithm>
#include <map>

#include "engine/api/selectors.h"
#include "engine/controllers/controller_manager.h"
#include "engine/controllers/deployment_controller.h"
#include "engine/controllers/history.h"
#include "engine/controllers/object_fields.h"
#include "engine/controllers/replicaset_controller.h"
#include "engine/scheduler/pod_info.h"

namespace kd::controllers {
namespace {

constexpr const char* kHashLabel = "controller-revision-hash";
constexpr const char* kGenerationLabel = "pod-template-generation";

// The tolerations Kubernetes adds to every DaemonSet pod, so daemons keep running where
// ordinary pods would be kept off or evicted.
json daemonTolerations(const json& podSpec) {
  json tolerations = podSpec.value("tolerations", json::array());
  auto add = [&tolerations](const char* key, const char* effect) {
    for (const auto& t : tolerations) {
      if (t.value("key", "") == key && t.value("effect", "") == effect) return;
    }
    tolerations.push_back({{"key", key}, {"operator", "Exists"}, {"effect", effect}});
  };
  add("node.kubernetes.io/not-ready", "NoExecute");
  add("node.kubernetes.io/unreachable", "NoExecute");
  add("node.kubernetes.io/disk-pressure", "NoSchedule");
  add("node.kubernetes.io/memory-pressure", "NoSchedule");
  add("node.kubernetes.io/pid-pressure", "NoSchedule");
  add("node.kubernetes.io/unschedulable", "NoSchedule");
  if (podSpec.value("hostNetwork", false))
    add("node.kubernetes.io/network-unavailable", "NoSchedule");
  return tolerations;
}

// The node a DaemonSet pod is for: its nodeName once bound, else its pinning affinity.
std::string targetNode(const json& pod) {
  const json& spec = fieldOf(pod, "spec");
  if (auto n = spec.value("nodeName", ""); !n.empty()) return n;
  const json& required = fieldOf(fieldOf(fieldOf(spec, "affinity"), "nodeAffinity"),
                                 "requiredDuringSchedulingIgnoredDuringExecution");
  for (const auto& term : required.value("nodeSelectorTerms", json::array())) {
    for (const auto& f : term.value("matchFields", json::array())) {
      const json values = f.value("values", json::array());
      if (f.value("key", "") == "metadata.name" && values.size() == 1) return values[0];
    }
  }
  return "";
}

json pinnedTo(const std::string& node) {
  json field = {{"key", "metadata.name"}, {"operator", "In"}, {"values", {node}}};
  return {{"requiredDuringSchedulingIgnoredDuringExecution",
           {{"nodeSelectorTerms", {{{"matchFields", {field}}}}}}}};
}

bool podFailed(const json& pod) {
  return fieldOf(pod, "status").value("phase", "") == "Failed";
}

}  // namespace

DaemonPlacement daemonPlacement(const json& podTemplate, const json& node) {
  json pod = {{"metadata", fieldOf(podTemplate, "metadata")},
              {"spec", fieldOf(podTemplate, "spec")}};
  pod["spec"]["tolerations"] = daemonTolerations(fieldOf(podTemplate, "spec"));
  const scheduler::PodInfo info = scheduler::parsePod(pod);
  const std::string name = nameOf(node);
  const api::Labels labels = api::labelsOf(node);
  for (const auto& [k, v] : info.nodeSelector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return {};
  }
  if (info.requiredNodeTerms) {
    const auto& terms = *info.requiredNodeTerms;
    if (std::none_of(terms.begin(), terms.end(), [&](const auto& term) {
          return scheduler::matchesTerm(term, labels, name);
        })) {
      return {};
    }
  }
  DaemonPlacement placement{true, true};
  for (const auto& t : fieldOf(node, "spec").value("taints", json::array())) {
    scheduler::Taint taint{t.value("key", ""), t.value("value", ""), t.value("effect", "")};
    if (taint.effect == "PreferNoSchedule" || scheduler::tolerates(info.tolerations, taint)) {
      continue;
    }
    placement.shouldRun = false;
    if (taint.effect == "NoExecute") placement.shouldContinueRunning = false;
  }
  return placement;
}

// Per node: whether the daemon should run there and the DaemonSet's active pods on it.
struct DaemonSetController::NodePods {
  std::string node;
  bool shouldRun = false;
  bool shouldContinueRunning = false;
  std::vector<CachedObject> pods;
};

DaemonSetController::DaemonSetController(server::ObjectService& objects, server::Clock clock)
    : objects_(objects),
      clock_(std::move(clock)),
      daemonSets_(objects.kinds().byResource("apps", "v1", "daemonsets")),
      pods_(objects.kinds().byResource("", "v1", "pods")),
      nodes_(objects.kinds().byResource("", "v1", "nodes")),
      revisions_(objects.kinds().byResource("apps", "v1", "controllerrevisions")),
      events_(objects, "daemonset-controller") {}

std::chrono::system_clock::time_point DaemonSetController::now() const {
  return clock_ ? clock_() : objects_.now();
}

void DaemonSetController::setup(ControllerManager& manager, WorkQueue& queue) {
  queue_ = &queue;
  dsInformer_ = &manager.informer(*daemonSets_);
  podInformer_ = &manager.informer(*pods_);
  nodeInformer_ = &manager.informer(*nodes_);
  revisionInformer_ = &manager.informer(*revisions_);
  auto byKey = [&queue](const CachedObject& ds) { queue.add(objectKey(*ds)); };
  dsInformer_->addHandlers(
      {byKey, [byKey](const CachedObject&, const CachedObject& ds) { byKey(ds); },
       [this](const CachedObject& ds) { expectations_.erase(objectKey(*ds)); }});
  podInformer_->addHandlers(
      {[this](const CachedObject& pod) {
         if (const json* ref = controllerRefOf(*pod);
             ref && ref->value("kind", "") == "DaemonSet") {
           expectations_.creationObserved(objectKey(namespaceOf(*pod), ref->value("name", "")));
         }
         enqueueOwner(*pod);
       },
       [this](const CachedObject&, const CachedObject& pod) { enqueueOwner(*pod); },
       [this](const CachedObject& pod) {
         if (const json* ref = controllerRefOf(*pod);
             ref && ref->value("kind", "") == "DaemonSet") {
           expectations_.deletionObserved(objectKey(namespaceOf(*pod), ref->value("name", "")),
                                          objectKey(*pod));
         }
         enqueueOwner(*pod);
       }});
  auto nodeChanged = [this](const CachedObject&) { enqueueAll(); };
  nodeInformer_->addHandlers({nodeChanged,
                              [this](const CachedObject& o, const CachedObject& n) {
                                // Heartbeats change only status; eligibility reads labels and
                                // taints.
                                if (api::labelsOf(*o) != api::labelsOf(*n) ||
                                    fieldOf(*o, "spec") != fieldOf(*n, "spec")) {
                                  enqueueAll();
                                }
                              },
                              nodeChanged});
}

void DaemonSetController::enqueueOwner(const json& pod) {
  const json* ref = controllerRefOf(pod);
  if (!ref || ref->value("kind", "") != "DaemonSet") return;
  queue_->add(objectKey(namespaceOf(pod), ref->value("name", "")));
}

void DaemonSetController::enqueueAll() {
  for (const auto& ds : dsInformer_->list()) queue_->add(objectKey(*ds));
}

Status DaemonSetController::sync(const std::string& key) {
  CachedObject cached = dsInformer_->get(key);
  if (!cached) return {};
  const json& ds = *cached;
  const std::string ns = namespaceOf(ds);
  auto selector = api::LabelSelector::fromJson(fieldOf(ds, "spec").value("selector", json()));
  if (!selector.ok()) return {};

  std::vector<CachedObject> active;
  for (auto& pod : podInformer_->list(ns)) {
    if (!fieldOf(*pod, "metadata").contains("deletionTimestamp")) active.push_back(std::move(pod));
  }
  auto owned = claimOwned(objects_, *daemonSets_, *pods_, ds, *selector, active);
  if (!owned.ok()) return owned.status();

  auto revision = syncControllerHistory(objects_, *revisionInformer_, ds, *owned, kHashLabel);
  if (!revision.ok()) return revision.status();
  const std::string& hash = revision->hash;

  const json& tmpl = fieldOf(fieldOf(ds, "spec"), "template");
  std::map<std::string, NodePods> byNode;
  for (const auto& node : nodeInformer_->list()) {
    NodePods& np = byNode[nameOf(*node)];
    np.node = nameOf(*node);
    const DaemonPlacement placement = daemonPlacement(tmpl, *node);
    np.shouldRun = placement.shouldRun;
    np.shouldContinueRunning = placement.shouldContinueRunning;
  }
  for (const auto& pod : *owned) {
    NodePods& np = byNode[targetNode(*pod)];
    np.node = targetNode(*pod);
    np.pods.push_back(pod);
  }
  std::vector<NodePods> nodes;
  for (auto& [name, np] : byNode) nodes.push_back(std::move(np));

  Status managed;
  const bool deleting = fieldOf(ds, "metadata").contains("deletionTimestamp");
  if (!deleting &&
      expectations_.satisfied(key, std::chrono::steady_clock::now(), std::chrono::minutes(5))) {
    managed = manage(ds, hash, nodes);
  }
  Status written = writeStatus(ds, hash, nodes);
  return managed.isOk() ? written : managed;
}

Status DaemonSetController::manage(const json& ds, const std::string& hash,
                                   std::vector<NodePods>& nodes) {
  const json& spec = fieldOf(ds, "spec");
  const json& strategy = fieldOf(spec, "updateStrategy");
  const bool rolling = strategy.value("type", "RollingUpdate") == "RollingUpdate";
  const int64_t minReady = spec.value("minReadySeconds", int64_t{0});
  const auto at = now();
  int64_t desired = 0;
  for (const auto& np : nodes) desired += np.shouldRun ? 1 : 0;
  const json& ru = fieldOf(strategy, "rollingUpdate");
  Fenceposts posts = resolveFenceposts(ru.value("maxSurge", json(0)),
                                       ru.value("maxUnavailable", json(1)), desired);
  if (posts.maxSurge == 0 && posts.maxUnavailable == 0) posts.maxUnavailable = 1;

  auto isNew = [&hash](const CachedObject& p) {
    return fieldOf(fieldOf(*p, "metadata"), "labels").value(kHashLabel, "") == hash;
  };
  auto available = [&](const CachedObject& p) { return podAvailable(*p, minReady, at); };

  std::vector<std::string> toCreate;
  std::vector<CachedObject> toDelete;
  int64_t unavailable = 0;
  std::vector<NodePods*> oldRunning;
  for (auto& np : nodes) {
    if (!np.shouldContinueRunning || np.node.empty()) {
      toDelete.insert(toDelete.end(), np.pods.begin(), np.pods.end());
      continue;
    }
    if (!np.shouldRun) continue;  // the running pod may stay; nothing new goes there
    std::vector<CachedObject> live;
    for (const auto& p : np.pods) {
      if (podFailed(*p)) {
        events_.record(ds, "Warning", "FailedDaemonPod",
                       "Found failed daemon pod " + namespaceOf(*p) + "/" + nameOf(*p) +
                           " on node " + np.node + ", will try to kill it");
        toDelete.push_back(p);
      } else {
        live.push_back(p);
      }
    }
    if (live.empty()) {
      toCreate.push_back(np.node);
      ++unavailable;
      continue;
    }
    // Keep the newest-revision pod (or the oldest pod) and delete the rest, unless a surge
    // is in progress: then an old available pod waits for its new replacement.
    std::stable_sort(live.begin(), live.end(),
                     [&](const auto& a, const auto& b) { return isNew(a) > isNew(b); });
    const bool surging =
        rolling && posts.maxSurge > 0 && live.size() == 2 && isNew(live[0]) && !isNew(live[1]);
    if (surging) {
      if (available(live[0])) toDelete.push_back(live[1]);
      continue;
    }
    for (size_t i = 1; i < live.size(); ++i) toDelete.push_back(live[i]);
    if (!available(live[0])) ++unavailable;
    if (!isNew(live[0])) oldRunning.push_back(&np);
  }

  if (rolling) {
    int64_t budget = posts.maxSurge > 0 ? posts.maxSurge : posts.maxUnavailable - unavailable;
    for (NodePods* np : oldRunning) {
      if (budget <= 0) break;
      const CachedObject& old = np->pods.front();
      if (posts.maxSurge > 0) {
        toCreate.push_back(np->node);
      } else if (std::find(toDelete.begin(), toDelete.end(), old) == toDelete.end()) {
        for (const auto& p : np->pods) {
          if (!isNew(p)) toDelete.push_back(p);
        }
      }
      --budget;
    }
  }

  const std::string key = objectKey(ds);
  std::vector<std::string> deleteKeys;
  for (const auto& p : toDelete) deleteKeys.push_back(objectKey(*p));
  if (!toCreate.empty()) expectations_.expectCreations(key, static_cast<int>(toCreate.size()));
  if (!deleteKeys.empty()) expectations_.expectDeletions(key, deleteKeys);
  Status result;
  for (const auto& node : toCreate) {
    Status st = createPod(ds, hash, node);
    if (!st.isOk()) {
      expectations_.creationObserved(key);
      if (result.isOk()) result = st;
    }
  }
  for (const auto& p : toDelete) {
    Status st = deletePod(ds, *p);
    if (!st.isOk()) {
      expectations_.deletionObserved(key, objectKey(*p));
      if (result.isOk()) result = st;
    }
  }
  return result;
}

Status DaemonSetController::createPod(const json& ds, const std::string& hash,
                                      const std::string& node) {
  const json& tmpl = fieldOf(fieldOf(ds, "spec"), "template");
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", fieldOf(tmpl, "metadata")},
              {"spec", fieldOf(tmpl, "spec")}};
  json& meta = pod["metadata"];
  meta.erase("name");
  meta["generateName"] = nameOf(ds) + "-";
  meta["labels"][kHashLabel] = hash;
  meta["labels"][kGenerationLabel] =
      std::to_string(fieldOf(ds, "metadata").value("generation", int64_t{1}));
  meta["ownerReferences"] = {controllerRefTo(ds)};
  pod["spec"]["tolerations"] = daemonTolerations(fieldOf(tmpl, "spec"));
  pod["spec"]["affinity"]["nodeAffinity"] = pinnedTo(node);
  const std::string ns = namespaceOf(ds);
  auto created = objects_.create(*pods_, ns, std::move(pod), {});
  if (!created.ok()) {
    events_.record(ds, "Warning", "FailedCreate", "Error creating: " + created.status().message());
    return created.status();
  }
  events_.record(ds, "Normal", "SuccessfulCreate", "Created pod: " + nameOf(created->object));
  return {};
}

Status DaemonSetController::deletePod(const json& ds, const json& pod) {
  auto removed = objects_.remove(*pods_, namespaceOf(pod), nameOf(pod), {});
  if (!removed.ok() && removed.status().code() != 404) return removed.status();
  events_.record(ds, "Normal", "SuccessfulDelete", "Deleted pod: " + nameOf(pod));
  return {};
}

Status DaemonSetController::writeStatus(const json& ds, const std::string& hash,
                                        const std::vector<NodePods>& nodes) {
  const int64_t minReady = fieldOf(ds, "spec").value("minReadySeconds", int64_t{0});
  const auto at = now();
  int64_t desired = 0, current = 0, misscheduled = 0, ready = 0, availableCount = 0, updated = 0;
  bool waitForAvailability = false;
  for (const auto& np : nodes) {
    if (!np.shouldRun) {
      misscheduled += np.pods.empty() ? 0 : 1;
      continue;
    }
    ++desired;
    if (np.pods.empty()) continue;
    ++current;
    const json& pod = *np.pods.front();
    if (podReady(pod)) {
      ++ready;
      if (podAvailable(pod, minReady, at)) {
        ++availableCount;
      } else {
        waitForAvailability = true;
      }
    }
    if (fieldOf(fieldOf(pod, "metadata"), "labels").value(kHashLabel, "") == hash) ++updated;
  }
  json status = {{"currentNumberScheduled", current},
                 {"desiredNumberScheduled", desired},
                 {"numberMisscheduled", misscheduled},
                 {"numberReady", ready},
                 {"numberAvailable", availableCount},
                 {"updatedNumberScheduled", updated},
                 {"observedGeneration", fieldOf(ds, "metadata").value("generation", int64_t{1})}};
  status["numberUnavailable"] = desired - availableCount;
  // As in Kubernetes, these are omitted while zero.
  for (const char* f : {"numberAvailable", "numberUnavailable", "updatedNumberScheduled"}) {
    if (status.value(f, int64_t{0}) == 0) status.erase(f);
  }
  if (waitForAvailability) queue_->addAfter(objectKey(ds), std::chrono::seconds(minReady + 1));
  return writeStatusIfChanged(objects_, *daemonSets_, ds, std::move(status));
}

}  // namespace kd::controllers

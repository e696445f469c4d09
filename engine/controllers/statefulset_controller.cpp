#include "engine/controllers/statefulset_controller.h"

#include <charconv>
#include <map>

#include "engine/api/selectors.h"
#include "engine/controllers/controller_manager.h"
#include "engine/controllers/history.h"
#include "engine/controllers/object_fields.h"
#include "engine/controllers/replicaset_controller.h"

namespace kd::controllers {
namespace {

constexpr const char* kRevisionLabel = "controller-revision-hash";

// The ordinal in "<set>-<ordinal>", or -1 when the name is not one of the set's.
int ordinalOf(const std::string& setName, const std::string& podName) {
  if (podName.size() <= setName.size() + 1 || !podName.starts_with(setName + "-")) return -1;
  const char* first = podName.data() + setName.size() + 1;
  const char* last = podName.data() + podName.size();
  int ordinal = -1;
  auto [end, ec] = std::from_chars(first, last, ordinal);
  return ec == std::errc() && end == last && ordinal >= 0 ? ordinal : -1;
}

bool runningAndReady(const json& pod) {
  return fieldOf(pod, "status").value("phase", "") == "Running" && podReady(pod);
}

bool terminating(const json& pod) {
  return fieldOf(pod, "metadata").contains("deletionTimestamp");
}

std::string revisionOfPod(const json& pod) {
  return fieldOf(fieldOf(pod, "metadata"), "labels").value(kRevisionLabel, "");
}

}  // namespace

// What one sync sees and decides.
struct StatefulSetController::Plan {
  int replicas = 1;
  int partition = 0;
  bool ordered = true;
  bool rolling = true;
  int64_t minReady = 0;
  std::string updateRevision, currentRevision;
  json updateTemplate, currentTemplate;
  std::map<int, CachedObject> pods;  // ordinal -> pod, every ordinal the set has a pod for
};

StatefulSetController::StatefulSetController(server::ObjectService& objects, server::Clock clock)
    : objects_(objects),
      clock_(std::move(clock)),
      sets_(objects.kinds().byResource("apps", "v1", "statefulsets")),
      pods_(objects.kinds().byResource("", "v1", "pods")),
      claims_(objects.kinds().byResource("", "v1", "persistentvolumeclaims")),
      revisions_(objects.kinds().byResource("apps", "v1", "controllerrevisions")),
      events_(objects, "statefulset-controller") {}

std::chrono::system_clock::time_point StatefulSetController::now() const {
  return clock_ ? clock_() : objects_.now();
}

void StatefulSetController::setup(ControllerManager& manager, WorkQueue& queue) {
  queue_ = &queue;
  setInformer_ = &manager.informer(*sets_);
  podInformer_ = &manager.informer(*pods_);
  revisionInformer_ = &manager.informer(*revisions_);
  auto byKey = [&queue](const CachedObject& s) { queue.add(objectKey(*s)); };
  setInformer_->addHandlers(
      {byKey, [byKey](const CachedObject&, const CachedObject& s) { byKey(s); }, nullptr});
  auto owner = [&queue](const CachedObject& pod) {
    const json* ref = controllerRefOf(*pod);
    if (!ref || ref->value("kind", "") != "StatefulSet") return;
    queue.add(objectKey(namespaceOf(*pod), ref->value("name", "")));
  };
  podInformer_->addHandlers(
      {owner, [owner](const CachedObject&, const CachedObject& p) { owner(p); }, owner});
}

Status StatefulSetController::sync(const std::string& key) {
  CachedObject cached = setInformer_->get(key);
  if (!cached) return {};
  const json& set = *cached;
  const json& spec = fieldOf(set, "spec");
  const std::string ns = namespaceOf(set), name = nameOf(set);
  auto selector = api::LabelSelector::fromJson(spec.value("selector", json()));
  if (!selector.ok()) return {};
  auto owned = claimOwned(objects_, *sets_, *pods_, set, *selector, podInformer_->list(ns));
  if (!owned.ok()) return owned.status();
  auto revision = syncControllerHistory(objects_, *revisionInformer_, set, *owned, kRevisionLabel);
  if (!revision.ok()) return revision.status();

  Plan plan;
  plan.replicas = spec.value("replicas", 1);
  plan.ordered = spec.value("podManagementPolicy", "OrderedReady") != "Parallel";
  const json& strategy = fieldOf(spec, "updateStrategy");
  plan.rolling = strategy.value("type", "RollingUpdate") == "RollingUpdate";
  plan.partition = fieldOf(strategy, "rollingUpdate").value("partition", 0);
  plan.minReady = spec.value("minReadySeconds", int64_t{0});
  plan.updateRevision = revision->name;
  plan.updateTemplate = spec.value("template", json::object());
  plan.currentRevision = fieldOf(set, "status").value("currentRevision", plan.updateRevision);
  plan.currentTemplate = templateOfRevision(*revisionInformer_, set, plan.currentRevision);
  if (plan.currentTemplate.is_null()) {
    plan.currentRevision = plan.updateRevision;
    plan.currentTemplate = plan.updateTemplate;
  }
  for (const auto& pod : *owned) {
    if (int ordinal = ordinalOf(name, nameOf(*pod)); ordinal >= 0) plan.pods[ordinal] = pod;
  }

  Status acted = fieldOf(set, "metadata").contains("deletionTimestamp") ? Status() : act(set, plan);
  Status written = writeStatus(set, plan);
  return acted.isOk() ? written : acted;
}

Status StatefulSetController::act(const json& set, Plan& plan) {
  // Missing and failed pods of the wanted ordinals, lowest first.
  for (int ordinal = 0; ordinal < plan.replicas; ++ordinal) {
    auto it = plan.pods.find(ordinal);
    if (it == plan.pods.end()) {
      const bool update = ordinal >= plan.partition || !plan.rolling;
      Status st = createPod(set, update ? plan.updateTemplate : plan.currentTemplate,
                            update ? plan.updateRevision : plan.currentRevision, ordinal);
      if (!st.isOk() || plan.ordered) return st;
      continue;
    }
    const json& pod = *it->second;
    if (fieldOf(pod, "status").value("phase", "") == "Failed" && !terminating(pod)) {
      Status st = deletePod(set, pod);
      if (!st.isOk() || plan.ordered) return st;
      continue;
    }
    // OrderedReady: the next ordinal waits for this one.
    if (plan.ordered && (terminating(pod) || !runningAndReady(pod))) return {};
  }

  // Surplus pods, highest ordinal first.
  for (auto it = plan.pods.rbegin(); it != plan.pods.rend() && it->first >= plan.replicas; ++it) {
    const json& pod = *it->second;
    if (terminating(pod)) {
      if (plan.ordered) return {};
      continue;
    }
    Status st = deletePod(set, pod);
    if (!st.isOk() || plan.ordered) return st;
  }

  if (!plan.rolling) return {};
  // Rolling update: one pod at a time, highest ordinal first, once every pod is healthy.
  for (int ordinal = plan.replicas - 1; ordinal >= 0; --ordinal) {
    auto it = plan.pods.find(ordinal);
    if (it == plan.pods.end() || terminating(*it->second) || !runningAndReady(*it->second)) {
      return {};
    }
  }
  for (int ordinal = plan.replicas - 1; ordinal >= plan.partition; --ordinal) {
    const json& pod = *plan.pods[ordinal];
    if (revisionOfPod(pod) != plan.updateRevision) return deletePod(set, pod);
  }
  return {};
}

Status StatefulSetController::ensureClaims(const json& set, const std::string& podName) {
  const json& spec = fieldOf(set, "spec");
  const std::string ns = namespaceOf(set);
  const bool ownedBySet =
      fieldOf(spec, "persistentVolumeClaimRetentionPolicy").value("whenDeleted", "Retain") ==
      "Delete";
  for (const auto& t : spec.value("volumeClaimTemplates", json::array())) {
    const std::string claimName = nameOf(t) + "-" + podName;
    if (objects_.get(*claims_, ns, claimName).ok()) continue;
    json claim = {{"apiVersion", "v1"},
                  {"kind", "PersistentVolumeClaim"},
                  {"metadata", fieldOf(t, "metadata")},
                  {"spec", fieldOf(t, "spec")}};
    claim["metadata"]["name"] = claimName;
    json& labels = claim["metadata"]["labels"];
    const json matchLabels = fieldOf(spec, "selector").value("matchLabels", json::object());
    for (const auto& [k, v] : matchLabels.items()) {
      labels[k] = v;
    }
    if (ownedBySet) {
      json ref = controllerRefTo(set);
      ref.erase("controller");
      claim["metadata"]["ownerReferences"] = {ref};
    }
    auto created = objects_.create(*claims_, ns, std::move(claim), {});
    if (!created.ok() && created.status().code() != 409) {
      events_.record(set, "Warning", "FailedCreate",
                     "create Claim " + claimName + " for Pod " + podName + " in StatefulSet " +
                         nameOf(set) + " failed error: " + created.status().message());
      return created.status();
    }
    if (created.ok()) {
      events_.record(set, "Normal", "SuccessfulCreate",
                     "create Claim " + claimName + " Pod " + podName + " in StatefulSet " +
                         nameOf(set) + " success");
    }
  }
  return {};
}

Status StatefulSetController::createPod(const json& set, const json& podTemplate,
                                        const std::string& revision, int ordinal) {
  const std::string setName = nameOf(set);
  const std::string podName = setName + "-" + std::to_string(ordinal);
  if (Status st = ensureClaims(set, podName); !st.isOk()) return st;
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", fieldOf(podTemplate, "metadata")},
              {"spec", fieldOf(podTemplate, "spec")}};
  json& meta = pod["metadata"];
  meta["name"] = podName;
  meta.erase("generateName");
  meta["labels"][kRevisionLabel] = revision;
  meta["labels"]["statefulset.kubernetes.io/pod-name"] = podName;
  meta["labels"]["apps.kubernetes.io/pod-index"] = std::to_string(ordinal);
  meta["ownerReferences"] = {controllerRefTo(set)};
  json& spec = pod["spec"];
  spec["hostname"] = podName;
  if (auto svc = fieldOf(set, "spec").value("serviceName", ""); !svc.empty())
    spec["subdomain"] = svc;
  for (const auto& t : fieldOf(set, "spec").value("volumeClaimTemplates", json::array())) {
    json volume = {{"name", nameOf(t)},
                   {"persistentVolumeClaim", {{"claimName", nameOf(t) + "-" + podName}}}};
    json volumes = json::array();
    for (const auto& v : spec.value("volumes", json::array())) {
      if (v.value("name", "") != nameOf(t)) volumes.push_back(v);
    }
    volumes.push_back(std::move(volume));
    spec["volumes"] = std::move(volumes);
  }
  const std::string ns = namespaceOf(set);
  auto created = objects_.create(*pods_, ns, std::move(pod), {});
  if (!created.ok()) {
    if (created.status().code() == 409) return {};  // the informer has not shown it yet
    events_.record(set, "Warning", "FailedCreate",
                   "create Pod " + podName + " in StatefulSet " + setName +
                       " failed error: " + created.status().message());
    return created.status();
  }
  events_.record(set, "Normal", "SuccessfulCreate",
                 "create Pod " + podName + " in StatefulSet " + setName + " successful");
  return {};
}

Status StatefulSetController::deletePod(const json& set, const json& pod) {
  auto removed = objects_.remove(*pods_, namespaceOf(pod), nameOf(pod), {});
  if (!removed.ok() && removed.status().code() != 404) return removed.status();
  events_.record(set, "Normal", "SuccessfulDelete",
                 "delete Pod " + nameOf(pod) + " in StatefulSet " + nameOf(set) + " successful");
  return {};
}

Status StatefulSetController::writeStatus(const json& set, const Plan& plan) {
  const auto at = now();
  int64_t replicas = 0, ready = 0, available = 0, current = 0, updated = 0;
  bool waitForAvailability = false;
  for (const auto& [ordinal, pod] : plan.pods) {
    if (terminating(*pod)) continue;
    ++replicas;
    if (podReady(*pod)) {
      ++ready;
      if (podAvailable(*pod, plan.minReady, at)) {
        ++available;
      } else {
        waitForAvailability = true;
      }
    }
    const std::string rev = revisionOfPod(*pod);
    if (rev == plan.currentRevision) ++current;
    if (rev == plan.updateRevision) ++updated;
  }
  std::string currentRevision = plan.currentRevision;
  if (updated == plan.replicas && replicas == plan.replicas) {
    currentRevision = plan.updateRevision;
    current = updated;
  }
  json status = {{"observedGeneration", fieldOf(set, "metadata").value("generation", int64_t{1})},
                 {"replicas", replicas},
                 {"currentRevision", currentRevision},
                 {"updateRevision", plan.updateRevision},
                 {"availableReplicas", available},
                 {"collisionCount", 0}};
  // As in Kubernetes, the counters below are omitted while zero.
  for (auto [field, value] : {std::pair{"readyReplicas", ready},
                              {"currentReplicas", current},
                              {"updatedReplicas", updated}}) {
    if (value > 0) status[field] = value;
  }
  if (waitForAvailability)
    queue_->addAfter(objectKey(set), std::chrono::seconds(plan.minReady + 1));
  return writeStatusIfChanged(objects_, *sets_, set, std::move(status));
}

}  // namespace kd::controllers

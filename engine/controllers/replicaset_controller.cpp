#include "engine/controllers/replicaset_controller.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "engine/controllers/controller_manager.h"

namespace kd::controllers {
namespace {

using TimePoint = std::chrono::system_clock::time_point;

const json& field(const json& obj, const char* name) {
  static const json empty = json::object();
  auto it = obj.find(name);
  return it != obj.end() && it->is_object() ? *it : empty;
}

const json& metaOf(const json& obj) {
  return field(obj, "metadata");
}

std::string uidOf(const json& obj) {
  return metaOf(obj).value("uid", "");
}

bool markedForDeletion(const json& obj) {
  return metaOf(obj).contains("deletionTimestamp");
}

const json* readyCondition(const json& pod) {
  const json& status = field(pod, "status");
  auto conditions = status.find("conditions");
  if (conditions == status.end() || !conditions->is_array()) return nullptr;
  for (const auto& c : *conditions) {
    if (c.is_object() && c.value("type", "") == "Ready") return &c;
  }
  return nullptr;
}

std::optional<TimePoint> readySince(const json& pod) {
  const json* c = readyCondition(pod);
  if (!c || c->value("status", "") != "True") return std::nullopt;
  return server::parseTime(c->value("lastTransitionTime", ""));
}

std::optional<TimePoint> createdAt(const json& obj) {
  return server::parseTime(metaOf(obj).value("creationTimestamp", ""));
}

int64_t intOf(const json& obj, const char* name, int64_t fallback = 0) {
  auto it = obj.find(name);
  return it != obj.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

int64_t specReplicas(const json& rs) {
  return intOf(field(rs, "spec"), "replicas", 1);
}

// Whether every template label is on the pod with the same value.
bool fullyLabeled(const json& pod, const json& templateLabels) {
  const json& labels = field(metaOf(pod), "labels");
  if (!templateLabels.is_object()) return false;
  for (const auto& [k, v] : templateLabels.items()) {
    auto it = labels.find(k);
    if (it == labels.end() || *it != v) return false;
  }
  return true;
}

int phaseRank(const json& pod) {
  const std::string phase = field(pod, "status").value("phase", "");
  if (phase == "Pending") return 0;
  if (phase == "Unknown") return 1;
  if (phase == "Running") return 2;
  return 3;
}

int64_t deletionCost(const json& pod) {
  const json& ann = metaOf(pod).value("annotations", json::object());
  auto it = ann.find("controller.kubernetes.io/pod-deletion-cost");
  if (it == ann.end() || !it->is_string()) return 0;
  try {
    return std::stoll(it->get<std::string>());
  } catch (...) {
    return 0;
  }
}

int64_t maxRestarts(const json& pod) {
  int64_t most = 0;
  for (const auto& s : field(pod, "status").value("containerStatuses", json::array())) {
    if (s.is_object()) most = std::max<int64_t>(most, s.value("restartCount", 0));
  }
  return most;
}

// Kubernetes compares ages in powers of two so that pods of about the same age are treated
// alike and the tie is broken at random (by uid) instead of always hitting the newest.
int64_t log2Rank(TimePoint t, TimePoint now) {
  const auto d = std::chrono::duration_cast<std::chrono::nanoseconds>(now - t).count();
  return d > 0 ? static_cast<int64_t>(std::log2(static_cast<double>(d))) : -1;
}

struct RankedPod {
  CachedObject pod;
  int rank;  // active related pods on the same node
};

// Returns <0 when `a` should be deleted before `b`, >0 after, 0 when no rule decides.
int compareTimes(const std::optional<TimePoint>& a, const std::optional<TimePoint>& b,
                 TimePoint now) {
  if (a == b) return 0;
  if (!a) return -1;  // empty time first
  if (!b) return 1;
  const int64_t diff = log2Rank(*a, now) - log2Rank(*b, now);
  return diff < 0 ? -1 : (diff > 0 ? 1 : 0);
}

// Kubernetes' ActivePodsWithRanks ordering: true when `a` goes before `b`.
bool deleteBefore(const RankedPod& ra, const RankedPod& rb, TimePoint now) {
  const json& a = *ra.pod;
  const json& b = *rb.pod;
  const bool aBound = !field(a, "spec").value("nodeName", "").empty();
  const bool bBound = !field(b, "spec").value("nodeName", "").empty();
  if (aBound != bBound) return !aBound;
  if (phaseRank(a) != phaseRank(b)) return phaseRank(a) < phaseRank(b);
  if (podReady(a) != podReady(b)) return !podReady(a);
  if (deletionCost(a) != deletionCost(b)) return deletionCost(a) < deletionCost(b);
  if (ra.rank != rb.rank) return ra.rank > rb.rank;
  const bool byUid = uidOf(a) < uidOf(b);
  if (podReady(a) && podReady(b)) {
    const auto ta = readySince(a), tb = readySince(b);
    if (ta != tb) {
      const int c = compareTimes(ta, tb, now);
      if (c != 0) return c < 0;
      return byUid;
    }
  }
  if (maxRestarts(a) != maxRestarts(b)) return maxRestarts(a) > maxRestarts(b);
  const auto ca = createdAt(a), cb = createdAt(b);
  if (ca != cb) {
    const int c = compareTimes(ca, cb, now);
    if (c != 0) return c < 0;
    return byUid;
  }
  return false;
}

json replicaFailure(const std::string& reason, const std::string& message, const std::string& at) {
  return {{"type", "ReplicaFailure"},
          {"status", "True"},
          {"reason", reason},
          {"message", message},
          {"lastTransitionTime", at}};
}

}  // namespace

bool podReady(const json& pod) {
  const json* c = readyCondition(pod);
  return c && c->value("status", "") == "True";
}

bool podAvailable(const json& pod, int64_t minReadySeconds, TimePoint now) {
  if (!podReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const auto since = readySince(pod);
  return since && *since + std::chrono::seconds(minReadySeconds) < now;
}

bool podActive(const json& pod) {
  const std::string phase = field(pod, "status").value("phase", "");
  return phase != "Succeeded" && phase != "Failed" && !markedForDeletion(pod);
}

const json* controllerRefOf(const json& obj) {
  const json& meta = metaOf(obj);
  auto refs = meta.find("ownerReferences");
  if (refs == meta.end() || !refs->is_array()) return nullptr;
  for (const auto& ref : *refs) {
    if (ref.is_object() && ref.value("controller", false)) return &ref;
  }
  return nullptr;
}

json controllerRefTo(const json& owner) {
  return {{"apiVersion", owner.value("apiVersion", "")},
          {"kind", owner.value("kind", "")},
          {"name", metaOf(owner).value("name", "")},
          {"uid", uidOf(owner)},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

namespace {

// Sets `owner` as the controller of `obj` (or, owner null, removes its controller reference).
Result<CachedObject> setController(server::ObjectService& objects, const api::KindInfo& kind,
                                   const json& obj, const json* owner) {
  json body = obj;
  json refs = json::array();
  for (const auto& ref : metaOf(obj).value("ownerReferences", json::array())) {
    if (!ref.value("controller", false)) refs.push_back(ref);
  }
  if (owner) refs.push_back(controllerRefTo(*owner));
  if (refs.empty()) {
    body["metadata"].erase("ownerReferences");
  } else {
    body["metadata"]["ownerReferences"] = std::move(refs);
  }
  auto written = objects.update(kind, metaOf(obj).value("namespace", ""),
                                metaOf(obj).value("name", ""), std::move(body), {});
  if (!written.ok()) return written.status();
  return std::make_shared<const json>(std::move(written->object));
}

}  // namespace

Result<std::vector<CachedObject>> claimOwned(server::ObjectService& objects,
                                             const api::KindInfo& ownerKind,
                                             const api::KindInfo& kind, const json& owner,
                                             const api::LabelSelector& selector,
                                             const std::vector<CachedObject>& candidates) {
  const std::string uid = uidOf(owner);
  const bool ownerDeleting = markedForDeletion(owner);
  std::optional<Status> canAdopt;
  auto adoptable = [&]() -> Status {
    if (canAdopt) return *canAdopt;
    auto fresh = objects.get(ownerKind, metaOf(owner).value("namespace", ""),
                             metaOf(owner).value("name", ""));
    canAdopt = Status::ok();
    if (!fresh.ok()) {
      canAdopt = fresh.status();
    } else if (const json now = (*fresh)->parse(); uidOf(now) != uid || markedForDeletion(now)) {
      canAdopt = Status::conflict(ownerKind.kind + " " + metaOf(owner).value("name", "") +
                                  " is being deleted or was replaced; cannot adopt");
    }
    return *canAdopt;
  };
  std::vector<CachedObject> owned;
  for (const auto& obj : candidates) {
    const json* ref = controllerRefOf(*obj);
    if (ref && ref->value("uid", "") != uid) continue;  // another owner's
    const bool matches = selector.matchesObject(*obj);
    Result<CachedObject> written = obj;
    if (ref) {
      if (matches || ownerDeleting) {
        owned.push_back(obj);
        continue;
      }
      written = setController(objects, kind, *obj, nullptr);
    } else {
      if (!matches || ownerDeleting || markedForDeletion(*obj)) continue;
      if (Status st = adoptable(); !st.isOk()) return st;
      written = setController(objects, kind, *obj, &owner);
      if (written.ok()) owned.push_back(*written);
    }
    if (!written.ok() && written.status().code() != 404) return written.status();
  }
  return owned;
}

// --- Controller ---

ReplicaSetController::ReplicaSetController(server::ObjectService& objects,
                                           ReplicaSetControllerOptions options)
    : objects_(objects),
      options_(std::move(options)),
      replicaSets_(objects.kinds().byResource("apps", "v1", "replicasets")),
      pods_(objects.kinds().byResource("", "v1", "pods")),
      events_(objects, "replicaset-controller") {}

TimePoint ReplicaSetController::now() const {
  return options_.clock ? options_.clock() : objects_.now();
}

void ReplicaSetController::setup(ControllerManager& manager, WorkQueue& queue) {
  queue_ = &queue;
  rsInformer_ = &manager.informer(*replicaSets_);
  podInformer_ = &manager.informer(*pods_);
  auto enqueue = [&queue](const CachedObject& rs) { queue.add(objectKey(*rs)); };
  rsInformer_->addHandlers({enqueue,
                            [enqueue](const CachedObject&, const CachedObject& rs) { enqueue(rs); },
                            [this, enqueue](const CachedObject& rs) {
                              expectations_.erase(objectKey(*rs));
                              enqueue(rs);
                            }});
  podInformer_->addHandlers(
      {[this](const CachedObject& pod) { onPodAdded(pod); },
       [this](const CachedObject& o, const CachedObject& n) { onPodUpdated(o, n); },
       [this](const CachedObject& pod) { onPodDeleted(pod); }});
}

CachedObject ReplicaSetController::owningReplicaSet(const json& pod) const {
  const json* ref = controllerRefOf(pod);
  if (!ref || ref->value("kind", "") != "ReplicaSet") return nullptr;
  CachedObject rs = rsInformer_->get(metaOf(pod).value("namespace", ""), ref->value("name", ""));
  return rs && uidOf(*rs) == ref->value("uid", "") ? rs : nullptr;
}

void ReplicaSetController::enqueueMatching(const json& pod) {
  const api::Labels labels = api::labelsOf(pod);
  for (const auto& rs : rsInformer_->list(metaOf(pod).value("namespace", ""))) {
    auto selector = api::LabelSelector::fromJson(field(*rs, "spec").value("selector", json()));
    if (selector.ok() && !selector->empty() && selector->matches(labels)) {
      queue_->add(objectKey(*rs));
    }
  }
}

void ReplicaSetController::onPodAdded(const CachedObject& pod) {
  if (markedForDeletion(*pod)) return onPodDeleted(pod);
  if (controllerRefOf(*pod)) {
    if (CachedObject rs = owningReplicaSet(*pod)) {
      expectations_.creationObserved(objectKey(*rs));
      queue_->add(objectKey(*rs));
    }
    return;
  }
  enqueueMatching(*pod);
}

void ReplicaSetController::onPodUpdated(const CachedObject& oldPod, const CachedObject& pod) {
  if (metaOf(*oldPod).value("resourceVersion", "") == metaOf(*pod).value("resourceVersion", "")) {
    return;
  }
  const bool labelsChanged = api::labelsOf(*oldPod) != api::labelsOf(*pod);
  if (markedForDeletion(*pod)) {
    onPodDeleted(pod);
    if (labelsChanged) onPodDeleted(oldPod);
    return;
  }
  const json* oldRef = controllerRefOf(*oldPod);
  const json* newRef = controllerRefOf(*pod);
  const bool refChanged = (oldRef ? *oldRef : json()) != (newRef ? *newRef : json());
  if (refChanged && oldRef) {
    if (CachedObject rs = owningReplicaSet(*oldPod)) queue_->add(objectKey(*rs));
  }
  if (newRef) {
    CachedObject rs = owningReplicaSet(*pod);
    if (!rs) return;
    queue_->add(objectKey(*rs));
    const int64_t minReady = intOf(field(*rs, "spec"), "minReadySeconds");
    if (minReady > 0 && !podReady(*oldPod) && podReady(*pod)) {
      queue_->addAfter(objectKey(*rs), std::chrono::seconds(minReady + 1));
    }
    return;
  }
  if (labelsChanged || refChanged) enqueueMatching(*pod);
}

void ReplicaSetController::onPodDeleted(const CachedObject& pod) {
  CachedObject rs = owningReplicaSet(*pod);
  if (!rs) return;
  expectations_.deletionObserved(objectKey(*rs), objectKey(*pod));
  queue_->add(objectKey(*rs));
}

Status ReplicaSetController::sync(const std::string& key) {
  CachedObject cached = rsInformer_->get(key);
  if (!cached) {
    expectations_.erase(key);
    return {};
  }
  const json& rs = *cached;
  const bool needsSync =
      expectations_.satisfied(key, std::chrono::steady_clock::now(), options_.expectationsTimeout);
  auto selector = api::LabelSelector::fromJson(field(rs, "spec").value("selector", json()));
  if (!selector.ok()) return {};  // invalid selectors are rejected by validation; nothing to do

  Pods active;
  for (auto& pod : podInformer_->list(metaOf(rs).value("namespace", ""))) {
    if (podActive(*pod)) active.push_back(std::move(pod));
  }
  auto owned = claimOwned(objects_, *replicaSets_, *pods_, rs, *selector, active);
  if (!owned.ok()) return owned.status();

  Status manageError;
  if (needsSync && !markedForDeletion(rs)) manageError = manageReplicas(rs, *owned);
  json status = calculateStatus(rs, *owned, manageError);
  const int64_t minReady = intOf(field(rs, "spec"), "minReadySeconds");
  const bool waitForAvailable = minReady > 0 &&
                                status.value("readyReplicas", 0) == specReplicas(rs) &&
                                status.value("availableReplicas", 0) != specReplicas(rs);
  if (Status st = writeStatus(rs, std::move(status)); !st.isOk()) return st;
  if (manageError.isOk() && waitForAvailable) {
    queue_->addAfter(key, std::chrono::seconds(minReady));
  }
  return manageError;
}

Status ReplicaSetController::manageReplicas(const json& rs, const Pods& owned) {
  const int64_t diff = static_cast<int64_t>(owned.size()) - specReplicas(rs);
  if (diff < 0) {
    return createPods(rs, static_cast<int>(std::min<int64_t>(-diff, options_.burstReplicas)));
  }
  if (diff > 0) {
    return deletePods(rs, owned, static_cast<int>(std::min<int64_t>(diff, options_.burstReplicas)));
  }
  return {};
}

Status ReplicaSetController::createPods(const json& rs, int count) {
  const std::string key = objectKey(rs);
  const std::string ns = metaOf(rs).value("namespace", "");
  const json& tmpl = field(field(rs, "spec"), "template");
  json meta = {{"generateName", metaOf(rs).value("name", "") + "-"},
               {"ownerReferences", json::array({controllerRefTo(rs)})}};
  for (const char* f : {"labels", "annotations", "finalizers"}) {
    if (metaOf(tmpl).contains(f)) meta[f] = metaOf(tmpl)[f];
  }
  const json body = {
      {"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", meta}, {"spec", field(tmpl, "spec")}};
  expectations_.expectCreations(key, count);
  int remaining = count;
  Status failure;
  // Slow start: a batch runs only when every pod of the previous one was created, so a
  // quota or admission error costs one call instead of `count`. A batch's pods are created
  // together (Kubernetes creates them concurrently), in one store transaction.
  for (int batch = 1; remaining > 0 && failure.isOk(); batch *= 2) {
    const int size = std::min(batch, remaining);
    std::vector<server::ObjectService::NewObject> pods(static_cast<size_t>(size), {ns, body});
    for (auto& created : objects_.createAll(*pods_, std::move(pods), {})) {
      if (created.ok()) {
        events_.record(rs, "Normal", "SuccessfulCreate",
                       "Created pod: " + metaOf(created->object).value("name", ""));
        continue;
      }
      expectations_.creationObserved(key);
      events_.record(rs, "Warning", "FailedCreate",
                     "Error creating: " + created.status().message());
      failure = created.status();
    }
    remaining -= size;
  }
  if (remaining > 0) expectations_.creationObserved(key, remaining);  // batches never started
  return failure;
}

Status ReplicaSetController::deletePods(const json& rs, const Pods& owned, int count) {
  // Pods of sibling ReplicaSets (same controller) count when judging who is doubled up.
  const json* ownerRef = controllerRefOf(rs);
  std::set<std::string> related = {uidOf(rs)};
  for (const auto& other : rsInformer_->list(metaOf(rs).value("namespace", ""))) {
    const json* ref = controllerRefOf(*other);
    if (ownerRef && ref && ref->value("uid", "") == ownerRef->value("uid", "")) {
      related.insert(uidOf(*other));
    }
  }
  // This set's own pods come from `owned` (fresh, including pods adopted in this very sync,
  // which the informer may not show yet); its siblings' from the informer.
  std::map<std::string, int> onNode;
  auto place = [&onNode](const json& pod) {
    const std::string node = field(pod, "spec").value("nodeName", "");
    if (podActive(pod) && !node.empty()) ++onNode[node];
  };
  for (const auto& pod : owned) place(*pod);
  for (const auto& pod : podInformer_->list(metaOf(rs).value("namespace", ""))) {
    const json* ref = controllerRefOf(*pod);
    const std::string owner = ref ? ref->value("uid", "") : "";
    if (owner != uidOf(rs) && related.count(owner)) place(*pod);
  }
  std::vector<RankedPod> ranked;
  for (const auto& pod : owned) {
    const std::string node = field(*pod, "spec").value("nodeName", "");
    ranked.push_back({pod, node.empty() ? 0 : onNode[node]});
  }
  const TimePoint at = now();
  std::stable_sort(ranked.begin(), ranked.end(),
                   [at](const RankedPod& a, const RankedPod& b) { return deleteBefore(a, b, at); });
  ranked.resize(static_cast<size_t>(count));

  const std::string key = objectKey(rs);
  std::vector<std::string> keys;
  for (const auto& r : ranked) keys.push_back(objectKey(*r.pod));
  expectations_.expectDeletions(key, keys);
  Status failure;
  for (const auto& r : ranked) {
    const std::string name = metaOf(*r.pod).value("name", "");
    auto removed = objects_.remove(*pods_, metaOf(*r.pod).value("namespace", ""), name, {});
    if (removed.ok() || removed.status().code() == 404) {
      if (removed.ok()) events_.record(rs, "Normal", "SuccessfulDelete", "Deleted pod: " + name);
      if (!removed.ok()) expectations_.deletionObserved(key, objectKey(*r.pod));
      continue;
    }
    expectations_.deletionObserved(key, objectKey(*r.pod));
    events_.record(rs, "Warning", "FailedDelete", "Error deleting: " + removed.status().message());
    failure = removed.status();
  }
  return failure;
}

json ReplicaSetController::calculateStatus(const json& rs, const Pods& owned,
                                           const Status& manageError) const {
  const json& templateLabels =
      metaOf(field(field(rs, "spec"), "template")).value("labels", json::object());
  const int64_t minReady = intOf(field(rs, "spec"), "minReadySeconds");
  const TimePoint at = now();
  int64_t labeled = 0, ready = 0, available = 0;
  for (const auto& pod : owned) {
    if (fullyLabeled(*pod, templateLabels)) ++labeled;
    if (podReady(*pod)) ++ready;
    if (podAvailable(*pod, minReady, at)) ++available;
  }
  json status = {{"replicas", static_cast<int64_t>(owned.size())}};
  auto setNonZero = [&status](const char* name, int64_t v) {
    if (v != 0) status[name] = v;
  };
  setNonZero("fullyLabeledReplicas", labeled);
  setNonZero("readyReplicas", ready);
  setNonZero("availableReplicas", available);
  setNonZero("observedGeneration", intOf(metaOf(rs), "generation"));

  json conditions = json::array();
  json previousFailure;
  for (const auto& c : field(rs, "status").value("conditions", json::array())) {
    if (c.value("type", "") == "ReplicaFailure") {
      previousFailure = c;
    } else {
      conditions.push_back(c);
    }
  }
  const int64_t diff = static_cast<int64_t>(owned.size()) - specReplicas(rs);
  if (!manageError.isOk() && diff != 0) {
    const std::string reason = diff < 0 ? "FailedCreate" : "FailedDelete";
    if (!previousFailure.is_null() && previousFailure.value("reason", "") == reason) {
      conditions.push_back(previousFailure);
    } else {
      conditions.push_back(replicaFailure(reason, manageError.message(), server::formatTime(at)));
    }
  } else if (!previousFailure.is_null() && !manageError.isOk()) {
    conditions.push_back(previousFailure);
  }
  if (!conditions.empty()) status["conditions"] = std::move(conditions);
  return status;
}

Status ReplicaSetController::writeStatus(const json& rs, json status) {
  if (field(rs, "status") == status) return {};
  json body = rs;
  body["metadata"].erase("resourceVersion");
  body["status"] = std::move(status);
  server::WriteOptions options;
  options.subresource = "status";
  auto written = objects_.update(*replicaSets_, metaOf(rs).value("namespace", ""),
                                 metaOf(rs).value("name", ""), std::move(body), options);
  if (!written.ok() && written.status().code() != 404) return written.status();
  return {};
}

}  // namespace kd::controllers

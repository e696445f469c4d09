#include "engine/controllers/deployment_controller.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <map>
#include <set>

#include "engine/controllers/controller_manager.h"
#include "engine/controllers/replicaset_controller.h"

namespace kd::controllers {
namespace {

using TimePoint = std::chrono::system_clock::time_point;

constexpr const char* kHashLabel = "pod-template-hash";
constexpr const char* kRevision = "deployment.kubernetes.io/revision";
constexpr const char* kRevisionHistory = "deployment.kubernetes.io/revision-history";
constexpr const char* kDesired = "deployment.kubernetes.io/desired-replicas";
constexpr const char* kMax = "deployment.kubernetes.io/max-replicas";
constexpr size_t kMaxRevisionHistoryChars = 2000;

const json& field(const json& obj, const char* name) {
  static const json empty = json::object();
  auto it = obj.find(name);
  return it != obj.end() && it->is_object() ? *it : empty;
}
const json& metaOf(const json& obj) {
  return field(obj, "metadata");
}
const json& specOf(const json& obj) {
  return field(obj, "spec");
}
const json& statusOf(const json& obj) {
  return field(obj, "status");
}
std::string nameOf(const json& obj) {
  return metaOf(obj).value("name", "");
}
std::string uidOf(const json& obj) {
  return metaOf(obj).value("uid", "");
}
bool markedForDeletion(const json& obj) {
  return metaOf(obj).contains("deletionTimestamp");
}

int64_t intOf(const json& obj, const char* name, int64_t fallback = 0) {
  auto it = obj.find(name);
  return it != obj.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}
int64_t replicasOf(const json& obj) {
  return intOf(specOf(obj), "replicas", 1);
}
int64_t statusInt(const json& obj, const char* name) {
  return intOf(statusOf(obj), name);
}

std::string annotation(const json& obj, const char* key) {
  const json& ann = metaOf(obj).value("annotations", json::object());
  auto it = ann.find(key);
  return it != ann.end() && it->is_string() ? it->get<std::string>() : "";
}

std::optional<int64_t> parseInt(const std::string& s) {
  if (s.empty()) return std::nullopt;
  try {
    size_t used = 0;
    const int64_t v = std::stoll(s, &used);
    if (used == s.size()) return v;
  } catch (...) {
  }
  return std::nullopt;
}

int64_t revisionOf(const json& rs) {
  return parseInt(annotation(rs, kRevision)).value_or(0);
}

int64_t scaledValue(const json& v, int64_t total, bool roundUp) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (!v.is_string()) return 0;
  std::string s = v.get<std::string>();
  if (s.empty() || s.back() != '%') return 0;
  const int64_t percent = parseInt(s.substr(0, s.size() - 1)).value_or(0);
  return roundUp ? (percent * total + 99) / 100 : percent * total / 100;
}

bool isRolling(const json& d) {
  return field(specOf(d), "strategy").value("type", "RollingUpdate") != "Recreate";
}

Fenceposts fenceposts(const json& d) {
  if (!isRolling(d)) return {};
  const json& ru = field(field(specOf(d), "strategy"), "rollingUpdate");
  return resolveFenceposts(ru.value("maxSurge", json("25%")),
                           ru.value("maxUnavailable", json("25%")), replicasOf(d));
}
int64_t maxSurge(const json& d) {
  return fenceposts(d).maxSurge;
}
int64_t maxUnavailable(const json& d) {
  if (!isRolling(d) || replicasOf(d) == 0) return 0;
  return std::min(fenceposts(d).maxUnavailable, replicasOf(d));
}

bool hasProgressDeadline(const json& d) {
  const auto it = specOf(d).find("progressDeadlineSeconds");
  return it != specOf(d).end() && it->is_number_integer() && it->get<int64_t>() != INT32_MAX;
}

// The template without the pod-template-hash label, for comparing templates.
json withoutHash(json tmpl) {
  if (tmpl.contains("metadata") && tmpl["metadata"].contains("labels")) {
    tmpl["metadata"]["labels"].erase(kHashLabel);
  }
  return semanticTemplate(std::move(tmpl));
}

bool equalIgnoreHash(const json& a, const json& b) {
  return withoutHash(a) == withoutHash(b);
}

bool createdBefore(const json& a, const json& b) {
  const std::string ta = metaOf(a).value("creationTimestamp", "");
  const std::string tb = metaOf(b).value("creationTimestamp", "");
  return ta != tb ? ta < tb : nameOf(a) < nameOf(b);  // RFC 3339 UTC sorts as text
}

int64_t sum(const std::vector<json*>& rss, int64_t (*get)(const json&)) {
  int64_t total = 0;
  for (const json* rs : rss) total += get(*rs);
  return total;
}
int64_t specCount(const json& rs) {
  return replicasOf(rs);
}
int64_t actualCount(const json& rs) {
  return statusInt(rs, "replicas");
}
int64_t readyCount(const json& rs) {
  return statusInt(rs, "readyReplicas");
}
int64_t availableCount(const json& rs) {
  return statusInt(rs, "availableReplicas");
}

const json* findCondition(const json& status, const std::string& type) {
  if (!status.is_object()) return nullptr;
  auto conditions = status.find("conditions");
  if (conditions == status.end() || !conditions->is_array()) return nullptr;
  for (const json& c : *conditions) {
    if (c.is_object() && c.contains("type") && c["type"] == type) return &c;
  }
  return nullptr;
}

void removeCondition(json& status, const std::string& type) {
  if (!status.contains("conditions")) return;
  json kept = json::array();
  for (const auto& c : status["conditions"]) {
    if (!c.is_object() || c.value("type", "") != type) kept.push_back(c);
  }
  if (kept.empty()) {
    status.erase("conditions");
  } else {
    status["conditions"] = std::move(kept);
  }
}

json makeCondition(const std::string& type, const std::string& status, const std::string& reason,
                   const std::string& message, const std::string& at) {
  return {{"type", type},         {"status", status},
          {"lastUpdateTime", at}, {"lastTransitionTime", at},
          {"reason", reason},     {"message", message}};
}

// Kubernetes' SetDeploymentCondition: same status and reason is no change; same status keeps
// the transition time; the condition moves to the end of the list.
void setCondition(json& status, json condition) {
  const std::string type = condition["type"];
  if (const json* current = findCondition(status, type)) {
    if ((*current)["status"] == condition["status"] &&
        (*current)["reason"] == condition["reason"]) {
      return;
    }
    if ((*current)["status"] == condition["status"]) {
      condition["lastTransitionTime"] = (*current)["lastTransitionTime"];
    }
  }
  removeCondition(status, type);
  status["conditions"].push_back(std::move(condition));
}

bool deploymentComplete(const json& d, const json& status) {
  const int64_t want = replicasOf(d);
  return intOf(status, "updatedReplicas") == want && intOf(status, "replicas") == want &&
         intOf(status, "availableReplicas") == want &&
         intOf(status, "observedGeneration") >= intOf(metaOf(d), "generation");
}

bool deploymentProgressing(const json& d, const json& status) {
  const json& old = statusOf(d);
  const int64_t oldOld = intOf(old, "replicas") - intOf(old, "updatedReplicas");
  const int64_t newOld = intOf(status, "replicas") - intOf(status, "updatedReplicas");
  return intOf(status, "updatedReplicas") > intOf(old, "updatedReplicas") || newOld < oldOld ||
         intOf(status, "readyReplicas") > intOf(old, "readyReplicas") ||
         intOf(status, "availableReplicas") > intOf(old, "availableReplicas");
}

bool deploymentTimedOut(const json& d, const json& status, TimePoint now) {
  if (!hasProgressDeadline(d)) return false;
  const json* c = findCondition(status, "Progressing");
  if (!c) return false;
  const std::string reason = c->value("reason", "");
  if (reason == "NewReplicaSetAvailable") return false;
  if (reason == "ProgressDeadlineExceeded") return true;
  const auto from = server::parseTime(c->value("lastUpdateTime", ""));
  if (!from) return false;
  return *from + std::chrono::seconds(intOf(specOf(d), "progressDeadlineSeconds")) < now;
}

bool setReplicasAnnotations(json& rs, int64_t desired, int64_t max) {
  json& ann = rs["metadata"]["annotations"];
  if (!ann.is_object()) ann = json::object();
  bool changed = false;
  for (const auto& [key, value] : {std::pair{kDesired, desired}, std::pair{kMax, max}}) {
    if (ann.value(key, "") != std::to_string(value)) {
      ann[key] = std::to_string(value);
      changed = true;
    }
  }
  return changed;
}

bool skippedAnnotation(const std::string& key) {
  static const std::set<std::string> skipped = {"kubectl.kubernetes.io/last-applied-configuration",
                                                kRevision,
                                                kRevisionHistory,
                                                kDesired,
                                                kMax,
                                                "deprecated.deployment.rollback.to"};
  return skipped.count(key) > 0;
}

// Kubernetes' SetNewReplicaSetAnnotations: copies the Deployment's annotations, raises the
// revision (remembering the former one in revision-history when rolling back to this set)
// and, for a set about to be created, records desired and max replicas.
bool setNewReplicaSetAnnotations(const json& d, json& rs, int64_t newRevision, bool exists) {
  json& ann = rs["metadata"]["annotations"];
  if (!ann.is_object()) ann = json::object();
  bool changed = false;
  const json own = metaOf(d).value("annotations", json::object());
  for (const auto& [key, value] : own.items()) {
    if (skippedAnnotation(key) || (ann.contains(key) && ann[key] == value)) continue;
    ann[key] = value;
    changed = true;
  }
  const std::string oldRevision = ann.value(kRevision, "");
  const auto oldInt = oldRevision.empty() ? std::optional<int64_t>(0) : parseInt(oldRevision);
  if (!oldInt) return changed;
  if (*oldInt < newRevision) {
    ann[kRevision] = std::to_string(newRevision);
    changed = true;
    if (!oldRevision.empty()) {
      std::string history = ann.value(kRevisionHistory, "");
      history = history.empty() ? oldRevision : history + "," + oldRevision;
      while (history.size() > kMaxRevisionHistoryChars && history.find(',') != std::string::npos) {
        history.erase(0, history.find(',') + 1);
      }
      if (history.size() <= kMaxRevisionHistoryChars) ann[kRevisionHistory] = history;
    }
  }
  if (!exists) {
    changed |= setReplicasAnnotations(rs, replicasOf(d), replicasOf(d) + maxSurge(d));
  }
  return changed;
}

bool setDeploymentRevision(json& d, const std::string& revision) {
  if (annotation(d, kRevision) == revision) return false;
  d["metadata"]["annotations"][kRevision] = revision;
  return true;
}

// Proportional share of `toAdd` for `rs`, as Kubernetes' GetProportion.
int64_t proportion(const json& rs, const json& d, int64_t toAdd, int64_t added) {
  if (replicasOf(rs) == 0 || toAdd == 0 || toAdd == added) return 0;
  int64_t fraction = 0;
  if (replicasOf(d) == 0) {
    fraction = -replicasOf(rs);
  } else {
    int64_t before = parseInt(annotation(rs, kMax)).value_or(0);
    if (before == 0) before = statusInt(d, "replicas");
    if (before != 0) {
      const double size =
          static_cast<double>(replicasOf(rs) * (replicasOf(d) + maxSurge(d))) / before;
      fraction = static_cast<int64_t>(std::round(size)) - replicasOf(rs);
    }
  }
  const int64_t allowed = toAdd - added;
  return toAdd > 0 ? std::min(fraction, allowed) : std::max(fraction, allowed);
}

}  // namespace

json semanticTemplate(json value) {
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end();) {
      *it = semanticTemplate(std::move(*it));
      const bool empty = it->is_null() || ((it->is_object() || it->is_array()) && it->empty());
      it = empty ? value.erase(it) : std::next(it);
    }
  } else if (value.is_array()) {
    for (auto& v : value) v = semanticTemplate(std::move(v));
  }
  return value;
}

std::string podTemplateHash(const json& podTemplate, std::optional<int64_t> collisionCount) {
  uint32_t h = 2166136261u;
  auto feed = [&h](unsigned char byte) {
    h ^= byte;
    h *= 16777619u;
  };
  for (char c : semanticTemplate(podTemplate).dump()) feed(static_cast<unsigned char>(c));
  if (collisionCount) {
    const auto n = static_cast<uint32_t>(*collisionCount);
    for (int i = 0; i < 4; ++i) feed(static_cast<unsigned char>((n >> (8 * i)) & 0xff));
  }
  static constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  for (char c : std::to_string(h)) {
    out.push_back(kAlphabet[static_cast<unsigned char>(c) % (sizeof(kAlphabet) - 1)]);
  }
  return out;
}

Fenceposts resolveFenceposts(const json& surge, const json& unavailable, int64_t replicas) {
  Fenceposts f{scaledValue(surge, replicas, true), scaledValue(unavailable, replicas, false)};
  // Both may round to zero; a rollout must be able to move, so allow one unavailable pod.
  if (f.maxSurge == 0 && f.maxUnavailable == 0) f.maxUnavailable = 1;
  return f;
}

struct DeploymentController::Rollout {
  json d;
  std::vector<json> rsList;  // owned, oldest first
  std::optional<size_t> newIndex;
  std::map<std::string, std::vector<CachedObject>> podsByOwner;  // replica set uid -> pods

  json* newRS() { return newIndex ? &rsList[*newIndex] : nullptr; }
  std::vector<json*> oldRSs() {
    std::vector<json*> out;
    for (size_t i = 0; i < rsList.size(); ++i) {
      if (i != newIndex) out.push_back(&rsList[i]);
    }
    return out;
  }
  std::vector<json*> all() {
    std::vector<json*> out = oldRSs();
    if (newIndex) out.push_back(newRS());
    return out;
  }
  static std::vector<json*> active(const std::vector<json*>& rss) {
    std::vector<json*> out;
    for (json* rs : rss) {
      if (replicasOf(*rs) > 0) out.push_back(rs);
    }
    return out;
  }
};

DeploymentController::DeploymentController(server::ObjectService& objects,
                                           DeploymentControllerOptions options)
    : objects_(objects),
      options_(std::move(options)),
      deployments_(objects.kinds().byResource("apps", "v1", "deployments")),
      replicaSets_(objects.kinds().byResource("apps", "v1", "replicasets")),
      pods_(objects.kinds().byResource("", "v1", "pods")),
      events_(objects, "deployment-controller") {}

TimePoint DeploymentController::now() const {
  return options_.clock ? options_.clock() : objects_.now();
}

void DeploymentController::setup(ControllerManager& manager, WorkQueue& queue) {
  queue_ = &queue;
  deployInformer_ = &manager.informer(*deployments_);
  rsInformer_ = &manager.informer(*replicaSets_);
  podInformer_ = &manager.informer(*pods_);
  auto enqueue = [&queue](const CachedObject& d) { queue.add(objectKey(*d)); };
  deployInformer_->addHandlers(
      {enqueue, [enqueue](const CachedObject&, const CachedObject& d) { enqueue(d); }, enqueue});
  rsInformer_->addHandlers(
      {[this](const CachedObject& rs) { onReplicaSetEvent(nullptr, rs); },
       [this](const CachedObject& o, const CachedObject& n) { onReplicaSetEvent(o, n); },
       [this](const CachedObject& rs) {
         if (CachedObject d = owningDeployment(*rs)) queue_->add(objectKey(*d));
       }});
  podInformer_->addHandlers(
      {nullptr, nullptr, [this](const CachedObject& pod) { onPodDeleted(pod); }});
}

CachedObject DeploymentController::owningDeployment(const json& rs) const {
  const json* ref = controllerRefOf(rs);
  if (!ref || ref->value("kind", "") != "Deployment") return nullptr;
  CachedObject d = deployInformer_->get(metaOf(rs).value("namespace", ""), ref->value("name", ""));
  return d && uidOf(*d) == ref->value("uid", "") ? d : nullptr;
}

void DeploymentController::enqueueMatching(const json& rs) {
  const api::Labels labels = api::labelsOf(rs);
  for (const auto& d : deployInformer_->list(metaOf(rs).value("namespace", ""))) {
    auto selector = api::LabelSelector::fromJson(specOf(*d).value("selector", json()));
    if (selector.ok() && !selector->empty() && selector->matches(labels)) {
      queue_->add(objectKey(*d));
    }
  }
}

void DeploymentController::onReplicaSetEvent(const CachedObject& oldRs, const CachedObject& rs) {
  if (oldRs) {
    const json* oldRef = controllerRefOf(*oldRs);
    const json* newRef = controllerRefOf(*rs);
    const bool refChanged = (oldRef ? *oldRef : json()) != (newRef ? *newRef : json());
    if (refChanged && oldRef) {
      if (CachedObject d = owningDeployment(*oldRs)) queue_->add(objectKey(*d));
    }
    if (!newRef && (refChanged || api::labelsOf(*oldRs) != api::labelsOf(*rs))) {
      enqueueMatching(*rs);
    }
  }
  if (CachedObject d = owningDeployment(*rs)) {
    queue_->add(objectKey(*d));
  } else if (!oldRs && !controllerRefOf(*rs)) {
    enqueueMatching(*rs);
  }
}

void DeploymentController::onPodDeleted(const CachedObject& pod) {
  // Recreate waits for the old pods to be gone.
  const json* ref = controllerRefOf(*pod);
  if (!ref || ref->value("kind", "") != "ReplicaSet") return;
  CachedObject rs = rsInformer_->get(metaOf(*pod).value("namespace", ""), ref->value("name", ""));
  if (!rs) return;
  if (CachedObject d = owningDeployment(*rs)) queue_->add(objectKey(*d));
}

Status DeploymentController::sync(const std::string& key) {
  CachedObject cached = deployInformer_->get(key);
  if (!cached) return {};
  Rollout r;
  r.d = *cached;
  const json& selectorJson = specOf(r.d).value("selector", json());
  if (selectorJson.is_object() && selectorJson.value("matchLabels", json::object()).empty() &&
      selectorJson.value("matchExpressions", json::array()).empty()) {
    events_.record(r.d, "Warning", "SelectingAll",
                   "This deployment is selecting all pods. A non-empty selector is required.");
    if (statusInt(r.d, "observedGeneration") >= intOf(metaOf(r.d), "generation")) return {};
    r.d["status"]["observedGeneration"] = intOf(metaOf(r.d), "generation");
    return writeDeployment(r, false);
  }
  auto selector = api::LabelSelector::fromJson(selectorJson);
  if (!selector.ok()) return {};
  auto owned = claimReplicaSets(r.d, *selector);
  if (!owned.ok()) return owned.status();
  r.rsList = std::move(owned).value();
  std::sort(r.rsList.begin(), r.rsList.end(), createdBefore);
  std::set<std::string> uids;
  for (const auto& rs : r.rsList) uids.insert(uidOf(rs));
  for (auto& pod : podInformer_->list(metaOf(r.d).value("namespace", ""))) {
    const json* ref = controllerRefOf(*pod);
    if (ref && uids.count(ref->value("uid", "")) && selector->matchesObject(*pod)) {
      r.podsByOwner[ref->value("uid", "")].push_back(pod);
    }
  }

  if (markedForDeletion(r.d)) {
    if (Status st = collect(r, false); !st.isOk()) return st;
    return syncStatus(r, false);
  }
  if (Status st = checkPausedConditions(r); !st.isOk()) return st;
  if (Status st = collect(r, false); !st.isOk()) return st;
  bool scalingEvent = false;
  for (json* rs : Rollout::active(r.all())) {
    const auto desired = parseInt(annotation(*rs, kDesired));
    if (desired && *desired != replicasOf(r.d)) scalingEvent = true;
  }
  if (specOf(r.d).value("paused", false) || scalingEvent) {
    if (Status st = scaleProportionally(r); !st.isOk()) return st;
    if (specOf(r.d).value("paused", false)) {
      if (Status st = cleanupOldReplicaSets(r); !st.isOk()) return st;
    }
    return syncStatus(r, false);
  }
  return isRolling(r.d) ? rolloutRolling(r) : rolloutRecreate(r);
}

Result<std::vector<json>> DeploymentController::claimReplicaSets(
    const json& d, const api::LabelSelector& selector) {
  auto claimed = claimOwned(objects_, *deployments_, *replicaSets_, d, selector,
                            rsInformer_->list(metaOf(d).value("namespace", "")));
  if (!claimed.ok()) return claimed.status();
  std::vector<json> out;
  for (const auto& rs : *claimed) out.push_back(*rs);
  return out;
}

// Splits the owned replica sets into the new one (template equal to the Deployment's) and the
// old ones, and brings the new one's annotations and the Deployment's revision up to date.
Status DeploymentController::collect(Rollout& r, bool createIfMissing) {
  r.newIndex.reset();
  const json& tmpl = specOf(r.d).value("template", json::object());
  for (size_t i = 0; i < r.rsList.size(); ++i) {
    if (equalIgnoreHash(specOf(r.rsList[i]).value("template", json::object()), tmpl)) {
      r.newIndex = i;
      break;
    }
  }
  return syncNewReplicaSet(r, createIfMissing);
}

Status DeploymentController::syncNewReplicaSet(Rollout& r, bool createIfMissing) {
  int64_t maxOld = 0;
  for (const json* rs : r.oldRSs()) maxOld = std::max(maxOld, revisionOf(*rs));
  const int64_t newRevision = maxOld + 1;
  json* newRS = r.newRS();
  if (!newRS)
    return createIfMissing ? createNewReplicaSet(r, std::to_string(newRevision)) : Status();

  json copy = *newRS;
  const bool annotationsChanged = setNewReplicaSetAnnotations(r.d, copy, newRevision, true);
  const int64_t minReady = intOf(specOf(r.d), "minReadySeconds");
  if (annotationsChanged || intOf(specOf(copy), "minReadySeconds") != minReady) {
    copy["spec"]["minReadySeconds"] = minReady;
    auto written = writeReplicaSet(std::move(copy));
    if (!written.ok()) return written.status();
    *newRS = std::move(written).value();
    return {};
  }
  const bool revisionChanged = setDeploymentRevision(r.d, annotation(*newRS, kRevision));
  bool statusChanged = false;
  if (hasProgressDeadline(r.d) && !findCondition(statusOf(r.d), "Progressing")) {
    setCondition(r.d["status"], makeCondition("Progressing", "True", "FoundNewReplicaSet",
                                              "Found new replica set \"" + nameOf(*newRS) + "\"",
                                              server::formatTime(now())));
    statusChanged = true;
  }
  if (!revisionChanged && !statusChanged) return {};
  return writeDeployment(r, revisionChanged);
}

Status DeploymentController::createNewReplicaSet(Rollout& r, const std::string& revision) {
  const json& d = r.d;
  const auto collisions = statusOf(d).contains("collisionCount")
                              ? std::optional<int64_t>(statusInt(d, "collisionCount"))
                              : std::nullopt;
  json tmpl = specOf(d).value("template", json::object());
  const std::string hash = podTemplateHash(tmpl, collisions);
  tmpl["metadata"]["labels"][kHashLabel] = hash;
  json selector = specOf(d).value("selector", json::object());
  selector["matchLabels"][kHashLabel] = hash;
  const std::string name = nameOf(d) + "-" + hash;
  json rs = {{"apiVersion", "apps/v1"},
             {"kind", "ReplicaSet"},
             {"metadata",
              {{"name", name},
               {"namespace", metaOf(d).value("namespace", "")},
               {"labels", tmpl["metadata"]["labels"]},
               {"ownerReferences", json::array({controllerRefTo(d)})}}},
             {"spec",
              {{"replicas", 0},
               {"minReadySeconds", intOf(specOf(d), "minReadySeconds")},
               {"selector", selector},
               {"template", tmpl}}}};
  // The new set's size: Recreate takes everything; RollingUpdate what the surge allows.
  int64_t size = replicasOf(d);
  if (isRolling(d)) {
    const int64_t current = sum(r.oldRSs(), specCount);
    const int64_t maxTotal = replicasOf(d) + maxSurge(d);
    size = current >= maxTotal ? 0 : std::min(maxTotal - current, replicasOf(d));
  }
  rs["spec"]["replicas"] = size;
  setNewReplicaSetAnnotations(d, rs, parseInt(revision).value_or(1), false);

  const std::string ns = metaOf(d).value("namespace", "");
  auto created = objects_.create(*replicaSets_, ns, rs, {});
  json createdRS;
  bool alreadyExists = false;
  if (created.ok()) {
    createdRS = std::move(created->object);
  } else if (created.status().code() == 409 && created.status().reason() == "AlreadyExists") {
    auto existing = objects_.get(*replicaSets_, ns, name);
    if (!existing.ok()) return existing.status();
    json found = (*existing)->parse();
    const json* ref = controllerRefOf(found);
    if (!ref || ref->value("uid", "") != uidOf(d) ||
        !equalIgnoreHash(specOf(found).value("template", json::object()),
                         specOf(d).value("template", json::object()))) {
      // A different template hashed to the same name: vary the hash next time.
      r.d["status"]["collisionCount"] = collisions.value_or(0) + 1;
      (void)writeDeployment(r, false);
      return created.status();
    }
    createdRS = std::move(found);
    alreadyExists = true;
  } else {
    const std::string msg =
        "Failed to create new replica set \"" + name + "\": " + created.status().message();
    if (hasProgressDeadline(d)) {
      setCondition(r.d["status"], makeCondition("Progressing", "False", "ReplicaSetCreateError",
                                                msg, server::formatTime(now())));
      (void)writeDeployment(r, false);
    }
    events_.record(d, "Warning", "ReplicaSetCreateError", msg);
    return created.status();
  }
  if (!alreadyExists && size > 0) {
    events_.record(d, "Normal", "ScalingReplicaSet",
                   "Scaled up replica set " + name + " to " + std::to_string(size));
  }
  const bool revisionChanged = setDeploymentRevision(r.d, revision);
  if (!alreadyExists && hasProgressDeadline(d)) {
    setCondition(r.d["status"], makeCondition("Progressing", "True", "NewReplicaSetCreated",
                                              "Created new replica set \"" + name + "\"",
                                              server::formatTime(now())));
  }
  r.rsList.push_back(std::move(createdRS));
  r.newIndex = r.rsList.size() - 1;
  if (!revisionChanged && alreadyExists) return {};
  return writeDeployment(r, revisionChanged);
}

Result<json> DeploymentController::writeReplicaSet(json rs) {
  const std::string ns = metaOf(rs).value("namespace", "");
  const std::string name = nameOf(rs);
  auto written = objects_.update(*replicaSets_, ns, name, std::move(rs), {});
  if (!written.ok()) return written.status();
  return std::move(written->object);
}

// Sets the size of `rs` (and its desired/max annotations); true when the size changed.
Result<bool> DeploymentController::scaleReplicaSet(Rollout& r, json& rs, int64_t replicas) {
  const int64_t oldSize = replicasOf(rs);
  json copy = rs;
  copy["spec"]["replicas"] = replicas;
  const bool annotationsChanged =
      setReplicasAnnotations(copy, replicasOf(r.d), replicasOf(r.d) + maxSurge(r.d));
  if (oldSize == replicas && !annotationsChanged) return false;
  auto written = writeReplicaSet(std::move(copy));
  if (!written.ok()) return written.status();
  rs = std::move(written).value();
  if (oldSize == replicas) return false;
  std::string msg = std::string("Scaled ") + (oldSize < replicas ? "up" : "down") +
                    " replica set " + nameOf(rs) + " to " + std::to_string(replicas) + " from " +
                    std::to_string(oldSize);
  events_.record(r.d, "Normal", "ScalingReplicaSet", std::move(msg));
  return true;
}

// Kubernetes' scale(): a lone active set takes the whole size; otherwise, during a rolling
// update, the difference is spread over the active sets in proportion to their size.
Status DeploymentController::scaleProportionally(Rollout& r) {
  const int64_t want = replicasOf(r.d);
  std::vector<json*> active = Rollout::active(r.all());
  if (active.size() <= 1) {
    json* target = active.empty() ? (r.newRS() ? r.newRS() : nullptr) : active.front();
    if (!target && !r.rsList.empty()) {
      target = r.oldRSs().back();  // the newest old one
    }
    if (!target || replicasOf(*target) == want) return {};
    return scaleReplicaSet(r, *target, want).status();
  }
  json* newRS = r.newRS();
  if (newRS && replicasOf(*newRS) == want && annotation(*newRS, kDesired) == std::to_string(want) &&
      statusInt(*newRS, "availableReplicas") == want) {
    for (json* old : Rollout::active(r.oldRSs())) {
      if (auto st = scaleReplicaSet(r, *old, 0); !st.ok()) return st.status();
    }
    return {};
  }
  if (!isRolling(r.d)) return {};
  const int64_t allowed = want > 0 ? want + maxSurge(r.d) : 0;
  const int64_t toAdd = allowed - sum(active, specCount);
  // Larger sets first; on ties newer first when growing, older first when shrinking.
  std::stable_sort(active.begin(), active.end(), [toAdd](const json* a, const json* b) {
    if (replicasOf(*a) != replicasOf(*b)) return replicasOf(*a) > replicasOf(*b);
    return toAdd > 0 ? createdBefore(*b, *a) : createdBefore(*a, *b);
  });
  std::map<const json*, int64_t> sizes;
  int64_t added = 0;
  for (json* rs : active) {
    const int64_t share = toAdd != 0 ? proportion(*rs, r.d, toAdd, added) : 0;
    sizes[rs] = replicasOf(*rs) + share;
    added += share;
  }
  if (toAdd != 0)
    sizes[active.front()] = std::max<int64_t>(0, sizes[active.front()] + toAdd - added);
  for (json* rs : active) {
    if (auto st = scaleReplicaSet(r, *rs, sizes[rs]); !st.ok()) return st.status();
  }
  return {};
}

Status DeploymentController::rolloutRolling(Rollout& r) {
  if (Status st = collect(r, true); !st.isOk()) return st;
  json& newRS = *r.newRS();
  const int64_t want = replicasOf(r.d);
  // Scale the new set up as far as maxSurge allows (or down to the wanted size).
  if (replicasOf(newRS) != want) {
    int64_t target = want;
    if (replicasOf(newRS) < want) {
      const int64_t current = sum(r.all(), specCount);
      const int64_t maxTotal = want + maxSurge(r.d);
      target = current >= maxTotal
                   ? replicasOf(newRS)
                   : replicasOf(newRS) + std::min(maxTotal - current, want - replicasOf(newRS));
    }
    auto scaled = scaleReplicaSet(r, newRS, target);
    if (!scaled.ok()) return scaled.status();
    if (*scaled) return syncStatus(r, true);
  }
  auto scaledDown = scaleDownOld(r);
  if (!scaledDown.ok()) return scaledDown.status();
  if (*scaledDown) return syncStatus(r, true);
  if (deploymentComplete(r.d, statusOf(r.d))) {
    if (Status st = cleanupOldReplicaSets(r); !st.isOk()) return st;
  }
  return syncStatus(r, true);
}

// Kubernetes' reconcileOldReplicaSets: first drops unavailable pods of old sets, then scales
// old sets down as long as replicas - maxUnavailable pods stay available.
Result<bool> DeploymentController::scaleDownOld(Rollout& r) {
  std::vector<json*> old = Rollout::active(r.oldRSs());
  if (sum(old, specCount) == 0) return false;
  const json& newRS = *r.newRS();
  const int64_t minAvailable = replicasOf(r.d) - maxUnavailable(r.d);
  const int64_t newUnavailable = replicasOf(newRS) - statusInt(newRS, "availableReplicas");
  const int64_t maxScaledDown = sum(r.all(), specCount) - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return false;

  int64_t cleaned = 0;
  for (json* rs : old) {
    if (cleaned >= maxScaledDown) break;
    const int64_t unhealthy = replicasOf(*rs) - statusInt(*rs, "availableReplicas");
    if (replicasOf(*rs) == 0 || unhealthy <= 0) continue;
    const int64_t n = std::min(maxScaledDown - cleaned, unhealthy);
    if (auto st = scaleReplicaSet(r, *rs, replicasOf(*rs) - n); !st.ok()) return st.status();
    cleaned += n;
  }
  int64_t scaled = 0;
  // A set just scaled down still reports the pods it is about to delete as available until its
  // controller catches up; counting them would let a quick second sync scale down again.
  const int64_t available =
      sum(r.all(), [](const json& rs) { return std::min(availableCount(rs), replicasOf(rs)); });
  if (available > minAvailable) {
    const int64_t toScale = available - minAvailable;
    for (json* rs : old) {
      if (scaled >= toScale) break;
      if (replicasOf(*rs) == 0) continue;
      const int64_t n = std::min(replicasOf(*rs), toScale - scaled);
      if (auto st = scaleReplicaSet(r, *rs, replicasOf(*rs) - n); !st.ok()) return st.status();
      scaled += n;
    }
  }
  return cleaned + scaled > 0;
}

Status DeploymentController::rolloutRecreate(Rollout& r) {
  bool scaledDown = false;
  for (json* rs : Rollout::active(r.oldRSs())) {
    auto scaled = scaleReplicaSet(r, *rs, 0);
    if (!scaled.ok()) return scaled.status();
    scaledDown |= *scaled;
  }
  if (scaledDown) return syncStatus(r, true);
  // Old pods must be gone (not just unwanted) before the new template starts.
  bool oldPodsRunning = sum(r.oldRSs(), actualCount) > 0;
  const std::string newUid = r.newRS() ? uidOf(*r.newRS()) : "";
  for (const auto& [uid, pods] : r.podsByOwner) {
    if (uid == newUid) continue;
    for (const auto& pod : pods) {
      const std::string phase = statusOf(*pod).value("phase", "");
      if (phase != "Succeeded" && phase != "Failed") oldPodsRunning = true;
    }
  }
  if (oldPodsRunning) return syncStatus(r, true);
  if (!r.newRS()) {
    if (Status st = collect(r, true); !st.isOk()) return st;
  }
  auto scaled = scaleReplicaSet(r, *r.newRS(), replicasOf(r.d));
  if (!scaled.ok()) return scaled.status();
  if (deploymentComplete(r.d, statusOf(r.d))) {
    if (Status st = cleanupOldReplicaSets(r); !st.isOk()) return st;
  }
  return syncStatus(r, true);
}

Status DeploymentController::cleanupOldReplicaSets(Rollout& r) {
  if (!specOf(r.d).contains("revisionHistoryLimit")) return {};
  std::vector<json*> cleanable;
  for (json* rs : r.oldRSs()) {
    if (!markedForDeletion(*rs)) cleanable.push_back(rs);
  }
  const int64_t diff =
      static_cast<int64_t>(cleanable.size()) - intOf(specOf(r.d), "revisionHistoryLimit");
  if (diff <= 0) return {};
  std::stable_sort(cleanable.begin(), cleanable.end(), [](const json* a, const json* b) {
    return revisionOf(*a) != revisionOf(*b) ? revisionOf(*a) < revisionOf(*b)
                                            : createdBefore(*a, *b);
  });
  for (int64_t i = 0; i < diff; ++i) {
    const json& rs = *cleanable[static_cast<size_t>(i)];
    // Only sets that are empty and whose controller has seen that.
    if (actualCount(rs) != 0 || replicasOf(rs) != 0 ||
        intOf(metaOf(rs), "generation") > statusInt(rs, "observedGeneration")) {
      continue;
    }
    auto removed =
        objects_.remove(*replicaSets_, metaOf(rs).value("namespace", ""), nameOf(rs), {});
    if (!removed.ok() && removed.status().code() != 404) return removed.status();
  }
  return {};
}

Status DeploymentController::checkPausedConditions(Rollout& r) {
  if (!hasProgressDeadline(r.d)) return {};
  const json* c = findCondition(statusOf(r.d), "Progressing");
  if (c && c->value("reason", "") == "ProgressDeadlineExceeded") return {};
  const bool pausedCondition = c && c->value("reason", "") == "DeploymentPaused";
  const bool paused = specOf(r.d).value("paused", false);
  if (paused == pausedCondition) return {};
  setCondition(r.d["status"],
               paused ? makeCondition("Progressing", "Unknown", "DeploymentPaused",
                                      "Deployment is paused", server::formatTime(now()))
                      : makeCondition("Progressing", "Unknown", "DeploymentResumed",
                                      "Deployment is resumed", server::formatTime(now())));
  return writeDeployment(r, false);
}

Status DeploymentController::syncStatus(Rollout& r, bool trackProgress) {
  const json& d = r.d;
  json* newRS = r.newRS();
  const std::vector<json*> all = r.all();
  const std::string at = server::formatTime(now());
  const int64_t available = sum(all, availableCount);
  json status = json::object();
  auto setNonZero = [&status](const char* name, int64_t v) {
    if (v != 0) status[name] = v;
  };
  setNonZero("observedGeneration", intOf(metaOf(d), "generation"));
  setNonZero("replicas", sum(all, actualCount));
  setNonZero("updatedReplicas", newRS ? actualCount(*newRS) : 0);
  setNonZero("readyReplicas", sum(all, readyCount));
  setNonZero("availableReplicas", available);
  setNonZero("unavailableReplicas", std::max<int64_t>(0, sum(all, specCount) - available));
  if (statusOf(d).contains("collisionCount"))
    status["collisionCount"] = statusOf(d)["collisionCount"];
  if (statusOf(d).contains("conditions")) status["conditions"] = statusOf(d)["conditions"];
  if (available >= replicasOf(d) - maxUnavailable(d)) {
    setCondition(status, makeCondition("Available", "True", "MinimumReplicasAvailable",
                                       "Deployment has minimum availability.", at));
  } else {
    setCondition(status, makeCondition("Available", "False", "MinimumReplicasUnavailable",
                                       "Deployment does not have minimum availability.", at));
  }
  if (trackProgress) {
    if (!hasProgressDeadline(d)) removeCondition(status, "Progressing");
    const json* current = findCondition(statusOf(d), "Progressing");
    const bool complete = intOf(status, "replicas") == intOf(status, "updatedReplicas") &&
                          current && current->value("reason", "") == "NewReplicaSetAvailable";
    const std::string subject =
        newRS ? "ReplicaSet \"" + nameOf(*newRS) + "\"" : "Deployment \"" + nameOf(d) + "\"";
    if (hasProgressDeadline(d) && !complete) {
      if (deploymentComplete(d, status)) {
        setCondition(status, makeCondition("Progressing", "True", "NewReplicaSetAvailable",
                                           subject + " has successfully progressed.", at));
      } else if (deploymentProgressing(d, status)) {
        json c = makeCondition("Progressing", "True", "ReplicaSetUpdated",
                               subject + " is progressing.", at);
        // Progress refreshes lastUpdateTime even when the reason stays the same.
        if (current && current->value("status", "") == "True") {
          c["lastTransitionTime"] = (*current)["lastTransitionTime"];
        }
        removeCondition(status, "Progressing");
        setCondition(status, std::move(c));
      } else if (deploymentTimedOut(d, status, now())) {
        setCondition(status, makeCondition("Progressing", "False", "ProgressDeadlineExceeded",
                                           subject + " has timed out progressing.", at));
      }
    }
    // A failing replica set's ReplicaFailure shows on the Deployment.
    json failure;
    for (json* rs : newRS ? std::vector<json*>{newRS} : std::vector<json*>{}) {
      if (const json* c = findCondition(statusOf(*rs), "ReplicaFailure")) failure = *c;
    }
    for (json* rs : r.oldRSs()) {
      const json* c = findCondition(statusOf(*rs), "ReplicaFailure");
      if (failure.is_null() && c) failure = *c;
    }
    if (failure.is_object() && failure.value("status", "") == "True") {
      setCondition(status, makeCondition("ReplicaFailure", "True", failure.value("reason", ""),
                                         failure.value("message", ""), at));
    } else {
      removeCondition(status, "ReplicaFailure");
    }
  }
  if (status == statusOf(d)) {
    if (trackProgress) requeueStuck(r, status);
    return {};
  }
  r.d["status"] = std::move(status);
  return writeDeployment(r, false);
}

void DeploymentController::requeueStuck(const Rollout& r, const json& newStatus) {
  const json* c = findCondition(statusOf(r.d), "Progressing");
  if (!hasProgressDeadline(r.d) || !c) return;
  if (deploymentComplete(r.d, newStatus) || c->value("reason", "") == "ProgressDeadlineExceeded") {
    return;
  }
  const auto updated = server::parseTime(c->value("lastUpdateTime", ""));
  if (!updated) return;
  const auto after =
      *updated + std::chrono::seconds(intOf(specOf(r.d), "progressDeadlineSeconds")) - now();
  const std::string key = objectKey(r.d);
  if (after < std::chrono::seconds(1)) {
    queue_->addRateLimited(key);
  } else {
    queue_->addAfter(key, std::chrono::duration_cast<Duration>(after + std::chrono::seconds(1)));
  }
}

// Writes the revision annotation (main resource) when asked, then the status.
Status DeploymentController::writeDeployment(Rollout& r, bool annotations) {
  const std::string ns = metaOf(r.d).value("namespace", "");
  if (annotations) {
    json patch = {{"metadata", {{"annotations", {{kRevision, annotation(r.d, kRevision)}}}}}};
    auto patched = objects_.patch(*deployments_, ns, nameOf(r.d), api::PatchType::Merge, patch, {});
    if (!patched.ok()) return patched.status().code() == 404 ? Status() : patched.status();
  }
  json body = r.d;
  body["metadata"].erase("resourceVersion");
  server::WriteOptions options;
  options.subresource = "status";
  auto written = objects_.update(*deployments_, ns, nameOf(r.d), std::move(body), options);
  if (!written.ok() && written.status().code() != 404) return written.status();
  return {};
}

}  // namespace kd::controllers

#include "engine/scheduler/scheduler.h"

#include <algorithm>

#include "engine/controllers/controller_manager.h"
#include "engine/scheduler/scores.h"

namespace kd::scheduler {
namespace {

using controllers::CachedObject;

bool bound(const json& pod) {
  return !objectField(pod, "spec").value("nodeName", "").empty();
}

bool finished(const json& pod) {
  const std::string phase = objectField(pod, "status").value("phase", "");
  return phase == "Succeeded" || phase == "Failed";
}

bool deleting(const json& pod) {
  return objectField(pod, "metadata").contains("deletionTimestamp");
}

// Whether a change to an unscheduled pod could change where it fits (status and
// resourceVersion churn cannot).
bool schedulingInputsChanged(const json& oldPod, const json& pod) {
  return objectField(oldPod, "spec") != objectField(pod, "spec") ||
         objectField(objectField(oldPod, "metadata"), "labels") !=
             objectField(objectField(pod, "metadata"), "labels");
}

bool nodeInputsChanged(const json& oldNode, const json& node) {
  if (objectField(oldNode, "spec") != objectField(node, "spec")) return true;
  if (objectField(objectField(oldNode, "metadata"), "labels") !=
      objectField(objectField(node, "metadata"), "labels")) {
    return true;
  }
  return objectField(objectField(oldNode, "status"), "allocatable") !=
         objectField(objectField(node, "status"), "allocatable");
}

bool waitsForPods(const Diagnosis& d) {
  return d.reasons.count("node(s) didn't match pod affinity rules") != 0;
}

}  // namespace

Scheduler::Scheduler(server::ObjectService& objects, SchedulerOptions options)
    : objects_(objects),
      options_(std::move(options)),
      pods_(objects.kinds().byResource("", "v1", "pods")),
      recorder_(objects, options_.schedulerName),
      random_(std::random_device{}()) {}

size_t Scheduler::feasibleNodesToFind(size_t allNodes) {
  constexpr size_t kMinFeasible = 100;
  if (allNodes < kMinFeasible) return allNodes;
  // kube-scheduler's adaptive percentage: 50% shrinking by 1% per 125 nodes, at least 5%.
  const int64_t percent = std::max<int64_t>(5, 50 - static_cast<int64_t>(allNodes) / 125);
  return std::max(kMinFeasible, allNodes * static_cast<size_t>(percent) / 100);
}

void Scheduler::setup(controllers::ControllerManager& manager, controllers::WorkQueue& queue) {
  queue_ = &queue;
  podInformer_ = &manager.informer(*pods_);
  podInformer_->addHandlers({[this](const CachedObject& pod) { onPod(nullptr, pod); },
                             [this](const CachedObject& o, const CachedObject& n) { onPod(o, n); },
                             [this](const CachedObject& pod) { onPodGone(pod); }});
  auto& nodes = manager.informer(*objects_.kinds().byResource("", "v1", "nodes"));
  nodes.addHandlers({[this](const CachedObject& node) { onNode(nullptr, node); },
                     [this](const CachedObject& o, const CachedObject& n) { onNode(o, n); },
                     [this](const CachedObject& node) {
                       {
                         std::lock_guard lock(cacheMu_);
                         cache_.removeNode(objectField(*node, "metadata").value("name", ""));
                       }
                     }});
}

bool Scheduler::ours(const json& pod) const {
  return objectField(pod, "spec").value("schedulerName", "default-scheduler") ==
         options_.schedulerName;
}

void Scheduler::onPod(const CachedObject& oldPod, const CachedObject& pod) {
  const std::string key = controllers::objectKey(*pod);
  if (bound(*pod)) {
    const bool wasPlaced = oldPod && bound(*oldPod) && !finished(*oldPod) && !deleting(*oldPod);
    const bool freesRoom = wasPlaced && (finished(*pod) || deleting(*pod));
    {
      std::lock_guard lock(cacheMu_);
      cache_.upsertPod(*pod);
    }
    if (freesRoom) retryWaiting(false);
    if (!oldPod || !bound(*oldPod)) retryWaiting(true);
    return;
  }
  if (!ours(*pod) || deleting(*pod) || finished(*pod)) return;
  if (oldPod && !schedulingInputsChanged(*oldPod, *pod)) {
    std::lock_guard lock(waitingMu_);
    if (waiting_.count(key)) return;  // our own status write about it, or churn
  }
  queue_->add(key);
}

void Scheduler::onPodGone(const CachedObject& pod) {
  const std::string key = controllers::objectKey(*pod);
  {
    std::lock_guard lock(cacheMu_);
    cache_.removePod(key);
  }
  {
    std::lock_guard lock(waitingMu_);
    waiting_.erase(key);
  }
  if (bound(*pod)) retryWaiting(false);
}

void Scheduler::onNode(const CachedObject& oldNode, const CachedObject& node) {
  {
    std::lock_guard lock(cacheMu_);
    cache_.upsertNode(*node);
  }
  if (!oldNode || nodeInputsChanged(*oldNode, *node)) retryWaiting(false);
}

void Scheduler::retryWaiting(bool onlyWaitingForPods) {
  std::lock_guard lock(waitingMu_);
  for (const auto& [key, w] : waiting_) {
    if (onlyWaitingForPods && !w.waitsForPods) continue;
    queue_->addAfter(key, backoff(w.attempts));
  }
}

std::chrono::milliseconds Scheduler::backoff(int attempts) const {
  auto d = options_.initialBackoff;
  for (int i = 1; i < attempts && d < options_.maxBackoff; ++i) d *= 2;
  return std::min(d, options_.maxBackoff);
}

Status Scheduler::sync(const std::string& key) {
  CachedObject pod = podInformer_->get(key);
  if (!pod || bound(*pod) || deleting(*pod) || finished(*pod) || !ours(*pod)) {
    std::lock_guard lock(waitingMu_);
    waiting_.erase(key);
    return {};
  }
  {
    std::lock_guard lock(cacheMu_);
    if (cache_.hasPod(key)) return {};  // assumed: its binding is on the way
  }
  PodInfo info = parsePod(*pod);
  resolveVolumes(info);
  Decision decision = decide(info);
  if (decision.node.empty()) {
    recordFailure(*pod, info, decision.diagnosis);
    return {};
  }
  bind(std::move(pod), info, decision.node);
  return {};
}

// VolumeBinding's PreFilter: what the pod's claims demand of a node, read fresh from the store
// (claims bind while pods wait, and a read is cheaper than keeping two more informers).
void Scheduler::resolveVolumes(PodInfo& info) {
  if (info.claimNames.empty()) return;
  const auto& kinds = objects_.kinds();
  for (const auto& name : info.claimNames) {
    auto claim = objects_.get(*kinds.byResource("", "v1", "persistentvolumeclaims"), info.ns, name);
    if (!claim.ok()) {
      info.volumeProblem = "persistentvolumeclaim \"" + name + "\" not found";
      return;
    }
    const json pvc = (*claim)->parse();
    if (pvc["metadata"].contains("deletionTimestamp")) {
      info.volumeProblem = "persistentvolumeclaim \"" + name + "\" is being deleted";
      return;
    }
    const json& spec = pvc.value("spec", json::object());
    const std::string volume = spec.value("volumeName", "");
    if (volume.empty()) {
      auto sc = objects_.get(*kinds.byResource("storage.k8s.io", "v1", "storageclasses"), "",
                             spec.value("storageClassName", ""));
      const bool waits = sc.ok() && (*sc)->parse().value("volumeBindingMode", "Immediate") ==
                                        "WaitForFirstConsumer";
      if (!waits) info.volumeProblem = "pod has unbound immediate PersistentVolumeClaims";
      continue;
    }
    auto pv = objects_.get(*kinds.byResource("", "v1", "persistentvolumes"), "", volume);
    if (!pv.ok()) continue;
    const json required = (*pv)
                              ->parse()
                              .value("spec", json::object())
                              .value("nodeAffinity", json::object())
                              .value("required", json::object());
    std::vector<NodeSelectorTerm> terms;
    for (const auto& t : required.value("nodeSelectorTerms", json::array())) {
      terms.push_back(parseNodeSelectorTerm(t));
    }
    if (!terms.empty()) info.volumeNodeTerms.push_back(std::move(terms));
  }
}

Scheduler::Decision Scheduler::decide(const PodInfo& pod) {
  std::lock_guard lock(cacheMu_);
  Decision d;
  const auto& nodes = cache_.nodes();
  const size_t all = nodes.size();
  const size_t wanted = feasibleNodesToFind(all);
  const AffinityState affinity = prepareAffinity(pod, cache_);
  std::vector<NodeScore> feasible;
  feasible.reserve(wanted);
  size_t looked = 0;
  for (; looked < all && feasible.size() < wanted; ++looked) {
    const NodeInfo* node = nodes[(nextStartNode_ + looked) % all];
    FilterResult r = runFilters(pod, *node, affinity);
    if (r.ok()) {
      feasible.push_back({node, 0});
    } else {
      addToDiagnosis(d.diagnosis, r);
    }
  }
  if (all > 0) nextStartNode_ = (nextStartNode_ + looked) % all;
  if (feasible.empty()) {
    d.diagnosis.numNodes = all;
    return d;
  }
  scoreNodes(pod, feasible);
  // The best score wins; among equals each is as likely (reservoir sampling).
  const NodeScore* best = nullptr;
  int ties = 0;
  for (const auto& n : feasible) {
    if (!best || n.score > best->score) {
      best = &n;
      ties = 1;
    } else if (n.score == best->score && random_() % ++ties == 0) {
      best = &n;
    }
  }
  d.node = best->node->name;
  cache_.assume(pod, d.node);
  return d;
}

void Scheduler::bind(CachedObject pod, const PodInfo& info, const std::string& node) {
  {
    std::lock_guard lock(bindMu_);
    binds_.push_back({std::move(pod), info.key, node});
    if (binding_) return;  // the worker writing bindings takes this one too
    binding_ = true;
  }
  // Bounds one transaction (and how long the first pod of a batch waits for it).
  constexpr size_t kMaxBatch = 512;
  for (;;) {
    std::vector<PendingBind> batch;
    {
      std::lock_guard lock(bindMu_);
      if (binds_.empty()) {
        binding_ = false;
        return;
      }
      if (binds_.size() <= kMaxBatch) {
        batch.swap(binds_);
      } else {
        const auto end = binds_.begin() + static_cast<std::ptrdiff_t>(kMaxBatch);
        batch.assign(std::make_move_iterator(binds_.begin()), std::make_move_iterator(end));
        binds_.erase(binds_.begin(), end);
      }
    }
    writeBindings(batch);
  }
}

void Scheduler::writeBindings(const std::vector<PendingBind>& batch) {
  std::vector<server::ObjectService::PodBinding> bindings;
  bindings.reserve(batch.size());
  for (const auto& b : batch) {
    const json& meta = objectField(*b.pod, "metadata");
    bindings.push_back({meta.value("namespace", ""), meta.value("name", ""), b.node, b.pod});
  }
  const std::vector<Status> results = objects_.bindAll(bindings);
  bool storeAnswers = true;  // false once a condition write failed: the rest would fail too
  for (size_t i = 0; i < batch.size(); ++i) {
    const PendingBind& b = batch[i];
    const Status& r = results[i];
    if (!r.isOk()) {
      forget(b.key);
      // Gone, already bound or being deleted: nothing left to do for this pod.
      if (r.code() == 404 || r.code() == 409) continue;
      // As kube-scheduler's failure handler: a Warning event and PodScheduled=False (reason
      // SchedulerError) with the error, then another try after a back-off. The pod waits like
      // an unschedulable one, so the status write about it does not queue it at once.
      ++errors_;
      recorder_.record(*b.pod, "Warning", "FailedScheduling", r.message());
      int attempts = 0;
      {
        std::lock_guard lock(waitingMu_);
        Waiting& w = waiting_[b.key];
        attempts = ++w.attempts;
        w.waitsForPods = false;
      }
      if (storeAnswers) {
        const Status written = markUnscheduled(*b.pod, "SchedulerError", r.message());
        storeAnswers = written.isOk() || written.code() == 404 || written.code() == 409;
      }
      queue_->addAfter(b.key, backoff(attempts));
      continue;
    }
    {
      std::lock_guard lock(waitingMu_);
      waiting_.erase(b.key);
    }
    ++scheduled_;
    recorder_.record(*b.pod, "Normal", "Scheduled",
                     "Successfully assigned " + b.key + " to " + b.node);
  }
}

// Drops an assumed pod whose binding failed; whatever the informer last saw of it stays
// counted (another binder may have won).
void Scheduler::forget(const std::string& key) {
  std::lock_guard lock(cacheMu_);
  cache_.removePod(key);
  if (auto current = podInformer_->get(key)) cache_.upsertPod(*current);
}

void Scheduler::recordFailure(const json& pod, const PodInfo& info, const Diagnosis& diagnosis) {
  ++failed_;
  const std::string message = failureMessage(diagnosis, info);
  {
    std::lock_guard lock(waitingMu_);
    Waiting& w = waiting_[info.key];
    ++w.attempts;
    w.waitsForPods = waitsForPods(diagnosis);
  }
  queue_->addAfter(info.key, options_.unschedulableRetry);
  recorder_.record(pod, "Warning", "FailedScheduling", message);
  markUnscheduled(pod, "Unschedulable", message);
}

Status Scheduler::markUnscheduled(const json& pod, const std::string& reason,
                                  const std::string& message) {
  std::string since = server::formatTime(objects_.now());
  for (const auto& c : arrayField(objectField(pod, "status"), "conditions")) {
    if (c.value("type", "") != "PodScheduled" || c.value("status", "") != "False") continue;
    if (c.value("reason", "") == reason && c.value("message", "") == message) return {};
    since = c.value("lastTransitionTime", since);  // still False: the transition stands
  }
  const json patch = {{"status",
                       {{"conditions",
                         {{{"type", "PodScheduled"},
                           {"status", "False"},
                           {"lastProbeTime", nullptr},
                           {"lastTransitionTime", since},
                           {"reason", reason},
                           {"message", message}}}}}}};
  server::WriteOptions options;
  options.subresource = "status";
  const json& meta = objectField(pod, "metadata");
  // Best effort, like the event: the next attempt writes it again if this one was lost.
  auto r = objects_.patch(*pods_, meta.value("namespace", ""), meta.value("name", ""),
                          api::PatchType::StrategicMerge, patch, options);
  return r.ok() ? Status::ok() : r.status();
}

}  // namespace kd::scheduler

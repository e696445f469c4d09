#pragma once
// The ReplicaSet controller: keeps spec.replicas active pods matching a ReplicaSet's selector,
// as Kubernetes' replicaset controller does.
//   - Ownership goes through ownerReferences: pods that match the selector and have no
//     controller are adopted, owned pods whose labels stop matching are released.
//   - Missing pods are created from the template (generateName "<rs>-", controller reference
//     with blockOwnerDeletion) in slow-start batches of 1, 2, 4, ... that stop at the first
//     batch with a failure; at most burstReplicas per sync.
//   - Surplus pods are deleted in Kubernetes' order: unscheduled before scheduled, Pending
//     before Unknown before Running, not ready before ready, lower pod-deletion-cost first,
//     pods doubled up on a node (counting sibling ReplicaSets of the same owner) first, then
//     ready for less time, more restarts, newer (times compared on a log2 scale).
//   - Expectations: after creating or deleting pods, a ReplicaSet is not managed again until
//     the informer has seen those changes (or expectationsTimeout passed), so informer lag
//     never causes duplicate creations or deletions.
//   - Status is always recomputed: replicas, fullyLabeledReplicas, readyReplicas,
//     availableReplicas (ready for minReadySeconds on the injected clock), observedGeneration
//     and a ReplicaFailure condition while pod creation or deletion fails.
// Events (component "replicaset-controller"): SuccessfulCreate, FailedCreate,
// SuccessfulDelete, FailedDelete. Queue key: "namespace/name" of the ReplicaSet.

#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>

#include "engine/api/selectors.h"
#include "engine/controllers/controller.h"
#include "engine/controllers/event_recorder.h"
#include "engine/controllers/expectations.h"
#include "engine/controllers/informer.h"
#include "engine/server/object_service.h"

namespace kd::controllers {

struct ReplicaSetControllerOptions {
  server::Clock clock;  // empty: the ObjectService's clock
  int burstReplicas = 500;
  std::chrono::seconds expectationsTimeout = std::chrono::minutes(5);
  int workers = 2;
};

// Pod predicates shared with the Deployment controller.
// True when the pod's Ready condition is True.
bool podReady(const json& pod);
// Ready, and (minReadySeconds > 0) Ready since more than minReadySeconds before `now`.
bool podAvailable(const json& pod, int64_t minReadySeconds,
                  std::chrono::system_clock::time_point now);
// Not finished (Succeeded/Failed) and not marked for deletion.
bool podActive(const json& pod);
// The ownerReference with controller=true, or null.
const json* controllerRefOf(const json& obj);
// An ownerReference marking `owner` as the controller, as Kubernetes writes it.
json controllerRefTo(const json& owner);

// Kubernetes' ControllerRefManager: of `candidates` (objects of `kind` in the owner's
// namespace), returns those `owner` controls after adopting orphans that match `selector`
// (unless the owner or the orphan is being deleted; the owner is re-read once from the store
// first, so a replaced owner adopts nothing) and releasing owned objects that no longer match.
// Writes carry the object's resourceVersion, so a concurrent change fails the claim (409) and
// the caller retries; objects gone meanwhile (404) are skipped.
Result<std::vector<CachedObject>> claimOwned(server::ObjectService& objects,
                                             const api::KindInfo& ownerKind,
                                             const api::KindInfo& kind, const json& owner,
                                             const api::LabelSelector& selector,
                                             const std::vector<CachedObject>& candidates);

class ReplicaSetController : public Controller {
 public:
  explicit ReplicaSetController(server::ObjectService& objects,
                                ReplicaSetControllerOptions options = {});

  std::string name() const override { return "replicaset"; }
  void setup(ControllerManager& manager, WorkQueue& queue) override;
  Status sync(const std::string& key) override;
  int workers() const override { return options_.workers; }

 private:
  using Pods = std::vector<CachedObject>;
  void onPodAdded(const CachedObject& pod);
  void onPodUpdated(const CachedObject& oldPod, const CachedObject& pod);
  void onPodDeleted(const CachedObject& pod);
  // The ReplicaSet that controls `pod` per its controller reference, or null.
  CachedObject owningReplicaSet(const json& pod) const;
  void enqueueMatching(const json& pod);

  Status manageReplicas(const json& rs, const Pods& owned);
  Status createPods(const json& rs, int count);
  Status deletePods(const json& rs, const Pods& owned, int count);
  json calculateStatus(const json& rs, const Pods& owned, const Status& manageError) const;
  Status writeStatus(const json& rs, json status);
  std::chrono::system_clock::time_point now() const;

  server::ObjectService& objects_;
  ReplicaSetControllerOptions options_;
  const api::KindInfo* replicaSets_;
  const api::KindInfo* pods_;
  Informer* rsInformer_ = nullptr;
  Informer* podInformer_ = nullptr;
  WorkQueue* queue_ = nullptr;
  ControllerExpectations expectations_;
  EventRecorder events_;
};

}  // namespace kd::controllers

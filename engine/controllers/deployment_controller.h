#pragma once
// The Deployment controller: rolls a Deployment's pod template out through ReplicaSets, as
// Kubernetes' deployment controller does, so kubectl's rollout verbs work unchanged.
//   - ReplicaSets are owned through ownerReferences (adopted when orphaned and matching,
//     released when their labels stop matching). The ReplicaSet whose template equals the
//     Deployment's (ignoring the pod-template-hash label) is the new one; a missing new one is
//     created as "<deployment>-<pod-template-hash>" with that label added to its selector,
//     template and labels. A name taken by a different template bumps status.collisionCount.
//   - Annotations on ReplicaSets: deployment.kubernetes.io/revision (max of the old ones + 1
//     for the new one; a rolled-back-to ReplicaSet keeps its former numbers in
//     revision-history), desired-replicas, max-replicas, and the Deployment's own annotations
//     (kubernetes.io/change-cause, ...). The Deployment carries the new revision too.
//   - RollingUpdate never lets the pods of all ReplicaSets exceed replicas + maxSurge, nor the
//     available ones drop below replicas - maxUnavailable (percentages: surge rounded up,
//     unavailable down; both zero means maxUnavailable 1). Recreate scales every old
//     ReplicaSet to zero and waits for their pods to go before creating the new one.
//   - A change of spec.replicas alone is a scaling event: all active ReplicaSets are scaled
//     proportionally. While spec.paused nothing new is rolled out (only scaling).
//   - Old ReplicaSets beyond revisionHistoryLimit that have no pods are deleted.
//   - Status is recomputed each sync: replicas, updatedReplicas, readyReplicas,
//     availableReplicas, unavailableReplicas, observedGeneration, collisionCount, conditions
//     Available (MinimumReplicasAvailable/Unavailable) and Progressing (NewReplicaSetCreated,
//     FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable, ProgressDeadlineExceeded,
//     DeploymentPaused/DeploymentResumed) with Kubernetes' messages, and ReplicaFailure copied
//     from a failing ReplicaSet. progressDeadlineSeconds is measured on the injected clock.
// Events (component "deployment-controller"): ScalingReplicaSet ("Scaled up replica set X to
// 3", "Scaled down replica set X to 1 from 2"), FailedCreate (replica set), SelectingAll.
// Queue key: "namespace/name" of the Deployment.

#include <optional>

#include "engine/api/selectors.h"
#include "engine/controllers/controller.h"
#include "engine/controllers/event_recorder.h"
#include "engine/controllers/informer.h"
#include "engine/server/object_service.h"

namespace kd::controllers {

struct DeploymentControllerOptions {
  server::Clock clock;  // empty: the ObjectService's clock
  int workers = 2;
};

// `value` without nulls, empty objects and empty arrays, at any depth: what Kubernetes'
// semantic equality sees of a pod template (`resources: {}`, `creationTimestamp: null` and
// absent fields are all the same), so a template that round-trips through a client (as
// `kubectl rollout undo` sends it back) is recognised as the one it was.
json semanticTemplate(json value);

// The pod-template-hash Kubernetes would use as a label value and name suffix: FNV-32a over a
// stable serialization of the semantic template (plus the collision count when set), rendered in
// the alphabet of generated names. Stable across runs; not byte-equal to Kubernetes' value.
std::string podTemplateHash(const json& podTemplate, std::optional<int64_t> collisionCount);

// maxSurge and maxUnavailable (integers or "N%") resolved against `replicas`.
struct Fenceposts {
  int64_t maxSurge = 0;
  int64_t maxUnavailable = 0;
};
Fenceposts resolveFenceposts(const json& maxSurge, const json& maxUnavailable, int64_t replicas);

class DeploymentController : public Controller {
 public:
  explicit DeploymentController(server::ObjectService& objects,
                                DeploymentControllerOptions options = {});

  std::string name() const override { return "deployment"; }
  void setup(ControllerManager& manager, WorkQueue& queue) override;
  Status sync(const std::string& key) override;
  int workers() const override { return options_.workers; }

 private:
  struct Rollout;  // the state one sync works on

  void onReplicaSetEvent(const CachedObject& oldRs, const CachedObject& rs);
  void onPodDeleted(const CachedObject& pod);
  CachedObject owningDeployment(const json& rs) const;
  void enqueueMatching(const json& rs);

  Result<std::vector<json>> claimReplicaSets(const json& d, const api::LabelSelector& selector);
  Status collect(Rollout& r, bool createIfMissing);
  Status syncNewReplicaSet(Rollout& r, bool createIfMissing);
  Status createNewReplicaSet(Rollout& r, const std::string& revision);
  Result<bool> scaleReplicaSet(Rollout& r, json& rs, int64_t replicas);
  Status scaleProportionally(Rollout& r);
  Status rolloutRolling(Rollout& r);
  Status rolloutRecreate(Rollout& r);
  Result<bool> scaleDownOld(Rollout& r);
  Status cleanupOldReplicaSets(Rollout& r);
  Status checkPausedConditions(Rollout& r);
  Status syncStatus(Rollout& r, bool trackProgress);
  Status writeDeployment(Rollout& r, bool annotations);
  void requeueStuck(const Rollout& r, const json& newStatus);
  Result<json> writeReplicaSet(json rs);
  std::chrono::system_clock::time_point now() const;

  server::ObjectService& objects_;
  DeploymentControllerOptions options_;
  const api::KindInfo* deployments_;
  const api::KindInfo* replicaSets_;
  const api::KindInfo* pods_;
  Informer* deployInformer_ = nullptr;
  Informer* rsInformer_ = nullptr;
  Informer* podInformer_ = nullptr;
  WorkQueue* queue_ = nullptr;
  EventRecorder events_;
};

}  // namespace kd::controllers

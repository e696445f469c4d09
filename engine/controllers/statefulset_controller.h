#pragma once
// The StatefulSet controller, as Kubernetes' statefulset controller behaves:
//   - Pods have stable names "<set>-<ordinal>" for ordinals 0..replicas-1, hostname = the pod
//     name and subdomain = spec.serviceName (stable DNS through a headless Service), labels
//     statefulset.kubernetes.io/pod-name, apps.kubernetes.io/pod-index and
//     controller-revision-hash (the ControllerRevision name, see history.h).
//   - volumeClaimTemplates become PVCs "<template>-<pod>" created before their pod and kept
//     when pods restart or the set scales down (persistentVolumeClaimRetentionPolicy
//     whenDeleted=Delete makes the set own them, so they go with it).
//   - podManagementPolicy OrderedReady creates pods one at a time in ordinal order, each only
//     once every lower ordinal is Running and Ready, and removes surplus pods highest ordinal
//     first, one at a time; Parallel creates and removes them all at once.
//   - Failed pods are deleted and recreated under the same name.
//   - updateStrategy RollingUpdate replaces pods whose revision is not the update revision,
//     highest ordinal first, one at a time, only ordinals >= partition, waiting for each to be
//     Ready again; pods below the partition keep (and are recreated at) the current revision.
//     OnDelete recreates only pods someone deleted, at the update revision.
//   - Status is always recomputed: replicas, readyReplicas, availableReplicas,
//     currentReplicas, updatedReplicas, currentRevision, updateRevision, observedGeneration,
//     collisionCount; currentRevision becomes the update revision once every pod runs it.
// Events (component "statefulset-controller"): SuccessfulCreate, FailedCreate,
// SuccessfulDelete. Queue key: "namespace/name" of the StatefulSet.

#include "engine/controllers/controller.h"
#include "engine/controllers/event_recorder.h"
#include "engine/controllers/informer.h"
#include "engine/server/object_service.h"

namespace kd::controllers {

class StatefulSetController : public Controller {
 public:
  explicit StatefulSetController(server::ObjectService& objects, server::Clock clock = {});

  std::string name() const override { return "statefulset"; }
  void setup(ControllerManager& manager, WorkQueue& queue) override;
  Status sync(const std::string& key) override;

 private:
  struct Plan;
  Status act(const json& set, Plan& plan);
  Status createPod(const json& set, const json& podTemplate, const std::string& revision,
                   int ordinal);
  Status ensureClaims(const json& set, const std::string& podName);
  Status deletePod(const json& set, const json& pod);
  Status writeStatus(const json& set, const Plan& plan);
  std::chrono::system_clock::time_point now() const;

  server::ObjectService& objects_;
  server::Clock clock_;
  const api::KindInfo* sets_;
  const api::KindInfo* pods_;
  const api::KindInfo* claims_;
  const api::KindInfo* revisions_;
  Informer* setInformer_ = nullptr;
  Informer* podInformer_ = nullptr;
  Informer* revisionInformer_ = nullptr;
  WorkQueue* queue_ = nullptr;
  EventRecorder events_;
};

}  // namespace kd::controllers

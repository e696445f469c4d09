#pragma once
// The DaemonSet controller: one pod of the template on every eligible node, as Kubernetes'
// daemonset controller does.
//   - A node is eligible when the pod template's nodeSelector and required node affinity
//     match it and the pod (with the tolerations DaemonSets always get: not-ready and
//     unreachable NoExecute, disk/memory/pid-pressure and unschedulable NoSchedule, and
//     network-unavailable for hostNetwork pods) tolerates its NoSchedule/NoExecute taints; a
//     running daemon pod stays on a node that gained an untolerated NoSchedule taint.
//   - Each pod is pinned to its node with a required node affinity on metadata.name (the
//     scheduler then binds it), is labelled controller-revision-hash and
//     pod-template-generation, and is owned by the DaemonSet. Pods on nodes that are no longer
//     eligible, surplus pods and failed pods are deleted (failed ones come back).
//   - History: one ControllerRevision per template ("<ds>-<hash>", data = the template),
//     numbered like Kubernetes so `kubectl rollout history/undo ds` work; unused revisions
//     beyond revisionHistoryLimit are removed.
//   - RollingUpdate replaces pods of older revisions node by node within maxUnavailable (or,
//     with maxSurge, starts the new pod first and removes the old one once the new one is
//     available); OnDelete only replaces pods someone deleted.
//   - Status is always recomputed: desired/current/updated NumberScheduled, numberMisscheduled,
//     numberReady, numberAvailable, numberUnavailable, observedGeneration.
// Events (component "daemonset-controller"): SuccessfulCreate, FailedCreate, SuccessfulDelete,
// FailedDaemonPod. Queue key: "namespace/name" of the DaemonSet.

#include <chrono>

#include "engine/controllers/controller.h"
#include "engine/controllers/event_recorder.h"
#include "engine/controllers/expectations.h"
#include "engine/controllers/informer.h"
#include "engine/server/object_service.h"

namespace kd::controllers {

// Whether a DaemonSet pod of `podTemplate` (a PodTemplateSpec) should run on `node`, and
// whether one already there may keep running: an untolerated NoSchedule taint keeps new
// daemon pods off but, as in Kubernetes, does not evict the one already running.
struct DaemonPlacement {
  bool shouldRun = false;
  bool shouldContinueRunning = false;
};
DaemonPlacement daemonPlacement(const json& podTemplate, const json& node);

class DaemonSetController : public Controller {
 public:
  explicit DaemonSetController(server::ObjectService& objects, server::Clock clock = {});

  std::string name() const override { return "daemonset"; }
  void setup(ControllerManager& manager, WorkQueue& queue) override;
  Status sync(const std::string& key) override;

 private:
  struct NodePods;
  void enqueueOwner(const json& pod);
  void enqueueAll();
  Status manage(const json& ds, const std::string& hash, std::vector<NodePods>& nodes);
  Status createPod(const json& ds, const std::string& hash, const std::string& node);
  Status deletePod(const json& ds, const json& pod);
  Status writeStatus(const json& ds, const std::string& hash, const std::vector<NodePods>& nodes);
  std::chrono::system_clock::time_point now() const;

  server::ObjectService& objects_;
  server::Clock clock_;
  const api::KindInfo* daemonSets_;
  const api::KindInfo* pods_;
  const api::KindInfo* nodes_;
  const api::KindInfo* revisions_;
  Informer* dsInformer_ = nullptr;
  Informer* podInformer_ = nullptr;
  Informer* nodeInformer_ = nullptr;
  Informer* revisionInformer_ = nullptr;
  WorkQueue* queue_ = nullptr;
  ControllerExpectations expectations_;
  EventRecorder events_;
};

}  // namespace kd::controllers

#pragma once
// The node lifecycle controller: watches node heartbeats (Leases in kube-node-lease, and the
// Ready condition's lastHeartbeatTime) and acts when a node stops reporting, as Kubernetes'
// node lifecycle controller does.
//
//   - A node not heard from for `gracePeriod` (default 40 s, as Kubernetes) gets every kubelet
//     condition (Ready, MemoryPressure, DiskPressure, PIDPressure) set to Unknown with reason
//     NodeStatusUnknown, "Kubelet stopped posting node status.".
//   - Taints follow the Ready condition: node.kubernetes.io/unreachable:NoExecute while it is
//     Unknown, node.kubernetes.io/not-ready:NoExecute while it is False, neither when True.
//   - A pod on a node with a NoExecute taint it does not tolerate is deleted at once; one that
//     tolerates it for tolerationSeconds is deleted when that time has passed since the taint
//     was added (timeAdded). An EvictionByTaintManager / TaintManagerEviction event tells why.
//
// Every sync looks at the node again after monitorPeriod (or when the next eviction falls
// due), so a node that goes silent is noticed without any event. Time is injectable: tests
// drive the grace period and evictions with a fake clock and call sync(). Queue key: the
// node name.

#include <chrono>
#include <functional>
#include <optional>

#include "engine/controllers/controller.h"
#include "engine/controllers/event_recorder.h"
#include "engine/controllers/informer.h"
#include "engine/controllers/work_queue.h"
#include "engine/server/object_service.h"

namespace kd::controllers {

struct NodeLifecycleOptions {
  std::chrono::seconds gracePeriod{40};
  // How often every node is looked at again even when nothing changed (Kubernetes: 5 s).
  std::chrono::milliseconds monitorPeriod{5000};
  // Wall clock for heartbeats and taint times; empty: the ObjectService's clock.
  std::function<std::chrono::system_clock::time_point()> clock;
};

class NodeLifecycleController : public Controller {
 public:
  NodeLifecycleController(server::ObjectService& objects, NodeLifecycleOptions options = {});
  ~NodeLifecycleController() override;

  std::string name() const override { return "nodelifecycle"; }
  void setup(ControllerManager& manager, WorkQueue& queue) override;
  Status sync(const std::string& key) override;

 private:
  std::chrono::system_clock::time_point now() const;
  // The latest sign of life: the Lease's renewTime or the Ready condition's heartbeat.
  std::optional<std::chrono::system_clock::time_point> lastHeartbeat(const json& node) const;
  Status markUnknown(const json& node);
  Status reconcileTaints(const json& node);
  // Deletes pods that no longer tolerate the node's NoExecute taints; returns how long until
  // the next one is due, if any.
  std::optional<std::chrono::seconds> evictPods(const json& node);

  server::ObjectService& objects_;
  NodeLifecycleOptions options_;
  const api::KindInfo* nodes_;
  const api::KindInfo* pods_;
  const api::KindInfo* leases_;
  Informer* nodeInformer_ = nullptr;
  Informer* leaseInformer_ = nullptr;
  Informer* podInformer_ = nullptr;
  WorkQueue* queue_ = nullptr;
  EventRecorder recorder_;
};

}  // namespace kd::controllers

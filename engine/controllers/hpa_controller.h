#pragma once
// The HorizontalPodAutoscaler controller (autoscaling/v2), as Kubernetes' podautoscaler
// controller behaves for Resource and ContainerResource metrics (cpu, memory):
//
//   - The target is read and resized through its scale subresource (Deployment, ReplicaSet,
//     StatefulSet: spec.replicas, and status.selector naming its pods). A target that cannot
//     be read sets AbleToScale=False (FailedGetScale).
//   - Per metric, each pod's usage is the sum over its containers of the latest sample the
//     node agents reported (metrics.k8s.io). Utilization = usage / requests summed over the
//     pods that count; AverageValue = mean usage. desired = ceil(ratio * pods counted), or
//     unchanged when |1 - ratio| <= tolerance (0.1). Pending and not-yet-ready pods (cpu:
//     within the cpu initialization period, unready or sampled before becoming ready) are
//     left out, then counted as using nothing when scaling up; pods without a sample count
//     as using nothing on a scale-up and their request (or the target) on a scale-down; a
//     proposal that would flip direction is dropped. Several metrics: the largest proposal.
//   - minReplicas (default 1) / maxReplicas clamp it; a target at 0 replicas is left alone
//     (ScalingActive=False, ScalingDisabled). Without spec.behavior a scale-up is at most
//     max(2 * current, 4) and a scale-down takes the highest recommendation of the last
//     downscaleStabilization (300 s). With spec.behavior, scaleUp/scaleDown stabilization
//     windows, policies (Pods / Percent per periodSeconds) and selectPolicy (Max, Min,
//     Disabled) apply, unset fields taking Kubernetes' defaults.
//   - status: currentReplicas, desiredReplicas, currentMetrics, lastScaleTime and the
//     conditions AbleToScale, ScalingActive, ScalingLimited with Kubernetes' reasons and
//     messages; events SuccessfulRescale ("New size: 3; reason: cpu resource utilization
//     (percentage of request) above target"), FailedGetScale, FailedGetResourceMetric,
//     FailedComputeMetricsReplicas, FailedRescale, from component horizontal-pod-autoscaler.
//
// Every HPA is looked at again each syncPeriod (15 s, as
// --horizontal-pod-autoscaler-sync-period). Recommendations and recent scale events live in
// memory, as in Kubernetes: an engine restart forgets them. Time is injectable: tests drive
// stabilization windows and policies with a fake clock and call sync(). Queue key:
// "namespace/name" of the HPA.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/controllers/controller.h"
#include "engine/controllers/event_recorder.h"
#include "engine/controllers/informer.h"
#include "engine/controllers/work_queue.h"
#include "engine/server/metrics_store.h"
#include "engine/server/object_service.h"

namespace kd::controllers {

// Where the autoscaler reads a pod's latest usage sample, as metrics.k8s.io's PodMetrics
// serves it; nullopt when none is known. The control plane binds it to the MetricsStore the
// node agents feed (engine/server/metrics_store.h), so the controller depends only on the
// sample type, not on the API server that owns the store. Called from the worker thread.
using PodMetricsSource = std::function<std::optional<server::PodMetricsSample>(
    const std::string& ns, const std::string& name)>;

struct HpaControllerOptions {
  std::chrono::milliseconds syncPeriod{15000};
  double tolerance = 0.1;
  // Used when spec.behavior is absent, or sets no scaleDown.stabilizationWindowSeconds.
  std::chrono::seconds downscaleStabilization{300};
  std::chrono::seconds cpuInitializationPeriod{300};
  std::chrono::seconds initialReadinessDelay{30};
  // Wall clock for windows, policies and timestamps; empty: the ObjectService's clock.
  std::function<std::chrono::system_clock::time_point()> clock;
  PodMetricsSource metrics;  // empty: no pod has metrics
};

class HpaController : public Controller {
 public:
  explicit HpaController(server::ObjectService& objects, HpaControllerOptions options = {});

  std::string name() const override { return "horizontalpodautoscaler"; }
  void setup(ControllerManager& manager, WorkQueue& queue) override;
  Status sync(const std::string& key) override;

  // Blocks until the events recorded so far are written (for tests).
  void flushEvents() { recorder_.flush(); }

 private:
  using TimePoint = std::chrono::system_clock::time_point;
  struct Recommendation {
    int32_t replicas;
    TimePoint at;
  };
  struct ScaleEvent {
    int32_t change;  // replicas added (scale-up list) or removed (scale-down list)
    TimePoint at;
  };
  // What Kubernetes keeps per HPA key in memory between syncs.
  struct History {
    std::vector<Recommendation> recommendations;
    std::vector<ScaleEvent> scaleUps, scaleDowns;
  };
  struct Reconcile;  // one sync's working state (hpa_controller.cpp)
  struct Proposal;   // one metric's replica count

  TimePoint now() const;
  // Reads the target's scale; sets r.target.
  Result<json> targetScale(Reconcile& r);
  // Fills r.current and r.desired, the conditions and events; rescaling is left to sync.
  void reconcile(Reconcile& r);
  // The largest proposal over spec.metrics; nullopt (conditions and events recorded) when
  // every metric failed.
  std::optional<Proposal> computeFromMetrics(Reconcile& r);
  std::optional<Proposal> computeMetric(Reconcile& r, const json& spec, json& metricStatus);
  std::optional<Proposal> resourceMetric(Reconcile& r, const json& spec, json& metricStatus);
  std::optional<Proposal> metricFailed(Reconcile& r, const std::string& reason,
                                       const std::string& inner, const std::string& error);
  std::vector<json> podsMatching(const std::string& ns, const std::string& selector) const;
  // Stabilization, then clamping to min/max and the scale rate; sets AbleToScale and
  // ScalingLimited. Without spec.behavior, then with it.
  int32_t normalize(Reconcile& r, int32_t proposal);
  int32_t normalizeWithBehavior(Reconcile& r, int32_t proposal);
  // Writes r.desired to the target's scale; records the outcome.
  Status rescale(Reconcile& r);

  server::ObjectService& objects_;
  HpaControllerOptions options_;
  const api::KindInfo* hpas_;
  const api::KindInfo* pods_;
  Informer* podInformer_ = nullptr;
  WorkQueue* queue_ = nullptr;
  EventRecorder recorder_;
  std::mutex mu_;
  std::map<std::string, History> history_;  // by key; guarded by mu_
};

}  // namespace kd::controllers

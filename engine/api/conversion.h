#pragma once
// Versions served by conversion. Kubernetes serves some resources in more than one version of
// the same stored objects (autoscaling/v1 and autoscaling/v2 HorizontalPodAutoscalers, stored as
// v2) and converts on the way in and out. The kinds registry (kinds.h) lists such a version with
// `storageVersion` set and a VersionConverter; the API handler hands every request on it to the
// stored version and converts bodies to, and results from, the stored form. Stored versions have
// no converter and never pay for one.

#include "engine/api/status.h"

namespace kd::api {

// Converts one kind between a served version and its stored version. Both directions are pure
// functions of the JSON; what the served version cannot hold travels in annotations (as
// Kubernetes does), so stored → served → stored keeps everything. Thread-safe (stateless).
class VersionConverter {
 public:
  virtual ~VersionConverter() = default;
  // The served form of a stored object. Never fails: missing or malformed fields are left out.
  virtual json toServed(const json& stored) const = 0;
  // The stored form of a served object. Fails (400 BadRequest) only when `served` is not an
  // object; field types are the schema validation's job, malformed fields are left out.
  virtual Result<json> toStored(const json& served) const = 0;
};

// autoscaling/v1 HorizontalPodAutoscaler ⇄ autoscaling/v2, as kube-apiserver converts them
// (pkg/apis/autoscaling/v1/conversion.go): targetCPUUtilizationPercentage is the v2 Resource cpu
// metric with a Utilization target, currentCPUUtilizationPercentage its current utilization.
// What v1 cannot express is kept, JSON-encoded, in the annotations below: the other metrics and
// all current metrics in autoscaling/v1's MetricSpec/MetricStatus shape (the v2beta1-style
// targetAverageValue, metricName, ... fields), the behavior and the conditions in v2's shape.
// Reading v1 drops such annotations the stored object happens to carry before adding its own;
// writing v1 consumes and removes them. A v1 object with no metric at all gets Kubernetes' 80%
// cpu default (the v1 API's implicit default).
inline constexpr const char* kHpaMetricsAnnotation = "autoscaling.alpha.kubernetes.io/metrics";
inline constexpr const char* kHpaCurrentMetricsAnnotation =
    "autoscaling.alpha.kubernetes.io/current-metrics";
inline constexpr const char* kHpaBehaviorAnnotation = "autoscaling.alpha.kubernetes.io/behavior";
inline constexpr const char* kHpaConditionsAnnotation =
    "autoscaling.alpha.kubernetes.io/conditions";

const VersionConverter& hpaV1Converter();

}  // namespace kd::api

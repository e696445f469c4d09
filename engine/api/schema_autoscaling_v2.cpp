#include "engine/api/schema_builders.h"

namespace kd::api {
namespace {

const std::string kPkg = "autoscaling.v2.";

constexpr TypeMaker type{"autoscaling.v2"};

const std::vector<std::string> kMetricTypes = {"Object", "Pods", "Resource", "ContainerResource",
                                               "External"};

// The five metric sources and their statuses share fields; each row names the ones it has.
struct MetricShape {
  std::string prefix;  // "Object" → ObjectMetricSource / ObjectMetricStatus
  std::string what;
  bool identifier, resourceName, container, describedObject;
};

const std::vector<MetricShape>& metricShapes() {
  static const std::vector<MetricShape> shapes = {
      {"Object", "a metric of one other object, such as an ingress", true, false, false, true},
      {"Pods", "a metric averaged over the target's pods", true, false, false, false},
      {"Resource", "a resource such as cpu, as requested by the target's pods", false, true, false,
       false},
      {"ContainerResource", "a resource such as cpu of one container in each pod", false, true,
       true, false},
      {"External", "a metric from outside the cluster", true, false, false, false},
  };
  return shapes;
}

std::vector<FieldDef> metricFields(const MetricShape& s, bool status) {
  std::vector<FieldDef> f;
  if (s.describedObject) {
    f.push_back(field("describedObject", kPkg + "CrossVersionObjectReference",
                      "The object the metric describes.")
                    .req());
  }
  if (s.identifier) {
    f.push_back(field("metric", kPkg + "MetricIdentifier", "Which metric.").req());
  }
  if (s.resourceName) f.push_back(field("name", "string", "The resource, such as cpu.").req());
  if (s.container) f.push_back(field("container", "string", "The container to read.").req());
  if (status) {
    f.push_back(field("current", kPkg + "MetricValueStatus", "The value seen now.").req());
  } else {
    f.push_back(field("target", kPkg + "MetricTarget", "The value to hold.").req());
  }
  return f;
}

std::vector<TypeDef> metricTypes() {
  std::vector<TypeDef> out;
  for (const auto& s : metricShapes()) {
    out.push_back(
        type(s.prefix + "MetricSource", "Scales on " + s.what + ".", metricFields(s, false)));
    out.push_back(type(s.prefix + "MetricStatus", "The current value of " + s.what + ".",
                       metricFields(s, true)));
  }
  std::vector<FieldDef> spec = {
      field("type", "string", "Which of the source fields is set.").req().oneOf(kMetricTypes)};
  std::vector<FieldDef> status = spec;
  for (const auto& s : metricShapes()) {
    std::string name = s.prefix;
    name[0] = static_cast<char>(name[0] - 'A' + 'a');
    spec.push_back(
        field(name, kPkg + s.prefix + "MetricSource", "Set when type is " + s.prefix + "."));
    status.push_back(
        field(name, kPkg + s.prefix + "MetricStatus", "Set when type is " + s.prefix + "."));
  }
  out.push_back(type("MetricSpec", "One metric to scale on and its target.", spec));
  out.push_back(type("MetricStatus", "The current value of one metric.", status));
  return out;
}

std::vector<TypeDef> valueTypes() {
  return {
      type("MetricIdentifier", "Names a metric.",
           {field("name", "string", "The metric's name.").req(),
            field("selector", "meta.v1.LabelSelector", "Narrows the metric by its labels.")}),
      type("MetricTarget", "The value a metric should be held at.",
           {field("type", "string", "Utilization, Value or AverageValue.")
                .req()
                .oneOf({"Utilization", "Value", "AverageValue"}),
            field("value", "Quantity", "The total value, for type Value."),
            field("averageValue", "Quantity", "The value per pod, for type AverageValue."),
            field("averageUtilization", "integer",
                  "Percent of the pods' requests, for type Utilization.")}),
      type("MetricValueStatus", "An observed metric value.",
           {field("value", "Quantity", "The total value."),
            field("averageValue", "Quantity", "The value per pod."),
            field("averageUtilization", "integer", "Percent of the pods' requests.")}),
      type("CrossVersionObjectReference", "Points at an object of any API version.",
           {field("kind", "string", "The object's kind, such as Deployment.").req(),
            field("name", "string", "The object's name.").req(),
            field("apiVersion", "string", "The object's API version, such as apps/v1.")}),
  };
}

std::vector<TypeDef> behaviorTypes() {
  return {
      type("HorizontalPodAutoscalerBehavior", "How fast scaling may go in each direction.",
           {field("scaleUp", kPkg + "HPAScalingRules",
                  "Rules for growing; default allows doubling or +4 pods every 15 seconds."),
            field("scaleDown", kPkg + "HPAScalingRules",
                  "Rules for shrinking; default waits 300 seconds and then allows any step.")}),
      type(
          "HPAScalingRules", "Limits on scaling in one direction.",
          {field("stabilizationWindowSeconds", "integer",
                 "Seconds of past recommendations considered, to avoid flapping."),
           field("selectPolicy", "string",
                 "Which policy wins: Max, Min or Disabled (no scaling); default Max.")
               .oneOf({"Max", "Min", "Disabled"}),
           field("policies", "[]" + kPkg + "HPAScalingPolicy", "The allowed steps.").list("atomic"),
           field("tolerance", "Quantity",
                 "The relative metric change ignored before scaling; default 0.1.")}),
      type("HPAScalingPolicy", "One allowed scaling step per period.",
           {field("type", "string", "Pods (a count) or Percent.").req().oneOf({"Pods", "Percent"}),
            field("value", "integer", "The size of the step.").req(),
            field("periodSeconds", "integer", "The period the step applies to.").req()}),
  };
}

std::vector<TypeDef> rootTypes() {
  return {
      type("HorizontalPodAutoscaler", "Scales a workload's replicas to follow metrics.",
           objectHead("autoscaling/v2", "HorizontalPodAutoscaler",
                      {field("spec", kPkg + "HorizontalPodAutoscalerSpec", "The desired scaling."),
                       field("status", kPkg + "HorizontalPodAutoscalerStatus",
                             "The most recently observed state; written by the system.")})),
      type("HorizontalPodAutoscalerSpec", "The desired scaling of a workload.",
           {field("scaleTargetRef", kPkg + "CrossVersionObjectReference",
                  "The workload whose scale subresource is driven.")
                .req(),
            field("minReplicas", "integer", "The fewest replicas; default 1."),
            field("maxReplicas", "integer", "The most replicas.").req(),
            field("metrics", "[]" + kPkg + "MetricSpec",
                  "Metrics to follow; the largest proposal wins; default 80% cpu utilization.")
                .list("atomic"),
            field("behavior", kPkg + "HorizontalPodAutoscalerBehavior",
                  "Limits on how fast to scale.")}),
      type("HorizontalPodAutoscalerStatus", "The observed state of an autoscaler.",
           {field("observedGeneration", "int64", "The generation last acted on."),
            field("lastScaleTime", "Time", "When the replica count was last changed."),
            field("currentReplicas", "integer", "Replicas seen at the last check."),
            field("desiredReplicas", "integer", "Replicas the autoscaler wants.").req(),
            field("currentMetrics", "[]" + kPkg + "MetricStatus", "Metric values last seen.")
                .list("atomic"),
            field("conditions", "[]" + kPkg + "HorizontalPodAutoscalerCondition",
                  "The latest observations of the autoscaler's state.")
                .mergeKey("type")}),
      type("HorizontalPodAutoscalerCondition", "One observed aspect of an autoscaler's state.",
           conditionFields("AbleToScale, ScalingActive or ScalingLimited.")),
  };
}

}  // namespace

void addAutoscalingV2Types(std::vector<TypeDef>& out) {
  for (auto group : {rootTypes(), metricTypes(), valueTypes(), behaviorTypes()}) {
    out.insert(out.end(), group.begin(), group.end());
  }
}

}  // namespace kd::api

#include "engine/api/schema_builders.h"

namespace kd::api {

// autoscaling/v1 is served from the same stored autoscaling/v2 objects (conversion.h); these
// types describe the v1 form for validation, OpenAPI and protobuf decoding.
void addAutoscalingV1Types(std::vector<TypeDef>& out) {
  constexpr TypeMaker v1{"autoscaling.v1"};
  const std::string pkg = "autoscaling.v1.";
  std::vector<TypeDef> types = {
      v1("HorizontalPodAutoscaler", "Scales a workload's replicas to follow its cpu use.",
         objectHead("autoscaling/v1", "HorizontalPodAutoscaler",
                    {field("spec", pkg + "HorizontalPodAutoscalerSpec", "The desired scaling."),
                     field("status", pkg + "HorizontalPodAutoscalerStatus",
                           "The most recently observed state; written by the system.")})),
      v1("HorizontalPodAutoscalerSpec", "The desired scaling of a workload.",
         {field("scaleTargetRef", pkg + "CrossVersionObjectReference",
                "The workload whose scale subresource is driven.")
              .req(),
          field("minReplicas", "integer", "The fewest replicas; default 1."),
          field("maxReplicas", "integer", "The most replicas.").req(),
          field("targetCPUUtilizationPercentage", "integer",
                "Target average cpu use, in percent of the pods' requests; default 80.")}),
      v1("HorizontalPodAutoscalerStatus", "The observed state of an autoscaler.",
         {field("observedGeneration", "int64", "The generation last acted on."),
          field("lastScaleTime", "Time", "When the replica count was last changed."),
          field("currentReplicas", "integer", "Replicas seen at the last check.").req(),
          field("desiredReplicas", "integer", "Replicas the autoscaler wants.").req(),
          field("currentCPUUtilizationPercentage", "integer",
                "Average cpu use seen, in percent of the pods' requests.")}),
      v1("CrossVersionObjectReference", "Points at an object of any API version.",
         {field("kind", "string", "The object's kind, such as Deployment.").req(),
          field("name", "string", "The object's name.").req(),
          field("apiVersion", "string", "The object's API version, such as apps/v1.")}),
  };
  out.insert(out.end(), types.begin(), types.end());
}

}  // namespace kd::api

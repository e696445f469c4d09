#include "engine/api/schema_builders.h"

namespace kd::api {
namespace {

constexpr TypeMaker type{"apps.v1"};

// The four workload condition types differ only in their subject and one timestamp.
TypeDef condition(const std::string& name, const std::string& subject, bool withUpdateTime) {
  std::vector<FieldDef> extraTimes;
  if (withUpdateTime) {
    extraTimes.push_back(field("lastUpdateTime", "Time", "When the condition was last written."));
  }
  return type(name, "One observed aspect of a " + subject + "'s current state.",
              conditionFields("The kind of condition, such as Available or Progressing.",
                              std::move(extraTimes)));
}

FieldDef conditionsField(const std::string& conditionType, const std::string& subject) {
  return field("conditions", "[]apps.v1." + conditionType,
               "The latest observations of the " + subject + "'s state, one per type.")
      .mergeKey("type");
}

FieldDef selectorField(const std::string& what) {
  return field("selector", "meta.v1.LabelSelector",
               "A label query over pods that the " + what +
                   " manages; it must match the template's labels.")
      .req();
}

FieldDef templateField(const std::string& what) {
  return field("template", "core.v1.PodTemplateSpec", "The pod the " + what + " creates copies of.")
      .req();
}

FieldDef minReadyField() {
  return field("minReadySeconds", "integer",
               "Seconds a new pod must stay ready before it counts as available; default 0.");
}

FieldDef historyLimitField(const std::string& defaultValue) {
  return field("revisionHistoryLimit", "integer",
               "How many old revisions to keep for rollback; default " + defaultValue + ".");
}

std::vector<TypeDef> deploymentTypes() {
  return {
      type("Deployment", "Declarative updates for a replicated set of pods.",
           objectHead("apps/v1", "Deployment",
                      {field("spec", "apps.v1.DeploymentSpec", "The desired deployment."),
                       field("status", "apps.v1.DeploymentStatus",
                             "The most recently observed state; written by the system.")})),
      type(
          "DeploymentSpec", "The desired state of a deployment.",
          {field("replicas", "integer", "The number of pods wanted; default 1."),
           selectorField("deployment"), templateField("deployment"),
           field("strategy", "apps.v1.DeploymentStrategy", "How old pods are replaced by new ones.")
               .strategy("retainKeys"),
           minReadyField(), historyLimitField("10"),
           field("paused", "boolean", "When true, template changes do not roll out."),
           field("progressDeadlineSeconds", "integer",
                 "Seconds without progress after which the rollout is reported as failed; "
                 "default 600.")}),
      type("DeploymentStrategy", "How a deployment replaces its pods.",
           {field("type", "string", "Recreate or RollingUpdate; default RollingUpdate.")
                .oneOf({"Recreate", "RollingUpdate"}),
            field("rollingUpdate", "apps.v1.RollingUpdateDeployment",
                  "Tuning of a rolling update; only with type RollingUpdate.")}),
      type("RollingUpdateDeployment", "The pace of a rolling update of a deployment.",
           {field("maxUnavailable", "IntOrString",
                  "How many pods (number or percent) may be unavailable during the update; "
                  "default 25%."),
            field("maxSurge", "IntOrString",
                  "How many pods (number or percent) may exist above the wanted count during "
                  "the update; default 25%.")}),
      type("DeploymentStatus", "The observed state of a deployment.",
           {field("observedGeneration", "int64", "The generation the controller last acted on."),
            field("replicas", "integer", "Pods that belong to the deployment."),
            field("updatedReplicas", "integer", "Pods that run the current template."),
            field("readyReplicas", "integer", "Pods that are ready."),
            field("availableReplicas", "integer", "Pods ready for at least minReadySeconds."),
            field("unavailableReplicas", "integer", "Pods still missing to reach the goal."),
            field("terminatingReplicas", "integer", "Pods being shut down."),
            conditionsField("DeploymentCondition", "deployment"),
            field("collisionCount", "integer",
                  "A counter that varies the name of new replica sets when hashes collide.")}),
      condition("DeploymentCondition", "deployment", true),
  };
}

std::vector<TypeDef> replicaSetTypes() {
  return {
      type("ReplicaSet", "Keeps a given number of identical pods running.",
           objectHead("apps/v1", "ReplicaSet",
                      {field("spec", "apps.v1.ReplicaSetSpec", "The desired replica set."),
                       field("status", "apps.v1.ReplicaSetStatus",
                             "The most recently observed state; written by the system.")})),
      type("ReplicaSetSpec", "The desired state of a replica set.",
           {field("replicas", "integer", "The number of pods wanted; default 1."), minReadyField(),
            selectorField("replica set"), templateField("replica set")}),
      type("ReplicaSetStatus", "The observed state of a replica set.",
           {field("replicas", "integer", "Pods that currently match the selector.").req(),
            field("fullyLabeledReplicas", "integer", "Pods whose labels match the template's."),
            field("readyReplicas", "integer", "Pods that are ready."),
            field("availableReplicas", "integer", "Pods ready for at least minReadySeconds."),
            field("terminatingReplicas", "integer", "Pods being shut down."),
            field("observedGeneration", "int64", "The generation the controller last acted on."),
            conditionsField("ReplicaSetCondition", "replica set")}),
      condition("ReplicaSetCondition", "replica set", false),
  };
}

std::vector<TypeDef> daemonSetTypes() {
  return {
      type("DaemonSet", "Runs one copy of a pod on each eligible node.",
           objectHead("apps/v1", "DaemonSet",
                      {field("spec", "apps.v1.DaemonSetSpec", "The desired daemon set."),
                       field("status", "apps.v1.DaemonSetStatus",
                             "The most recently observed state; written by the system.")})),
      type("DaemonSetSpec", "The desired state of a daemon set.",
           {selectorField("daemon set"), templateField("daemon set"),
            field("updateStrategy", "apps.v1.DaemonSetUpdateStrategy",
                  "How pods are replaced when the template changes."),
            minReadyField(), historyLimitField("10")}),
      type("DaemonSetUpdateStrategy", "How a daemon set replaces its pods.",
           {field("type", "string", "RollingUpdate or OnDelete; default RollingUpdate.")
                .oneOf({"RollingUpdate", "OnDelete"}),
            field("rollingUpdate", "apps.v1.RollingUpdateDaemonSet",
                  "Tuning of a rolling update; only with type RollingUpdate.")}),
      type("RollingUpdateDaemonSet", "The pace of a rolling update of a daemon set.",
           {field("maxUnavailable", "IntOrString",
                  "How many nodes (number or percent) may lack a ready pod during the update; "
                  "default 1."),
            field("maxSurge", "IntOrString",
                  "How many nodes (number or percent) may run an old and a new pod at once; "
                  "default 0.")}),
      type("DaemonSetStatus", "The observed state of a daemon set.",
           {field("currentNumberScheduled", "integer", "Nodes that run a pod and should.").req(),
            field("numberMisscheduled", "integer", "Nodes that run a pod but should not.").req(),
            field("desiredNumberScheduled", "integer", "Nodes that should run a pod.").req(),
            field("numberReady", "integer", "Nodes whose pod is ready.").req(),
            field("observedGeneration", "int64", "The generation the controller last acted on."),
            field("updatedNumberScheduled", "integer", "Nodes that run the current template."),
            field("numberAvailable", "integer", "Nodes whose pod is available."),
            field("numberUnavailable", "integer", "Nodes whose pod is not yet available."),
            field("collisionCount", "integer",
                  "A counter that varies revision names when hashes collide."),
            conditionsField("DaemonSetCondition", "daemon set")}),
      condition("DaemonSetCondition", "daemon set", false),
  };
}

std::vector<TypeDef> statefulSetTypes() {
  return {
      type("StatefulSet", "Runs pods with stable names and storage, in order.",
           objectHead("apps/v1", "StatefulSet",
                      {field("spec", "apps.v1.StatefulSetSpec", "The desired stateful set."),
                       field("status", "apps.v1.StatefulSetStatus",
                             "The most recently observed state; written by the system.")})),
      type("StatefulSetSpec", "The desired state of a stateful set.",
           {field("replicas", "integer", "The number of pods wanted; default 1."),
            selectorField("stateful set"), templateField("stateful set"),
            field("volumeClaimTemplates", "[]core.v1.PersistentVolumeClaim",
                  "Claims each pod gets its own copy of, mounted by name.")
                .list("atomic"),
            field("serviceName", "string",
                  "The headless service that gives the pods their network identity."),
            field("podManagementPolicy", "string",
                  "OrderedReady starts and stops pods one by one, Parallel all at once; default "
                  "OrderedReady.")
                .oneOf({"OrderedReady", "Parallel"}),
            field("updateStrategy", "apps.v1.StatefulSetUpdateStrategy",
                  "How pods are replaced when the template changes."),
            historyLimitField("10"), minReadyField(),
            field("persistentVolumeClaimRetentionPolicy",
                  "apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicy",
                  "What happens to the claims when the set is deleted or scaled down."),
            field("ordinals", "apps.v1.StatefulSetOrdinals", "How pod ordinals are numbered.")}),
      type("StatefulSetUpdateStrategy", "How a stateful set replaces its pods.",
           {field("type", "string", "RollingUpdate or OnDelete; default RollingUpdate.")
                .oneOf({"RollingUpdate", "OnDelete"}),
            field("rollingUpdate", "apps.v1.RollingUpdateStatefulSetStrategy",
                  "Tuning of a rolling update; only with type RollingUpdate.")}),
      type("RollingUpdateStatefulSetStrategy", "The pace of a rolling update of a stateful set.",
           {field("partition", "integer",
                  "Only pods with an ordinal at or above this are updated; default 0."),
            field("maxUnavailable", "IntOrString",
                  "How many pods (number or percent) may be unavailable during the update; "
                  "default 1.")}),
      type("StatefulSetPersistentVolumeClaimRetentionPolicy",
           "Whether a stateful set's claims outlive its pods.",
           {field("whenDeleted", "string",
                  "Retain or Delete the claims when the set is deleted; default Retain.")
                .oneOf({"Retain", "Delete"}),
            field("whenScaled", "string",
                  "Retain or Delete the claims of pods removed by scaling down; default Retain.")
                .oneOf({"Retain", "Delete"})}),
      type("StatefulSetOrdinals", "The numbering of a stateful set's pods.",
           {field("start", "integer", "The ordinal of the first pod; default 0.")}),
      type("StatefulSetStatus", "The observed state of a stateful set.",
           {field("observedGeneration", "int64", "The generation the controller last acted on."),
            field("replicas", "integer", "Pods created by the controller.").req(),
            field("readyReplicas", "integer", "Pods that are ready."),
            field("currentReplicas", "integer", "Pods at currentRevision."),
            field("updatedReplicas", "integer", "Pods at updateRevision."),
            field("currentRevision", "string", "The revision of the pods before the update."),
            field("updateRevision", "string", "The revision pods are being updated to."),
            field("collisionCount", "integer",
                  "A counter that varies revision names when hashes collide."),
            conditionsField("StatefulSetCondition", "stateful set"),
            field("availableReplicas", "integer", "Pods ready for at least minReadySeconds.")}),
      condition("StatefulSetCondition", "stateful set", false),
  };
}

TypeDef controllerRevision() {
  return type(
      "ControllerRevision", "An immutable snapshot of a controller's pod template at one revision.",
      objectHead(
          "apps/v1", "ControllerRevision",
          {field("data", "RawJSON", "The saved state, in whatever form the owner chose."),
           field("revision", "int64", "The number of this revision; higher is newer.").req()}));
}

}  // namespace

void addAppsV1Types(std::vector<TypeDef>& out) {
  for (auto group : {deploymentTypes(), replicaSetTypes(), daemonSetTypes(), statefulSetTypes()}) {
    out.insert(out.end(), group.begin(), group.end());
  }
  out.push_back(controllerRevision());
}

}  // namespace kd::api

#include "engine/api/defaulting.h"

#include <functional>
#include <string_view>

namespace kd::api {
namespace {

// Every helper leaves a value of the wrong JSON type alone: validation reports it.

bool absent(const json& o, std::string_view k) {
  auto it = o.find(k);
  return it == o.end() || it->is_null();
}

void setDefault(json& o, std::string_view k, const json& v) {
  if (o.is_object() && absent(o, k)) o[std::string(k)] = v;
}

// Integer fields where Kubernetes treats 0 as "unset".
void setDefaultIfZero(json& o, std::string_view k, int v) {
  if (!o.is_object()) return;
  auto it = o.find(k);
  if (it == o.end() || it->is_null() || (it->is_number_integer() && it->get<int64_t>() == 0)) {
    o[std::string(k)] = v;
  }
}

// The object under k, created when absent and create is set; nullptr when it is not an object.
json* objectAt(json& o, std::string_view k, bool create = false) {
  if (!o.is_object()) return nullptr;
  if (absent(o, k)) {
    if (!create) return nullptr;
    o[std::string(k)] = json::object();
  }
  json& v = o[std::string(k)];
  return v.is_object() ? &v : nullptr;
}

void forEachObject(json& o, std::string_view k, const std::function<void(json&)>& f) {
  if (!o.is_object() || absent(o, k) || !o[std::string(k)].is_array()) return;
  for (auto& item : o[std::string(k)]) {
    if (item.is_object()) f(item);
  }
}

std::string stringAt(const json& o, std::string_view k) {
  if (!o.is_object()) return "";
  auto it = o.find(k);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

// The tag of an image reference as Kubernetes' image parser sees it: "latest" when neither a
// tag nor a digest is given.
std::string imageTag(const std::string& image) {
  if (image.empty()) return "";
  std::string ref = image;
  bool digest = false;
  if (auto at = ref.find('@'); at != std::string::npos) {
    ref.resize(at);
    digest = true;
  }
  auto slash = ref.rfind('/');
  auto colon = ref.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    return ref.substr(colon + 1);
  }
  return digest ? "" : "latest";
}

void defaultProbe(json& probe) {
  setDefaultIfZero(probe, "timeoutSeconds", 1);
  setDefaultIfZero(probe, "periodSeconds", 10);
  setDefaultIfZero(probe, "successThreshold", 1);
  setDefaultIfZero(probe, "failureThreshold", 3);
  if (json* http = objectAt(probe, "httpGet")) {
    setDefault(*http, "path", "/");
    setDefault(*http, "scheme", "HTTP");
  }
}

void defaultContainer(json& c) {
  if (absent(c, "imagePullPolicy")) {
    c["imagePullPolicy"] = imageTag(stringAt(c, "image")) == "latest" ? "Always" : "IfNotPresent";
  }
  setDefault(c, "terminationMessagePath", "/dev/termination-log");
  setDefault(c, "terminationMessagePolicy", "File");
  // The API server encodes ResourceRequirements as a struct: it is always there, `{}` at least.
  setDefault(c, "resources", json::object());
  forEachObject(c, "ports", [](json& p) { setDefault(p, "protocol", "TCP"); });
  forEachObject(c, "env", [](json& e) {
    if (json* from = objectAt(e, "valueFrom")) {
      if (json* field = objectAt(*from, "fieldRef")) setDefault(*field, "apiVersion", "v1");
    }
  });
  for (std::string_view p : {"livenessProbe", "readinessProbe", "startupProbe"}) {
    if (json* probe = objectAt(c, p)) defaultProbe(*probe);
  }
}

void defaultVolume(json& v) {
  bool hasSource = false;
  for (const auto& [k, x] : v.items()) hasSource = hasSource || (k != "name" && !x.is_null());
  if (!hasSource) v["emptyDir"] = json::object();
  for (std::string_view source : {"configMap", "secret", "projected", "downwardAPI"}) {
    if (json* s = objectAt(v, source)) setDefault(*s, "defaultMode", 420);
  }
  if (json* hostPath = objectAt(v, "hostPath")) setDefault(*hostPath, "type", "");
}

// Defaults every pod spec gets, in a Pod or in any pod template.
void defaultPodSpec(json& spec) {
  setDefault(spec, "restartPolicy", "Always");
  setDefault(spec, "dnsPolicy", "ClusterFirst");
  setDefault(spec, "schedulerName", "default-scheduler");
  setDefault(spec, "terminationGracePeriodSeconds", 30);
  setDefault(spec, "securityContext", json::object());
  forEachObject(spec, "containers", defaultContainer);
  forEachObject(spec, "initContainers", defaultContainer);
  forEachObject(spec, "volumes", defaultVolume);
}

// Kubernetes' DefaultTolerationSeconds admission: unless the pod says otherwise, it rides out
// its node being not-ready or unreachable for 300 s before the node lifecycle controller
// evicts it.
void defaultNoExecuteToleration(json& spec, const char* taintKey) {
  if (spec.contains("tolerations") && !spec["tolerations"].is_array()) return;
  json& tolerations = spec["tolerations"];
  if (tolerations.is_null()) tolerations = json::array();
  for (const auto& t : tolerations) {
    if (!t.is_object()) continue;
    const std::string key = t.value("key", ""), effect = t.value("effect", "");
    if ((key.empty() || key == taintKey) && (effect.empty() || effect == "NoExecute")) return;
  }
  tolerations.push_back({{"key", taintKey},
                         {"operator", "Exists"},
                         {"effect", "NoExecute"},
                         {"tolerationSeconds", 300}});
}

// Defaults only a Pod gets (the API server's pod defaulting and priority and
// DefaultTolerationSeconds admission), not the templates that create pods.
void defaultPod(json& pod) {
  json* spec = objectAt(pod, "spec", true);
  if (!spec) return;
  defaultPodSpec(*spec);
  setDefault(*spec, "enableServiceLinks", true);
  setDefault(*spec, "priority", 0);
  setDefault(*spec, "preemptionPolicy", "PreemptLowerPriority");
  defaultNoExecuteToleration(*spec, "node.kubernetes.io/not-ready");
  defaultNoExecuteToleration(*spec, "node.kubernetes.io/unreachable");
  // Limits without requests mean requests equal to the limits.
  auto requestsFromLimits = [](json& c) {
    json* resources = objectAt(c, "resources");
    json* limits = resources ? objectAt(*resources, "limits") : nullptr;
    if (!limits) return;
    json* requests = objectAt(*resources, "requests", true);
    if (!requests) return;
    for (const auto& [name, q] : limits->items()) setDefault(*requests, name, q);
  };
  forEachObject(*spec, "containers", requestsFromLimits);
  forEachObject(*spec, "initContainers", requestsFromLimits);
}

// A template's ObjectMeta reads back with `creationTimestamp: null`, as the API server's
// encoding of its zero time prints it.
void defaultTemplateMetadata(json& templ) {
  if (json* meta = objectAt(templ, "metadata", true);
      meta && !meta->contains("creationTimestamp")) {
    (*meta)["creationTimestamp"] = nullptr;
  }
}

void defaultTemplateAt(json& object, std::initializer_list<std::string_view> path) {
  json* at = &object;
  for (auto segment : path) {
    at = objectAt(*at, segment, true);
    if (!at) return;
  }
  defaultTemplateMetadata(*at);
  if (json* spec = objectAt(*at, "spec", true)) defaultPodSpec(*spec);
}

json* specOf(json& object) {
  return objectAt(object, "spec", true);
}

void defaultDeployment(json& d) {
  defaultTemplateAt(d, {"spec", "template"});
  json* spec = specOf(d);
  if (!spec) return;
  setDefault(*spec, "replicas", 1);
  json* strategy = objectAt(*spec, "strategy", true);
  if (strategy) {
    setDefault(*strategy, "type", "RollingUpdate");
    if (stringAt(*strategy, "type") == "RollingUpdate") {
      if (json* ru = objectAt(*strategy, "rollingUpdate", true)) {
        setDefault(*ru, "maxUnavailable", "25%");
        setDefault(*ru, "maxSurge", "25%");
      }
    }
  }
  setDefault(*spec, "revisionHistoryLimit", 10);
  setDefault(*spec, "progressDeadlineSeconds", 600);
}

void defaultReplicaSet(json& rs) {
  defaultTemplateAt(rs, {"spec", "template"});
  if (json* spec = specOf(rs)) setDefault(*spec, "replicas", 1);
}

void defaultStatefulSet(json& sts) {
  defaultTemplateAt(sts, {"spec", "template"});
  json* spec = specOf(sts);
  if (!spec) return;
  setDefault(*spec, "replicas", 1);
  setDefault(*spec, "podManagementPolicy", "OrderedReady");
  if (json* strategy = objectAt(*spec, "updateStrategy", true)) {
    setDefault(*strategy, "type", "RollingUpdate");
    if (stringAt(*strategy, "type") == "RollingUpdate") {
      if (json* ru = objectAt(*strategy, "rollingUpdate", true)) setDefault(*ru, "partition", 0);
    }
  }
  setDefault(*spec, "revisionHistoryLimit", 10);
  if (json* policy = objectAt(*spec, "persistentVolumeClaimRetentionPolicy", true)) {
    setDefault(*policy, "whenDeleted", "Retain");
    setDefault(*policy, "whenScaled", "Retain");
  }
}

void defaultDaemonSet(json& ds) {
  defaultTemplateAt(ds, {"spec", "template"});
  json* spec = specOf(ds);
  if (!spec) return;
  if (json* strategy = objectAt(*spec, "updateStrategy", true)) {
    setDefault(*strategy, "type", "RollingUpdate");
    if (stringAt(*strategy, "type") == "RollingUpdate") {
      if (json* ru = objectAt(*strategy, "rollingUpdate", true)) {
        setDefault(*ru, "maxUnavailable", 1);
        setDefault(*ru, "maxSurge", 0);
      }
    }
  }
  setDefault(*spec, "revisionHistoryLimit", 10);
}

void defaultJob(json& job) {
  defaultTemplateAt(job, {"spec", "template"});
  json* spec = specOf(job);
  if (!spec) return;
  // A job that gives neither is one pod run once; parallelism alone leaves completions unset.
  if (absent(*spec, "completions") && absent(*spec, "parallelism")) (*spec)["completions"] = 1;
  setDefault(*spec, "parallelism", 1);
  setDefault(*spec, "backoffLimit", absent(*spec, "backoffLimitPerIndex") ? 6 : INT32_MAX);
  setDefault(*spec, "completionMode", "NonIndexed");
  setDefault(*spec, "suspend", false);
  setDefault(*spec, "manualSelector", false);
  setDefault(*spec, "podReplacementPolicy",
             absent(*spec, "podFailurePolicy") ? "TerminatingOrFailed" : "Failed");
  // The job takes its template's labels when it has none of its own.
  json* tmplMeta = objectAt((*spec)["template"], "metadata");
  json* labels = tmplMeta ? objectAt(*tmplMeta, "labels") : nullptr;
  json* meta = labels ? objectAt(job, "metadata", true) : nullptr;
  if (meta) {
    json* own = objectAt(*meta, "labels");
    if (!own || own->empty()) (*meta)["labels"] = *labels;
  }
}

void defaultCronJob(json& cj) {
  defaultTemplateAt(cj, {"spec", "jobTemplate", "spec", "template"});
  json* spec = specOf(cj);
  if (!spec) return;
  if (json* jobTemplate = objectAt(*spec, "jobTemplate")) defaultTemplateMetadata(*jobTemplate);
  setDefault(*spec, "concurrencyPolicy", "Allow");
  setDefault(*spec, "suspend", false);
  setDefault(*spec, "successfulJobsHistoryLimit", 3);
  setDefault(*spec, "failedJobsHistoryLimit", 1);
}

void defaultService(json& svc) {
  json* spec = specOf(svc);
  if (!spec) return;
  setDefault(*spec, "type", "ClusterIP");
  setDefault(*spec, "sessionAffinity", "None");
  std::string type = stringAt(*spec, "type");
  forEachObject(*spec, "ports", [](json& p) {
    setDefault(p, "protocol", "TCP");
    auto it = p.find("targetPort");
    bool unset = it == p.end() || it->is_null() || (it->is_number_integer() && *it == 0) ||
                 (it->is_string() && it->get<std::string>().empty());
    if (unset && p.contains("port")) p["targetPort"] = p["port"];
  });
  if (type == "NodePort" || type == "LoadBalancer")
    setDefault(*spec, "externalTrafficPolicy", "Cluster");
  if (type != "ExternalName") setDefault(*spec, "internalTrafficPolicy", "Cluster");
  if (type == "LoadBalancer") setDefault(*spec, "allocateLoadBalancerNodePorts", true);
  if (stringAt(*spec, "sessionAffinity") == "ClientIP") {
    json* config = objectAt(*spec, "sessionAffinityConfig", true);
    json* clientIP = config ? objectAt(*config, "clientIP", true) : nullptr;
    if (clientIP) setDefault(*clientIP, "timeoutSeconds", 10800);
  }
}

void defaultNamespace(json& ns) {
  if (json* spec = objectAt(ns, "spec", true))
    setDefault(*spec, "finalizers", json::array({"kubernetes"}));
  if (json* status = objectAt(ns, "status", true)) setDefault(*status, "phase", "Active");
  json* meta = objectAt(ns, "metadata", true);
  std::string name = meta ? stringAt(*meta, "name") : "";
  if (meta && !name.empty()) {
    if (json* labels = objectAt(*meta, "labels", true)) {
      (*labels)["kubernetes.io/metadata.name"] = name;
    }
  }
}

void defaultSecret(json& secret) {
  setDefault(secret, "type", "Opaque");
}

void defaultPersistentVolumeClaim(json& pvc) {
  if (json* spec = specOf(pvc)) setDefault(*spec, "volumeMode", "Filesystem");
  if (json* status = objectAt(pvc, "status", true)) setDefault(*status, "phase", "Pending");
}

void defaultPersistentVolume(json& pv) {
  if (json* spec = specOf(pv)) {
    setDefault(*spec, "persistentVolumeReclaimPolicy", "Retain");
    setDefault(*spec, "volumeMode", "Filesystem");
  }
  if (json* status = objectAt(pv, "status", true)) setDefault(*status, "phase", "Pending");
}

void defaultHorizontalPodAutoscaler(json& hpa) {
  json* spec = specOf(hpa);
  if (!spec) return;
  setDefault(*spec, "minReplicas", 1);
  auto metrics = spec->find("metrics");
  if (metrics == spec->end() || metrics->is_null() || (metrics->is_array() && metrics->empty())) {
    (*spec)["metrics"] = json::array(
        {{{"type", "Resource"},
          {"resource",
           {{"name", "cpu"}, {"target", {{"type", "Utilization"}, {"averageUtilization", 80}}}}}}});
  }
}

void defaultNode(json& node) {
  // A node that reports capacity but no allocatable can allocate all of it.
  json* status = objectAt(node, "status");
  if (status && !absent(*status, "capacity"))
    setDefault(*status, "allocatable", (*status)["capacity"]);
}

void defaultEndpoints(json& ep) {
  forEachObject(ep, "subsets", [](json& subset) {
    forEachObject(subset, "ports", [](json& p) { setDefault(p, "protocol", "TCP"); });
  });
}

void defaultEndpointSlice(json& slice) {
  forEachObject(slice, "ports", [](json& p) { setDefault(p, "protocol", "TCP"); });
}

void defaultStorageClass(json& sc) {
  setDefault(sc, "reclaimPolicy", "Delete");
  setDefault(sc, "volumeBindingMode", "Immediate");
}

struct KindDefaulter {
  std::string_view group, kind;
  void (*apply)(json&);
};

const KindDefaulter kDefaulters[] = {
    {"", "Pod", defaultPod},
    {"", "Service", defaultService},
    {"", "Namespace", defaultNamespace},
    {"", "Secret", defaultSecret},
    {"", "PersistentVolumeClaim", defaultPersistentVolumeClaim},
    {"", "PersistentVolume", defaultPersistentVolume},
    {"", "Node", defaultNode},
    {"", "Endpoints", defaultEndpoints},
    {"apps", "Deployment", defaultDeployment},
    {"apps", "ReplicaSet", defaultReplicaSet},
    {"apps", "StatefulSet", defaultStatefulSet},
    {"apps", "DaemonSet", defaultDaemonSet},
    {"batch", "Job", defaultJob},
    {"batch", "CronJob", defaultCronJob},
    {"autoscaling", "HorizontalPodAutoscaler", defaultHorizontalPodAutoscaler},
    {"discovery.k8s.io", "EndpointSlice", defaultEndpointSlice},
    {"storage.k8s.io", "StorageClass", defaultStorageClass},
};

}  // namespace

void applyDefaults(const KindInfo& kind, json& object) {
  if (!object.is_object()) return;
  for (const auto& d : kDefaulters) {
    if (d.group == kind.group && d.kind == kind.kind) {
      d.apply(object);
      return;
    }
  }
}

}  // namespace kd::api

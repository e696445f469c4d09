#include "engine/api/kinds.h"

#include <algorithm>
#include <cctype>

#include "engine/api/conversion.h"

namespace kd::api {
namespace {

const std::vector<std::string> kAllVerbs = {"create", "delete", "deletecollection", "get",
                                            "list",   "patch",  "update",           "watch"};

KindInfo k(std::string group, std::string version, std::string kind, std::string resource,
           bool namespaced, std::vector<std::string> shortNames,
           std::vector<std::string> subresources, std::vector<std::string> categories = {}) {
  KindInfo info;
  info.group = std::move(group);
  info.version = std::move(version);
  info.kind = std::move(kind);
  info.resource = std::move(resource);
  info.singular = info.kind;
  std::transform(info.singular.begin(), info.singular.end(), info.singular.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  info.namespaced = namespaced;
  info.shortNames = std::move(shortNames);
  info.subresources = std::move(subresources);
  info.categories = std::move(categories);
  info.verbs = kAllVerbs;
  // "events.k8s.io" → "events": schema packages use the group's first label.
  std::string pkg = info.group.empty() ? "core" : info.group.substr(0, info.group.find('.'));
  info.schemaType = pkg + "." + info.version + "." + info.kind;
  return info;
}

// `info` served by conversion from `storageVersion`.
KindInfo converted(KindInfo info, std::string storageVersion, const VersionConverter& converter) {
  info.storageVersion = std::move(storageVersion);
  info.converter = &converter;
  return info;
}

std::vector<KindInfo> builtinKinds() {
  const bool ns = true, cluster = false;
  std::vector<KindInfo> v = {
      k("", "v1", "Namespace", "namespaces", cluster, {"ns"}, {"status", "finalize"}),
      k("", "v1", "Pod", "pods", ns, {"po"},
        {"status", "binding", "eviction", "log", "exec", "attach", "portforward",
         "ephemeralcontainers"},
        {"all"}),
      k("", "v1", "Service", "services", ns, {"svc"}, {"status", "proxy"}, {"all"}),
      k("", "v1", "Endpoints", "endpoints", ns, {"ep"}, {}),
      k("", "v1", "ConfigMap", "configmaps", ns, {"cm"}, {}),
      k("", "v1", "Secret", "secrets", ns, {}, {}),
      k("", "v1", "Node", "nodes", cluster, {"no"}, {"status", "proxy"}),
      k("", "v1", "Event", "events", ns, {"ev"}, {}),
      k("", "v1", "ServiceAccount", "serviceaccounts", ns, {"sa"}, {"token"}),
      k("", "v1", "PersistentVolume", "persistentvolumes", cluster, {"pv"}, {"status"}),
      k("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", ns, {"pvc"}, {"status"}),
      k("apps", "v1", "Deployment", "deployments", ns, {"deploy"}, {"status", "scale"}, {"all"}),
      k("apps", "v1", "ReplicaSet", "replicasets", ns, {"rs"}, {"status", "scale"}, {"all"}),
      k("apps", "v1", "DaemonSet", "daemonsets", ns, {"ds"}, {"status"}, {"all"}),
      k("apps", "v1", "StatefulSet", "statefulsets", ns, {"sts"}, {"status", "scale"}, {"all"}),
      k("apps", "v1", "ControllerRevision", "controllerrevisions", ns, {}, {}),
      k("batch", "v1", "Job", "jobs", ns, {}, {"status"}, {"all"}),
      k("batch", "v1", "CronJob", "cronjobs", ns, {"cj"}, {"status"}, {"all"}),
      k("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", ns, {"hpa"},
        {"status"}, {"all"}),
      converted(k("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", ns,
                  {"hpa"}, {"status"}, {"all"}),
                "v2", hpaV1Converter()),
      k("coordination.k8s.io", "v1", "Lease", "leases", ns, {}, {}),
      k("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", ns, {}, {}),
      k("events.k8s.io", "v1", "Event", "events", ns, {"ev"}, {}),
      k("storage.k8s.io", "v1", "StorageClass", "storageclasses", cluster, {"sc"}, {}),
  };
  return v;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

}  // namespace

bool KindInfo::hasSubresource(std::string_view name) const {
  return std::find(subresources.begin(), subresources.end(), name) != subresources.end();
}

KindsRegistry::KindsRegistry(std::vector<KindInfo> kinds) : served_(std::move(kinds)) {
  for (const auto& info : served_) {
    if (info.converter) {
      hasConverted_ = true;
    } else {
      kinds_.push_back(info);
    }
  }
}

const KindsRegistry& KindsRegistry::builtin() {
  static const KindsRegistry registry(builtinKinds());
  return registry;
}

const KindInfo* KindsRegistry::byResource(std::string_view group, std::string_view version,
                                          std::string_view resource) const {
  for (const auto& info : kinds_) {
    if (info.group == group && info.version == version && info.resource == resource) return &info;
  }
  if (!hasConverted_) return nullptr;
  for (const auto& info : served_) {
    if (info.converter && info.group == group && info.version == version &&
        info.resource == resource) {
      return &info;
    }
  }
  return nullptr;
}

const KindInfo& KindsRegistry::storageOf(const KindInfo& kind) const {
  if (!kind.converter) return kind;
  const KindInfo* stored = byResource(kind.group, kind.storageVersion, kind.resource);
  return stored ? *stored : kind;
}

const KindInfo* KindsRegistry::byKind(std::string_view apiVersion, std::string_view kind) const {
  for (const auto& info : kinds_) {
    if (info.kind == kind && info.apiVersion() == apiVersion) return &info;
  }
  if (!hasConverted_) return nullptr;
  for (const auto& info : served_) {
    if (info.converter && info.kind == kind && info.apiVersion() == apiVersion) return &info;
  }
  return nullptr;
}

const KindInfo* KindsRegistry::resolve(std::string_view name) const {
  std::string_view base = name, group;
  if (auto dot = name.find('.'); dot != std::string_view::npos) {
    base = name.substr(0, dot);
    group = name.substr(dot + 1);
  }
  // Core-group kinds win over same-named kinds elsewhere (events), as in kubectl.
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& info : kinds_) {
      if (!group.empty() && !iequals(info.group, group) &&
          !iequals(info.group.substr(0, info.group.find('.')), group)) {
        continue;
      }
      if (group.empty() && pass == 0 && !info.group.empty() && info.kind == "Event") continue;
      bool hit =
          iequals(info.resource, base) || iequals(info.singular, base) || iequals(info.kind, base);
      for (const auto& s : info.shortNames) hit = hit || iequals(s, base);
      if (hit) return &info;
    }
  }
  return nullptr;
}

std::vector<KindsRegistry::GroupVersions> KindsRegistry::groups() const {
  std::vector<GroupVersions> out;
  for (const auto& info : served_) {
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const GroupVersions& g) { return g.group == info.group; });
    if (it == out.end()) {
      out.push_back({info.group, {info.version}});
    } else if (std::find(it->versions.begin(), it->versions.end(), info.version) ==
               it->versions.end()) {
      it->versions.push_back(info.version);
    }
  }
  return out;
}

}  // namespace kd::api

#include "engine/server/discovery.h"

#include "engine/server/metrics_api.h"

namespace kd::server {
namespace {

using api::KindInfo;

// The verbs a subresource supports, and the kind it answers with.
struct SubresourceShape {
  std::vector<std::string> verbs;
  std::string group, version, kind;  // empty group+kind: the parent's kind
};

SubresourceShape shapeOf(const KindInfo& k, const std::string& sub) {
  if (sub == "status") return {{"get", "patch", "update"}, k.group, k.version, k.kind};
  if (sub == "scale") return {{"get", "patch", "update"}, "autoscaling", "v1", "Scale"};
  if (sub == "binding") return {{"create"}, "", "v1", "Binding"};
  if (sub == "eviction") return {{"create"}, "policy", "v1", "Eviction"};
  if (sub == "log") return {{"get"}, "", "v1", "Pod"};
  if (sub == "exec" || sub == "attach" || sub == "portforward") {
    return {{"create", "get"}, "", "v1", "PodExecOptions"};
  }
  if (sub == "proxy") return {{"create", "delete", "get", "patch", "update"}, "", "v1", k.kind};
  if (sub == "token") return {{"create"}, "authentication.k8s.io", "v1", "TokenRequest"};
  if (sub == "finalize") return {{"update"}, "", "v1", "Namespace"};
  return {{"get", "patch", "update"}, k.group, k.version, k.kind};
}

json stringArray(const std::vector<std::string>& v) {
  json a = json::array();
  for (const auto& s : v) a.push_back(s);
  return a;
}

}  // namespace

json apiVersions(const std::string& serverAddress) {
  return {{"kind", "APIVersions"},
          {"versions", {"v1"}},
          {"serverAddressByClientCIDRs",
           {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", serverAddress}}}}};
}

namespace {

// The APIGroup entries of one registry.
json groupsOf(const api::KindsRegistry& kinds) {
  json groups = json::array();
  for (const auto& g : kinds.groups()) {
    if (g.group.empty()) continue;
    json versions = json::array();
    for (const auto& v : g.versions) {
      versions.push_back({{"groupVersion", g.group + "/" + v}, {"version", v}});
    }
    groups.push_back(
        {{"name", g.group}, {"versions", versions}, {"preferredVersion", versions.front()}});
  }
  return groups;
}

}  // namespace

json apiGroupList(const api::KindsRegistry& kinds) {
  json groups = groupsOf(kinds);
  for (auto& g : groupsOf(metricsKinds())) groups.push_back(std::move(g));  // metrics
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
}

Result<json> apiResourceList(const api::KindsRegistry& kinds, std::string_view group,
                             std::string_view version) {
  json resources = json::array();
  const bool metrics = group == metricsKinds().all().front().group;  // metrics: its own registry
  for (const auto& k : (metrics ? metricsKinds() : kinds).served()) {
    if (k.group != group || k.version != version) continue;
    json r = {{"name", k.resource},
              {"singularName", k.singular},
              {"namespaced", k.namespaced},
              {"kind", k.kind},
              {"verbs", stringArray(k.verbs)}};
    if (!k.shortNames.empty()) r["shortNames"] = stringArray(k.shortNames);
    if (!k.categories.empty()) r["categories"] = stringArray(k.categories);
    resources.push_back(std::move(r));
    for (const auto& sub : k.subresources) {
      SubresourceShape shape = shapeOf(k, sub);
      json s = {{"name", k.resource + "/" + sub},
                {"singularName", ""},
                {"namespaced", k.namespaced},
                {"kind", shape.kind},
                {"verbs", stringArray(shape.verbs)}};
      if (shape.group != k.group || shape.version != k.version) {
        s["group"] = shape.group;
        s["version"] = shape.version;
      }
      resources.push_back(std::move(s));
    }
  }
  if (resources.empty()) {
    return Status::notFound("the server could not find the requested resource");
  }
  std::string gv =
      group.empty() ? std::string(version) : std::string(group) + "/" + std::string(version);
  return json{{"kind", "APIResourceList"},
              {"apiVersion", "v1"},
              {"groupVersion", gv},
              {"resources", resources}};
}

namespace {

// The APIGroupDiscovery items of one registry.
json discoveryItemsOf(const api::KindsRegistry& kinds, bool core) {
  json items = json::array();
  for (const auto& g : kinds.groups()) {
    if (g.group.empty() != core) continue;
    json versions = json::array();
    for (const auto& v : g.versions) {
      json resources = json::array();
      for (const auto& k : kinds.served()) {
        if (k.group != g.group || k.version != v) continue;
        json r = {{"resource", k.resource},
                  {"responseKind", {{"group", k.group}, {"version", k.version}, {"kind", k.kind}}},
                  {"scope", k.namespaced ? "Namespaced" : "Cluster"},
                  {"singularResource", k.singular},
                  {"verbs", stringArray(k.verbs)}};
        if (!k.shortNames.empty()) r["shortNames"] = stringArray(k.shortNames);
        if (!k.categories.empty()) r["categories"] = stringArray(k.categories);
        json subs = json::array();
        for (const auto& sub : k.subresources) {
          SubresourceShape shape = shapeOf(k, sub);
          subs.push_back(
              {{"subresource", sub},
               {"responseKind",
                {{"group", shape.group}, {"version", shape.version}, {"kind", shape.kind}}},
               {"verbs", stringArray(shape.verbs)}});
        }
        if (!subs.empty()) r["subresources"] = std::move(subs);
        resources.push_back(std::move(r));
      }
      versions.push_back({{"version", v}, {"resources", resources}, {"freshness", "Current"}});
    }
    items.push_back({{"metadata", {{"name", g.group}}}, {"versions", versions}});
  }
  return items;
}

}  // namespace

json aggregatedDiscovery(const api::KindsRegistry& kinds, bool core,
                         std::string_view discoveryVersion) {
  json items = discoveryItemsOf(kinds, core);
  for (auto& i : discoveryItemsOf(metricsKinds(), core)) items.push_back(std::move(i));  // metrics
  return {{"kind", "APIGroupDiscoveryList"},
          {"apiVersion", "apidiscovery.k8s.io/" + std::string(discoveryVersion)},
          {"metadata", json::object()},
          {"items", items}};
}

}  // namespace kd::server

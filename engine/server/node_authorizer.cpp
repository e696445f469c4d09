#include "engine/server/node_authorizer.h"

#include <algorithm>
#include <array>
#include <functional>
#include <string_view>

#include "engine/api/protobuf.h"
#include "engine/api/yaml_json.h"

namespace kd::server {
namespace {

// How a rule decides about the object a request names.
enum class Scope {
  Any,         // any object of the kind
  OwnNode,     // the Node named like the agent's node (by path, or by body on create)
  OwnLease,    // the Lease in kube-node-lease named like the node
  BoundPod,    // a Pod whose spec.nodeName is the node
  Referenced,  // a ConfigMap / Secret / PVC a bound Pod uses, or the PV of such a claim
  PodToken,    // a token of the account a bound Pod runs as, bound to that Pod (by body)
};

struct Rule {
  std::string_view group;
  std::string_view resource;
  std::string_view subresource;
  std::array<std::string_view, 5> verbs;
  Scope scope;
};

constexpr std::array kRules = {
    Rule{"", "nodes", "", {"get", "list", "watch"}, Scope::Any},
    Rule{"", "nodes", "", {"create", "update", "patch", "delete"}, Scope::OwnNode},
    Rule{"", "nodes", "status", {"get", "update", "patch"}, Scope::OwnNode},
    Rule{"", "pods", "", {"get", "list", "watch"}, Scope::Any},
    Rule{"", "pods", "", {"delete"}, Scope::BoundPod},
    Rule{"", "pods", "status", {"get", "update", "patch"}, Scope::BoundPod},
    Rule{"", "pods", "eviction", {"create"}, Scope::BoundPod},
    Rule{"", "services", "", {"get", "list", "watch"}, Scope::Any},
    Rule{"", "endpoints", "", {"get", "list", "watch"}, Scope::Any},
    Rule{"discovery.k8s.io", "endpointslices", "", {"get", "list", "watch"}, Scope::Any},
    Rule{"", "events", "", {"create", "update", "patch"}, Scope::Any},
    Rule{"events.k8s.io", "events", "", {"create", "update", "patch"}, Scope::Any},
    Rule{"coordination.k8s.io",
         "leases",
         "",
         {"get", "create", "update", "patch", "delete"},
         Scope::OwnLease},
    // list/watch only of one object, named by fieldSelector metadata.name=<name> (the agent's
    // ConfigMap/Secret cache watches each one its pods use, as the kubelet does).
    Rule{"", "configmaps", "", {"get", "list", "watch"}, Scope::Referenced},
    Rule{"", "secrets", "", {"get", "list", "watch"}, Scope::Referenced},
    Rule{"", "persistentvolumeclaims", "", {"get"}, Scope::Referenced},
    Rule{"", "persistentvolumes", "", {"get"}, Scope::Referenced},
    Rule{"", "serviceaccounts", "token", {"create"}, Scope::PodToken},
};

constexpr std::string_view kNodeLeaseNamespace = "kube-node-lease";

Status forbidden(const std::string& node, const RequestInfo& info, const std::string& reason) {
  return forbiddenRequest("system:node:" + node, info, reason);
}

const api::KindInfo& coreKind(const ObjectService& objects, std::string_view resource) {
  return *objects.kinds().byResource("", "v1", resource);
}

// The object's name: the path's, or the body's metadata.name on create.
std::string targetName(const RequestInfo& info, const HttpRequest& request) {
  if (!info.name.empty()) return info.name;
  auto body = json::parse(request.body, nullptr, false);
  if (!body.is_object()) return "";
  return body.value("metadata", json::object()).value("name", "");
}

std::vector<json> podsBoundTo(const ObjectService& objects, const std::string& node,
                              std::string_view ns) {
  std::vector<json> pods;
  auto list = objects.list(coreKind(objects, "pods"), ns, {"", "spec.nodeName=" + node, 0, ""});
  if (!list.ok()) return pods;
  for (const auto& item : list->items) pods.push_back(item->parse());
  return pods;
}

// Calls `use(resource, name)` for every ConfigMap, Secret and PVC a pod spec refers to.
void forEachReference(const json& spec,
                      const std::function<void(std::string_view, const std::string&)>& use) {
  for (const auto& secret : spec.value("imagePullSecrets", json::array())) {
    use("secrets", secret.value("name", ""));
  }
  for (const auto& v : spec.value("volumes", json::array())) {
    if (v.contains("secret")) use("secrets", v["secret"].value("secretName", ""));
    if (v.contains("configMap")) use("configmaps", v["configMap"].value("name", ""));
    if (v.contains("persistentVolumeClaim")) {
      use("persistentvolumeclaims", v["persistentVolumeClaim"].value("claimName", ""));
    }
    for (const auto& source :
         v.value("projected", json::object()).value("sources", json::array())) {
      if (source.contains("secret")) use("secrets", source["secret"].value("name", ""));
      if (source.contains("configMap")) use("configmaps", source["configMap"].value("name", ""));
    }
  }
  for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
    for (const auto& c : spec.value(list, json::array())) {
      for (const auto& from : c.value("envFrom", json::array())) {
        if (from.contains("secretRef")) use("secrets", from["secretRef"].value("name", ""));
        if (from.contains("configMapRef")) {
          use("configmaps", from["configMapRef"].value("name", ""));
        }
      }
      for (const auto& env : c.value("env", json::array())) {
        const json valueFrom = env.value("valueFrom", json::object());
        if (valueFrom.contains("secretKeyRef")) {
          use("secrets", valueFrom["secretKeyRef"].value("name", ""));
        }
        if (valueFrom.contains("configMapKeyRef")) {
          use("configmaps", valueFrom["configMapKeyRef"].value("name", ""));
        }
      }
    }
  }
}

bool referencedByBoundPod(const ObjectService& objects, const std::string& node,
                          const RequestInfo& info) {
  const bool volume = info.resource == "persistentvolumes";
  bool found = false;
  for (const auto& pod : podsBoundTo(objects, node, volume ? "" : info.namespaceName)) {
    const std::string ns = pod.value("metadata", json::object()).value("namespace", "");
    forEachReference(pod.value("spec", json::object()), [&](std::string_view resource,
                                                            const std::string& name) {
      if (found) return;
      if (!volume) {
        found = resource == info.resource && name == info.name;
        return;
      }
      if (resource != "persistentvolumeclaims") return;
      auto claim = objects.get(coreKind(objects, resource), ns, name);
      found = claim.ok() &&
              (*claim)->parse().value("spec", json::object()).value("volumeName", "") == info.name;
    });
    if (found) return true;
  }
  return false;
}

// NodeRestriction's rule for TokenRequests: the token must be bound to a pod bound to this
// node that runs as the account asked for.
Status checkPodToken(const std::string& node, const RequestInfo& info, const HttpRequest& request,
                     const ObjectService& objects) {
  auto body = api::isKubernetesProtobuf(request.contentType)
                  ? api::decodeKubernetesProtobuf(request.body, objects.kinds(), objects.schemas())
                  : api::parseDocument(request.body);
  const json ref = body.ok() && body->is_object()
                       ? body->value("spec", json::object()).value("boundObjectRef", json())
                       : json();
  if (!ref.is_object() || ref.value("kind", "") != "Pod") {
    return forbidden(node, info, "node requested token not bound to a pod");
  }
  auto pod = objects.get(coreKind(objects, "pods"), info.namespaceName, ref.value("name", ""));
  if (!pod.ok()) return forbidden(node, info, "node requested token bound to a missing pod");
  const json spec = (*pod)->parse().value("spec", json::object());
  if (spec.value("nodeName", "") != node) {
    return forbidden(node, info,
                     "node requested token bound to a pod scheduled on a different node");
  }
  if (spec.value("serviceAccountName", "") != info.name) {
    return forbidden(node, info,
                     "no relationship found between node '" + node + "' and this object");
  }
  return {};
}

Status checkScope(Scope scope, const std::string& node, const RequestInfo& info,
                  const HttpRequest& request, const ObjectService& objects) {
  switch (scope) {
    case Scope::Any:
      return {};
    case Scope::OwnNode: {
      if (targetName(info, request) == node) return {};
      return forbidden(
          node, info, "node '" + node + "' cannot modify node '" + targetName(info, request) + "'");
    }
    case Scope::OwnLease:
      if (info.namespaceName == kNodeLeaseNamespace && targetName(info, request) == node) {
        return {};
      }
      return forbidden(node, info, "can only access node lease with the same name as the node");
    case Scope::BoundPod: {
      auto pod = objects.get(coreKind(objects, "pods"), info.namespaceName, info.name);
      if (!pod.ok()) return pod.status();  // 404 stays 404, as for any user
      const std::string boundTo =
          (*pod)->parse().value("spec", json::object()).value("nodeName", "");
      if (boundTo == node) return {};
      return forbidden(node, info, "node '" + node + "' can only modify pods bound to it");
    }
    case Scope::PodToken:
      return checkPodToken(node, info, request, objects);
    case Scope::Referenced: {
      // kube-apiserver takes a list's or watch's name from fieldSelector metadata.name=<name>.
      RequestInfo named = info;
      if (named.name.empty() && (info.verb == "list" || info.verb == "watch")) {
        const std::string selector = info.param("fieldSelector");
        for (std::string_view prefix : {"metadata.name==", "metadata.name="}) {
          if (selector.starts_with(prefix) && selector.find(',') == std::string::npos) {
            named.name = selector.substr(prefix.size());
            break;
          }
        }
      }
      if (!named.name.empty() && referencedByBoundPod(objects, node, named)) return {};
      return forbidden(node, info,
                       "no relationship found between node '" + node + "' and this object");
    }
  }
  return forbidden(node, info, "");
}

Status authorizeNonResource(const std::string& node, const RequestInfo& info) {
  if (isDiscoveryRequest(info)) return {};
  const std::string own = "/kubedesk/v1/nodes/" + node + "/";
  if (info.path.starts_with(own) && info.path.substr(own.size()) == "metrics") return {};
  return Status::forbidden("forbidden: User \"system:node:" + node + "\" cannot " + info.verb +
                           " path \"" + info.path + "\"");
}

}  // namespace

// kube-apiserver: `secrets "s" is forbidden: User "system:node:n" cannot get resource
// "secrets" in API group "" in the namespace "default": <reason>`.
Status forbiddenRequest(const std::string& user, const RequestInfo& info,
                        const std::string& reason) {
  const std::string resource =
      info.subresource.empty() ? info.resource : info.resource + "/" + info.subresource;
  std::string message = info.resource + (info.name.empty() ? "" : " \"" + info.name + "\"") +
                        " is forbidden: User \"" + user + "\" cannot " + info.verb +
                        " resource \"" + resource + "\" in API group \"" + info.group + "\"";
  message += info.namespaceName.empty() ? " at the cluster scope"
                                        : " in the namespace \"" + info.namespaceName + "\"";
  if (!reason.empty()) message += ": " + reason;
  return Status::forbidden(message).withDetails(info.name, info.group, info.resource);
}

bool isDiscoveryRequest(const RequestInfo& info) {
  if (info.isResourceRequest || info.verb != "get") return false;
  for (std::string_view prefix :
       {"/api", "/openapi", "/version", "/healthz", "/livez", "/readyz"}) {
    if (info.path.starts_with(prefix)) return true;  // "/api" also covers "/apis"
  }
  return false;
}

std::optional<std::string> nodeOfUser(const UserInfo& user) {
  constexpr std::string_view kPrefix = "system:node:";
  if (!user.name.starts_with(kPrefix) ||
      std::find(user.groups.begin(), user.groups.end(), "system:nodes") == user.groups.end()) {
    return std::nullopt;
  }
  return user.name.substr(kPrefix.size());
}

Status authorizeNodeRequest(const std::string& node, const RequestInfo& info,
                            const HttpRequest& request, const ObjectService& objects) {
  if (!info.isResourceRequest) return authorizeNonResource(node, info);
  for (const Rule& rule : kRules) {
    if (rule.group != info.group || rule.resource != info.resource ||
        rule.subresource != info.subresource) {
      continue;
    }
    if (std::find(rule.verbs.begin(), rule.verbs.end(), info.verb) == rule.verbs.end()) continue;
    return checkScope(rule.scope, node, info, request, objects);
  }
  return forbidden(node, info, "");
}

}  // namespace kd::server

#include "engine/server/kind_strategies.h"

#include <arpa/inet.h>

#include "engine/api/base64.h"
#include "engine/server/object_service.h"
#include "engine/server/token_volume.h"

#include <random>
#include <set>

namespace kd::server {
namespace {

constexpr uint32_t kServiceCidrBase = (10u << 24) | (96u << 16);  // 10.96.0.0/12
constexpr uint32_t kServiceCidrSize = 1u << 20;
constexpr int kNodePortMin = 30000, kNodePortMax = 32767;

std::string ipString(uint32_t ip) {
  in_addr a{htonl(ip)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

std::optional<uint32_t> parseIp(const std::string& s) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

Status invalidField(const std::string& kind, const std::string& name, const std::string& field,
                    const std::string& value, const std::string& why) {
  std::string message = "Invalid value: " + value + ": " + why;
  return Status::invalid(kind + " \"" + name + "\" is invalid: " + field + ": " + message,
                         {{"FieldValueInvalid", message, field}})
      .withDetails(name, "", kind == "Service" ? "services" : "");
}

void mergeStringData(json& secret) {
  if (!secret.contains("stringData")) return;
  const json stringData = secret["stringData"];
  secret.erase("stringData");
  if (!stringData.is_object()) return;
  if (!secret.contains("data") || !secret["data"].is_object()) secret["data"] = json::object();
  for (const auto& [k, v] : stringData.items()) {
    if (v.is_string()) secret["data"][k] = api::base64Encode(v.get<std::string>());
  }
}

void generateJobSelector(json& job) {
  json& spec = job["spec"];
  if (!spec.is_object() || spec.value("manualSelector", false)) return;
  const json& meta = job["metadata"];
  const std::string uid = meta.value("uid", "");
  const std::string name = meta.value("name", "");
  json& labels = spec["template"]["metadata"]["labels"];
  if (!labels.is_object()) labels = json::object();
  labels["batch.kubernetes.io/controller-uid"] = uid;
  labels["batch.kubernetes.io/job-name"] = name;
  labels["controller-uid"] = uid;
  labels["job-name"] = name;
  spec["selector"] = {{"matchLabels", {{"batch.kubernetes.io/controller-uid", uid}}}};
}

bool needsNodePorts(const std::string& type) {
  return type == "NodePort" || type == "LoadBalancer";
}

// What kube-apiserver's dropTypeDependentFields does on an update: fields that only another
// type of Service uses go when the type changes and the update left them as they were, so
// `kubectl patch -p '{"spec":{"type":"ClusterIP"}}'` on a LoadBalancer is not refused for
// the node ports it still carries.
void dropTypeDependentFields(json& spec, const json& oldSpec) {
  const std::string type = spec.value("type", "ClusterIP");
  const std::string oldType = oldSpec.value("type", "ClusterIP");
  auto unchanged = [&](const char* field) {
    return spec.contains(field) && oldSpec.contains(field) && spec[field] == oldSpec[field];
  };
  if (needsNodePorts(oldType) && !needsNodePorts(type)) {
    if (auto ports = spec.find("ports"); ports != spec.end() && ports->is_array()) {
      for (json& p : *ports) {
        if (!p.is_object() || !p.contains("nodePort")) continue;
        for (const json& op : oldSpec.value("ports", json::array())) {
          if (op.is_object() && op.value("port", -1) == p.value("port", -2) &&
              op.value("nodePort", json()) == p["nodePort"]) {
            p.erase("nodePort");
            break;
          }
        }
      }
    }
    if (unchanged("externalTrafficPolicy")) spec.erase("externalTrafficPolicy");
    if (unchanged("healthCheckNodePort")) spec.erase("healthCheckNodePort");
  }
  if (oldType == "LoadBalancer" && type != "LoadBalancer") {
    if (unchanged("allocateLoadBalancerNodePorts")) spec.erase("allocateLoadBalancerNodePorts");
    if (unchanged("loadBalancerClass")) spec.erase("loadBalancerClass");
  }
}

}  // namespace

std::string KindStrategies::qosClassOf(const json& pod) {
  bool anySet = false, guaranteed = true;
  const json& spec = pod.value("spec", json::object());
  for (const char* list : {"containers", "initContainers"}) {
    const json containers = spec.value(list, json::array());
    if (!containers.is_array()) continue;
    for (const auto& c : containers) {
      if (!c.is_object()) continue;
      const json res = c.value("resources", json::object());
      const json limits = res.value("limits", json::object());
      const json requests = res.value("requests", json::object());
      if (!limits.empty() || !requests.empty()) anySet = true;
      for (const char* r : {"cpu", "memory"}) {
        if (!limits.contains(r) || (requests.contains(r) && requests[r] != limits[r])) {
          guaranteed = false;
        }
      }
    }
  }
  if (!anySet) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

Status KindStrategies::prepareForCreate(const api::KindInfo& kind, json& object) {
  if (kind.resource == "secrets") mergeStringData(object);
  if (kind.resource == "jobs" && kind.group == "batch") generateJobSelector(object);
  if (kind.resource == "pods" && kind.group.empty()) {
    object["status"] = {{"phase", "Pending"}, {"qosClass", qosClassOf(object)}};
    return admitServiceAccount(object);
  }
  if (kind.resource == "services" && kind.group.empty()) {
    return allocateServiceAddresses(object, nullptr);
  }
  if (kind.resource == "persistentvolumeclaims" && kind.group.empty()) assignDefaultClass(object);
  return {};
}

// The ServiceAccount admission plugin: the pod runs as `default` unless it names an account,
// the account must exist, a pod without imagePullSecrets gets the account's, and the token
// volume is mounted unless automount is off (token_volume.h). A missing `default` account is
// let through: the serviceaccount controller creates it just after its namespace, and a pod
// sent in between should not fail for that (Kubernetes rejects it).
Status KindStrategies::admitServiceAccount(json& pod) {
  json& spec = pod["spec"];
  if (!spec.is_object()) return {};  // validation reports it
  const json& meta = pod["metadata"];
  const json annotations = meta.value("annotations", json::object());
  if (annotations.is_object() && annotations.contains("kubernetes.io/config.mirror")) return {};
  std::string name = spec.value("serviceAccountName", "");
  if (name.empty()) name = spec.value("serviceAccount", "");
  if (name.empty()) name = "default";
  spec["serviceAccountName"] = name;
  spec["serviceAccount"] = name;
  const std::string ns = meta.value("namespace", "");
  static const api::KindInfo& accounts =
      *api::KindsRegistry::builtin().byResource("", "v1", "serviceaccounts");
  auto account = store_.get(ObjectService::keyFor(accounts, ns, name));
  if (!account.ok()) {
    if (account.status().code() != 404) return account.status();
    if (name == "default") {
      mountServiceAccountToken(pod, nullptr);
      return {};
    }
    return Status::forbidden("pods \"" + meta.value("name", "") +
                             "\" is forbidden: error looking up service account " + ns + "/" +
                             name + ": serviceaccount \"" + name + "\" not found")
        .withDetails(meta.value("name", ""), "", "pods");
  }
  const json accountObject = (*account)->parse();
  mountServiceAccountToken(pod, &accountObject);
  const json secrets = accountObject.value("imagePullSecrets", json::array());
  const bool podHasSecrets = spec.contains("imagePullSecrets") &&
                             spec["imagePullSecrets"].is_array() &&
                             !spec["imagePullSecrets"].empty();
  if (!podHasSecrets && secrets.is_array() && !secrets.empty()) spec["imagePullSecrets"] = secrets;
  return {};
}

// The DefaultStorageClass admission plugin: a claim that names no class (the field absent;
// "" asks for no class) gets the class annotated as default.
void KindStrategies::assignDefaultClass(json& claim) {
  if (!claim.contains("spec") || !claim["spec"].is_object()) return;
  if (claim["spec"].contains("storageClassName")) return;
  static const api::KindInfo& classes =
      *api::KindsRegistry::builtin().byResource("storage.k8s.io", "v1", "storageclasses");
  for (const auto& item : store_.list(ObjectService::prefixFor(classes, "")).items) {
    const json sc = item->parse();
    const json annotations =
        sc.value("metadata", json::object()).value("annotations", json::object());
    if (annotations.value("storageclass.kubernetes.io/is-default-class", "") == "true") {
      claim["spec"]["storageClassName"] = sc["metadata"].value("name", "");
      return;
    }
  }
}

Status KindStrategies::prepareForUpdate(const api::KindInfo& kind, json& object, const json& old) {
  if (kind.resource == "secrets") mergeStringData(object);
  if (kind.resource == "services" && kind.group.empty()) {
    return allocateServiceAddresses(object, &old);
  }
  return {};
}

Status KindStrategies::allocateServiceAddresses(json& service, const json* old) {
  if (!service.contains("spec") || !service["spec"].is_object()) return {};
  json& spec = service["spec"];
  const std::string type = spec.value("type", "ClusterIP");
  const std::string name = service["metadata"].value("name", "");
  const json oldSpec = old ? old->value("spec", json::object()) : json::object();
  if (old) dropTypeDependentFields(spec, oldSpec);

  std::lock_guard lock(allocationMu_);
  std::set<uint32_t> usedIps;
  std::set<int> usedPorts;
  const std::string self = old ? old->value("metadata", json::object()).value("uid", "") : "";
  for (const auto& item : store_.list("core/services/").items) {
    json other = item->parse();
    if (!self.empty() && other["metadata"].value("uid", "") == self) continue;
    const json& s = other.value("spec", json::object());
    if (auto ip = parseIp(s.value("clusterIP", ""))) usedIps.insert(*ip);
    for (const auto& p : s.value("ports", json::array())) {
      if (p.is_object() && p.contains("nodePort") && p["nodePort"].is_number_integer()) {
        usedPorts.insert(p["nodePort"].get<int>());
      }
    }
  }

  if (type == "ExternalName") {
    spec.erase("clusterIP");
    spec.erase("clusterIPs");
  } else {
    std::string ip = spec.value("clusterIP", "");
    if (ip.empty() && oldSpec.contains("clusterIP")) ip = oldSpec.value("clusterIP", "");
    if (ip.empty()) {
      static thread_local std::mt19937 rng{std::random_device{}()};
      // .0 is the network, .1 the `kubernetes` service, .10 cluster DNS by convention.
      for (int attempt = 0; attempt < 64 && ip.empty(); ++attempt) {
        uint32_t candidate = kServiceCidrBase + 11 + rng() % (kServiceCidrSize - 12);
        if (!usedIps.contains(candidate)) ip = ipString(candidate);
      }
      if (ip.empty()) return Status::internal("no free ClusterIP left in 10.96.0.0/12");
    } else if (ip != "None") {
      auto parsed = parseIp(ip);
      if (!parsed || *parsed < kServiceCidrBase || *parsed >= kServiceCidrBase + kServiceCidrSize) {
        return invalidField("Service", name, "spec.clusterIPs[0]", "\"" + ip + "\"",
                            "provided IP is not in the valid range. The range of valid IPs is "
                            "10.96.0.0/12");
      }
      if (usedIps.contains(*parsed)) {
        return invalidField("Service", name, "spec.clusterIPs[0]", "\"" + ip + "\"",
                            "failed to allocate IP " + ip + ": provided IP is already allocated");
      }
    }
    spec["clusterIP"] = ip;
    spec["clusterIPs"] = {ip};
    if (ip != "None" || !spec.contains("ipFamilies")) {
      spec["ipFamilies"] = {"IPv4"};
      spec["ipFamilyPolicy"] = "SingleStack";
    }
  }

  if (!needsNodePorts(type)) return {};
  if (!spec.contains("ports") || !spec["ports"].is_array()) return {};
  // A LoadBalancer with allocateLoadBalancerNodePorts: false gets only the node ports it names.
  const bool allocate = type == "NodePort" || spec.value("allocateLoadBalancerNodePorts", true);
  const json oldPorts = oldSpec.value("ports", json::array());
  for (size_t i = 0; i < spec["ports"].size(); ++i) {
    json& p = spec["ports"][i];
    if (!p.is_object()) continue;
    if (!p.contains("nodePort") || p["nodePort"].is_null()) {
      for (const auto& op : oldPorts) {
        if (op.is_object() && op.value("port", -1) == p.value("port", -2) &&
            op.contains("nodePort")) {
          p["nodePort"] = op["nodePort"];
        }
      }
    }
    if (p.contains("nodePort") && p["nodePort"].is_number_integer()) {
      int np = p["nodePort"].get<int>();
      if (usedPorts.contains(np)) {
        return invalidField("Service", name, "spec.ports[" + std::to_string(i) + "].nodePort",
                            std::to_string(np), "provided port is already allocated");
      }
      usedPorts.insert(np);
      continue;
    }
    if (!allocate) continue;
    static thread_local std::mt19937 rng{std::random_device{}()};
    int np = 0;
    for (int attempt = 0; attempt < 4096 && np == 0; ++attempt) {
      int candidate = kNodePortMin + static_cast<int>(rng() % (kNodePortMax - kNodePortMin + 1));
      if (!usedPorts.contains(candidate)) np = candidate;
    }
    if (np == 0) return Status::internal("no free NodePort left in 30000-32767");
    usedPorts.insert(np);
    p["nodePort"] = np;
  }
  return {};
}

}  // namespace kd::server

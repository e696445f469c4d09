#include "vm/simulated/simulated_nodes.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "engine/controllers/controller_manager.h"
#include "vm/simulated/simulated_kubelet.h"

namespace kd::vm {
namespace {

constexpr const char* kLeaseNamespace = "kube-node-lease";
constexpr const char* kKubeletVersion = "v1.32.0-kubedesk";

// Leases carry metav1.MicroTime.
std::string microTime(std::chrono::system_clock::time_point t) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count() % 1000000;
  std::string s = server::formatTime(t);  // ...:05Z
  char frac[24];
  std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(micros));
  return s.substr(0, s.size() - 1) + frac + "Z";
}

std::string nodeIp(int index) {
  return "10." + std::to_string(244 + index / 256) + "." + std::to_string(index % 256) + ".1";
}

json conditions(const std::string& at) {
  auto c = [&](const char* type, const char* status, const char* reason, const char* message) {
    return json{{"type", type},       {"status", status},        {"reason", reason},
                {"message", message}, {"lastHeartbeatTime", at}, {"lastTransitionTime", at}};
  };
  return {
      c("MemoryPressure", "False", "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available"),
      c("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
      c("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
      c("Ready", "True", "KubeletReady", "kubelet is posting ready status")};
}

}  // namespace

SimulatedNodes::SimulatedNodes(server::ObjectService& objects, SimulatedNodesOptions options)
    : objects_(objects), options_(std::move(options)) {
  for (int i = 1; i <= options_.count; ++i) names_.push_back(nodeName(options_.namePrefix, i));
}

SimulatedNodes::~SimulatedNodes() {
  stop();
}

std::string SimulatedNodes::nodeName(const std::string& prefix, int index) {
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, "-m%02d", index);
  return prefix + suffix;
}

std::string SimulatedNodes::podCidr(int index) {
  return "10." + std::to_string(244 + index / 256) + "." + std::to_string(index % 256) + ".0/24";
}

Status SimulatedNodes::start() {
  std::vector<SimulatedNode> nodes;
  for (int i = 1; i <= options_.count; ++i) {
    // The node lifecycle and IPAM controllers may write a node between our read and write:
    // re-register, backing off so their own retries can land first.
    Status st = registerNode(i);
    for (int attempt = 1; st.code() == 409 && attempt <= 50; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(5 * attempt, 100)));
      st = registerNode(i);
    }
    if (!st.isOk()) return st;
    if (Status lease = renewLease(names_[size_t(i - 1)], true); !lease.isOk()) return lease;
    nodes.push_back({names_[size_t(i - 1)], nodeIp(i), i});
  }
  manager_ = std::make_unique<controllers::ControllerManager>(objects_);
  manager_->add(std::make_unique<SimulatedKubelet>(objects_, std::move(nodes),
                                                   options_.jobPodDuration, options_.recordEvents,
                                                   options_.workers));
  if (Status st = manager_->start(); !st.isOk()) {
    manager_.reset();
    return st;
  }
  renewer_ = std::thread([this] { renewLoop(); });
  return {};
}

void SimulatedNodes::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (renewer_.joinable()) renewer_.join();
  if (manager_) manager_->stop();
  manager_.reset();
}

void SimulatedNodes::silence(const std::string& node) {
  std::lock_guard lock(mu_);
  silenced_.push_back(node);
}

Status SimulatedNodes::registerNode(int index) {
  const auto* kind = objects_.kinds().byResource("", "v1", "nodes");
  const std::string name = names_[size_t(index - 1)];
  const std::string at = server::formatTime(objects_.now());
  json labels = {
      {"beta.kubernetes.io/arch", "amd64"}, {"beta.kubernetes.io/os", "linux"},
      {"kubernetes.io/arch", "amd64"},      {"kubernetes.io/hostname", name},
      {"kubernetes.io/os", "linux"},        {"node.kubernetes.io/instance-type", "simulated"}};
  if (index == 1) labels["node-role.kubernetes.io/control-plane"] = "";
  const json resources = {{"cpu", options_.cpu},
                          {"memory", options_.memory},
                          {"pods", options_.pods},
                          {"ephemeral-storage", "100Gi"}};
  json node = {{"apiVersion", "v1"},
               {"kind", "Node"},
               {"metadata",
                {{"name", name},
                 {"labels", labels},
                 {"annotations",
                  {{"node.alpha.kubernetes.io/ttl", "0"}, {"kubedesk.io/simulated", "true"}}}}},
               {"spec",
                {{"podCIDR", podCidr(index)},
                 {"podCIDRs", {podCidr(index)}},
                 {"providerID", "kubedesk://simulated/" + name}}}};
  auto existing = objects_.get(*kind, "", name);
  if (!existing.ok()) {
    auto created = objects_.create(*kind, "", node, {});
    if (!created.ok() && created.status().code() != 409) return created.status();
  }
  auto current = objects_.get(*kind, "", name);
  if (!current.ok()) return current.status();
  json body = (*current)->parse();
  body["status"] = {{"capacity", resources},
                    {"allocatable", resources},
                    {"conditions", conditions(at)},
                    {"addresses",
                     {{{"type", "InternalIP"}, {"address", nodeIp(index)}},
                      {{"type", "Hostname"}, {"address", name}}}},
                    {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}},
                    {"nodeInfo",
                     {{"architecture", "amd64"},
                      {"bootID", body["metadata"].value("uid", "")},
                      {"machineID", body["metadata"].value("uid", "")},
                      {"systemUUID", body["metadata"].value("uid", "")},
                      {"containerRuntimeVersion", "simulated://1.0.0"},
                      {"kernelVersion", "simulated"},
                      {"kubeProxyVersion", kKubeletVersion},
                      {"kubeletVersion", kKubeletVersion},
                      {"operatingSystem", "linux"},
                      {"osImage", "KubeDesk simulated node"}}}};
  server::WriteOptions options;
  options.subresource = "status";
  auto updated = objects_.update(*kind, "", name, std::move(body), options);
  return updated.ok() ? Status::ok() : updated.status();
}

Status SimulatedNodes::renewLease(const std::string& node, bool create) {
  const auto* leases = objects_.kinds().byResource("coordination.k8s.io", "v1", "leases");
  const std::string now = microTime(objects_.now());
  auto current = objects_.get(*leases, kLeaseNamespace, node);
  if (current.ok()) {
    json lease = (*current)->parse();
    lease["spec"]["renewTime"] = now;
    lease["spec"]["holderIdentity"] = node;
    auto r = objects_.update(*leases, kLeaseNamespace, node, std::move(lease), {});
    return r.ok() ? Status::ok() : r.status();
  }
  if (!create) return current.status();
  json lease = {
      {"apiVersion", "coordination.k8s.io/v1"},
      {"kind", "Lease"},
      {"metadata", {{"name", node}, {"namespace", kLeaseNamespace}}},
      {"spec", {{"holderIdentity", node}, {"leaseDurationSeconds", 40}, {"renewTime", now}}}};
  const auto* nodes = objects_.kinds().byResource("", "v1", "nodes");
  if (auto n = objects_.get(*nodes, "", node); n.ok()) {
    const json obj = (*n)->parse();
    lease["metadata"]["ownerReferences"] = {{{"apiVersion", "v1"},
                                             {"kind", "Node"},
                                             {"name", node},
                                             {"uid", obj["metadata"].value("uid", "")}}};
  }
  auto r = objects_.create(*leases, kLeaseNamespace, std::move(lease), {});
  return r.ok() || r.status().code() == 409 ? Status::ok() : r.status();
}

void SimulatedNodes::renewLoop() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, options_.leaseRenewInterval, [this] { return stopping_; })) {
    const std::vector<std::string> silenced = silenced_;
    lock.unlock();
    for (const auto& name : names_) {
      if (std::find(silenced.begin(), silenced.end(), name) != silenced.end()) continue;
      renewLease(name, true);
    }
    lock.lock();
  }
}

}  // namespace kd::vm

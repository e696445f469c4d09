#include "vm/libvirt/vm_node_monitor.h"

#include <algorithm>
#include <cctype>
#include <iostream>

#include "vm/libvirt/libvirt_nodes.h"

namespace kd::vm {
namespace {

// The worker's own key: (re)connect and queue every node. No Node name is empty.
const std::string kAttachKey;
constexpr const char* kDomainPrefix = "kubedesk-";
const char* const kKubeletConditions[] = {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"};

std::string readyStatus(const json& node) {
  const json conditions = node.value("status", json::object()).value("conditions", json::array());
  for (const auto& c : conditions) {
    if (c.value("type", "") == "Ready") return c.value("status", "Unknown");
  }
  return "Unknown";
}

// The index of node `node` of `profile` ("<profile>-mNN"), 0 when it is not one.
int nodeIndex(const std::string& profile, const std::string& node) {
  const std::string prefix = profile + "-m";
  if (!node.starts_with(prefix) || node.size() == prefix.size()) return 0;
  const std::string digits = node.substr(prefix.size());
  const auto isDigit = [](unsigned char c) { return std::isdigit(c) != 0; };
  if (digits.size() > 3 || !std::all_of(digits.begin(), digits.end(), isDigit)) return 0;
  const int index = std::stoi(digits);
  return index > 0 && libvirtNodeName(profile, index) == node ? index : 0;
}

// The condition as the node lifecycle controller leaves it, with the VM's message.
json unknownCondition(json condition, const std::string& message, const std::string& now) {
  if (condition.value("status", "") != "Unknown") condition["lastTransitionTime"] = now;
  condition["status"] = "Unknown";
  condition["reason"] = "NodeStatusUnknown";
  condition["message"] = message;
  return condition;
}

}  // namespace

std::string vmStoppedMessage(const VmObservation& vm) {
  return "VM " + vm.domain + " stopped: " + vm.status.reason;
}

bool vmStoppedUnasked(const VmObservation& vm) {
  const DomainState s = vm.status.state;
  const bool down =
      s == DomainState::kShutoff || s == DomainState::kCrashed || s == DomainState::kMissing;
  return down && !vm.stopRequested;
}

std::optional<json> nodeWithStoppedVm(const json& node, const VmObservation& vm,
                                      const std::string& now) {
  if (!vmStoppedUnasked(vm) || !node.is_object()) return std::nullopt;
  if (node.value("metadata", json::object()).contains("deletionTimestamp")) return std::nullopt;
  const std::string message = vmStoppedMessage(vm);
  json conditions = node.value("status", json::object()).value("conditions", json::array());
  bool changed = false;
  for (const char* type : kKubeletConditions) {
    auto it = std::find_if(conditions.begin(), conditions.end(),
                           [&](const json& c) { return c.value("type", "") == type; });
    // Kubernetes adds a kubelet condition the node never posted, as Unknown.
    json current = it == conditions.end() ? json{{"type", type}} : *it;
    json wanted = unknownCondition(current, message, now);
    if (wanted == current) continue;
    changed = true;
    if (it == conditions.end()) {
      conditions.push_back(std::move(wanted));
    } else {
      *it = std::move(wanted);
    }
  }
  if (!changed) return std::nullopt;
  json body = node;
  body["status"]["conditions"] = std::move(conditions);
  return body;
}

VmNodeMonitor::VmNodeMonitor(server::ObjectService& objects, VmNodeMonitorOptions options)
    : objects_(objects),
      options_(std::move(options)),
      nodes_(objects.kinds().byResource("", "v1", "nodes")),
      recorder_(objects, "vm-node-monitor"),
      queue_(controllers::WorkQueue::Options{
          {}, std::chrono::milliseconds(500), std::chrono::seconds(30)}) {}

VmNodeMonitor::~VmNodeMonitor() {
  stop();
}

void VmNodeMonitor::start() {
  if (worker_.joinable()) return;
  queue_.add(kAttachKey);
  worker_ = std::thread([this] { work(); });
}

void VmNodeMonitor::stop() {
  queue_.shutDown();
  if (worker_.joinable()) worker_.join();
  libvirt_.reset();  // no event arrives after this
}

void VmNodeMonitor::work() {
  while (auto key = queue_.get()) {
    const Status st = *key == kAttachKey ? attach() : sync(*key);
    if (st.isOk()) {
      queue_.forget(*key);
    } else {
      std::cerr << "vm-node-monitor: " << (key->empty() ? "libvirt" : *key) << ": " << st.message()
                << " (retrying)\n";
      queue_.addRateLimited(*key);
    }
    queue_.done(*key);
  }
}

Status VmNodeMonitor::attach() {
  if (!options_.domainStatus && (!libvirt_ || !libvirt_->alive())) {
    libvirt_.reset();
    // A lost connection (keepalive) attaches again at once rather than at the next resync.
    auto opened = LibvirtConnection::open(
        options_.uri, [this](const DomainEvent& e) { onEvent(e); },
        [this] { queue_.add(kAttachKey); });
    if (!opened.ok()) return opened.status();
    libvirt_ = std::move(opened).value();
    std::cerr << "vm-node-monitor: watching the VMs of profile " << options_.profile << " ("
              << options_.uri << ")\n";
  }
  for (int index : libvirtNodeIndices(options_.profileDir)) {
    queue_.add(libvirtNodeName(options_.profile, index));
  }
  queue_.addAfter(kAttachKey, options_.resyncPeriod);
  return {};
}

// Runs on libvirt's event-loop thread: only queues.
void VmNodeMonitor::onEvent(const DomainEvent& event) {
  if (!event.domain.starts_with(kDomainPrefix)) return;
  const std::string node = event.domain.substr(std::string(kDomainPrefix).size());
  if (nodeIndex(options_.profile, node) > 0) queue_.add(node);
}

Result<DomainStatus> VmNodeMonitor::domainStatus(const std::string& domain) {
  if (options_.domainStatus) return options_.domainStatus(domain);
  if (!libvirt_ || !libvirt_->alive()) {
    queue_.add(kAttachKey);
    return Status::serviceUnavailable("not connected to libvirt at " + options_.uri);
  }
  return libvirt_->status(domain);
}

Status VmNodeMonitor::sync(const std::string& node) {
  const int index = nodeIndex(options_.profile, node);
  if (index == 0) return {};
  VmObservation vm{libvirtDomainName(options_.profile, index), {}, false};
  auto status = domainStatus(vm.domain);
  if (!status.ok()) return status.status();
  vm.status = std::move(status).value();
  vm.stopRequested = libvirtNodeStopRequested(options_.profileDir, index);
  if (!vmStoppedUnasked(vm)) return {};
  auto got = objects_.get(*nodes_, "", node);
  if (!got.ok()) return got.status().code() == 404 ? Status{} : got.status();
  return markNotReady((*got)->parse(), vm);
}

Status VmNodeMonitor::markNotReady(const json& node, const VmObservation& vm) {
  auto body = nodeWithStoppedVm(node, vm, server::formatTime(objects_.now()));
  if (!body) return {};
  const std::string name = node["metadata"].value("name", "");
  // The body carries the resourceVersion read: a newer write (the agent's) wins, and the next
  // try decides again.
  auto written = objects_.update(*nodes_, "", name, std::move(*body), {.subresource = "status"});
  if (!written.ok()) return written.status();
  const std::string message = vmStoppedMessage(vm);
  std::cerr << "vm-node-monitor: node " << name << " NotReady: " << message << "\n";
  recorder_.record(written->object, "Warning", "NodeVMStopped", message);
  if (readyStatus(node) == "True") {  // as Kubernetes' node lifecycle controller records it
    recorder_.record(written->object, "Normal", "NodeNotReady",
                     "Node " + name + " status is now: NodeNotReady");
  }
  return {};
}

}  // namespace kd::vm

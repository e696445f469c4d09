#include "vm/simulated/simulated_kubelet.h"

#include <charconv>
#include <cstdio>
#include <functional>

#include "engine/controllers/controller_manager.h"

namespace kd::vm {
namespace {

using controllers::CachedObject;
using TimePoint = std::chrono::system_clock::time_point;

constexpr const char* kDuration = "kubedesk.io/simulated-duration";
constexpr const char* kExitCode = "kubedesk.io/simulated-exit-code";
constexpr const char* kReadyAfter = "kubedesk.io/simulated-ready-after";

const json& field(const json& obj, const char* name) {
  static const json kEmpty = json::object();
  auto it = obj.find(name);
  return it == obj.end() || !it->is_object() ? kEmpty : *it;
}

std::string annotation(const json& pod, const char* key) {
  const json& a = field(field(pod, "metadata"), "annotations");
  auto it = a.find(key);
  return it != a.end() && it->is_string() ? it->get<std::string>() : "";
}

bool jobOwned(const json& pod) {
  for (const auto& ref : field(pod, "metadata").value("ownerReferences", json::array())) {
    if (ref.value("kind", "") == "Job" && ref.value("controller", false)) return true;
  }
  return false;
}

std::string containerId(const json& pod, const std::string& container, int restart) {
  const size_t h = std::hash<std::string>{}(field(pod, "metadata").value("uid", "") + "/" +
                                            container + "/" + std::to_string(restart));
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016zx", h);
  return std::string("simulated://") + hex;
}

json condition(const char* type, bool on, const std::string& at, const std::string& reason = "") {
  json c = {{"type", type},
            {"status", on ? "True" : "False"},
            {"lastProbeTime", nullptr},
            {"lastTransitionTime", at}};
  if (!reason.empty()) c["reason"] = reason;
  return c;
}

// Sets the Ready and ContainersReady conditions, keeping transition times that still hold.
void setReadiness(json& status, bool ready, const std::string& at, const std::string& reason) {
  for (auto& c : status["conditions"]) {
    const std::string type = c.value("type", "");
    if (type != "Ready" && type != "ContainersReady") continue;
    const std::string want = ready ? "True" : "False";
    if (c.value("status", "") != want) c["lastTransitionTime"] = at;
    c["status"] = want;
    if (reason.empty()) {
      c.erase("reason");
    } else {
      c["reason"] = reason;
    }
  }
  for (auto& cs : status["containerStatuses"]) cs["ready"] = ready;
}

}  // namespace

SimulatedKubelet::SimulatedKubelet(server::ObjectService& objects, std::vector<SimulatedNode> nodes,
                                   std::chrono::milliseconds jobPodDuration, bool recordEvents,
                                   int workers)
    : objects_(objects),
      pods_(objects.kinds().byResource("", "v1", "pods")),
      jobPodDuration_(jobPodDuration),
      recordEvents_(recordEvents),
      workers_(workers),
      recorder_(objects, "kubelet") {
  for (auto& n : nodes) nodes_.emplace(n.name, std::move(n));
}

std::optional<std::chrono::milliseconds> SimulatedKubelet::parseDuration(std::string_view text) {
  static const std::pair<std::string_view, double> kUnits[] = {
      {"ns", 1e-6}, {"us", 1e-3}, {"ms", 1}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}};
  if (text.empty()) return std::nullopt;
  double total = 0;
  while (!text.empty()) {
    size_t n = 0;
    while (n < text.size() && (std::isdigit(static_cast<unsigned char>(text[n])) || text[n] == '.'))
      ++n;
    if (n == 0) return std::nullopt;
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + n, value);
    if (ec != std::errc() || end != text.data() + n) return std::nullopt;
    text.remove_prefix(n);
    size_t u = 0;
    while (u < text.size() && std::isalpha(static_cast<unsigned char>(text[u]))) ++u;
    const std::string_view unit = text.substr(0, u);
    auto it = std::find_if(std::begin(kUnits), std::end(kUnits),
                           [&](const auto& k) { return k.first == unit; });
    if (it == std::end(kUnits)) return std::nullopt;
    total += value * it->second;
    text.remove_prefix(u);
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total));
}

void SimulatedKubelet::setup(controllers::ControllerManager& manager,
                             controllers::WorkQueue& queue) {
  queue_ = &queue;
  podInformer_ = &manager.informer(*pods_);
  auto enqueue = [this, &queue](const CachedObject& pod) {
    if (nodes_.count(field(*pod, "spec").value("nodeName", ""))) {
      queue.add(controllers::objectKey(*pod));
    }
  };
  podInformer_->addHandlers(
      {enqueue, [enqueue](const CachedObject&, const CachedObject& p) { enqueue(p); }, enqueue});
}

SimulatedKubelet::Plan SimulatedKubelet::planFor(const json& pod) const {
  Plan plan;
  const std::string policy = field(pod, "spec").value("restartPolicy", "Always");
  const std::string duration = annotation(pod, kDuration);
  if (!duration.empty()) {
    plan.exits = true;
    plan.runFor = parseDuration(duration).value_or(jobPodDuration_);
  } else if (jobOwned(pod) && policy != "Always") {
    plan.exits = true;
    plan.runFor = jobPodDuration_;
  }
  const std::string code = annotation(pod, kExitCode);
  if (!code.empty()) plan.exitCode = std::atoi(code.c_str());
  const std::string ready = annotation(pod, kReadyAfter);
  if (!ready.empty()) plan.readyAfter = parseDuration(ready).value_or(std::chrono::milliseconds(0));
  return plan;
}

Status SimulatedKubelet::sync(const std::string& key) {
  CachedObject pod = podInformer_->get(key);
  if (!pod) {
    releaseIp(key);
    return {};
  }
  auto node = nodes_.find(field(*pod, "spec").value("nodeName", ""));
  if (node == nodes_.end()) return {};
  const json& meta = field(*pod, "metadata");
  if (meta.contains("deletionTimestamp")) {
    server::DeleteOptions options;
    options.gracePeriodSeconds = 0;
    options.preconditionUid = meta.value("uid", "");
    auto r = objects_.remove(*pods_, meta.value("namespace", ""), meta.value("name", ""), options);
    if (!r.ok() && r.status().code() != 404 && r.status().code() != 409) return r.status();
    releaseIp(key);
    return {};
  }
  const std::string phase = field(*pod, "status").value("phase", "");
  if (phase == "Succeeded" || phase == "Failed") {
    releaseIp(key);
    return {};
  }
  if (phase != "Running") return start(*pod, node->second);
  return advance(*pod, planFor(*pod));
}

Status SimulatedKubelet::start(const json& pod, const SimulatedNode& node) {
  const Plan plan = planFor(pod);
  const TimePoint now = objects_.now();
  const std::string at = server::formatTime(now);
  const std::string ip = allocateIp(controllers::objectKey(pod), node);
  const bool ready = plan.readyAfter.count() == 0;
  json status = field(pod, "status");
  status["phase"] = "Running";
  status["hostIP"] = node.internalIp;
  status["hostIPs"] = {{{"ip", node.internalIp}}};
  status["podIP"] = ip;
  status["podIPs"] = {{{"ip", ip}}};
  status["startTime"] = at;
  status["conditions"] = {
      condition("PodReadyToStartContainers", true, at), condition("Initialized", true, at),
      condition("Ready", ready, at, ready ? "" : "ContainersNotReady"),
      condition("ContainersReady", ready, at, ready ? "" : "ContainersNotReady"),
      condition("PodScheduled", true, at)};
  const json& spec = field(pod, "spec");
  json statuses = json::array();
  for (const auto& c : spec.value("containers", json::array())) {
    const std::string name = c.value("name", "");
    statuses.push_back({{"name", name},
                        {"image", c.value("image", "")},
                        {"imageID", "simulated://" + c.value("image", "")},
                        {"containerID", containerId(pod, name, 0)},
                        {"ready", ready},
                        {"started", true},
                        {"restartCount", 0},
                        {"state", {{"running", {{"startedAt", at}}}}}});
  }
  status["containerStatuses"] = std::move(statuses);
  json inits = json::array();
  for (const auto& c : spec.value("initContainers", json::array())) {
    const std::string name = c.value("name", "");
    inits.push_back(
        {{"name", name},
         {"image", c.value("image", "")},
         {"imageID", "simulated://" + c.value("image", "")},
         {"containerID", containerId(pod, name, 0)},
         {"ready", true},
         {"started", false},
         {"restartCount", 0},
         {"state",
          {{"terminated",
            {{"exitCode", 0}, {"reason", "Completed"}, {"startedAt", at}, {"finishedAt", at}}}}}});
  }
  if (!inits.empty()) status["initContainerStatuses"] = std::move(inits);
  if (Status st = writeStatus(pod, std::move(status)); !st.isOk()) return st;
  setRunningSince(controllers::objectKey(pod), now);
  recordStarted(pod, node);
  const std::string key = controllers::objectKey(pod);
  if (!ready) queue_->addAfter(key, plan.readyAfter);
  if (plan.exits) queue_->addAfter(key, plan.runFor);
  return {};
}

Status SimulatedKubelet::advance(const json& pod, const Plan& plan) {
  const TimePoint now = objects_.now();
  const std::string at = server::formatTime(now);
  const std::string key = controllers::objectKey(pod);
  json status = field(pod, "status");
  const TimePoint started =
      runningSince(key).value_or(server::parseTime(status.value("startTime", "")).value_or(now));
  bool changed = false;
  bool ready = true;
  for (const auto& cs : status.value("containerStatuses", json::array())) {
    ready = ready && cs.value("ready", false);
  }
  if (!ready) {
    if (now - started >= plan.readyAfter) {
      setReadiness(status, true, at, "");
      changed = true;
    } else {
      queue_->addAfter(key, std::chrono::duration_cast<std::chrono::milliseconds>(plan.readyAfter -
                                                                                  (now - started)));
    }
  }
  if (plan.exits) {
    // The newest container start decides when the run is over.
    TimePoint since = started;
    for (const auto& cs : status.value("containerStatuses", json::array())) {
      const json& running = field(field(cs, "state"), "running");
      if (auto t = server::parseTime(running.value("startedAt", ""))) since = std::max(since, *t);
    }
    since = runningSince(key).value_or(since);
    if (now - since < plan.runFor) {
      queue_->addAfter(
          key, std::chrono::duration_cast<std::chrono::milliseconds>(plan.runFor - (now - since)) +
                   std::chrono::milliseconds(1));
    } else {
      const std::string policy = field(pod, "spec").value("restartPolicy", "Always");
      const bool ends = policy == "Never" || (policy == "OnFailure" && plan.exitCode == 0);
      const bool failed = plan.exitCode != 0;
      for (auto& cs : status["containerStatuses"]) {
        const std::string since = field(field(cs, "state"), "running").value("startedAt", at);
        const json terminated = {{"exitCode", plan.exitCode},
                                 {"reason", failed ? "Error" : "Completed"},
                                 {"startedAt", since},
                                 {"finishedAt", at},
                                 {"containerID", cs.value("containerID", "")}};
        if (ends) {
          cs["state"] = {{"terminated", terminated}};
          cs["started"] = false;
        } else {
          const int restarts = cs.value("restartCount", 0) + 1;
          cs["lastState"] = {{"terminated", terminated}};
          cs["restartCount"] = restarts;
          cs["containerID"] = containerId(pod, cs.value("name", ""), restarts);
          cs["state"] = {{"running", {{"startedAt", at}}}};
        }
      }
      if (ends) {
        status["phase"] = failed ? "Failed" : "Succeeded";
        setReadiness(status, false, at, failed ? "PodFailed" : "PodCompleted");
      } else {
        setRunningSince(key, now);
        queue_->addAfter(key, plan.runFor);
      }
      changed = true;
    }
  }
  return changed ? writeStatus(pod, std::move(status)) : Status::ok();
}

Status SimulatedKubelet::writeStatus(const json& pod, json status) {
  json body = pod;
  body["status"] = std::move(status);
  server::WriteOptions options;
  options.subresource = "status";
  const json& meta = field(pod, "metadata");
  auto r = objects_.update(*pods_, meta.value("namespace", ""), meta.value("name", ""),
                           std::move(body), options);
  // 409: the cached pod is stale; the informer brings the newer one and a retry uses it.
  if (!r.ok() && r.status().code() != 404) return r.status();
  return {};
}

std::string SimulatedKubelet::allocateIp(const std::string& podKey, const SimulatedNode& node) {
  std::lock_guard lock(ipMu_);
  if (auto it = ipOf_.find(podKey); it != ipOf_.end()) return it->second;
  auto& used = usedIps_[node.name];
  int octet = 2;
  while (used.count(octet) && octet < 254) ++octet;
  used.insert(octet);
  const int n = node.cidrIndex;
  const std::string ip = "10." + std::to_string(244 + n / 256) + "." + std::to_string(n % 256) +
                         "." + std::to_string(octet);
  ipOf_[podKey] = ip;
  return ip;
}

std::optional<std::chrono::system_clock::time_point> SimulatedKubelet::runningSince(
    const std::string& podKey) {
  std::lock_guard lock(ipMu_);
  auto it = runningSince_.find(podKey);
  if (it == runningSince_.end()) return std::nullopt;
  return it->second;
}

void SimulatedKubelet::setRunningSince(const std::string& podKey, TimePoint t) {
  std::lock_guard lock(ipMu_);
  runningSince_[podKey] = t;
}

void SimulatedKubelet::releaseIp(const std::string& podKey) {
  std::lock_guard lock(ipMu_);
  runningSince_.erase(podKey);
  auto it = ipOf_.find(podKey);
  if (it == ipOf_.end()) return;
  const std::string& ip = it->second;
  const int octet = std::atoi(ip.substr(ip.rfind('.') + 1).c_str());
  for (auto& [node, used] : usedIps_) {
    const SimulatedNode& n = nodes_.at(node);
    const std::string prefix = "10." + std::to_string(244 + n.cidrIndex / 256) + "." +
                               std::to_string(n.cidrIndex % 256) + ".";
    if (ip.rfind(prefix, 0) == 0) used.erase(octet);
  }
  ipOf_.erase(it);
}

void SimulatedKubelet::recordStarted(const json& pod, const SimulatedNode&) {
  if (!recordEvents_) return;
  for (const auto& c : field(pod, "spec").value("containers", json::array())) {
    const std::string name = c.value("name", ""), image = c.value("image", "");
    recorder_.record(pod, "Normal", "Pulled",
                     "Container image \"" + image + "\" already present on machine");
    recorder_.record(pod, "Normal", "Created", "Created container " + name);
    recorder_.record(pod, "Normal", "Started", "Started container " + name);
  }
}

}  // namespace kd::vm

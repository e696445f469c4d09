#include "engine/api/table.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>

namespace kd::api {

namespace {

using TimePoint = std::chrono::system_clock::time_point;

// ---- reading JSON objects ----

const json& nullJson() {
  static const json kNull;
  return kNull;
}

const json& at(const json& node, std::string_view dotted) {
  const json* cur = &node;
  while (!dotted.empty()) {
    auto dot = dotted.find('.');
    if (!cur->is_object()) return nullJson();
    auto found = cur->find(dotted.substr(0, dot));
    if (found == cur->end()) return nullJson();
    cur = &*found;
    dotted = dot == std::string_view::npos ? std::string_view{} : dotted.substr(dot + 1);
  }
  return *cur;
}

std::string str(const json& node, std::string_view dotted) {
  const json& v = at(node, dotted);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return "";
}

int64_t num(const json& node, std::string_view dotted, int64_t absent = 0) {
  const json& v = at(node, dotted);
  return v.is_number() ? v.get<int64_t>() : absent;
}

const json& list(const json& node, std::string_view dotted) {
  static const json kEmpty = json::array();
  const json& v = at(node, dotted);
  return v.is_array() ? v : kEmpty;
}

size_t count(const json& node, std::string_view dotted) {
  const json& v = at(node, dotted);
  return v.is_object() || v.is_array() ? v.size() : 0;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

std::string orNone(std::string s, std::string_view none = "<none>") {
  return s.empty() ? std::string(none) : s;
}

bool conditionTrue(const json& object, std::string_view type) {
  for (const auto& c : list(object, "status.conditions")) {
    if (str(c, "type") == type) return str(c, "status") == "True";
  }
  return false;
}

// ---- time ----

// RFC 3339 as Kubernetes writes it ("2024-05-01T10:00:00Z", optionally with fractional
// seconds or a numeric offset).
std::optional<TimePoint> parseTime(const std::string& text) {
  int y, mo, d, h, mi, s, consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) !=
      6) {
    return std::nullopt;
  }
  std::string_view rest = std::string_view(text).substr(consumed);
  while (!rest.empty() && (rest.front() == '.' || std::isdigit(rest.front()))) {
    rest.remove_prefix(1);
  }
  std::chrono::seconds offset{0};
  if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(rest.data() + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
    offset = std::chrono::hours(oh) + std::chrono::minutes(om);
    if (rest[0] == '-') offset = -offset;
  } else if (rest != "Z" && rest != "z") {
    return std::nullopt;
  }
  using namespace std::chrono;
  sys_days day = year{y} / month{static_cast<unsigned>(mo)} / static_cast<unsigned>(d);
  return TimePoint(day) + hours(h) + minutes(mi) + seconds(s) - offset;
}

std::string since(const std::string& timestamp, TimePoint now) {
  auto t = parseTime(timestamp);
  if (!t) return "<unknown>";
  return humanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - *t));
}

// ---- shared cell pieces ----

struct Ctx {
  const json& obj;
  TimePoint now;
};

using CellFn = json (*)(const Ctx&);

struct Column {
  std::string_view name;
  std::string_view type;
  std::string_view description;
  CellFn cell;
  int priority = 0;
};

std::string age(const Ctx& c) {
  return since(str(c.obj, "metadata.creationTimestamp"), c.now);
}

std::string containerField(const json& podSpec, std::string_view field) {
  std::vector<std::string> parts;
  for (const auto& container : list(podSpec, "containers")) parts.push_back(str(container, field));
  return join(parts, ",");
}

// Kubernetes' labels.FormatLabels: sorted "k=v" pairs, "<none>" when there are none.
std::string formatLabels(const json& map) {
  std::vector<std::string> parts;
  if (map.is_object()) {
    for (const auto& [k, v] : map.items()) parts.push_back(k + "=" + str(v, ""));
  }
  std::sort(parts.begin(), parts.end());
  return orNone(join(parts, ","));
}

// A meta/v1 LabelSelector in query-string form, requirements sorted by key. Returns nullopt
// for a selector Kubernetes could not convert (an unknown operator).
std::optional<std::string> selectorString(const json& selector) {
  std::vector<std::pair<std::string, std::string>> reqs;
  for (const auto& [k, v] : at(selector, "matchLabels").items()) {
    reqs.emplace_back(k, k + "=" + str(v, ""));
  }
  for (const auto& e : list(selector, "matchExpressions")) {
    std::string key = str(e, "key"), op = str(e, "operator");
    std::set<std::string> values;
    for (const auto& v : list(e, "values")) values.insert(str(v, ""));
    std::string set = "(" + join({values.begin(), values.end()}, ",") + ")";
    if (op == "In")
      reqs.emplace_back(key, key + " in " + set);
    else if (op == "NotIn")
      reqs.emplace_back(key, key + " notin " + set);
    else if (op == "Exists")
      reqs.emplace_back(key, key);
    else if (op == "DoesNotExist")
      reqs.emplace_back(key, "!" + key);
    else
      return std::nullopt;
  }
  std::stable_sort(reqs.begin(), reqs.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> parts;
  for (auto& r : reqs) parts.push_back(std::move(r.second));
  return join(parts, ",");
}

// metav1.FormatLabelSelector: "<none>" for an empty or absent selector.
std::string formatSelector(const json& selector) {
  auto s = selectorString(selector);
  return s ? orNone(*s) : "<error>";
}

std::string ratio(int64_t a, int64_t b) {
  return std::to_string(a) + "/" + std::to_string(b);
}

Column nameColumn() {
  return {"Name", "string", "Name of the object, unique within its namespace.",
          [](const Ctx& c) -> json { return str(c.obj, "metadata.name"); }};
}
Column ageColumn() {
  return {"Age", "string", "Time since the object was created.",
          [](const Ctx& c) -> json { return age(c); }};
}
// CONTAINERS and IMAGES of workloads, whose pod template sits at spec.template.
std::vector<Column> templateColumns() {
  return {
      {"Containers", "string", "Names of the containers in the pod template.",
       [](const Ctx& c) -> json { return containerField(at(c.obj, "spec.template.spec"), "name"); },
       1},
      {"Images", "string", "Images of the containers in the pod template.",
       [](const Ctx& c) -> json {
         return containerField(at(c.obj, "spec.template.spec"), "image");
       },
       1}};
}
Column selectorColumn() {
  return {"Selector", "string", "Label selector of the pods this object manages.",
          [](const Ctx& c) -> json { return formatSelector(at(c.obj, "spec.selector")); }, 1};
}

// ---- pods ----

struct PodSummary {
  int64_t ready = 0;
  int64_t total = 0;
  std::string reason;
  int64_t restarts = 0;
  std::optional<TimePoint> lastRestart;
};

void noteRestart(std::optional<TimePoint>& latest, const json& containerStatus) {
  auto t = parseTime(str(containerStatus, "lastState.terminated.finishedAt"));
  if (t && (!latest || *t > *latest)) latest = t;
}

std::string terminatedReason(const json& terminated, std::string_view prefix) {
  if (!str(terminated, "reason").empty()) return std::string(prefix) + str(terminated, "reason");
  if (num(terminated, "signal") != 0) {
    return std::string(prefix) + "Signal:" + std::to_string(num(terminated, "signal"));
  }
  return std::string(prefix) + "ExitCode:" + std::to_string(num(terminated, "exitCode"));
}

// Walks init containers in order; returns true while the pod is still initializing, with
// the reason set to the first init container that has not finished.
bool summarizeInit(const json& pod, const std::set<std::string>& sidecars, PodSummary& s,
                   int64_t& sidecarRestarts, std::optional<TimePoint>& lastSidecarRestart) {
  const json& statuses = list(pod, "status.initContainerStatuses");
  size_t declared = list(pod, "spec.initContainers").size();
  for (size_t i = 0; i < statuses.size(); ++i) {
    const json& c = statuses[i];
    bool sidecar = sidecars.count(str(c, "name")) > 0;
    s.restarts += num(c, "restartCount");
    noteRestart(s.lastRestart, c);
    if (sidecar) {
      sidecarRestarts += num(c, "restartCount");
      noteRestart(lastSidecarRestart, c);
    }
    const json& terminated = at(c, "state.terminated");
    std::string waiting = str(c, "state.waiting.reason");
    if (terminated.is_object() && num(terminated, "exitCode") == 0) continue;
    if (sidecar && at(c, "started") == true) {
      if (at(c, "ready") == true) ++s.ready;
      continue;
    }
    if (terminated.is_object()) {
      s.reason = terminatedReason(terminated, "Init:");
    } else if (!waiting.empty() && waiting != "PodInitializing") {
      s.reason = "Init:" + waiting;
    } else {
      s.reason = "Init:" + std::to_string(i) + "/" + std::to_string(declared);
    }
    return true;
  }
  return false;
}

void summarizeContainers(const json& pod, PodSummary& s) {
  const json& statuses = list(pod, "status.containerStatuses");
  bool hasRunning = false;
  for (auto it = statuses.rbegin(); it != statuses.rend(); ++it) {
    const json& c = *it;
    s.restarts += num(c, "restartCount");
    noteRestart(s.lastRestart, c);
    const json& terminated = at(c, "state.terminated");
    if (!str(c, "state.waiting.reason").empty()) {
      s.reason = str(c, "state.waiting.reason");
    } else if (terminated.is_object()) {
      s.reason = terminatedReason(terminated, "");
    } else if (at(c, "ready") == true && at(c, "state.running").is_object()) {
      hasRunning = true;
      ++s.ready;
    }
  }
  if (s.reason == "Completed" && hasRunning) {
    s.reason = conditionTrue(pod, "Ready") ? "Running" : "NotReady";
  }
}

// The READY, STATUS and RESTARTS cells as kubectl derives them from the pod's status.
PodSummary summarizePod(const json& pod) {
  PodSummary s;
  std::string phase = str(pod, "status.phase");
  std::string statusReason = str(pod, "status.reason");
  s.reason = statusReason.empty() ? phase : statusReason;
  for (const auto& c : list(pod, "status.conditions")) {
    if (str(c, "type") == "PodScheduled" && str(c, "reason") == "SchedulingGated") {
      s.reason = "SchedulingGated";
    }
  }
  std::set<std::string> sidecars;  // init containers with restartPolicy Always
  for (const auto& c : list(pod, "spec.initContainers")) {
    if (str(c, "restartPolicy") == "Always") sidecars.insert(str(c, "name"));
  }
  s.total = static_cast<int64_t>(list(pod, "spec.containers").size() + sidecars.size());
  int64_t sidecarRestarts = 0;
  std::optional<TimePoint> lastSidecarRestart;
  bool initializing = summarizeInit(pod, sidecars, s, sidecarRestarts, lastSidecarRestart);
  if (!initializing || conditionTrue(pod, "Initialized")) {
    s.restarts = sidecarRestarts;
    s.lastRestart = lastSidecarRestart;
    summarizeContainers(pod, s);
  }
  bool deleting = !str(pod, "metadata.deletionTimestamp").empty();
  if (deleting && statusReason == "NodeLost") {
    s.reason = "Unknown";
  } else if (deleting && phase != "Succeeded" && phase != "Failed") {
    s.reason = "Terminating";
  }
  return s;
}

json podRestarts(const Ctx& c) {
  PodSummary s = summarizePod(c.obj);
  std::string out = std::to_string(s.restarts);
  if (s.restarts != 0 && s.lastRestart) {
    auto ago = std::chrono::duration_cast<std::chrono::seconds>(c.now - *s.lastRestart);
    out += " (" + humanDuration(ago) + " ago)";
  }
  return out;
}

json podIP(const Ctx& c) {
  const json& ips = list(c.obj, "status.podIPs");
  return orNone(ips.empty() ? str(c.obj, "status.podIP") : str(ips.front(), "ip"));
}

json readinessGates(const Ctx& c) {
  const json& gates = list(c.obj, "spec.readinessGates");
  if (gates.empty()) return "<none>";
  int64_t trueCount = 0;
  for (const auto& g : gates) {
    if (conditionTrue(c.obj, str(g, "conditionType"))) ++trueCount;
  }
  return ratio(trueCount, static_cast<int64_t>(gates.size()));
}

std::vector<Column> podColumns() {
  return {
      nameColumn(),
      {"Ready", "string", "Ready containers out of all containers.",
       [](const Ctx& c) -> json {
         PodSummary s = summarizePod(c.obj);
         return ratio(s.ready, s.total);
       }},
      {"Status", "string", "Summary of the pod's phase and container states.",
       [](const Ctx& c) -> json { return summarizePod(c.obj).reason; }},
      {"Restarts", "string", "Container restarts, and how long ago the latest one was.",
       podRestarts},
      ageColumn(),
      {"IP", "string", "The pod's primary IP address.", podIP, 1},
      {"Node", "string", "The node the pod is bound to.",
       [](const Ctx& c) -> json { return orNone(str(c.obj, "spec.nodeName")); }, 1},
      {"Nominated Node", "string", "The node the scheduler nominated through preemption.",
       [](const Ctx& c) -> json { return orNone(str(c.obj, "status.nominatedNodeName")); }, 1},
      {"Readiness Gates", "string", "Readiness gates whose condition is true, out of all.",
       readinessGates, 1},
  };
}

// ---- workloads ----

std::vector<Column> withTemplate(std::vector<Column> cols, bool withSelector = true) {
  for (auto& c : templateColumns()) cols.push_back(c);
  if (withSelector) cols.push_back(selectorColumn());
  return cols;
}

std::vector<Column> deploymentColumns() {
  Column selector = selectorColumn();
  // Deployments print the converted selector as is: empty rather than "<none>".
  selector.cell = [](const Ctx& c) -> json {
    return selectorString(at(c.obj, "spec.selector")).value_or("<invalid>");
  };
  auto cols = withTemplate(
      {nameColumn(),
       {"Ready", "string", "Ready pods out of desired pods.",
        [](const Ctx& c) -> json {
          return ratio(num(c.obj, "status.readyReplicas"), num(c.obj, "spec.replicas"));
        }},
       {"Up-to-date", "string", "Pods running the latest pod template.",
        [](const Ctx& c) -> json { return num(c.obj, "status.updatedReplicas"); }},
       {"Available", "string", "Pods available to serve.",
        [](const Ctx& c) -> json { return num(c.obj, "status.availableReplicas"); }},
       ageColumn()},
      false);
  cols.push_back(selector);
  return cols;
}

std::vector<Column> replicaSetColumns() {
  return withTemplate({nameColumn(),
                       {"Desired", "integer", "Desired number of pods.",
                        [](const Ctx& c) -> json { return num(c.obj, "spec.replicas"); }},
                       {"Current", "integer", "Pods that currently exist.",
                        [](const Ctx& c) -> json { return num(c.obj, "status.replicas"); }},
                       {"Ready", "integer", "Pods that are ready.",
                        [](const Ctx& c) -> json { return num(c.obj, "status.readyReplicas"); }},
                       ageColumn()});
}

std::vector<Column> statefulSetColumns() {
  return withTemplate({nameColumn(),
                       {"Ready", "string", "Ready pods out of desired pods.",
                        [](const Ctx& c) -> json {
                          return ratio(num(c.obj, "status.readyReplicas"),
                                       num(c.obj, "spec.replicas"));
                        }},
                       ageColumn()},
                      false);
}

std::vector<Column> daemonSetColumns() {
  return withTemplate(
      {nameColumn(),
       {"Desired", "integer", "Nodes that should run the daemon pod.",
        [](const Ctx& c) -> json { return num(c.obj, "status.desiredNumberScheduled"); }},
       {"Current", "integer", "Nodes running at least one daemon pod.",
        [](const Ctx& c) -> json { return num(c.obj, "status.currentNumberScheduled"); }},
       {"Ready", "integer", "Nodes whose daemon pod is ready.",
        [](const Ctx& c) -> json { return num(c.obj, "status.numberReady"); }},
       {"Up-to-date", "integer", "Nodes running the latest daemon pod template.",
        [](const Ctx& c) -> json { return num(c.obj, "status.updatedNumberScheduled"); }},
       {"Available", "integer", "Nodes whose daemon pod is available.",
        [](const Ctx& c) -> json { return num(c.obj, "status.numberAvailable"); }},
       {"Node Selector", "string", "Node labels the daemon pods require.",
        [](const Ctx& c) -> json {
          return formatLabels(at(c.obj, "spec.template.spec.nodeSelector"));
        }},
       ageColumn()});
}

json jobStatus(const Ctx& c) {
  if (conditionTrue(c.obj, "Complete")) return "Complete";
  if (conditionTrue(c.obj, "Failed")) return "Failed";
  if (!str(c.obj, "metadata.deletionTimestamp").empty()) return "Terminating";
  if (conditionTrue(c.obj, "Suspended")) return "Suspended";
  if (conditionTrue(c.obj, "FailureTarget")) return "FailureTarget";
  return "Running";
}

json jobCompletions(const Ctx& c) {
  int64_t succeeded = num(c.obj, "status.succeeded");
  if (at(c.obj, "spec.completions").is_number()) {
    return ratio(succeeded, num(c.obj, "spec.completions"));
  }
  int64_t parallelism = num(c.obj, "spec.parallelism");
  std::string out = ratio(succeeded, 1);
  if (parallelism > 1) out += " of " + std::to_string(parallelism);
  return out;
}

json jobDuration(const Ctx& c) {
  auto start = parseTime(str(c.obj, "status.startTime"));
  if (!start) return "";
  auto end = parseTime(str(c.obj, "status.completionTime")).value_or(c.now);
  return humanDuration(std::chrono::duration_cast<std::chrono::seconds>(end - *start));
}

std::vector<Column> jobColumns() {
  return withTemplate(
      {nameColumn(),
       {"Status", "string", "Overall state of the job.", jobStatus},
       {"Completions", "string", "Succeeded pods out of required completions.", jobCompletions},
       {"Duration", "string", "How long the job ran or has been running.", jobDuration},
       ageColumn()});
}

std::vector<Column> cronJobColumns() {
  return {
      nameColumn(),
      {"Schedule", "string", "The cron schedule.",
       [](const Ctx& c) -> json { return str(c.obj, "spec.schedule"); }},
      {"Timezone", "string", "Time zone the schedule is read in.",
       [](const Ctx& c) -> json { return orNone(str(c.obj, "spec.timeZone")); }},
      {"Suspend", "boolean", "Whether new runs are suspended.",
       [](const Ctx& c) -> json {
         const json& v = at(c.obj, "spec.suspend");
         return v.is_boolean() ? (v.get<bool>() ? "True" : "False") : "<unset>";
       }},
      {"Active", "integer", "Jobs currently running.",
       [](const Ctx& c) -> json { return count(c.obj, "status.active"); }},
      {"Last Schedule", "string", "Time since a job was last scheduled.",
       [](const Ctx& c) -> json {
         std::string last = str(c.obj, "status.lastScheduleTime");
         return last.empty() ? "<none>" : since(last, c.now);
       }},
      ageColumn(),
      {"Containers", "string", "Names of the containers in the job template.",
       [](const Ctx& c) -> json {
         return containerField(at(c.obj, "spec.jobTemplate.spec.template.spec"), "name");
       },
       1},
      {"Images", "string", "Images of the containers in the job template.",
       [](const Ctx& c) -> json {
         return containerField(at(c.obj, "spec.jobTemplate.spec.template.spec"), "image");
       },
       1},
      {"Selector", "string", "Label selector of the job template.",
       [](const Ctx& c) -> json {
         return formatSelector(at(c.obj, "spec.jobTemplate.spec.selector"));
       },
       1},
  };
}

// ---- services and networking ----

json serviceExternalIP(const Ctx& c) {
  std::string type = str(c.obj, "spec.type");
  std::vector<std::string> external;
  for (const auto& ip : list(c.obj, "spec.externalIPs")) external.push_back(str(ip, ""));
  if (type == "ClusterIP" || type == "NodePort") return orNone(join(external, ","));
  if (type == "ExternalName") return str(c.obj, "spec.externalName");
  if (type != "LoadBalancer") return "<unknown>";
  std::vector<std::string> ips;
  for (const auto& ingress : list(c.obj, "status.loadBalancer.ingress")) {
    std::string ip = str(ingress, "ip").empty() ? str(ingress, "hostname") : str(ingress, "ip");
    if (!ip.empty() && std::find(ips.begin(), ips.end(), ip) == ips.end()) ips.push_back(ip);
  }
  ips.insert(ips.end(), external.begin(), external.end());
  return orNone(join(ips, ","), "<pending>");
}

json servicePorts(const Ctx& c) {
  std::vector<std::string> parts;
  for (const auto& p : list(c.obj, "spec.ports")) {
    std::string protocol = str(p, "protocol").empty() ? "TCP" : str(p, "protocol");
    std::string port = std::to_string(num(p, "port"));
    if (num(p, "nodePort") > 0) port += ":" + std::to_string(num(p, "nodePort"));
    parts.push_back(port + "/" + protocol);
  }
  return orNone(join(parts, ","));
}

std::vector<Column> serviceColumns() {
  return {
      nameColumn(),
      {"Type", "string", "How the service is exposed.",
       [](const Ctx& c) -> json { return str(c.obj, "spec.type"); }},
      {"Cluster-IP", "string", "The service's virtual IP inside the cluster.",
       [](const Ctx& c) -> json {
         const json& ips = list(c.obj, "spec.clusterIPs");
         return orNone(ips.empty() ? str(c.obj, "spec.clusterIP") : str(ips.front(), ""));
       }},
      {"External-IP", "string", "Addresses reachable from outside the cluster.", serviceExternalIP},
      {"Port(s)", "string", "Exposed ports, with node ports where allocated.", servicePorts},
      ageColumn(),
      {"Selector", "string", "Labels of the pods behind the service.",
       [](const Ctx& c) -> json { return formatLabels(at(c.obj, "spec.selector")); }, 1}};
}

// At most three entries, then "+ N more...", as kubectl abbreviates long lists.
std::string abbreviated(const std::vector<std::string>& items, size_t total,
                        std::string_view none) {
  constexpr size_t kMax = 3;
  std::vector<std::string> shown(items.begin(), items.begin() + std::min(items.size(), kMax));
  std::string out = join(shown, ",");
  if (total > kMax) return out + " + " + std::to_string(total - kMax) + " more...";
  return orNone(out, none);
}

json endpointsCell(const Ctx& c) {
  std::vector<std::string> items;
  size_t total = 0;
  for (const auto& subset : list(c.obj, "subsets")) {
    const json& addresses = list(subset, "addresses");
    const json& ports = list(subset, "ports");
    for (size_t p = 0; p < std::max<size_t>(ports.size(), 1); ++p) {
      total += addresses.size();
      for (const auto& a : addresses) {
        std::string ip = str(a, "ip");
        if (ports.empty()) {
          items.push_back(ip);
        } else {
          std::string port = std::to_string(num(ports[p], "port"));
          items.push_back(ip.find(':') != std::string::npos ? "[" + ip + "]:" + port
                                                            : ip + ":" + port);
        }
      }
    }
  }
  return abbreviated(items, total, "<none>");
}

std::vector<Column> endpointSliceColumns() {
  return {nameColumn(),
          {"AddressType", "string", "The address family of the endpoints.",
           [](const Ctx& c) -> json { return str(c.obj, "addressType"); }},
          {"Ports", "string", "Ports of the endpoints.",
           [](const Ctx& c) -> json {
             std::vector<std::string> items;
             for (const auto& p : list(c.obj, "ports")) {
               std::string v = at(p, "port").is_number() ? std::to_string(num(p, "port"))
                                                         : orNone(str(p, "name"), "*");
               items.push_back(v);
             }
             return abbreviated(items, items.size(), "<unset>");
           }},
          {"Endpoints", "string", "Addresses of the endpoints.",
           [](const Ctx& c) -> json {
             std::vector<std::string> items;
             for (const auto& e : list(c.obj, "endpoints")) {
               for (const auto& a : list(e, "addresses")) items.push_back(str(a, ""));
             }
             return abbreviated(items, items.size(), "<unset>");
           }},
          ageColumn()};
}

// ---- nodes ----

json nodeStatus(const Ctx& c) {
  std::string status = "Unknown";
  for (const auto& cond : list(c.obj, "status.conditions")) {
    if (str(cond, "type") == "Ready") status = str(cond, "status") == "True" ? "Ready" : "NotReady";
  }
  if (at(c.obj, "spec.unschedulable") == true) status += ",SchedulingDisabled";
  return status;
}

json nodeRoles(const Ctx& c) {
  constexpr std::string_view kRolePrefix = "node-role.kubernetes.io/";
  std::set<std::string> roles;
  for (const auto& [key, value] : at(c.obj, "metadata.labels").items()) {
    if (key.rfind(kRolePrefix, 0) == 0 && key.size() > kRolePrefix.size()) {
      roles.insert(key.substr(kRolePrefix.size()));
    } else if (key == "kubernetes.io/role" && !str(value, "").empty()) {
      roles.insert(str(value, ""));
    }
  }
  return orNone(join({roles.begin(), roles.end()}, ","));
}

std::string nodeAddress(const json& node, std::string_view type) {
  for (const auto& a : list(node, "status.addresses")) {
    if (str(a, "type") == type) return str(a, "address");
  }
  return "<none>";
}

std::vector<Column> nodeColumns() {
  return {nameColumn(),
          {"Status", "string", "Readiness of the node, and whether scheduling is disabled.",
           nodeStatus},
          {"Roles", "string", "Roles from the node's role labels.", nodeRoles},
          ageColumn(),
          {"Version", "string", "Version of the node agent.",
           [](const Ctx& c) -> json { return str(c.obj, "status.nodeInfo.kubeletVersion"); }},
          {"Internal-IP", "string", "The node's internal address.",
           [](const Ctx& c) -> json { return nodeAddress(c.obj, "InternalIP"); }, 1},
          {"External-IP", "string", "The node's external address.",
           [](const Ctx& c) -> json { return nodeAddress(c.obj, "ExternalIP"); }, 1},
          {"OS-Image", "string", "Operating system of the node.",
           [](const Ctx& c) -> json {
             return orNone(str(c.obj, "status.nodeInfo.osImage"), "<unknown>");
           },
           1},
          {"Kernel-Version", "string", "Kernel version of the node.",
           [](const Ctx& c) -> json {
             return orNone(str(c.obj, "status.nodeInfo.kernelVersion"), "<unknown>");
           },
           1},
          {"Container-Runtime", "string", "Container runtime and its version.",
           [](const Ctx& c) -> json {
             return orNone(str(c.obj, "status.nodeInfo.containerRuntimeVersion"), "<unknown>");
           },
           1}};
}

// ---- events (core/v1 and events.k8s.io/v1 shapes) ----

std::string firstOf(const json& obj, std::initializer_list<std::string_view> paths) {
  for (auto p : paths) {
    if (auto v = str(obj, p); !v.empty()) return v;
  }
  return "";
}

std::string eventFirstSeen(const Ctx& c) {
  std::string first = firstOf(c.obj, {"firstTimestamp", "deprecatedFirstTimestamp"});
  return since(first.empty() ? str(c.obj, "eventTime") : first, c.now);
}

json eventLastSeen(const Ctx& c) {
  if (at(c.obj, "series").is_object()) return since(str(c.obj, "series.lastObservedTime"), c.now);
  std::string last = firstOf(c.obj, {"lastTimestamp", "deprecatedLastTimestamp"});
  return last.empty() ? eventFirstSeen(c) : since(last, c.now);
}

std::string involved(const Ctx& c, std::string_view field) {
  const json& ref = at(c.obj, "involvedObject").is_object() ? at(c.obj, "involvedObject")
                                                            : at(c.obj, "regarding");
  return str(ref, field);
}

json eventObject(const Ctx& c) {
  std::string kind = involved(c, "kind");
  std::transform(kind.begin(), kind.end(), kind.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  std::string name = involved(c, "name");
  return name.empty() ? kind : kind + "/" + name;
}

json eventSource(const Ctx& c) {
  std::string component =
      firstOf(c.obj, {"source.component", "deprecatedSource.component", "reportingController"});
  std::string host = firstOf(c.obj, {"source.host", "deprecatedSource.host", "reportingInstance"});
  return host.empty() ? component : component + ", " + host;
}

json eventMessage(const Ctx& c) {
  std::string m = firstOf(c.obj, {"message", "note"});
  auto notSpace = [](unsigned char ch) { return !std::isspace(ch); };
  m.erase(m.begin(), std::find_if(m.begin(), m.end(), notSpace));
  m.erase(std::find_if(m.rbegin(), m.rend(), notSpace).base(), m.end());
  return m;
}

json eventCount(const Ctx& c) {
  if (at(c.obj, "series").is_object()) return num(c.obj, "series.count");
  int64_t n = num(c.obj, "count", num(c.obj, "deprecatedCount"));
  return n == 0 ? 1 : n;  // events from the new API leave count unset for singletons
}

std::vector<Column> eventColumns() {
  Column name = nameColumn();
  name.priority = 1;
  return {{"Last Seen", "string", "Time since the event was last observed.", eventLastSeen},
          {"Type", "string", "Normal or Warning.",
           [](const Ctx& c) -> json { return str(c.obj, "type"); }},
          {"Reason", "string", "Short machine-readable cause of the event.",
           [](const Ctx& c) -> json { return str(c.obj, "reason"); }},
          {"Object", "string", "The object the event is about.", eventObject},
          {"Subobject", "string", "The part of the object the event is about.",
           [](const Ctx& c) -> json { return involved(c, "fieldPath"); }, 1},
          {"Source", "string", "The component that reported the event.", eventSource, 1},
          {"Message", "string", "Human-readable description of the event.", eventMessage},
          {"First Seen", "string", "Time since the event was first observed.",
           [](const Ctx& c) -> json { return eventFirstSeen(c); }, 1},
          {"Count", "string", "How many times the event occurred.", eventCount, 1},
          name};
}

// ---- storage ----

std::string accessModes(const json& modes) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kShort{
      {{"ReadWriteOnce", "RWO"},
       {"ReadOnlyMany", "ROX"},
       {"ReadWriteMany", "RWX"},
       {"ReadWriteOncePod", "RWOP"}}};
  std::vector<std::string> out;
  for (const auto& [mode, abbrev] : kShort) {
    bool present = std::any_of(modes.begin(), modes.end(),
                               [&](const json& m) { return m.is_string() && m == mode; });
    if (present) out.emplace_back(abbrev);
  }
  return join(out, ",");
}

// The beta annotation still wins over spec.storageClassName, as in Kubernetes.
std::string storageClassOf(const json& obj) {
  const json& annotation = at(obj, "metadata.annotations");
  if (annotation.is_object() && annotation.contains("volume.beta.kubernetes.io/storage-class")) {
    return str(annotation["volume.beta.kubernetes.io/storage-class"], "");
  }
  return str(obj, "spec.storageClassName");
}

std::string phaseOrTerminating(const json& obj) {
  return str(obj, "metadata.deletionTimestamp").empty() ? str(obj, "status.phase") : "Terminating";
}

Column volumeModeColumn() {
  return {"VolumeMode", "string", "Filesystem or Block.",
          [](const Ctx& c) -> json { return orNone(str(c.obj, "spec.volumeMode"), "<unset>"); }, 1};
}

Column attributesClassColumn() {
  return {"VolumeAttributesClass", "string", "The volume attributes class.",
          [](const Ctx& c) -> json {
            return orNone(str(c.obj, "spec.volumeAttributesClassName"), "<unset>");
          }};
}

std::vector<Column> persistentVolumeColumns() {
  return {nameColumn(),
          {"Capacity", "string", "Size of the volume.",
           [](const Ctx& c) -> json { return str(c.obj, "spec.capacity.storage"); }},
          {"Access Modes", "string", "How the volume can be mounted.",
           [](const Ctx& c) -> json { return accessModes(list(c.obj, "spec.accessModes")); }},
          {"Reclaim Policy", "string", "What happens to the volume when released.",
           [](const Ctx& c) -> json { return str(c.obj, "spec.persistentVolumeReclaimPolicy"); }},
          {"Status", "string", "Phase of the volume.",
           [](const Ctx& c) -> json { return phaseOrTerminating(c.obj); }},
          {"Claim", "string", "The claim bound to the volume.",
           [](const Ctx& c) -> json {
             if (!at(c.obj, "spec.claimRef").is_object()) return "";
             return str(c.obj, "spec.claimRef.namespace") + "/" + str(c.obj, "spec.claimRef.name");
           }},
          {"StorageClass", "string", "Storage class of the volume.",
           [](const Ctx& c) -> json { return storageClassOf(c.obj); }},
          attributesClassColumn(),
          {"Reason", "string", "Why the volume is in its phase.",
           [](const Ctx& c) -> json { return str(c.obj, "status.reason"); }},
          ageColumn(),
          volumeModeColumn()};
}

std::vector<Column> persistentVolumeClaimColumns() {
  return {nameColumn(),
          {"Status", "string", "Phase of the claim.",
           [](const Ctx& c) -> json { return phaseOrTerminating(c.obj); }},
          {"Volume", "string", "The volume bound to the claim.",
           [](const Ctx& c) -> json { return str(c.obj, "spec.volumeName"); }},
          {"Capacity", "string", "Size of the bound volume.",
           [](const Ctx& c) -> json {
             return !str(c.obj, "spec.volumeName").empty() ? str(c.obj, "status.capacity.storage")
                                                           : "";
           }},
          {"Access Modes", "string", "How the bound volume can be mounted.",
           [](const Ctx& c) -> json {
             return !str(c.obj, "spec.volumeName").empty()
                        ? accessModes(list(c.obj, "status.accessModes"))
                        : "";
           }},
          {"StorageClass", "string", "Storage class of the claim.",
           [](const Ctx& c) -> json { return storageClassOf(c.obj); }},
          attributesClassColumn(),
          ageColumn(),
          volumeModeColumn()};
}

bool isDefaultClass(const json& obj) {
  const json& a = at(obj, "metadata.annotations");
  for (auto key : {"storageclass.kubernetes.io/is-default-class",
                   "storageclass.beta.kubernetes.io/is-default-class"}) {
    if (a.is_object() && a.contains(key) && a[key] == "true") return true;
  }
  return false;
}

std::vector<Column> storageClassColumns() {
  Column name = nameColumn();
  name.cell = [](const Ctx& c) -> json {
    return str(c.obj, "metadata.name") + (isDefaultClass(c.obj) ? " (default)" : "");
  };
  return {
      name,
      {"Provisioner", "string", "The volume plugin that provisions volumes.",
       [](const Ctx& c) -> json { return str(c.obj, "provisioner"); }},
      {"ReclaimPolicy", "string", "Reclaim policy of provisioned volumes.",
       [](const Ctx& c) -> json { return orNone(str(c.obj, "reclaimPolicy"), "Delete"); }},
      {"VolumeBindingMode", "string", "When volumes are bound and provisioned.",
       [](const Ctx& c) -> json { return orNone(str(c.obj, "volumeBindingMode"), "Immediate"); }},
      {"AllowVolumeExpansion", "string", "Whether volumes can be expanded.",
       [](const Ctx& c) -> json { return at(c.obj, "allowVolumeExpansion") == true; }},
      ageColumn()};
}

// ---- autoscaling ----

std::string hpaMetric(const json& spec, const json& status) {
  std::string type = str(spec, "type");
  auto current = [&](std::string_view source, std::string_view field) {
    std::string v = str(status, std::string(source) + ".current." + std::string(field));
    return orNone(v, "<unknown>");
  };
  if (type == "Resource" || type == "ContainerResource") {
    std::string src = type == "Resource" ? "resource" : "containerResource";
    const json& target = at(spec, src + ".target");
    std::string name = str(spec, src + ".name");
    if (at(target, "averageValue").is_string()) {
      return name + ": " + current(src, "averageValue") + "/" + str(target, "averageValue");
    }
    std::string cur = at(status, src + ".current.averageUtilization").is_number()
                          ? str(status, src + ".current.averageUtilization") + "%"
                          : "<unknown>";
    std::string tgt = at(target, "averageUtilization").is_number()
                          ? str(target, "averageUtilization") + "%"
                          : "<auto>";
    return name + ": " + cur + "/" + tgt;
  }
  if (type == "Pods") {
    return current("pods", "averageValue") + "/" + str(spec, "pods.target.averageValue");
  }
  if (type == "Object" || type == "External") {
    std::string src = type == "Object" ? "object" : "external";
    if (at(spec, src + ".target.averageValue").is_string()) {
      return current(src, "averageValue") + "/" + str(spec, src + ".target.averageValue") +
             " (avg)";
    }
    return current(src, "value") + "/" + str(spec, src + ".target.value");
  }
  return "<unknown type>";
}

json hpaTargets(const Ctx& c) {
  const json& specs = list(c.obj, "spec.metrics");
  const json& statuses = list(c.obj, "status.currentMetrics");
  if (specs.empty()) return "<none>";
  constexpr size_t kMax = 2;
  std::vector<std::string> shown;
  for (size_t i = 0; i < specs.size() && i < kMax; ++i) {
    shown.push_back(hpaMetric(specs[i], i < statuses.size() ? statuses[i] : nullJson()));
  }
  std::string out = join(shown, ", ");
  if (specs.size() > kMax) out += " + " + std::to_string(specs.size() - kMax) + " more...";
  return out;
}

std::vector<Column> hpaColumns() {
  return {nameColumn(),
          {"Reference", "string", "The scaled object.",
           [](const Ctx& c) -> json {
             return str(c.obj, "spec.scaleTargetRef.kind") + "/" +
                    str(c.obj, "spec.scaleTargetRef.name");
           }},
          {"Targets", "string", "Current and target metric values.", hpaTargets},
          {"MinPods", "string", "Lower replica limit.",
           [](const Ctx& c) -> json { return orNone(str(c.obj, "spec.minReplicas"), "<unset>"); }},
          {"MaxPods", "string", "Upper replica limit.",
           [](const Ctx& c) -> json { return num(c.obj, "spec.maxReplicas"); }},
          {"Replicas", "string", "Current number of replicas.",
           [](const Ctx& c) -> json { return num(c.obj, "status.currentReplicas"); }},
          ageColumn()};
}

// ---- everything else ----

json controllerOf(const Ctx& c) {
  for (const auto& ref : list(c.obj, "metadata.ownerReferences")) {
    if (at(ref, "controller") != true) continue;
    std::string apiVersion = str(ref, "apiVersion");
    auto slash = apiVersion.find('/');
    std::string kind = str(ref, "kind");
    if (slash != std::string::npos) kind += "." + apiVersion.substr(0, slash);
    std::transform(kind.begin(), kind.end(), kind.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return kind + "/" + str(ref, "name");
  }
  return "<none>";
}

Column simpleColumn(std::string_view name, std::string_view description, CellFn fn) {
  return {name, "string", description, fn};
}

struct Printer {
  std::string_view group;
  std::string_view kind;
  std::vector<Column> (*columns)();
};

const std::vector<Printer>& printers() {
  static const std::vector<Printer> kPrinters = {
      {"", "Pod", podColumns},
      {"apps", "Deployment", deploymentColumns},
      {"apps", "ReplicaSet", replicaSetColumns},
      {"apps", "StatefulSet", statefulSetColumns},
      {"apps", "DaemonSet", daemonSetColumns},
      {"batch", "Job", jobColumns},
      {"batch", "CronJob", cronJobColumns},
      {"", "Service", serviceColumns},
      {"", "Endpoints",
       [] {
         return std::vector<Column>{
             nameColumn(), simpleColumn("Endpoints", "Ready addresses and ports.", endpointsCell),
             ageColumn()};
       }},
      {"discovery.k8s.io", "EndpointSlice", endpointSliceColumns},
      {"", "Node", nodeColumns},
      {"", "Event", eventColumns},
      {"events.k8s.io", "Event", eventColumns},
      {"", "Namespace",
       [] {
         return std::vector<Column>{
             nameColumn(),
             simpleColumn("Status", "Phase of the namespace.",
                          [](const Ctx& c) -> json { return str(c.obj, "status.phase"); }),
             ageColumn()};
       }},
      {"", "ConfigMap",
       [] {
         return std::vector<Column>{nameColumn(),
                                    simpleColumn("Data", "Number of data and binaryData entries.",
                                                 [](const Ctx& c) -> json {
                                                   return count(c.obj, "data") +
                                                          count(c.obj, "binaryData");
                                                 }),
                                    ageColumn()};
       }},
      {"", "Secret",
       [] {
         return std::vector<Column>{
             nameColumn(),
             simpleColumn("Type", "Type of the secret.",
                          [](const Ctx& c) -> json { return str(c.obj, "type"); }),
             simpleColumn("Data", "Number of data entries.",
                          [](const Ctx& c) -> json { return count(c.obj, "data"); }),
             ageColumn()};
       }},
      {"", "ServiceAccount",
       [] {
         return std::vector<Column>{
             nameColumn(),
             simpleColumn("Secrets", "Number of secrets listed on the account.",
                          [](const Ctx& c) -> json { return count(c.obj, "secrets"); }),
             ageColumn()};
       }},
      {"", "PersistentVolume", persistentVolumeColumns},
      {"", "PersistentVolumeClaim", persistentVolumeClaimColumns},
      {"storage.k8s.io", "StorageClass", storageClassColumns},
      {"coordination.k8s.io", "Lease",
       [] {
         return std::vector<Column>{
             nameColumn(),
             simpleColumn("Holder", "Identity of the current holder.",
                          [](const Ctx& c) -> json { return str(c.obj, "spec.holderIdentity"); }),
             ageColumn()};
       }},
      {"autoscaling", "HorizontalPodAutoscaler", hpaColumns},
      {"apps", "ControllerRevision",
       [] {
         return std::vector<Column>{
             nameColumn(),
             simpleColumn("Controller", "The object that owns the revision.", controllerOf),
             simpleColumn("Revision", "Revision number.",
                          [](const Ctx& c) -> json { return num(c.obj, "revision"); }),
             ageColumn()};
       }},
  };
  return kPrinters;
}

json columnDefinition(const Column& c) {
  return {{"name", c.name},
          {"type", c.type},
          {"format", c.name == "Name" ? "name" : ""},
          {"description", c.description},
          {"priority", c.priority}};
}

struct Layout {
  std::vector<Column> columns;
  json definitions;
};

// A kind's columns never change, and tables are built once per row when a list streams, so
// each layout is made once and kept (map nodes never move; entries are never removed).
const Layout& layoutFor(const KindInfo& kind) {
  static std::mutex mu;
  static std::map<std::pair<std::string, std::string>, Layout> layouts;
  std::lock_guard lock(mu);
  auto [it, added] = layouts.try_emplace({kind.group, kind.kind});
  if (!added) return it->second;
  Layout& layout = it->second;
  layout.columns = {nameColumn(), ageColumn()};
  for (const auto& p : printers()) {
    if (p.group == kind.group && p.kind == kind.kind) {
      layout.columns = p.columns();
      break;
    }
  }
  layout.definitions = json::array();
  for (const auto& c : layout.columns) layout.definitions.push_back(columnDefinition(c));
  return layout;
}

json rowObject(const json& obj, TableObjects include) {
  if (include == TableObjects::Object) return obj;
  return {{"kind", "PartialObjectMetadata"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", obj.contains("metadata") ? obj["metadata"] : json::object()}};
}

// Finished pods carry a row condition so clients can tell them apart without parsing cells.
std::optional<json> rowConditions(const KindInfo& kind, const json& obj) {
  if (!kind.group.empty() || kind.kind != "Pod") return std::nullopt;
  std::string phase = str(obj, "status.phase");
  if (phase != "Succeeded" && phase != "Failed") return std::nullopt;
  std::string message = phase == "Succeeded" ? "The pod ran to completion." : "The pod failed.";
  return json::array(
      {{{"type", "Completed"}, {"status", "True"}, {"reason", phase}, {"message", message}}});
}

}  // namespace

json buildTable(const KindInfo& kind, const std::vector<const json*>& objects, const json& listMeta,
                TableObjects include, std::chrono::system_clock::time_point now) {
  const Layout& layout = layoutFor(kind);
  const std::vector<Column>& columns = layout.columns;
  json rows = json::array();
  for (const json* obj : objects) {
    Ctx ctx{*obj, now};
    json cells = json::array();
    for (const auto& c : columns) cells.push_back(c.cell(ctx));
    json row = {{"cells", std::move(cells)}};
    if (auto conditions = rowConditions(kind, *obj)) row["conditions"] = *conditions;
    if (include != TableObjects::None) row["object"] = rowObject(*obj, include);
    rows.push_back(std::move(row));
  }
  return {{"kind", "Table"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", listMeta.is_object() ? listMeta : json::object()},
          {"columnDefinitions", layout.definitions},
          {"rows", std::move(rows)}};
}

std::string humanDuration(std::chrono::seconds d) {
  int64_t secs = d.count();
  if (secs < -1) return "<invalid>";
  if (secs < 0) return "0s";
  if (secs < 120) return std::to_string(secs) + "s";
  auto withRest = [](int64_t big, std::string_view bigUnit, int64_t rest,
                     std::string_view restUnit) {
    std::string out = std::to_string(big) + std::string(bigUnit);
    return rest == 0 ? out : out + std::to_string(rest) + std::string(restUnit);
  };
  int64_t minutes = secs / 60;
  if (minutes < 10) return withRest(minutes, "m", secs % 60, "s");
  if (minutes < 180) return std::to_string(minutes) + "m";
  int64_t hours = minutes / 60;
  if (hours < 8) return withRest(hours, "h", minutes % 60, "m");
  if (hours < 48) return std::to_string(hours) + "h";
  int64_t days = hours / 24;
  if (hours < 24 * 8) return withRest(days, "d", hours % 24, "h");
  if (hours < 24 * 365 * 2) return std::to_string(days) + "d";
  if (hours < 24 * 365 * 8) return withRest(days / 365, "y", days % 365, "d");
  return std::to_string(days / 365) + "y";
}

}  // namespace kd::api

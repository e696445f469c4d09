#include "engine/node/metrics_collector.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

#include "engine/node/pod_worker.h"

namespace kd::node {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> readText(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::optional<uint64_t> readNumber(const fs::path& file) {
  auto text = readText(file);
  if (!text) return std::nullopt;
  try {
    return std::stoull(*text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The value of `key` in a "key value" per line file (cpu.stat, memory.stat); 0 when absent.
uint64_t statValue(const std::string& text, std::string_view key) {
  std::istringstream in(text);
  std::string k;
  uint64_t v = 0;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return 0;
}

// What a cgroup version keeps where.
struct CgroupLayout {
  const char* cpuDir;  // below the root; "" = unified
  const char* memoryDir;
  const char* usageFile;
  const char* inactiveKey;
};

const CgroupLayout& layoutOf(CgroupVersion v) {
  static const CgroupLayout kV1{"cpuacct", "memory", "memory.usage_in_bytes",
                                "total_inactive_file"};
  static const CgroupLayout kV2{"", "", "memory.current", "inactive_file"};
  return v == CgroupVersion::V1 ? kV1 : kV2;
}

fs::path under(const fs::path& root, const char* dir, const std::string& relative) {
  return root / dir / fs::path(relative).relative_path();
}

std::optional<uint64_t> cpuUsage(const fs::path& dir, CgroupVersion v) {
  if (v == CgroupVersion::V1) return readNumber(dir / "cpuacct.usage");
  auto stat = readText(dir / "cpu.stat");
  if (!stat) return std::nullopt;
  return statValue(*stat, "usage_usec") * 1000;
}

bool hasProcesses(const fs::path& dir) {
  auto procs = readText(dir / "cgroup.procs");
  return procs && procs->find_first_not_of(" \n") != std::string::npos;
}

// This process's CPU time (ns) and resident memory (bytes).
std::optional<CgroupReading> agentProcess() {
  auto stat = readText("/proc/self/stat");
  auto statm = readText("/proc/self/statm");
  if (!stat || !statm) return std::nullopt;
  std::istringstream fields(stat->substr(stat->rfind(')') + 2));
  std::vector<std::string> f{std::istream_iterator<std::string>(fields), {}};
  std::istringstream mem(*statm);
  uint64_t size = 0, resident = 0;
  if (f.size() < 13 || !(mem >> size >> resident)) return std::nullopt;
  // After the command come state (field 3) ... utime (14) and stime (15), in clock ticks.
  uint64_t ticks = 0;
  try {
    ticks = std::stoull(f[11]) + std::stoull(f[12]);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  const auto hz = static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
  return CgroupReading{ticks * (1000000000 / hz),
                       resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE))};
}

int64_t rate(uint64_t deltaNanos, double seconds) {
  return static_cast<int64_t>(std::llround(static_cast<double>(deltaNanos) / seconds));
}

}  // namespace

Result<CgroupReading> readCgroup(const fs::path& root, CgroupVersion version,
                                 const std::string& relative) {
  const CgroupLayout& l = layoutOf(version);
  const fs::path memoryDir = under(root, l.memoryDir, relative);
  auto cpu = cpuUsage(under(root, l.cpuDir, relative), version);
  auto usage = readNumber(memoryDir / l.usageFile);
  auto stat = readText(memoryDir / "memory.stat");
  if (!cpu || !usage || !stat) return Status::notFound("no cgroup " + relative);
  const uint64_t inactive = statValue(*stat, l.inactiveKey);
  return CgroupReading{*cpu, *usage > inactive ? *usage - inactive : 0};
}

MetricsCollector::MetricsCollector(MetricsCollectorOptions options) : options_(std::move(options)) {
  version_ = options_.version.value_or(fs::exists(options_.cgroupRoot / "cgroup.controllers")
                                           ? CgroupVersion::V2
                                           : CgroupVersion::V1);
}

std::optional<uint64_t> MetricsCollector::cpuDelta(const std::string& key, uint64_t cumulative) {
  current_[key] = cumulative;
  auto it = previous_.find(key);
  if (it == previous_.end() || it->second > cumulative) return std::nullopt;
  return cumulative - it->second;
}

json MetricsCollector::collectPod(const fs::path& podDir, double seconds, Sampled& node) {
  const std::string uid = podDir.filename().string();
  auto text = readText(podDir / "pod.json");
  const json pod = text ? json::parse(*text, nullptr, false) : json();
  if (!pod.is_object()) return nullptr;
  const std::string podCgroup = PodWorker::podCgroup(uid);
  if (auto r = readCgroup(options_.cgroupRoot, version_, podCgroup); r.ok()) {
    if (auto d = cpuDelta(podCgroup, r->cpuUsageNanos)) node.cpuDeltaNanos += *d;
    node.memoryBytes += r->workingSetBytes;
  }
  json containers = json::array();
  std::error_code ec;
  for (const auto& c : fs::directory_iterator(podDir / "containers", ec)) {
    const std::string name = c.path().filename().string();
    const int attempt = PodWorker::latestAttempt(podDir, name);
    if (attempt < 0) continue;
    const std::string cgroup =
        PodWorker::containerCgroup(uid, PodWorker::containerId(uid, name, attempt));
    if (!hasProcesses(under(options_.cgroupRoot, layoutOf(version_).cpuDir, cgroup))) continue;
    auto r = readCgroup(options_.cgroupRoot, version_, cgroup);
    if (!r.ok()) continue;
    auto d = cpuDelta(cgroup, r->cpuUsageNanos);
    if (!d) continue;
    containers.push_back({{"name", name},
                          {"cpuNanoCores", rate(*d, seconds)},
                          {"memoryBytes", static_cast<int64_t>(r->workingSetBytes)}});
  }
  if (containers.empty()) return nullptr;
  const json meta = pod.value("metadata", json::object());
  return {{"namespace", meta.value("namespace", "")},
          {"name", meta.value("name", "")},
          {"uid", uid},
          {"containers", std::move(containers)}};
}

std::optional<json> MetricsCollector::collect(std::chrono::steady_clock::time_point now) {
  const double seconds = lastAt_ ? std::chrono::duration<double>(now - *lastAt_).count() : 0.0;
  const bool measurable = seconds > 0.0;
  current_.clear();
  Sampled node;
  json pods = json::array();
  std::error_code ec;
  for (const auto& p : fs::directory_iterator(options_.stateDir / "pods", ec)) {
    json pod = collectPod(p.path(), measurable ? seconds : 1.0, node);
    if (!pod.is_null()) pods.push_back(std::move(pod));
  }
  if (options_.includeAgentProcess) {
    if (auto self = agentProcess()) {
      if (auto d = cpuDelta("agent", self->cpuUsageNanos)) node.cpuDeltaNanos += *d;
      node.memoryBytes += self->workingSetBytes;
    }
  }
  previous_ = std::move(current_);
  current_ = {};
  lastAt_ = now;
  if (!measurable) return std::nullopt;
  return json{{"windowSeconds", seconds},
              {"node",
               {{"cpuNanoCores", rate(node.cpuDeltaNanos, seconds)},
                {"memoryBytes", static_cast<int64_t>(node.memoryBytes)}}},
              {"pods", std::move(pods)}};
}

Status postMetricsReport(client::ApiClient& api, const std::string& node, const json& report) {
  auto r = api.request("POST", "/kubedesk/v1/nodes/" + node + "/metrics", report.dump(),
                       "application/json");
  if (!r.ok()) return r.status();
  return r->ok() ? Status{} : client::statusFromResponse(r->status, r->body);
}

}  // namespace kd::node

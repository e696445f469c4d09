// pod_start_bench: pod startup latency on one real node, as Kubernetes' SLO defines it — from
// the create call until a watch sees the pod Running with every container started, the image
// already present. A real kubedesk-engine and a real kubedesk-node running busybox under runc
// (needs root). Pods go through the scheduler. Two runs: a burst (all pods created back to back)
// and a paced one (--rate pods per second). Also the agent's memory and CPU. Numbers go to
// docs/benchmarks.md.

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "bench/engine_process.h"
#include "engine/api/kinds.h"
#include "engine/client/api_client.h"

namespace {

using kd::json;
using kd::client::ApiClient;
using Clock = std::chrono::steady_clock;

const char* const kUsage = R"(Usage: pod_start_bench [options]
  --pods N     pods per run (default 100)
  --rate R     pods per second in the paced run (default 5)
  --settle S   seconds to wait after the burst before measuring the agent's settled RSS
               (default 45: its idle threads end after 10 s, it trims its heap every 30 s)
  --quick      10 pods per run, no settling (smoke run)
)";

const kd::api::KindInfo& podKind() {
  return *kd::api::KindsRegistry::builtin().byResource("", "v1", "pods");
}

json pod(const std::string& name) {
  json container = {{"name", "app"}, {"image", "busybox"}, {"command", {"sleep", "3600"}}};
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"labels", {{"bench", "start"}}}}},
          {"spec", {{"terminationGracePeriodSeconds", 1}, {"containers", {container}}}}};
}

bool runningAndStarted(const json& p) {
  const json status = p.value("status", json::object());
  if (status.value("phase", "") != "Running") return false;
  const json containers = status.value("containerStatuses", json::array());
  if (containers.empty()) return false;
  for (const auto& c : containers) {
    if (!c.value("state", json::object()).contains("running")) return false;
  }
  return true;
}

// When a watch first saw each pod running.
class RunningTimes {
 public:
  void seen(const json& p) {
    if (!runningAndStarted(p)) return;
    const std::string name = p["metadata"].value("name", "");
    std::lock_guard lock(mu_);
    if (times_.emplace(name, Clock::now()).second) cv_.notify_all();
  }
  // Waits until `names` all ran or `limit` passed; the times seen.
  std::map<std::string, Clock::time_point> waitFor(const std::vector<std::string>& names,
                                                   std::chrono::seconds limit) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, limit, [&] {
      for (const auto& n : names)
        if (!times_.count(n)) return false;
      return true;
    });
    return times_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Clock::time_point> times_;
};

struct RunResult {
  kd::bench::Samples latency;
  double allRunningSeconds = -1;
  int missing = 0;
};

RunResult run(ApiClient& api, RunningTimes& times, const std::string& prefix, int pods,
              double rate) {
  RunResult result;
  std::map<std::string, Clock::time_point> created;
  std::vector<std::string> names;
  const auto begin = Clock::now();
  for (int i = 0; i < pods; ++i) {
    if (rate > 0) std::this_thread::sleep_until(begin + std::chrono::duration<double>(i / rate));
    const std::string name = prefix + std::to_string(i);
    created[name] = Clock::now();
    names.push_back(name);
    if (auto r = api.create(podKind(), "default", pod(name)); !r.ok())
      std::fprintf(stderr, "pod_start_bench: %s\n", r.status().message().c_str());
  }
  const auto seen = times.waitFor(names, std::chrono::seconds(120 + pods));
  Clock::time_point last = begin;
  for (const auto& name : names) {
    auto it = seen.find(name);
    if (it == seen.end()) {
      ++result.missing;
      continue;
    }
    result.latency.add(it->second - created[name]);
    last = std::max(last, it->second);
  }
  if (result.missing == 0)
    result.allRunningSeconds = std::chrono::duration<double>(last - begin).count();
  return result;
}

// Deletes the run's pods and waits until the agent has torn them down: with a grace period
// the pod objects go only after their containers and mounts (with 0 they would go at once and
// the agent would tear down afterwards); false when some are still there after 5 minutes.
bool clear(ApiClient& api) {
  kd::client::ListOptions selection;
  selection.labelSelector = "bench=start";
  api.removeCollection(podKind(), "default", selection);
  for (int i = 0; i < 3000; ++i) {
    auto list = api.list(podKind(), "default");
    if (list.ok() && (*list)["items"].empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::fputs("pod_start_bench: pods still not gone after 5 minutes; containers may be left\n",
             stderr);
  return false;
}

void report(const char* title, RunResult& r, int pods) {
  std::printf(
      "| %s: %d pods, create → Running p50 / p90 / p99 / max (ms) | %.0f / %.0f / %.0f / "
      "%.0f | all running after %.2f s%s |\n",
      title, pods, r.latency.median(), r.latency.percentile(90), r.latency.percentile(99),
      r.latency.percentile(100), r.allRunningSeconds,
      r.missing ? (", " + std::to_string(r.missing) + " never ran").c_str() : "");
}

}  // namespace

int main(int argc, char** argv) {
  int pods = 100;
  double rate = 5;
  int settleSeconds = 45;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      pods = 10;
      settleSeconds = 0;
    } else if (!std::strcmp(argv[i], "--settle") && i + 1 < argc) {
      settleSeconds = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--pods") && i + 1 < argc) {
      pods = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--rate") && i + 1 < argc) {
      rate = std::atof(argv[++i]);
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  if (::geteuid() != 0) {
    std::fputs("pod_start_bench: kubedesk-node runs containers and needs root\n", stderr);
    return 1;
  }
  const auto bin = std::filesystem::canonical("/proc/self/exe").parent_path();
  kd::bench::EngineProcess engine(bin / "kubedesk-engine");
  if (kd::Status st = engine.start(); !st) {
    std::fprintf(stderr, "pod_start_bench: %s\n", st.message().c_str());
    return 1;
  }
  kd::bench::AgentProcess agent(bin / "kubedesk-node", engine, "n1");
  if (kd::Status st = agent.start(); !st) return 1;
  auto client = engine.adminClient();
  if (!client) return 1;
  ApiClient& api = **client;

  RunningTimes times;
  kd::client::WatchHandlers handlers;
  handlers.onEvent = [&](kd::client::WatchEvent e) { times.seen(e.object); };
  auto watch = api.watch(podKind(), "default", {}, handlers);
  if (!watch.ok()) return 1;

  // One pod first: the node registers, the image is unpacked once.
  RunResult warm = run(api, times, "warm-", 1, 0);
  if (warm.missing) {
    std::fputs("pod_start_bench: the warm-up pod never ran (is the agent up?)\n", stderr);
    return 1;
  }
  if (!clear(api)) return 1;
  const long idleKiB = kd::bench::statusKiB(agent.pid(), "VmRSS");
  const double agentCpu0 = kd::bench::cpuSecondsOf(agent.pid());
  const double engineCpu0 = engine.cpuSeconds();

  RunResult burst = run(api, times, "burst-", pods, 0);
  const long burstKiB = kd::bench::statusKiB(agent.pid(), "VmRSS");
  const double agentCpuBurst = kd::bench::cpuSecondsOf(agent.pid()) - agentCpu0;
  const double engineCpuBurst = engine.cpuSeconds() - engineCpu0;
  std::this_thread::sleep_for(std::chrono::seconds(settleSeconds));
  const long settledKiB = kd::bench::statusKiB(agent.pid(), "VmRSS");
  if (!clear(api)) return 1;
  RunResult paced = run(api, times, "paced-", pods, rate);
  const auto deleting = Clock::now();
  if (!clear(api)) return 1;
  const double deleteSeconds = std::chrono::duration<double>(Clock::now() - deleting).count();

  std::printf("pod_start_bench: one local node, busybox under runc, %d pods per run\n", pods);
  report("burst", burst, pods);
  const std::string pacedTitle = "paced " + std::to_string(static_cast<int>(rate)) + "/s";
  report(pacedTitle.c_str(), paced, pods);
  std::printf(
      "| agent RSS idle / with %d pods just started / %d s later / peak (MB) | %.1f / %.1f / "
      "%.1f / %.1f | |\n",
      pods, settleSeconds, idleKiB / 1024.0, burstKiB / 1024.0, settledKiB / 1024.0,
      kd::bench::statusKiB(agent.pid(), "VmHWM") / 1024.0);
  std::printf("| delete %d pods → all torn down (s) | %.2f | |\n", pods, deleteSeconds);
  std::printf("| CPU per pod started, burst: agent / engine (ms) | %.1f / %.1f | |\n",
              agentCpuBurst * 1000 / pods, engineCpuBurst * 1000 / pods);
  return burst.missing || paced.missing ? 1 : 0;
}

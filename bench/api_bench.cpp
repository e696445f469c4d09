// api_bench: throughput, latency and footprint of the engine's Kubernetes API, measured from
// outside through the same client kdctl and the dashboard use. Starts its own
// kubedesk-engine child process; prints one table. Numbers are recorded in docs/benchmarks.md.

#include <sys/wait.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "bench/engine_process.h"
#include "engine/api/kinds.h"
#include "engine/client/api_client.h"

namespace {

using kd::json;
using kd::bench::EngineProcess;
using kd::bench::Samples;
using kd::client::ApiClient;
using Clock = std::chrono::steady_clock;

const char* const kUsage = R"(Usage: api_bench [options]
  --engine PATH    kubedesk-engine to start (default: the one built beside this binary)
  --kubectl PATH   kubectl to time against the engine (default /usr/bin/kubectl; "" = skip)
  --pods N         pods stored for the list/RSS measurements (default 10000)
  --creates N      ConfigMaps created per throughput run (default 5000)
  --events N       watch events timed (default 1000)
  --runs N         repetitions of each list measurement (default 7)
  --quick          small sizes for a smoke run (ctest label "bench")
)";

struct Config {
  std::string engine;
  std::string kubectl = "/usr/bin/kubectl";
  int pods = 10000, creates = 5000, events = 1000, runs = 7;
};

struct Row {
  std::string metric, value, goal;
};
std::vector<Row> g_rows;

void record(std::string metric, std::string value, std::string goal = "") {
  std::printf("  %-52s %s\n", metric.c_str(), value.c_str());
  std::fflush(stdout);
  g_rows.push_back({std::move(metric), std::move(value), std::move(goal)});
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// Engine CPU time spent between construction and perOp(), divided by the operations done.
class CpuMeter {
 public:
  explicit CpuMeter(const EngineProcess& engine) : engine_(engine), start_(engine.cpuSeconds()) {}
  double perOpMs(int ops) const { return (engine_.cpuSeconds() - start_) * 1e3 / ops; }

 private:
  const EngineProcess& engine_;
  double start_;
};

const kd::api::KindInfo& kind(const char* name) {
  return *kd::api::KindsRegistry::builtin().resolve(name);
}

json configMap(const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"labels", {{"bench", "cm"}}}}},
          {"data", {{"key", "value"}}}};
}

json pod(const std::string& name) {
  return {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata",
       {{"name", name}, {"labels", {{"app", "bench"}, {"shard", name.substr(name.size() - 1)}}}}},
      {"spec",
       {{"containers",
         {{{"name", "app"},
           {"image", "registry.example/bench/app:1.0"},
           {"ports", {{{"containerPort", 8080}}}},
           {"resources", {{"requests", {{"cpu", "100m"}, {"memory", "64Mi"}}}}}}}}}}};
}

// Creates `total` objects from `threads` threads; returns objects per second (0 on failure).
double createMany(ApiClient& client, const kd::api::KindInfo& k, int total, int threads,
                  const std::string& prefix, json (*make)(const std::string&)) {
  std::atomic<int> next{0}, failures{0};
  std::string firstError;
  std::mutex mu;
  const auto start = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i; (i = next++) < total;) {
        auto r = client.create(k, "default", make(prefix + std::to_string(i)));
        if (r.ok()) continue;
        std::lock_guard lock(mu);
        if (failures++ == 0) firstError = r.status().message();
      }
    });
  }
  for (auto& w : workers) w.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (failures > 0) {
    std::fprintf(stderr, "api_bench: %d creates failed, first: %s\n", failures.load(),
                 firstError.c_str());
  }
  return total / seconds;
}

void benchCreates(ApiClient& client, const EngineProcess& engine, const Config& cfg) {
  const auto& cm = kind("configmaps");
  const CpuMeter cpuOne(engine);
  const double one = createMany(client, cm, cfg.creates, 1, "cm-a-", configMap);
  record("create ConfigMap, 1 client thread (objects/s)", fmt("%.0f", one), ">= 5000");
  record("  … engine CPU per create (µs)", fmt("%.0f", cpuOne.perOpMs(cfg.creates) * 1e3));
  const CpuMeter cpuEight(engine);
  const double eight = createMany(client, cm, cfg.creates, 8, "cm-b-", configMap);
  record("create ConfigMap, 8 client threads (objects/s)", fmt("%.0f", eight), ">= 5000");
  record("  … engine CPU per create (µs)", fmt("%.0f", cpuEight.perOpMs(cfg.creates) * 1e3));
}

// Times `runs` GETs of the pod list with `accept`; reports the median transfer and parse.
void benchList(ApiClient& client, const EngineProcess& engine, const Config& cfg, const char* label,
               const char* accept, const std::string& goal) {
  const std::string path = ApiClient::resourcePath(kind("pods"), "default");
  Samples transfer, parse, cpu;
  size_t bytes = 0, items = 0;
  for (int i = 0; i < cfg.runs; ++i) {
    const CpuMeter meter(engine);
    const auto t0 = Clock::now();
    auto r = client.request("GET", path, {}, {}, accept);
    const auto t1 = Clock::now();
    if (!r || !r->ok()) {
      std::fprintf(stderr, "api_bench: list failed\n");
      return;
    }
    cpu.ms.push_back(meter.perOpMs(1));
    json doc = json::parse(r->body);
    parse.add(Clock::now() - t1);
    transfer.add(t1 - t0);
    bytes = r->body.size();
    items = doc.contains("items") ? doc["items"].size() : doc["rows"].size();
  }
  record(std::string("list ") + std::to_string(items) + " pods " + label + ", median (ms)",
         fmt("%.1f", transfer.median()), goal);
  record(std::string("  … response size (MB) / client JSON parse (ms)"),
         fmt("%.1f", bytes / 1e6) + " / " + fmt("%.1f", parse.median()));
  record(std::string("  … engine CPU per list, median (ms)"), fmt("%.0f", cpu.median()));
}

void benchWatchLatency(ApiClient& client, const Config& cfg) {
  const auto& cm = kind("configmaps");
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, Clock::time_point> received;
  kd::client::WatchHandlers handlers;
  handlers.onEvent = [&](kd::client::WatchEvent ev) {
    const auto now = Clock::now();
    if (ev.type != "ADDED") return;
    std::lock_guard lock(mu);
    received[ev.object["metadata"]["name"].get<std::string>()] = now;
    cv.notify_all();
  };
  auto watch = client.watch(cm, "kube-public", {}, handlers);
  if (!watch) {
    std::fprintf(stderr, "api_bench: watch failed: %s\n", watch.status().message().c_str());
    return;
  }
  Samples fromAck, fromSend;
  for (int i = 0; i < cfg.events; ++i) {
    const std::string name = "lat-" + std::to_string(i);
    const auto sent = Clock::now();
    if (!client.create(cm, "kube-public", configMap(name))) continue;
    const auto acked = Clock::now();
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(5), [&] { return received.contains(name); })) {
      std::fprintf(stderr, "api_bench: no watch event for %s\n", name.c_str());
      continue;
    }
    // The event may beat the create's answer; that counts as zero latency.
    fromAck.add(std::max(received[name] - acked, Clock::duration::zero()));
    fromSend.add(received[name] - sent);
  }
  record("watch latency create-acknowledged → event, p50 (ms)",
         fmt("%.3f", fromAck.percentile(50)));
  record("watch latency create-acknowledged → event, p99 (ms)", fmt("%.3f", fromAck.percentile(99)),
         "<= 5");
  record("watch latency create-sent → event, p50 / p99 (ms)",
         fmt("%.3f", fromSend.percentile(50)) + " / " + fmt("%.3f", fromSend.percentile(99)));
}

// Wall time of the real kubectl listing the stored pods (its own discovery cache, warm).
void benchKubectl(const EngineProcess& engine, const Config& cfg) {
  if (cfg.kubectl.empty() || access(cfg.kubectl.c_str(), X_OK) != 0) {
    record("kubectl get pods", "skipped (no kubectl)");
    return;
  }
  const std::string cmd = cfg.kubectl + " --kubeconfig " + engine.kubeconfig().string() +
                          " --cache-dir " + (engine.dataDir() / "kubectl-cache").string() +
                          " get pods -n default >/dev/null 2>&1";
  Samples wall;
  for (int i = 0; i < std::max(3, cfg.runs / 2) + 1; ++i) {
    const auto t0 = Clock::now();
    const int rc = std::system(cmd.c_str());
    if (rc != 0) {
      record("kubectl get pods", "failed (exit " + std::to_string(WEXITSTATUS(rc)) + ")");
      return;
    }
    if (i > 0) wall.add(Clock::now() - t0);  // the first run fills the discovery cache
  }
  record("kubectl get pods (" + std::to_string(cfg.pods) + " pods), wall median (ms)",
         fmt("%.0f", wall.median()));
}

void printTable() {
  std::printf("\n| metric | result | goal |\n|---|---|---|\n");
  for (const auto& r : g_rows)
    std::printf("| %s | %s | %s |\n", r.metric.c_str(), r.value.c_str(), r.goal.c_str());
}

bool parseArgs(int argc, char** argv, Config& cfg) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--engine") {
      cfg.engine = value();
    } else if (arg == "--kubectl") {
      cfg.kubectl = value();
    } else if (arg == "--pods") {
      cfg.pods = std::atoi(value());
    } else if (arg == "--creates") {
      cfg.creates = std::atoi(value());
    } else if (arg == "--events") {
      cfg.events = std::atoi(value());
    } else if (arg == "--runs") {
      cfg.runs = std::atoi(value());
    } else if (arg == "--quick") {
      cfg.pods = 300, cfg.creates = 300, cfg.events = 100, cfg.runs = 3;
    } else {
      std::fputs(kUsage, arg == "-h" || arg == "--help" ? stdout : stderr);
      return false;
    }
  }
  return cfg.runs > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  cfg.engine =
      (std::filesystem::canonical("/proc/self/exe").parent_path() / "kubedesk-engine").string();
  if (!parseArgs(argc, argv, cfg)) return 2;

  EngineProcess engine(cfg.engine);
  if (kd::Status st = engine.start(); !st) {
    std::fprintf(stderr, "api_bench: %s\n", st.message().c_str());
    return 1;
  }
  auto client = engine.adminClient();
  if (!client) {
    std::fprintf(stderr, "api_bench: %s\n", client.status().message().c_str());
    return 1;
  }
  std::printf("api_bench: engine pid %d at %s\n", engine.pid(), engine.url().c_str());

  std::this_thread::sleep_for(std::chrono::seconds(1));
  record("engine RSS idle (MB)", fmt("%.1f", engine.rssKiB() / 1024.0), "<= 40");

  benchCreates(**client, engine, cfg);
  benchWatchLatency(**client, cfg);

  const CpuMeter podCpu(engine);
  const double podRate = createMany(**client, kind("pods"), cfg.pods, 8, "pod-", pod);
  record("create Pod, 8 client threads (objects/s)", fmt("%.0f", podRate));
  record("  … engine CPU per create (µs)", fmt("%.0f", podCpu.perOpMs(cfg.pods) * 1e3));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  record("engine RSS after creating the pods (MB)", fmt("%.1f", engine.rssKiB() / 1024.0));
  benchList(**client, engine, cfg, "as JSON", "application/json", "<= 150");
  benchList(**client, engine, cfg, "as Table", "application/json;as=Table;v=v1;g=meta.k8s.io", "");
  benchKubectl(engine, cfg);

  record("engine RSS with all objects stored (MB)", fmt("%.1f", engine.rssKiB() / 1024.0));
  record("engine peak RSS, VmHWM (MB)", fmt("%.1f", engine.peakRssKiB() / 1024.0));
  record("database size, store.db + WAL (MB)", fmt("%.1f", engine.databaseBytes() / 1e6));
  printTable();
  return 0;
}

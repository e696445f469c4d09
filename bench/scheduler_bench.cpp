// scheduler_bench: scheduling throughput in-process, as kube-scheduler's scheduler_perf
// measures it: N simulated Node objects, then M pods, timed until every pod is bound. Uses a
// real SQLite store and ObjectService (every bind is a store write) and the engine's
// Scheduler under a ControllerManager; no HTTP. Numbers go to docs/benchmarks.md.
//
// Two runs: "backlog" (pods created first, then the scheduler starts: pure scheduling) and
// "streaming" (the scheduler runs while one thread creates the pods: create to bound).

#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "engine/api/kinds.h"
#include "engine/api/schema.h"
#include "engine/controllers/controller_manager.h"
#include "engine/controllers/event_recorder.h"
#include "engine/scheduler/scheduler.h"
#include "engine/server/object_service.h"
#include "engine/store/sqlite_store.h"

namespace {

using kd::json;
using Clock = std::chrono::steady_clock;

const char* const kUsage = R"(Usage: scheduler_bench [options]
  --nodes N   simulated nodes (default 1000)
  --pods N    pods to schedule (default 10000)
  --quick     100 nodes, 1000 pods (smoke run)
  --backlog   the backlog run only (for profiling it)
  --events    only record N Scheduled events (N = --pods) through the EventRecorder: the
              event path's CPU per event
)";

struct Env {
  std::filesystem::path dir;
  std::unique_ptr<kd::store::SqliteStore> store;
  std::unique_ptr<kd::server::ObjectService> objects;

  Env() {
    char tmpl[] = "/tmp/scheduler_bench.XXXXXX";
    dir = mkdtemp(tmpl);
    store = std::move(kd::store::SqliteStore::open(dir / "store.db")).value();
    objects = std::make_unique<kd::server::ObjectService>(
        *store, kd::api::KindsRegistry::builtin(), kd::api::SchemaRegistry::builtin(),
        [] { return std::chrono::system_clock::now(); });
    objects->create(kind("namespaces"), "", json{{"metadata", {{"name", "default"}}}}, {});
  }
  ~Env() {
    objects.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }
  const kd::api::KindInfo& kind(const char* resource) {
    return *objects->kinds().byResource("", "v1", resource);
  }
};

void createNodes(Env& env, int count) {
  const json resources = {{"cpu", "4"}, {"memory", "8Gi"}, {"pods", "110"}};
  for (int i = 1; i <= count; ++i) {
    const std::string name = "sim-" + std::to_string(10000 + i).substr(1);
    json node = {{"metadata", {{"name", name}, {"labels", {{"kubernetes.io/hostname", name}}}}},
                 {"status", {{"capacity", resources}, {"allocatable", resources}}}};
    auto created = env.objects->create(env.kind("nodes"), "", node, {});
    json body = created->object;
    body["status"] = {{"capacity", resources}, {"allocatable", resources}};
    kd::server::WriteOptions o;
    o.subresource = "status";
    env.objects->update(env.kind("nodes"), "", name, body, o);
  }
}

json pod(int i) {
  // Requests like a small web replica: 1,000 nodes x 4 cpu hold 40,000 of them.
  return {{"metadata", {{"name", "p-" + std::to_string(i)}, {"labels", {{"app", "bench"}}}}},
          {"spec",
           {{"containers",
             {{{"name", "c"},
               {"image", "busybox"},
               {"resources", {{"requests", {{"cpu", "100m"}, {"memory", "128Mi"}}}}}}}}}}};
}

void createPods(Env& env, int count) {
  for (int i = 0; i < count; ++i) env.objects->create(env.kind("pods"), "default", pod(i), {});
}

struct Result {
  double seconds;
  uint64_t scheduled;
  double cpuSeconds = 0;  // this process (store, informers, scheduler), user + system
};

double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

Result waitForAll(const kd::scheduler::Scheduler& s, uint64_t count, Clock::time_point from) {
  const auto deadline = from + std::chrono::minutes(10);
  while (s.scheduledCount() < count && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return {std::chrono::duration<double>(Clock::now() - from).count(), s.scheduledCount()};
}

Result backlog(int nodes, int pods) {
  Env env;
  createNodes(env, nodes);
  createPods(env, pods);
  kd::controllers::ControllerManager manager(*env.objects);
  auto owned = std::make_unique<kd::scheduler::Scheduler>(*env.objects);
  auto* scheduler = owned.get();
  manager.add(std::move(owned));
  const double cpu0 = cpuSeconds();
  const auto start = Clock::now();
  if (!manager.start().isOk()) return {0, 0};
  Result r = waitForAll(*scheduler, uint64_t(pods), start);
  r.cpuSeconds = cpuSeconds() - cpu0;
  manager.stop();
  return r;
}

Result streaming(int nodes, int pods, double* createSeconds) {
  Env env;
  createNodes(env, nodes);
  kd::controllers::ControllerManager manager(*env.objects);
  auto owned = std::make_unique<kd::scheduler::Scheduler>(*env.objects);
  auto* scheduler = owned.get();
  manager.add(std::move(owned));
  if (!manager.start().isOk()) return {0, 0};
  const double cpu0 = cpuSeconds();
  const auto start = Clock::now();
  createPods(env, pods);
  *createSeconds = std::chrono::duration<double>(Clock::now() - start).count();
  Result r = waitForAll(*scheduler, uint64_t(pods), start);
  r.cpuSeconds = cpuSeconds() - cpu0;
  manager.stop();
  return r;
}

// The event path alone: what each bound pod's Scheduled event costs (queue, fold, create).
Result events(int count) {
  Env env;
  std::vector<json> pods;
  pods.reserve(size_t(count));
  for (int i = 0; i < count; ++i) {
    json p = pod(i);
    p["apiVersion"] = "v1";
    p["kind"] = "Pod";
    p["metadata"]["namespace"] = "default";
    p["metadata"]["uid"] = "00000000-0000-0000-0000-" + std::to_string(100000000000 + i);
    p["metadata"]["resourceVersion"] = std::to_string(i + 2);
    pods.push_back(std::move(p));
  }
  const double cpu0 = cpuSeconds();
  const auto start = Clock::now();
  {
    kd::controllers::EventRecorder recorder(*env.objects, "default-scheduler");
    for (int i = 0; i < count; ++i) {
      recorder.record(pods[size_t(i)], "Normal", "Scheduled",
                      "Successfully assigned default/p-" + std::to_string(i) + " to sim-0001");
    }
    recorder.flush();
  }
  Result r{std::chrono::duration<double>(Clock::now() - start).count(), uint64_t(count)};
  r.cpuSeconds = cpuSeconds() - cpu0;
  auto listed = env.objects->list(env.kind("events"), "default", {});
  r.scheduled = listed.ok() ? listed->items.size() : 0;  // events stored
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int nodes = 1000, pods = 10000;
  bool backlogOnly = false, eventsOnly = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--nodes" || arg == "--pods") && i + 1 < argc) {
      (arg == "--nodes" ? nodes : pods) = std::atoi(argv[++i]);
    } else if (arg == "--events") {
      eventsOnly = true;
    } else if (arg == "--backlog") {
      backlogOnly = true;
    } else if (arg == "--quick") {
      nodes = 100;
      pods = 1000;
    } else {
      std::fputs(kUsage, arg == "-h" || arg == "--help" ? stdout : stderr);
      return arg == "-h" || arg == "--help" ? 0 : 2;
    }
  }
  if (eventsOnly) {
    const Result e = events(pods);
    std::printf(
        "scheduler_bench: %d Scheduled events: %.2f s  %.0f events/s  (%llu stored; CPU %.1f "
        "us/event)\n",
        pods, e.seconds, double(pods) / e.seconds, static_cast<unsigned long long>(e.scheduled),
        e.cpuSeconds * 1e6 / double(pods));
    return e.scheduled == uint64_t(pods) ? 0 : 1;
  }
  std::printf("scheduler_bench: %d nodes, %d pods\n", nodes, pods);
  const Result b = backlog(nodes, pods);
  std::printf(
      "  backlog   (pods stored, then schedule): %6.2f s  %8.0f pods/s  (%llu bound; CPU %.0f "
      "us/pod)\n",
      b.seconds, double(b.scheduled) / b.seconds, static_cast<unsigned long long>(b.scheduled),
      b.cpuSeconds * 1e6 / double(pods));
  if (backlogOnly) return b.scheduled == uint64_t(pods) ? 0 : 1;
  double createSeconds = 0;
  const Result s = streaming(nodes, pods, &createSeconds);
  std::printf(
      "  streaming (create while scheduling):    %6.2f s  %8.0f pods/s  (%llu bound; "
      "creates alone took %.2f s; CPU %.0f us/pod with the creates)\n",
      s.seconds, double(s.scheduled) / s.seconds, static_cast<unsigned long long>(s.scheduled),
      createSeconds, s.cpuSeconds * 1e6 / double(pods));
  return b.scheduled == uint64_t(pods) && s.scheduled == uint64_t(pods) ? 0 : 1;
}

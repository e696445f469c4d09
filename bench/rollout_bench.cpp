// rollout_bench: a 1,000-replica Deployment on 100 simulated nodes, end to end through the
// API: time from the create call until the Deployment reports every replica ready (ReplicaSet,
// pod creations, scheduling, binding, the simulated kubelets' status writes), then a rolling
// update to a new image until the new ReplicaSet is fully ready and the old one is gone.
// Numbers go to docs/benchmarks.md.

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "bench/engine_process.h"
#include "engine/api/kinds.h"
#include "engine/client/api_client.h"

namespace {

using kd::json;
using kd::client::ApiClient;
using Clock = std::chrono::steady_clock;

const char* const kUsage = R"(Usage: rollout_bench [options]
  --nodes N      simulated nodes (default 100)
  --replicas N   Deployment replicas (default 1000)
  --quick        10 nodes, 100 replicas (smoke run)
)";

const kd::api::KindInfo& kind(const char* group, const char* resource) {
  return *kd::api::KindsRegistry::builtin().byResource(group, "v1", resource);
}

// Polls until `done(object)` holds; returns the seconds waited, or -1 after `limit`.
template <typename Done>
double waitFor(ApiClient& client, const kd::api::KindInfo& k, const char* name, Done done,
               std::chrono::seconds limit, Clock::time_point since) {
  while (Clock::now() - since < limit) {
    auto got = client.get(k, "default", name);
    if (got.ok() && done(*got)) {
      return std::chrono::duration<double>(Clock::now() - since).count();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  int nodes = 100, replicas = 1000;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      nodes = 10;
      replicas = 100;
    } else if (!std::strcmp(argv[i], "--nodes") && i + 1 < argc) {
      nodes = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--replicas") && i + 1 < argc) {
      replicas = std::atoi(argv[++i]);
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  const auto binary =
      std::filesystem::canonical("/proc/self/exe").parent_path() / "kubedesk-engine";
  kd::bench::EngineProcess engine(binary, {"--simulated-nodes", std::to_string(nodes)});
  if (kd::Status st = engine.start(); !st) {
    std::fprintf(stderr, "rollout_bench: %s\n", st.message().c_str());
    return 1;
  }
  auto client = engine.adminClient();
  if (!client) return 1;
  ApiClient& api = **client;

  // Nodes first: the simulated kubelets register and turn Ready.
  const auto& nodeKind = kind("", "nodes");
  const auto nodesSince = Clock::now();
  for (;;) {
    auto list = api.list(nodeKind, "");
    if (list.ok() && (*list)["items"].size() >= static_cast<size_t>(nodes)) break;
    if (Clock::now() - nodesSince > std::chrono::seconds(60)) {
      std::fprintf(stderr, "rollout_bench: nodes did not register\n");
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  const auto& deployments = kind("apps", "deployments");
  const double cpu0 = engine.cpuSeconds();
  const auto created = Clock::now();
  if (auto r = api.create(deployments, "default", kd::bench::webDeployment(replicas, "busybox:1"));
      !r.ok()) {
    std::fprintf(stderr, "rollout_bench: %s\n", r.status().message().c_str());
    return 1;
  }
  auto allReady = [replicas](const json& d) {
    const json& s = d.value("status", json::object());
    return s.value("readyReplicas", 0) == replicas && s.value("updatedReplicas", 0) == replicas &&
           s.value("replicas", 0) == replicas;
  };
  const double ready =
      waitFor(api, deployments, "web", allReady, std::chrono::seconds(120), created);
  const double cpuCreate = engine.cpuSeconds() - cpu0;

  auto current = api.get(deployments, "default", "web");
  if (!current.ok()) return 1;
  json updated = *current;
  updated["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:2";
  const double cpu1 = engine.cpuSeconds();
  const auto rolled = Clock::now();
  auto written = api.update(deployments, "default", updated);
  if (!written.ok()) return 1;
  const int64_t generation = (*written)["metadata"].value("generation", int64_t{0});
  auto rolledOut = [&](const json& d) {
    return d.value("status", json::object()).value("observedGeneration", int64_t{0}) >=
               generation &&
           allReady(d);
  };
  const double rollout =
      waitFor(api, deployments, "web", rolledOut, std::chrono::seconds(180), rolled);
  const double cpuRollout = engine.cpuSeconds() - cpu1;

  std::printf("rollout_bench: %d replicas on %d simulated nodes\n", replicas, nodes);
  std::printf("| create → all %d ready (s) | %.2f | engine CPU %.2f s |\n", replicas, ready,
              cpuCreate);
  std::printf("| rolling update → all %d updated and ready (s) | %.2f | engine CPU %.2f s |\n",
              replicas, rollout, cpuRollout);
  std::printf("| engine RSS after (MB) | %.1f | |\n", engine.rssKiB() / 1024.0);
  return ready < 0 || rollout < 0 ? 1 : 0;
}

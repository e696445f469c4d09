// cli_bench: wall time of `kdctl get pods` against `kubectl get pods` on a warm engine with
// one simulated node and ~50 running pods. The two run alternately in one loop, so both see
// the same machine load; prints p50/p90 of each and the ratio. Numbers are recorded in
// docs/benchmarks.md.

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "bench/engine_process.h"
#include "engine/api/kinds.h"
#include "engine/client/api_client.h"

extern char** environ;

namespace {

using kd::json;
using kd::bench::EngineProcess;
using kd::bench::Samples;
using Clock = std::chrono::steady_clock;

const char* const kUsage = R"(Usage: cli_bench [options]
  --engine PATH    kubedesk-engine to start (default: the one built beside this binary)
  --kdctl PATH     kdctl to time (default: the one built beside this binary)
  --kubectl PATH   kubectl to time (default /usr/bin/kubectl)
  --pods N         pods in the namespace listed (default 50)
  --runs N         timed runs of each command (default 30)
  --quick          5 pods, 3 runs: a smoke run (ctest label "bench")
)";

struct Config {
  std::string engine, kdctl, kubectl = "/usr/bin/kubectl";
  int pods = 50, runs = 30;
};

// Runs argv with stdout and stderr on /dev/null; returns the exit code (-1: could not start).
int runQuietly(const std::vector<std::string>& argv) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> cargs;
  for (const auto& a : argv) cargs.push_back(const_cast<char*>(a.c_str()));
  cargs.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, cargs[0], &actions, nullptr, cargs.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

kd::Status createPods(const EngineProcess& engine, int count) {
  auto client = engine.adminClient();
  if (!client.ok()) return client.status();
  const auto& pods = *kd::api::KindsRegistry::builtin().resolve("pods");
  for (int i = 0; i < count; ++i) {
    const json pod = {
        {"apiVersion", "v1"},
        {"kind", "Pod"},
        {"metadata", {{"name", "bench-" + std::to_string(i)}, {"labels", {{"app", "bench"}}}}},
        {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
    auto created = (*client)->create(pods, "default", pod);
    if (!created.ok()) return created.status();
  }
  // Let the simulated node mark them Running, so the table is the usual one.
  for (int waited = 0; waited < 100; ++waited) {
    auto list = (*client)->list(pods, "default");
    if (!list.ok()) return list.status();
    int running = 0;
    for (const auto& p : (*list)["items"]) {
      running += p.value("/status/phase"_json_pointer, std::string()) == "Running";
    }
    if (running == count) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return kd::Status::ok();
}

bool parseArgs(int argc, char** argv, Config& cfg) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--engine") {
      cfg.engine = value();
    } else if (arg == "--kdctl") {
      cfg.kdctl = value();
    } else if (arg == "--kubectl") {
      cfg.kubectl = value();
    } else if (arg == "--pods") {
      cfg.pods = std::atoi(value());
    } else if (arg == "--runs") {
      cfg.runs = std::atoi(value());
    } else if (arg == "--quick") {
      cfg.pods = 5, cfg.runs = 3;
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
  const auto here = std::filesystem::canonical("/proc/self/exe").parent_path();
  cfg.engine = (here / "kubedesk-engine").string();
  cfg.kdctl = (here / "kdctl").string();
  if (!parseArgs(argc, argv, cfg)) return 2;

  EngineProcess engine(cfg.engine, {"--simulated-nodes", "1"});
  if (kd::Status st = engine.start(); !st.isOk()) {
    std::fprintf(stderr, "cli_bench: %s\n", st.message().c_str());
    return 1;
  }
  if (kd::Status st = createPods(engine, cfg.pods); !st.isOk()) {
    std::fprintf(stderr, "cli_bench: creating pods: %s\n", st.message().c_str());
    return 1;
  }
  const std::string kubeconfig = engine.kubeconfig().string();
  const std::vector<std::string> kdctl = {cfg.kdctl, "--kubeconfig", kubeconfig, "get", "pods"};
  const std::vector<std::string> kubectl = {cfg.kubectl,
                                            "--kubeconfig",
                                            kubeconfig,
                                            "--cache-dir",
                                            (engine.dataDir() / "kubectl-cache").string(),
                                            "get",
                                            "pods"};
  // One untimed run each: kubectl fills its discovery cache, both warm the page cache.
  for (const auto* command : {&kdctl, &kubectl}) {
    if (int rc = runQuietly(*command); rc != 0) {
      std::fprintf(stderr, "cli_bench: %s get pods failed (exit %d)\n", (*command)[0].c_str(), rc);
      return 1;
    }
  }
  Samples mine, theirs;
  for (int i = 0; i < cfg.runs; ++i) {
    for (auto [command, samples] : {std::pair{&kdctl, &mine}, std::pair{&kubectl, &theirs}}) {
      const auto t0 = Clock::now();
      if (runQuietly(*command) != 0) return 1;
      samples->add(Clock::now() - t0);
    }
  }
  const double mineP50 = mine.percentile(50), theirsP50 = theirs.percentile(50);
  std::printf("cli_bench: get pods, %d pods, %d alternating runs each, wall ms\n", cfg.pods,
              cfg.runs);
  std::printf("| command | p50 (ms) | p90 (ms) |\n|---|---|---|\n");
  std::printf("| kdctl get pods | %.1f | %.1f |\n", mineP50, mine.percentile(90));
  std::printf("| kubectl get pods | %.1f | %.1f |\n", theirsP50, theirs.percentile(90));
  std::printf("| ratio kdctl / kubectl (p50) | %.2f | |\n", mineP50 / theirsP50);
  return 0;
}

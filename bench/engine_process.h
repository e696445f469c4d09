#pragma once
// Benchmark support: a kubedesk-engine child process with a throw-away state directory, so
// the engine's memory (/proc/PID/status) and database size can be measured from outside, plus
// small timing statistics. No Qt: benchmarks link only the engine client.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/api/status.h"
#include "engine/client/api_client.h"

namespace kd::bench {

// From /proc/PID/status: a KiB field such as VmRSS or VmHWM (0 when unreadable).
long statusKiB(pid_t pid, const std::string& field);
// CPU time (user + system, all threads) process `pid` has used so far, in seconds.
double cpuSecondsOf(pid_t pid);

class EngineProcess {
 public:
  // `binary` is the kubedesk-engine to run; `extraArgs` are added to its command line
  // (e.g. --simulated-nodes N).
  explicit EngineProcess(std::filesystem::path binary, std::vector<std::string> extraArgs = {});
  ~EngineProcess();  // stops the engine and removes the state directory
  EngineProcess(const EngineProcess&) = delete;
  EngineProcess& operator=(const EngineProcess&) = delete;

  // Starts `kubedesk-engine --data-dir TMP --no-kubeconfig --port 0 EXTRA...` and waits for
  // the URL it prints.
  Status start();
  void stop();  // SIGTERM, then wait

  pid_t pid() const { return pid_; }
  const std::string& url() const { return url_; }
  const std::filesystem::path& dataDir() const { return dataDir_; }
  std::filesystem::path kubeconfig() const { return dataDir_ / "kubeconfig"; }
  // A client with the engine's admin credentials (its kubeconfig).
  Result<std::unique_ptr<client::ApiClient>> adminClient() const;

  // VmRSS / VmHWM of the engine in KiB (0 when unreadable).
  long rssKiB() const { return statusKiB(pid_, "VmRSS"); }
  long peakRssKiB() const { return statusKiB(pid_, "VmHWM"); }
  // CPU time the engine has used so far, in seconds (0 when unreadable). Differences of it
  // measure work per operation even on a loaded machine, where wall-clock rates mostly
  // measure the neighbours.
  double cpuSeconds() const { return cpuSecondsOf(pid_); }
  // Bytes of every store.db* file (database, WAL, shared memory).
  uintmax_t databaseBytes() const;

 private:
  std::filesystem::path binary_;
  std::vector<std::string> extraArgs_;
  std::filesystem::path dataDir_;
  pid_t pid_ = -1;
  std::string url_;
};

// A kubedesk-node agent for node `nodeName` of `engine`, with a throw-away state directory
// and its output in `<state>.log`.
class AgentProcess {
 public:
  AgentProcess(std::filesystem::path binary, const EngineProcess& engine, std::string nodeName);
  ~AgentProcess();  // stops the agent and removes its state directory
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  // Before start(): pods get IPs on a bridge in the network namespace `netns` (under
  // /run/netns, made by the caller), as the local driver sets a node up. Without it pods have
  // loopback only, and no endpoints.
  void setPodNetwork(std::string netns) { netns_ = std::move(netns); }
  Status start();
  void stop();  // SIGTERM, then wait
  pid_t pid() const { return pid_; }

 private:
  std::filesystem::path binary_;
  const EngineProcess& engine_;
  std::string nodeName_;
  std::string netns_;
  std::filesystem::path stateDir_;
  pid_t pid_ = -1;
};

// The benchmarks' Deployment "web": `replicas` pods of `image` requesting 10m CPU and 16Mi,
// rolled 25% surge / 25% unavailable (Kubernetes' default, written out).
json webDeployment(int replicas, const std::string& image);

// Sorted samples in milliseconds.
struct Samples {
  std::vector<double> ms;
  void add(std::chrono::steady_clock::duration d);
  double percentile(double p);  // 0..100; sorts in place
  double median() { return percentile(50); }
};

}  // namespace kd::bench

#pragma once
// The kubelet of simulated nodes: a controller over pods bound to any of its nodes.
//
//   - A pod bound to one of the nodes runs at once: phase Running, every container ready and
//     started (state running), conditions PodScheduled / Initialized / ContainersReady /
//     Ready True, podIP from the node's podCIDR, hostIP the node's address, startTime.
//     Annotation kubedesk.io/simulated-ready-after: "5s" holds Ready (and ContainersReady)
//     False for that long; readiness probes are not run.
//   - A pod whose controller is a Job (restartPolicy Never / OnFailure), or that carries
//     kubedesk.io/simulated-duration: "3s", exits after that long (Job pods: jobPodDuration).
//     Exit code 0 unless kubedesk.io/simulated-exit-code says otherwise. Exit code 0 under
//     Never/OnFailure, or any exit under Never, ends the pod (Succeeded, reason Completed /
//     Failed, reason Error); otherwise the container restarts (restartCount + 1, lastState).
//   - A pod marked for deletion is finalized: deleted with grace period 0.
// Queue key: the pod's "namespace/name".

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "engine/controllers/controller.h"
#include "engine/controllers/event_recorder.h"
#include "engine/controllers/informer.h"
#include "engine/controllers/work_queue.h"
#include "engine/server/object_service.h"

namespace kd::vm {

struct SimulatedNode {
  std::string name;
  std::string internalIp;
  int cidrIndex = 0;  // the node's podCIDR is SimulatedNodes::podCidr(cidrIndex)
};

class SimulatedKubelet : public controllers::Controller {
 public:
  SimulatedKubelet(server::ObjectService& objects, std::vector<SimulatedNode> nodes,
                   std::chrono::milliseconds jobPodDuration, bool recordEvents, int workers);

  std::string name() const override { return "simulated-kubelet"; }
  void setup(controllers::ControllerManager& manager, controllers::WorkQueue& queue) override;
  Status sync(const std::string& key) override;
  int workers() const override { return workers_; }

  // Go-style durations: "3s", "500ms", "1m30s", "1h". nullopt when malformed.
  static std::optional<std::chrono::milliseconds> parseDuration(std::string_view text);

 private:
  struct Plan {
    bool exits = false;
    std::chrono::milliseconds runFor{0};
    std::chrono::milliseconds readyAfter{0};
    int exitCode = 0;
  };
  Plan planFor(const json& pod) const;
  Status start(const json& pod, const SimulatedNode& node);
  Status advance(const json& pod, const Plan& plan);
  Status writeStatus(const json& pod, json status);
  std::string allocateIp(const std::string& podKey, const SimulatedNode& node);
  void releaseIp(const std::string& podKey);
  void recordStarted(const json& pod, const SimulatedNode& node);

  server::ObjectService& objects_;
  const api::KindInfo* pods_;
  std::map<std::string, SimulatedNode> nodes_;
  const std::chrono::milliseconds jobPodDuration_;
  const bool recordEvents_;
  const int workers_;
  controllers::Informer* podInformer_ = nullptr;
  controllers::WorkQueue* queue_ = nullptr;
  controllers::EventRecorder recorder_;

  // When the current run of a pod's containers began, to the sub-second (status timestamps
  // have whole seconds); after an engine restart the status timestamps stand in.
  std::optional<std::chrono::system_clock::time_point> runningSince(const std::string& podKey);
  void setRunningSince(const std::string& podKey, std::chrono::system_clock::time_point t);

  std::mutex ipMu_;
  std::map<std::string, std::string> ipOf_;       // pod key -> IP
  std::map<std::string, std::set<int>> usedIps_;  // node -> last octets in use
  std::map<std::string, std::chrono::system_clock::time_point> runningSince_;
};

}  // namespace kd::vm

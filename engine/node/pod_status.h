#pragma once
// Pod status as the kubelet computes it from what its containers are doing: each container's
// status (state, lastState, restartCount, ids), the pod's phase and its conditions. Pure
// functions, so the rules are testable without containers.
//
// Phase (kubelet's getPhase): Pending until the init containers have all succeeded (Failed if
// one failed under restartPolicy Never) and every app container has run; Running while any
// runs or will be restarted; Succeeded when all ended with 0; Failed when all ended and one
// failed under Never (or OnFailure never applies because none failed).

#include <optional>
#include <string>
#include <vector>

#include "engine/api/status.h"
#include "engine/node/timestamps.h"

namespace kd::node {

struct Termination {
  int exitCode = 0;
  bool oomKilled = false;
  std::string startedAt, finishedAt;
  std::string containerId;  // "runc://<id>"
  std::string startError;   // the runtime's message when the process never started

  // "Completed", "OOMKilled", "StartError" or "Error".
  std::string reason() const;
};

struct ContainerView {
  enum class State { Waiting, Running, Terminated };
  std::string name;
  std::string image;    // as the pod spec names it
  std::string imageId;  // "" until the image resolved
  std::string containerId;
  State state = State::Waiting;
  std::string waitingReason = "ContainerCreating";
  std::string waitingMessage;
  std::string startedAt;                  // Running
  std::optional<Termination> terminated;  // Terminated
  std::optional<Termination> last;        // the previous instance
  int restartCount = 0;
  // Probe verdicts for a running container: readiness probe passed (or none), startup probe
  // passed (or none). `ready` in the status needs both and a running container.
  bool probeReady = true;
  bool probeStarted = true;
};

json containerStatusJson(const ContainerView& c);

std::string podPhase(const std::vector<ContainerView>& init, const std::vector<ContainerView>& app,
                     const std::string& restartPolicy);

// PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled. A condition
// whose status did not change keeps its lastTransitionTime from `previous`.
json podConditions(const std::vector<ContainerView>& init, const std::vector<ContainerView>& app,
                   const std::string& phase, bool sandboxReady, const json& previous,
                   Clock::time_point now);

}  // namespace kd::node

#pragma once
// Container lifecycle hooks (spec.containers[].lifecycle) as the kubelet runs them: postStart
// right after a container started — the container is reported Running only once it returned,
// and a failure kills the container (restarted per restartPolicy) — and preStop before a
// container is sent SIGTERM, within the pod's grace period, whatever ends it (deletion, a failed
// liveness probe).
//
// Handlers: exec (a command inside the container), httpGet (from inside the pod's network
// namespace, as probes dial), sleep ({seconds}). tcpSocket is accepted by the API for
// compatibility but, as in Kubernetes, does nothing.
//
// A failure comes back as the kubelet's event message, e.g.
//   Exec lifecycle hook ([sh -c exit 3]) for Container "main" in Pod "web_default(<uid>)"
//   failed - error: command 'sh -c exit 3' exited with 3: , message: "<output>"

#include <chrono>
#include <string>

#include "engine/node/probes.h"

namespace kd::node {

struct HookContext {
  ProbeTarget target;          // the container and its network namespace
  std::string containerName;   // for messages
  std::string podDescription;  // "<name>_<namespace>(<uid>)", as the kubelet formats pods
};

// Runs one handler (the object under lifecycle.postStart or lifecycle.preStop) for at most
// `timeout`; "" when it succeeded or did nothing, else the failure message.
std::string runLifecycleHook(const json& handler, const HookContext& ctx,
                             std::chrono::seconds timeout);

}  // namespace kd::node

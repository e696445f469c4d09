#pragma once
// Container probes as the kubelet runs them.
//
// ProbeTracker is the schedule and the state machine of one probe of one container instance,
// pure so it is testable with an injected clock: the first probe runs initialDelaySeconds
// after the container started, then every periodSeconds; the result flips to Failure after
// failureThreshold consecutive failures and to Success after successThreshold consecutive
// successes. A readiness probe starts as Failure, a liveness probe as Success, a startup probe
// as Unknown; liveness and readiness wait until the startup probe (if any) has succeeded, and a
// startup probe stops once it has.
//
// runProbe performs one check: exec (`<runtime> exec <id> cmd...`, bounded by timeoutSeconds),
// httpGet (scheme HTTP, path, port by number or container port name, httpHeaders; 200-399 is
// success) and tcpSocket. Network checks connect to 127.0.0.1 from inside the pod's network
// namespace (entered with setns on a helper thread), since the pod has only loopback. Failure
// messages follow the kubelet's: "HTTP probe failed with statuscode: 500",
// `dial tcp 127.0.0.1:8080: connect: connection refused`.
//
// The pod worker publishes every container's latest probe states as the pod annotation
// `kubedesk.io/probe-status` (kProbeStatusAnnotation), a JSON string
//   {"<container>": {"liveness"|"readiness"|"startup": {"result": "Success"|"Failure"|"Unknown",
//     "consecutiveFailures": N, "lastFailureMessage": "...", "lastTransitionTime": RFC 3339,
//     "lastProbeTime": RFC 3339}}}
// rewritten only when some probe's result changes, not on every period.

#include <string>

#include "engine/api/status.h"
#include "engine/node/runtime.h"
#include "engine/node/timestamps.h"

namespace kd::node {

inline constexpr const char* kProbeStatusAnnotation = "kubedesk.io/probe-status";

enum class ProbeKind { Liveness, Readiness, Startup };
enum class ProbeResult { Unknown, Success, Failure };

// "liveness", "readiness", "startup" and "Liveness" ... as the kubelet's messages write them.
const char* probeKey(ProbeKind kind);
const char* probeTitle(ProbeKind kind);
const char* resultName(ProbeResult result);

struct ProbeSettings {
  int initialDelaySeconds = 0;
  int periodSeconds = 10;
  int timeoutSeconds = 1;
  int successThreshold = 1;
  int failureThreshold = 3;
  json handler;  // the probe object (exec / httpGet / tcpSocket)
  static ProbeSettings fromJson(const json& probe);
};

class ProbeTracker {
 public:
  ProbeTracker(ProbeKind kind, ProbeSettings settings, Clock::time_point containerStarted);

  ProbeKind kind() const { return kind_; }
  const ProbeSettings& settings() const { return settings_; }
  // True when a probe should run at `now`.
  bool due(Clock::time_point now) const;
  // Records one check; true when the result changed.
  bool record(bool success, const std::string& message, Clock::time_point now);
  ProbeResult result() const { return result_; }
  int consecutiveFailures() const { return failures_; }
  // The annotation entry for this probe.
  json statusJson() const;

 private:
  ProbeKind kind_;
  ProbeSettings settings_;
  Clock::time_point started_;
  Clock::time_point lastProbe_{};
  bool probed_ = false;
  ProbeResult result_;
  int failures_ = 0, successes_ = 0;
  std::string lastFailureMessage_;
  Clock::time_point lastTransition_;
};

struct ProbeTarget {
  const OciRuntime* runtime = nullptr;
  std::string containerId;
  std::string netns;  // "" = the node's network (hostNetwork)
  json container;     // for named ports
};

struct ProbeOutcome {
  bool success = false;
  std::string message;  // why it failed
  int exitCode = -1;    // of an exec check that ran to its end
};

ProbeOutcome runProbe(const ProbeSettings& settings, const ProbeTarget& target);

// Connects to 127.0.0.1:`port` inside the network namespace `netns` ("" = the agent's own), as
// the network probes do, within `timeout`. The connected socket (non-blocking; the caller owns
// it), or the Go-style dial error as the message: "dial tcp 127.0.0.1:81: connect: connection
// refused". Port-forward dials the same way.
Result<int> dialLoopback(const std::string& netns, int port, std::chrono::milliseconds timeout);

}  // namespace kd::node

#pragma once
// `kdctl rollout`: the pieces of status, history and undo that do not talk to the server, so
// tests pin kubectl's wording. Deployments keep history in their ReplicaSets (annotation
// deployment.kubernetes.io/revision); DaemonSets and StatefulSets in ControllerRevisions.

#include <cstdint>
#include <map>
#include <string>

#include "engine/api/kinds.h"
#include "engine/api/status.h"

namespace kd::cli {

struct RolloutStatus {
  std::string message;  // one line ending in '\n', kubectl's words
  bool done = false;
  Status error;  // set: kubectl prints "error: <message>" and stops
};

// Where the rollout of a deployment, daemon set or stateful set stands.
RolloutStatus rolloutStatus(const api::KindInfo& kind, const json& object);

// One revision: its pod template and change cause.
struct Revision {
  json podTemplate;              // as recorded (a ReplicaSet's keeps its pod-template-hash label)
  json annotations;              // of the ReplicaSet or ControllerRevision
  std::string changeCause;       // its kubernetes.io/change-cause annotation
  bool causeInTemplate = false;  // kubectl shows a ReplicaSet's cause among template annotations
};
using RevisionHistory = std::map<int64_t, Revision>;

// The history of `owner` from the ReplicaSets (deployments) or ControllerRevisions (daemon
// sets, stateful sets) it controls; `candidates` may hold others, which are ignored.
RevisionHistory revisionHistory(const api::KindInfo& kind, const json& owner,
                                const json& candidates);

// "REVISION  CHANGE-CAUSE\n1         <none>\n" or "No rollout history found."; with
// `revision` > 0, that revision's pod template as kubectl prints it (unaligned).
Result<std::string> historyText(const RevisionHistory& history, int64_t revision);

// "deployments.apps \"web\"": how kubectl names an object in error messages.
std::string qualifiedName(const api::KindInfo& kind, const std::string& name);

}  // namespace kd::cli

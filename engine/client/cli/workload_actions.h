#pragma once
// The changes kubectl's `rollout undo|restart|pause|resume` and `create job --from=cronjob/X`
// make to a workload, as calls on an ApiClient: kdctl prints their outcome, the dashboard's
// actions show it. Each takes the object as last read; the server's answer to the write is the
// only other call (undo also lists the owner's history).

#include <cstdint>
#include <string>

#include "engine/api/kinds.h"
#include "engine/api/status.h"
#include "engine/client/api_client.h"
#include "engine/client/cli/rollout.h"

namespace kd::cli {

struct ActionOutcome {
  // What kubectl prints on success, exactly: "deployment.apps/web restarted\n" (a skipped
  // rollback has no newline, as with kubectl).
  std::string message;
  // A failure: the server's Status, or, when `refusedLocally`, a precondition kubectl checks
  // before calling (a paused deployment, no history ...), which kubectl prints as
  // "error: <message>".
  Status status;
  bool refusedLocally = false;

  bool ok() const { return status.isOk(); }
};

// `rollout restart`: stamps kubectl.kubernetes.io/restartedAt into the pod template.
ActionOutcome restartRollout(client::ApiClient& c, const api::KindInfo& kind, const json& object);

// `rollout undo [--to-revision=N]`: the pod template of revision `toRevision` (0: the one
// before the current) back into the owner.
ActionOutcome undoRollout(client::ApiClient& c, const api::KindInfo& kind, const json& object,
                          int64_t toRevision);

// `rollout pause` / `rollout resume` (deployments only).
ActionOutcome setRolloutPaused(client::ApiClient& c, const api::KindInfo& kind, const json& object,
                               bool pause);

// Sets a CronJob's spec.suspend (kubectl has no verb; `kubectl patch -p
// '{"spec":{"suspend":true}}'` is the documented way).
ActionOutcome setCronJobSuspended(client::ApiClient& c, const json& cronJob, bool suspend);

// The revisions of a deployment (its ReplicaSets) or a daemon or stateful set (its
// ControllerRevisions), read from the server.
Result<RevisionHistory> readRevisionHistory(client::ApiClient& c, const api::KindInfo& kind,
                                            const json& object);

// The Job `create job NAME --from=cronjob/X` creates: the CronJob's job template, annotated
// cronjob.kubernetes.io/instantiate=manual and owned by the CronJob. `metadata` is the Job's
// own (name, namespace); labels and annotations are added to it.
nlohmann::ordered_json manualJobFromCronJob(const json& cronJob, nlohmann::ordered_json metadata);

// A manual run of `cronJob` now, as a Job named "<cronjob>-manual-<5 random characters>"; the
// message names the Job.
ActionOutcome triggerCronJob(client::ApiClient& c, const json& cronJob);

}  // namespace kd::cli

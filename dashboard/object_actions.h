#pragma once
// The rollout and CronJob actions the dashboard offers on a selected object, as kubectl's
// verbs make them (engine/client/cli/workload_actions.h): which apply to an object in its
// current state, their menu titles, and running one (a blocking call: use runAsync).

#include <QString>
#include <vector>

#include "engine/api/kinds.h"
#include "engine/api/status.h"
#include "engine/client/api_client.h"

namespace kd::dashboard {

enum class ObjectAction {
  RestartRollout,  // Deployments, DaemonSets, StatefulSets
  UndoRollout,
  PauseRollout,  // Deployments: whichever of pause and resume applies
  ResumeRollout,
  TriggerCronJob,  // CronJobs: a manual Job now
  SuspendCronJob,  // whichever of suspend and resume applies
  ResumeCronJob,
};

// The actions that apply to `object` of `kind` now, in menu order.
std::vector<ObjectAction> actionsFor(const api::KindInfo& kind, const json& object);

QString actionTitle(ObjectAction action);

// Runs `action`; the message kubectl would print ("deployment.apps/web restarted"), or the
// Status that refused it (the server's, or kubectl's own precondition such as "can't restart
// paused deployment").
Result<std::string> runAction(client::ApiClient& client, ObjectAction action,
                              const api::KindInfo& kind, const json& object);

}  // namespace kd::dashboard

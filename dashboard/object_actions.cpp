#include "dashboard/object_actions.h"

#include <QObject>

#include "engine/client/cli/workload_actions.h"

namespace kd::dashboard {
namespace {

bool isApps(const api::KindInfo& kind, std::string_view resource) {
  return kind.group == "apps" && kind.resource == resource;
}

}  // namespace

std::vector<ObjectAction> actionsFor(const api::KindInfo& kind, const json& object) {
  const bool deployment = isApps(kind, "deployments");
  if (deployment || isApps(kind, "daemonsets") || isApps(kind, "statefulsets")) {
    std::vector<ObjectAction> actions = {ObjectAction::RestartRollout, ObjectAction::UndoRollout};
    if (deployment) {
      actions.push_back(object.value("/spec/paused"_json_pointer, false)
                            ? ObjectAction::ResumeRollout
                            : ObjectAction::PauseRollout);
    }
    return actions;
  }
  if (kind.group == "batch" && kind.resource == "cronjobs") {
    return {ObjectAction::TriggerCronJob, object.value("/spec/suspend"_json_pointer, false)
                                              ? ObjectAction::ResumeCronJob
                                              : ObjectAction::SuspendCronJob};
  }
  return {};
}

QString actionTitle(ObjectAction action) {
  switch (action) {
    case ObjectAction::RestartRollout:
      return QObject::tr("Restart rollout");
    case ObjectAction::UndoRollout:
      return QObject::tr("Undo rollout");
    case ObjectAction::PauseRollout:
      return QObject::tr("Pause rollout");
    case ObjectAction::ResumeRollout:
      return QObject::tr("Resume rollout");
    case ObjectAction::TriggerCronJob:
      return QObject::tr("Trigger now");
    case ObjectAction::SuspendCronJob:
      return QObject::tr("Suspend");
    case ObjectAction::ResumeCronJob:
      return QObject::tr("Resume schedule");
  }
  return {};
}

Result<std::string> runAction(client::ApiClient& client, ObjectAction action,
                              const api::KindInfo& kind, const json& object) {
  cli::ActionOutcome outcome;
  switch (action) {
    case ObjectAction::RestartRollout:
      outcome = cli::restartRollout(client, kind, object);
      break;
    case ObjectAction::UndoRollout:
      outcome = cli::undoRollout(client, kind, object, 0);
      break;
    case ObjectAction::PauseRollout:
    case ObjectAction::ResumeRollout:
      outcome = cli::setRolloutPaused(client, kind, object, action == ObjectAction::PauseRollout);
      break;
    case ObjectAction::TriggerCronJob:
      outcome = cli::triggerCronJob(client, object);
      break;
    case ObjectAction::SuspendCronJob:
    case ObjectAction::ResumeCronJob:
      outcome = cli::setCronJobSuspended(client, object, action == ObjectAction::SuspendCronJob);
      break;
  }
  if (!outcome.ok()) return outcome.status;
  std::string message = outcome.message;
  while (!message.empty() && message.back() == '\n') message.pop_back();
  return message;
}

}  // namespace kd::dashboard

#pragma once
// The CronJob controller: creates Jobs from spec.jobTemplate on spec.schedule, as Kubernetes'
// cronjob controller (v2) does.
//
//   - Schedule times are read in spec.timeZone (unset: the engine's local zone). The due time
//     is the most recent schedule time after status.lastScheduleTime (or the CronJob's
//     creation) that is not later than now: after downtime at most one catch-up run starts,
//     and more than 100 missed times also raise a TooManyMissedTimes warning. A due time
//     older than startingDeadlineSeconds is skipped with a MissSchedule warning.
//   - The Job is named `<cronjob>-<scheduled time in minutes since the epoch>`, carries the
//     batch.kubernetes.io/cronjob-scheduled-timestamp annotation (RFC 3339 in the schedule's
//     zone, UTC without one) and a controller ownerReference.
//   - concurrencyPolicy Allow runs Jobs side by side; Forbid skips a due time while a Job is
//     active (JobAlreadyActive); Replace deletes the active Jobs first.
//   - status.active lists unfinished Jobs (SawCompletedJob when one finishes, MissingJob
//     when one vanished); lastScheduleTime and lastSuccessfulTime follow them. Finished Jobs
//     beyond successfulJobsHistoryLimit / failedJobsHistoryLimit are deleted, oldest first.
//   - spec.suspend stops new Jobs; sync then only keeps status up to date.
// After each sync the key is queued again for the next schedule time (WorkQueue::addAfter).
//
// Time is injectable: tests run schedules across minutes with a fake clock and call sync().
// Queue key: "namespace/name" of the CronJob.

#include <chrono>
#include <functional>
#include <optional>

#include "engine/api/cron.h"
#include "engine/controllers/controller.h"
#include "engine/controllers/event_recorder.h"
#include "engine/controllers/informer.h"
#include "engine/controllers/work_queue.h"
#include "engine/server/object_service.h"

namespace kd::controllers {

struct CronJobControllerOptions {
  // Wall clock the schedule is read against; empty: the ObjectService's clock.
  std::function<std::chrono::system_clock::time_point()> clock;
};

class CronJobController : public Controller {
 public:
  explicit CronJobController(server::ObjectService& objects, CronJobControllerOptions options = {});

  std::string name() const override { return "cronjob"; }
  void setup(ControllerManager& manager, WorkQueue& queue) override;
  Status sync(const std::string& key) override;

  // Blocks until the events recorded so far are written (for tests).
  void flushEvents() { recorder_.flush(); }

 private:
  using TimePoint = std::chrono::system_clock::time_point;
  struct Due {
    std::optional<TimePoint> time;  // the schedule time to run now, if any
    bool tooManyMissed = false;
  };

  TimePoint now() const;
  // Drops finished and vanished Jobs from status.active; updates lastSuccessfulTime.
  bool reconcileActive(const json& cronJob, json& status, const std::vector<json>& jobs);
  Due dueTime(const json& cronJob, const json& status, const api::CronSchedule& schedule,
              const api::TimeZone& zone) const;
  // Starts the Job for `scheduled` unless policy or an existing Job says otherwise.
  Status startJob(const json& cronJob, json& status, TimePoint scheduled,
                  const api::TimeZone& zone);
  // Starts a due Job if any and queues the key for the next schedule time.
  Status scheduleNext(const std::string& key, const json& cronJob, json& status);
  bool cleanupHistory(const json& cronJob, const std::vector<json>& jobs);
  Status deleteJob(const json& cronJob, const std::string& ns, const std::string& name);

  server::ObjectService& objects_;
  CronJobControllerOptions options_;
  const api::KindInfo* cronJobs_;
  const api::KindInfo* jobs_;
  WorkQueue* queue_ = nullptr;
  EventRecorder recorder_;
};

}  // namespace kd::controllers

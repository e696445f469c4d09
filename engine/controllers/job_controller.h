#pragma once
// The Job controller: runs a Job's pods to completion the way Kubernetes' job controller
// (1.31+, tracking with finalizers) does.
//
//   - Pods are created from spec.template as `<job>-<5 random>` (Indexed: `<job>-<index>-<5
//     random>`, with the batch.kubernetes.io/job-completion-index annotation and label,
//     hostname `<job>-<index>` and JOB_COMPLETION_INDEX in every container's env), carrying a
//     controller ownerReference and the batch.kubernetes.io/job-tracking finalizer.
//   - Up to min(parallelism, completions - succeeded) pods are active. A finished pod is
//     first recorded in status.uncountedTerminatedPods (Indexed successes go straight to
//     status.completedIndexes), then its finalizer is removed, then it is moved into
//     status.succeeded / status.failed: a pod is counted exactly once even across restarts,
//     and counted pods may be deleted. A deleted pod that had not succeeded counts as failed
//     (podReplacementPolicy TerminatingOrFailed) and is replaced.
//   - New pods after a failure wait 10 s doubling per consecutive failure, at most 6 min.
//   - Failure: more failed pods than spec.backoffLimit (restartPolicy Never), or container
//     restarts of active pods reaching it (OnFailure) -> BackoffLimitExceeded; running
//     longer than activeDeadlineSeconds -> DeadlineExceeded. Success: completions reached
//     (Indexed: every index completed; no completions: a pod succeeded and none is active).
//     Either way the controller first sets FailureTarget / SuccessCriteriaMet, deletes the
//     remaining active pods, and adds Failed / Complete (with completionTime on success)
//     once no pod is left running or terminating. Events: SuccessfulCreate, SuccessfulDelete,
//     Completed, BackoffLimitExceeded, DeadlineExceeded, Suspended, Resumed.
//   - spec.suspend deletes active pods (not counted as failures) and sets the Suspended
//     condition; resuming resets status.startTime.
//   - ttlSecondsAfterFinished: the finished Job is deleted (foreground) after that long.
//
// sync reads pods from the store (not a cache), so it never double-creates after a stale
// read. Time is injectable: tests drive deadlines, back-off and TTLs with a fake clock and
// call sync() directly. Queue key: "namespace/name" of the Job.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "engine/controllers/controller.h"
#include "engine/controllers/event_recorder.h"
#include "engine/controllers/informer.h"
#include "engine/controllers/work_queue.h"
#include "engine/server/object_service.h"

namespace kd::controllers {

struct JobControllerOptions {
  // Wall clock for startTime, deadlines, back-off and TTLs; empty: the ObjectService's clock.
  std::function<std::chrono::system_clock::time_point()> clock;
  std::chrono::seconds backoffBase{10};
  std::chrono::seconds backoffMax{360};
  int workers = 2;
};

class JobController : public Controller {
 public:
  explicit JobController(server::ObjectService& objects, JobControllerOptions options = {});

  std::string name() const override { return "job"; }
  void setup(ControllerManager& manager, WorkQueue& queue) override;
  Status sync(const std::string& key) override;
  int workers() const override { return options_.workers; }

  // Blocks until the events recorded so far are written (for tests).
  void flushEvents() { recorder_.flush(); }

 private:
  struct Pods;
  struct Plan;
  using TimePoint = std::chrono::system_clock::time_point;

  TimePoint now() const;
  Result<Pods> listPods(const json& job) const;
  // Records newly finished pods, releases their finalizers, moves them into the counters.
  Status trackFinishedPods(json& job, const Pods& pods, bool finishing);
  // Adds FailureTarget or SuccessCriteriaMet to job.status when the job has failed or
  // succeeded.
  void decideFinish(json& job, const Pods& pods);
  // Suspended condition and startTime.
  void updateRunState(json& job);
  Status terminateActive(const json& job, const Pods& pods, bool keepFinalizers);
  Status managePods(const json& job, const Pods& pods, Plan& plan);
  // Counters, final conditions, the status write and the next timed requeue.
  Status finishSync(const std::string& key, json& job, const json& original, const Pods& pods,
                    Plan& plan);
  Status createPods(const json& job, const std::vector<int>& indexes, int count);
  Status finishedJob(const std::string& key, const json& job);
  Status releaseOrphans(const std::string& ns, const std::string& name);
  Status removeFinalizer(const json& pod);
  Result<json> writeStatus(const json& job, const json& status);
  void requeueAfter(const std::string& key, std::chrono::system_clock::duration d);

  server::ObjectService& objects_;
  JobControllerOptions options_;
  const api::KindInfo* jobs_;
  const api::KindInfo* pods_;
  WorkQueue* queue_ = nullptr;
  EventRecorder recorder_;

  // Consecutive pod failures per job (by uid) and when the last one was counted: what the
  // exponential back-off before the next pod is computed from.
  struct Backoff {
    int failures = 0;
    TimePoint last;
  };
  std::mutex backoffMu_;
  std::unordered_map<std::string, Backoff> backoff_;
};

}  // namespace kd::controllers

#pragma once
// The scheduler: puts each pod that has no node (spec.nodeName empty, spec.schedulerName
// ours) on one, as kube-scheduler does, and binds it through pods/binding.
//
// For each pod: filter the nodes (filters.h) until enough feasible ones are found (all nodes
// below 100, an adaptive share of larger clusters, starting where the last pod stopped, as
// kube-scheduler's percentageOfNodesToScore), score them (scores.h), take the best (ties
// broken at random), assume the pod onto it in the cache and bind. Success records a
// Scheduled event (the binding itself sets PodScheduled=True). When no node fits, the pod gets
// PodScheduled=False (reason Unschedulable, Kubernetes' message) and a FailedScheduling Warning
// event, and waits: it is tried again after a back-off (1 s doubling to 10 s) once a node is
// added or changes, a placed pod goes away, or (for pod affinity) a pod is placed; and at the
// latest every 5 minutes.
//
// Decisions are taken one at a time under the cache's lock, so each sees every earlier one.
// As in kube-scheduler, binding is a cycle of its own: the decided pod is assumed onto its
// node in the cache, its binding queued, and the worker moves on. The worker that finds no
// binding under way writes every queued binding in one store transaction (ObjectService::
// bindAll), and again for those queued meanwhile, until none are left. A binding that fails
// forgets the assumed pod (its room is free again) and, unless the pod is gone or already
// bound, says so as kube-scheduler does (a FailedScheduling event and PodScheduled=False with
// reason SchedulerError and the error) and tries the pod again after the back-off above.
// Queue key: the pod's "namespace/name".

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/controllers/controller.h"
#include "engine/controllers/event_recorder.h"
#include "engine/controllers/informer.h"
#include "engine/controllers/work_queue.h"
#include "engine/scheduler/filters.h"
#include "engine/scheduler/node_info.h"

namespace kd::scheduler {

struct SchedulerOptions {
  std::string schedulerName = "default-scheduler";
  int workers = 2;
  std::chrono::milliseconds initialBackoff{1000};
  std::chrono::milliseconds maxBackoff{10000};
  std::chrono::milliseconds unschedulableRetry{std::chrono::minutes(5)};
};

class Scheduler : public controllers::Controller {
 public:
  explicit Scheduler(server::ObjectService& objects, SchedulerOptions options = {});

  std::string name() const override { return "scheduler"; }
  void setup(controllers::ControllerManager& manager, controllers::WorkQueue& queue) override;
  Status sync(const std::string& key) override;
  int workers() const override { return options_.workers; }

  // Pods bound, scheduling failures (no node fits) and errors (a binding failed) so far, as
  // kube-scheduler's schedule_attempts_total counts them (for benchmarks and status).
  uint64_t scheduledCount() const { return scheduled_; }
  uint64_t failedCount() const { return failed_; }
  uint64_t errorCount() const { return errors_; }

  // How many feasible nodes kube-scheduler looks for among `allNodes` before it stops.
  static size_t feasibleNodesToFind(size_t allNodes);

 private:
  struct Decision {
    std::string node;
    Diagnosis diagnosis;
  };
  struct Waiting {
    int attempts = 0;
    bool waitsForPods = false;  // failed on pod affinity: a newly placed pod may help
  };
  bool ours(const json& pod) const;
  void resolveVolumes(PodInfo& info);
  Decision decide(const PodInfo& pod);
  struct PendingBind {
    controllers::CachedObject pod;
    std::string key, node;
  };
  void bind(controllers::CachedObject pod, const PodInfo& info, const std::string& node);
  void writeBindings(const std::vector<PendingBind>& batch);
  void forget(const std::string& key);
  void recordFailure(const json& pod, const PodInfo& info, const Diagnosis& diagnosis);
  // Writes PodScheduled=False with `reason` (Unschedulable, SchedulerError) and `message` on
  // the pod's status, unless it already says so; the store's answer.
  Status markUnscheduled(const json& pod, const std::string& reason, const std::string& message);
  void onPod(const controllers::CachedObject& oldPod, const controllers::CachedObject& pod);
  void onPodGone(const controllers::CachedObject& pod);
  void onNode(const controllers::CachedObject& oldNode, const controllers::CachedObject& node);
  // Queues waiting pods again (all of them, or only those waiting for pods).
  void retryWaiting(bool onlyWaitingForPods);
  std::chrono::milliseconds backoff(int attempts) const;

  server::ObjectService& objects_;
  const SchedulerOptions options_;
  const api::KindInfo* pods_;
  controllers::Informer* podInformer_ = nullptr;
  controllers::WorkQueue* queue_ = nullptr;
  controllers::EventRecorder recorder_;

  std::mutex cacheMu_;
  SchedulerCache cache_;
  size_t nextStartNode_ = 0;
  std::minstd_rand random_;

  std::mutex bindMu_;
  std::vector<PendingBind> binds_;  // decided, not yet written
  bool binding_ = false;            // a worker is writing binds_

  std::mutex waitingMu_;
  std::unordered_map<std::string, Waiting> waiting_;

  std::atomic<uint64_t> scheduled_{0}, failed_{0}, errors_{0};
};

}  // namespace kd::scheduler

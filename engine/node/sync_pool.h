#pragma once
// Many periodic tasks on few threads: the agent's pod workers. A task is a step function run
// again after the delay it returns (or at once when woken), never on two threads at once.
//
// The pool is elastic because a step may block for long (a postStart hook, a preStop hook
// within the grace period, an image pull waiting for another). One idle thread watches the
// clock; when it takes a task it hands the watch to a spare idle thread, or starts a new one
// (up to maxThreads) when none is spare, so a blocked pod never delays the others for long.
// Beyond `steadyThreads` steps at once a due task waits for a running step to return, and only
// when none has returned for `stallGrace` (they are blocked, not busy) does the pool add a
// thread: a burst of 100 new pods runs on a few threads instead of 100. Spare
// threads above minThreads that stay idle for `idleExit` end. A node with 100 quiet pods thus runs
// a handful of threads instead of one per pod — each thread costs a stack and, under glibc, soon
// its own malloc arena, which made up most of the agent's memory per pod.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <thread>
#include <vector>

namespace kd::node {

class SyncPool {
 public:
  using Clock = std::chrono::steady_clock;
  using Duration = Clock::duration;
  // One step of a task: the delay until the next, or nullopt when the task is finished.
  using Step = std::function<std::optional<Duration>()>;
  using TaskId = uint64_t;

  struct Options {
    int minThreads = 2;
    int maxThreads = 256;
    int steadyThreads = 256;  // steps at once before the pool waits for one to return
    Duration stallGrace = std::chrono::seconds(1);
    Duration idleExit = std::chrono::seconds(10);
  };

  SyncPool();
  explicit SyncPool(Options options);
  // Waits for running steps to return; tasks not yet removed are dropped unrun.
  ~SyncPool();
  SyncPool(const SyncPool&) = delete;
  SyncPool& operator=(const SyncPool&) = delete;

  // Adds a task whose first step runs at once.
  TaskId add(Step step);
  // Runs the task's next step as soon as a thread is free; a step already running is followed
  // by another at once. Unknown or finished tasks are ignored.
  void wake(TaskId id);
  // Forgets the task, waiting for a running step to return first. Must not be called from the
  // task's own step.
  void remove(TaskId id);

  // Threads alive now (for tests and benchmarks).
  int threads() const;

 private:
  struct Task {
    Step step;
    Clock::time_point due;
    bool running = false;
    bool rerun = false;  // woken while running
    bool finished = false;
  };
  struct Due {
    Clock::time_point at;
    TaskId id;
    bool operator>(const Due& o) const { return at > o.at; }
  };
  struct Worker {
    std::thread thread;
    std::condition_variable wake;
    bool called = false;  // handed the watch by handOverClockLocked
    bool exited = false;
  };

  void run(std::list<Worker>::iterator self, bool watcher);
  void runStepLocked(std::unique_lock<std::mutex>& lock, TaskId id);
  void scheduleLocked(TaskId id, Clock::time_point at);
  // The due task to run now, if any; sets `next` to when the earliest one falls due.
  std::optional<TaskId> takeDueLocked(Clock::time_point now,
                                      std::optional<Clock::time_point>& next);
  // Whether the watcher may start a due step now rather than wait for a running one.
  bool mayStartStepLocked(Clock::time_point now) const;
  void spawnLocked(bool watcher);
  // Makes sure some idle thread watches the clock: a spare, else a new thread.
  void handOverClockLocked();
  // Idles as a spare until called (true), or until the pool stops or the thread has been idle
  // past idleExit while surplus (false: the thread ends).
  bool waitAsSpareLocked(std::unique_lock<std::mutex>& lock, Worker& self);

  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable clock_;     // the watching thread: earlier work, or stopping
  std::vector<Worker*> spares_;       // other idle threads, the most recently idle last
  std::condition_variable finished_;  // a step returned (for remove)
  std::map<TaskId, Task> tasks_;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> queue_;  // may hold stale entries
  std::list<Worker> workers_;
  TaskId nextId_ = 1;
  int alive_ = 0;
  int stepping_ = 0;                // steps running now
  Clock::time_point progressAt_{};  // a step last returned, or the pool last grew past steady
  bool watching_ = false;  // some thread watches the clock, or has just been handed the watch
  bool stopping_ = false;
};

}  // namespace kd::node

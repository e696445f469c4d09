#include "engine/node/sync_pool.h"

#include <cstdio>
#include <exception>

namespace kd::node {

namespace {
// What a step that threw waits before it runs again; steps are meant to catch their own.
constexpr auto kAfterThrow = std::chrono::seconds(1);
}  // namespace

SyncPool::SyncPool() : SyncPool(Options{}) {}

SyncPool::SyncPool(Options options) : options_(options) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < options_.minThreads; ++i) spawnLocked(false);
}

SyncPool::~SyncPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  clock_.notify_all();
  {
    std::lock_guard lock(mu_);
    for (Worker* w : spares_) w->wake.notify_one();
  }
  for (auto& w : workers_) {
    if (w.thread.joinable()) w.thread.join();
  }
}

SyncPool::TaskId SyncPool::add(Step step) {
  std::lock_guard lock(mu_);
  const TaskId id = nextId_++;
  tasks_.emplace(id, Task{std::move(step), {}, false, false, false});
  scheduleLocked(id, Clock::now());
  return id;
}

void SyncPool::wake(TaskId id) {
  std::lock_guard lock(mu_);
  auto it = tasks_.find(id);
  if (it == tasks_.end() || it->second.finished) return;
  if (it->second.running) {
    it->second.rerun = true;
  } else {
    scheduleLocked(id, Clock::now());
  }
}

void SyncPool::remove(TaskId id) {
  std::unique_lock lock(mu_);
  finished_.wait(lock, [&] {
    auto it = tasks_.find(id);
    return it == tasks_.end() || !it->second.running;
  });
  tasks_.erase(id);
}

int SyncPool::threads() const {
  std::lock_guard lock(mu_);
  return alive_;
}

void SyncPool::scheduleLocked(TaskId id, Clock::time_point at) {
  tasks_[id].due = at;
  queue_.push({at, id});
  if (watching_) {
    clock_.notify_one();  // the watcher may have to wake earlier
  } else {
    handOverClockLocked();
  }
}

std::optional<SyncPool::TaskId> SyncPool::takeDueLocked(Clock::time_point now,
                                                        std::optional<Clock::time_point>& next) {
  while (!queue_.empty()) {
    const Due top = queue_.top();
    auto it = tasks_.find(top.id);
    // Entries left behind by a wake, a removal or a running step are dropped.
    if (it == tasks_.end() || it->second.finished || it->second.running ||
        it->second.due != top.at) {
      queue_.pop();
      continue;
    }
    if (top.at > now) {
      next = top.at;
      return std::nullopt;
    }
    queue_.pop();
    return top.id;
  }
  return std::nullopt;
}

void SyncPool::spawnLocked(bool watcher) {
  for (auto it = workers_.begin(); it != workers_.end();) {
    // An exited thread set its flag under the lock and only returns afterwards.
    if (it->exited) {
      it->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
  auto self = workers_.emplace(workers_.end());
  ++alive_;
  self->thread = std::thread([this, self, watcher] { run(self, watcher); });
}

void SyncPool::run(std::list<Worker>::iterator self, bool watcher) {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    std::optional<Clock::time_point> next;
    const auto now = Clock::now();
    const std::optional<TaskId> id = takeDueLocked(now, next);
    if (id && watcher && !mayStartStepLocked(now)) {
      // Left for the next thread whose step returns, unless they all stay blocked.
      queue_.push({tasks_[*id].due, *id});
      clock_.wait_until(lock, progressAt_ + options_.stallGrace);
      continue;
    }
    if (id) {
      if (stepping_ >= options_.steadyThreads) progressAt_ = now;  // grown past steady
      if (watcher) watcher = watching_ = false;
      runStepLocked(lock, *id);
    } else if (watcher) {
      // The one thread that sleeps until the next task falls due.
      if (next) {
        clock_.wait_until(lock, *next);
      } else {
        clock_.wait(lock);
      }
    } else if (!watching_) {
      watcher = watching_ = true;
    } else if (waitAsSpareLocked(lock, *self)) {
      watcher = true;  // handed the watch
    } else {
      break;
    }
  }
  if (watcher) watching_ = false;
  --alive_;
  self->exited = true;
}

void SyncPool::runStepLocked(std::unique_lock<std::mutex>& lock, TaskId id) {
  Task& task = tasks_[id];  // stays put while running: remove() waits for it
  task.running = true;
  if (stepping_++ == 0) progressAt_ = Clock::now();  // an idle pool's wait starts afresh
  handOverClockLocked();
  lock.unlock();
  std::optional<Duration> after;
  try {
    after = task.step();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kubedesk-node: sync step: %s\n", e.what());
    after = kAfterThrow;
  }
  lock.lock();
  --stepping_;
  progressAt_ = Clock::now();
  task.running = false;
  if (!after) {
    task.finished = true;
  } else {
    scheduleLocked(id, task.rerun ? Clock::now() : Clock::now() + *after);
    task.rerun = false;
  }
  finished_.notify_all();
}

bool SyncPool::mayStartStepLocked(Clock::time_point now) const {
  return stepping_ < options_.steadyThreads || now >= progressAt_ + options_.stallGrace;
}

bool SyncPool::waitAsSpareLocked(std::unique_lock<std::mutex>& lock, Worker& self) {
  const auto idleSince = Clock::now();
  self.called = false;
  spares_.push_back(&self);
  for (;;) {
    self.wake.wait_for(lock, options_.idleExit);
    if (self.called || stopping_) break;
    if (alive_ > options_.minThreads && Clock::now() - idleSince >= options_.idleExit) break;
  }
  if (self.called) return true;
  std::erase(spares_, &self);
  return false;
}

void SyncPool::handOverClockLocked() {
  // Once stopping, the destructor owns the thread list: nothing is spawned or reaped.
  if (watching_ || stopping_) return;
  if (!spares_.empty()) {
    Worker* next = spares_.back();
    spares_.pop_back();
    next->called = true;
    watching_ = true;
    next->wake.notify_one();
  } else if (alive_ < options_.maxThreads) {
    watching_ = true;
    spawnLocked(true);
  }
}

}  // namespace kd::node

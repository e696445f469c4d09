#include "engine/controllers/work_queue.h"

#include <algorithm>

namespace kd::controllers {

ItemBackoff::ItemBackoff(Duration base, Duration max) : base_(base), max_(max) {}

Duration ItemBackoff::when(const std::string& key) {
  const int n = failures_[key]++;
  // Doubling past 2^40 overflows nothing useful: by then the cap has long applied.
  if (n >= 40) return max_;
  const auto delay = base_ * (int64_t{1} << n);
  return std::min<Duration>(delay, max_);
}

void ItemBackoff::forget(const std::string& key) {
  failures_.erase(key);
}

int ItemBackoff::failures(const std::string& key) const {
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

WorkQueue::WorkQueue() : WorkQueue(Options{}) {}

WorkQueue::WorkQueue(Options options)
    : clock_(options.clock ? std::move(options.clock)
                           : SteadyClock([] { return std::chrono::steady_clock::now(); })),
      backoff_(options.baseDelay, options.maxDelay) {}

void WorkQueue::addLocked(const std::string& key) {
  if (shuttingDown_ || dirty_.contains(key)) return;
  dirty_.insert(key);
  if (processing_.contains(key)) return;  // done() queues it again
  queue_.push_back(key);
  cv_.notify_one();
}

void WorkQueue::add(const std::string& key) {
  std::lock_guard lock(mu_);
  addLocked(key);
}

void WorkQueue::addAfter(const std::string& key, Duration delay) {
  std::lock_guard lock(mu_);
  if (shuttingDown_) return;
  if (delay <= Duration::zero()) {
    addLocked(key);
    return;
  }
  const SteadyTime due = clock_() + delay;
  auto [it, inserted] = delayed_.emplace(key, due);
  if (!inserted && due < it->second) it->second = due;
  cv_.notify_all();  // a sleeping worker may need to wake earlier
}

void WorkQueue::addRateLimited(const std::string& key) {
  Duration delay;
  {
    std::lock_guard lock(mu_);
    delay = backoff_.when(key);
  }
  addAfter(key, delay);
}

void WorkQueue::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  backoff_.forget(key);
}

int WorkQueue::numRequeues(const std::string& key) const {
  std::lock_guard lock(mu_);
  return backoff_.failures(key);
}

std::optional<SteadyTime> WorkQueue::promoteDueLocked() {
  std::optional<SteadyTime> next;
  const SteadyTime now = clock_();
  for (auto it = delayed_.begin(); it != delayed_.end();) {
    if (it->second <= now) {
      std::string key = it->first;
      it = delayed_.erase(it);
      addLocked(key);
    } else {
      if (!next || it->second < *next) next = it->second;
      ++it;
    }
  }
  return next;
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (shuttingDown_) return std::nullopt;
    const auto nextDue = promoteDueLocked();
    if (!queue_.empty()) break;
    if (nextDue) {
      // Sleep in real time for what remains on the queue's clock; a fake clock's tick() or
      // any add wakes the wait early.
      cv_.wait_for(lock, *nextDue - clock_());
    } else {
      cv_.wait(lock);
    }
  }
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(key);
  dirty_.erase(key);
  return key;
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mu_);
  processing_.erase(key);
  if (dirty_.contains(key) && !shuttingDown_) {
    queue_.push_back(key);
    cv_.notify_one();
  }
}

void WorkQueue::shutDown() {
  std::lock_guard lock(mu_);
  shuttingDown_ = true;
  cv_.notify_all();
}

bool WorkQueue::shuttingDown() const {
  std::lock_guard lock(mu_);
  return shuttingDown_;
}

size_t WorkQueue::length() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

size_t WorkQueue::delayedLength() const {
  std::lock_guard lock(mu_);
  return delayed_.size();
}

void WorkQueue::tick() {
  std::lock_guard lock(mu_);
  promoteDueLocked();
  cv_.notify_all();
}

}  // namespace kd::controllers

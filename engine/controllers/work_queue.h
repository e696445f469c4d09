#pragma once
// The work queue between informer event handlers and controller workers, with client-go's
// semantics:
//   - a key added while it waits is queued once (de-duplication);
//   - a key added while a worker processes it is queued again when that worker calls done(),
//     so one key is never processed by two workers at once and no change is missed;
//   - failed keys come back after a per-key exponential back-off (addRateLimited), reset by
//     forget() once the key succeeds.
// Thread-safe. The clock is injectable so tests can drive back-off with a fake clock.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace kd::controllers {

using SteadyTime = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;
using SteadyClock = std::function<SteadyTime()>;

// Per-key exponential back-off: base * 2^failures, capped at `max` (client-go's default for
// controllers: 5 ms doubling up to 1000 s).
class ItemBackoff {
 public:
  explicit ItemBackoff(Duration base = std::chrono::milliseconds(5),
                       Duration max = std::chrono::seconds(1000));
  // The delay before the next retry of `key`; counts one more failure.
  Duration when(const std::string& key);
  void forget(const std::string& key);
  int failures(const std::string& key) const;

 private:
  Duration base_, max_;
  std::unordered_map<std::string, int> failures_;
};

class WorkQueue {
 public:
  struct Options {
    SteadyClock clock;  // empty: std::chrono::steady_clock::now
    Duration baseDelay = std::chrono::milliseconds(5);
    Duration maxDelay = std::chrono::seconds(1000);
  };
  WorkQueue();
  explicit WorkQueue(Options options);

  // Queues `key` unless it is already waiting. Ignored after shutDown().
  void add(const std::string& key);
  // Queues `key` once `delay` has passed on the queue's clock (earliest request wins).
  void addAfter(const std::string& key, Duration delay);
  // Queues `key` after its back-off delay and lengthens that delay for the next failure.
  void addRateLimited(const std::string& key);
  // Resets the back-off of `key` (call after a successful sync).
  void forget(const std::string& key);
  int numRequeues(const std::string& key) const;

  // Blocks until a key is ready and hands it out, marked as processing; nullopt once the
  // queue is shut down. Every key handed out must be returned with done().
  std::optional<std::string> get();
  void done(const std::string& key);

  // Wakes workers and makes get() return nullopt; keys still queued are dropped.
  void shutDown();
  bool shuttingDown() const;

  // Keys ready to be handed out (not counting delayed ones).
  size_t length() const;
  // Keys waiting for their delay to pass.
  size_t delayedLength() const;
  // Re-checks delayed keys against the clock; tests call it after advancing a fake clock.
  void tick();

 private:
  void addLocked(const std::string& key);
  // Moves due delayed keys to the queue; returns the next due time, if any remain.
  std::optional<SteadyTime> promoteDueLocked();

  SteadyClock clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::unordered_set<std::string> dirty_;
  std::unordered_set<std::string> processing_;
  std::map<std::string, SteadyTime> delayed_;
  ItemBackoff backoff_;
  bool shuttingDown_ = false;
};

}  // namespace kd::controllers

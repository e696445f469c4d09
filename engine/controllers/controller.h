#pragma once
// What a controller is to the ControllerManager. A controller registers informer handlers that
// only enqueue keys, and reconciles one key at a time in sync():
//   - sync re-reads the state it needs (informer caches, or ObjectService for a fresh read
//     before a destructive decision), so it never trusts the event that queued the key;
//   - sync is idempotent: running it twice, or for a key whose object is gone, is harmless;
//   - sync returns an error only when a retry can help; the manager then requeues the key
//     with per-key exponential back-off, and forgets the back-off on success.
// The manager calls one key on at most one worker at a time.

#include <string>

#include "engine/api/status.h"

namespace kd::controllers {

class ControllerManager;
class WorkQueue;

class Controller {
 public:
  virtual ~Controller() = default;
  // A short name for logs ("namespace", "garbagecollector").
  virtual std::string name() const = 0;
  // Called once before informers start: take shared informers from `manager` and register
  // handlers that put keys on `queue` (owned by the manager, alive until after stop()).
  virtual void setup(ControllerManager& manager, WorkQueue& queue) = 0;
  virtual Status sync(const std::string& key) = 0;
  // Worker threads the manager runs for this controller.
  virtual int workers() const { return 1; }
};

}  // namespace kd::controllers

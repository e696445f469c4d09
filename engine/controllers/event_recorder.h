#pragma once
// Records core/v1 Events about objects, the way Kubernetes' event recorder does, so that
// `kubectl describe` and `kubectl get events` show what controllers, the scheduler and nodes did.
//
//   - An event is named `<object name>.<16 hex digits of the time in ns>` and lives in the
//     involved object's namespace ("default" for cluster-scoped objects such as nodes).
//   - involvedObject carries kind, namespace, name, uid, apiVersion and resourceVersion of the
//     object passed in; source.component (and reportingComponent) is the recorder's component.
//   - A repeat of an event already recorded (same object, type, reason, message, component)
//     does not create a new Event: the existing one gets count + 1 and a new lastTimestamp.
//
// record() only queues the event: a background thread writes it, so a hot loop (the
// scheduler) never waits on the store for an event. That thread takes everything queued at
// once: repeats within it fold into one write (count + n), and new Events are created together
// in one store transaction (ObjectService::createAll). Events are best effort, as in
// Kubernetes: a failed write is dropped. Thread-safe. The destructor writes what is queued,
// then stops.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/server/object_service.h"

namespace kd::controllers {

class EventRecorder {
 public:
  // `host` fills source.host and reportingInstance (a node name for node components).
  EventRecorder(server::ObjectService& objects, std::string component, std::string host = "");
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // `involvedObject` is the object itself (apiVersion, kind, metadata). `type` is "Normal" or
  // "Warning"; `reason` a CamelCase word (Scheduled, FailedScheduling, ...).
  void record(const json& involvedObject, std::string_view type, std::string_view reason,
              std::string message);

  // Blocks until every event recorded before the call has been written (or dropped).
  void flush();

  const std::string& component() const { return component_; }

 private:
  struct Pending {
    json reference;
    std::string type, reason, message;
    std::chrono::system_clock::time_point at;
  };
  struct Recorded {
    std::string ns, name;
    int64_t count = 1;
  };
  // Occurrences of one event (same object, type, reason, message) within one batch.
  struct Series {
    std::string key;
    Pending* first;  // newEvent takes its reference
    const Pending* last;
    int64_t count;
  };
  void run();
  void write(std::vector<Pending>& batch);
  json newEvent(const Series& s);
  bool bump(Recorded& existing, const Series& s);
  std::string uniqueName(const std::string& objectName, std::chrono::system_clock::time_point at);

  server::ObjectService& objects_;
  const api::KindInfo* events_;
  const std::string component_, host_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  uint64_t queued_ = 0, written_ = 0;
  bool stopping_ = false;

  // Only the writer thread touches these.
  std::unordered_map<std::string, Recorded> recorded_;
  int64_t lastNanos_ = 0;

  std::thread thread_;
};

}  // namespace kd::controllers

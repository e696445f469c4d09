#include "engine/controllers/event_recorder.h"

#include <cstdio>

namespace kd::controllers {
namespace {

// Kubernetes' recorder keeps this many aggregation entries; older ones are forgotten.
constexpr size_t kMaxRecorded = 4096;

json referenceTo(const json& obj) {
  const json& meta = obj.value("metadata", json::object());
  json ref = {{"kind", obj.value("kind", "")},
              {"name", meta.value("name", "")},
              {"apiVersion", obj.value("apiVersion", "")}};
  for (const char* f : {"namespace", "uid", "resourceVersion"}) {
    if (meta.contains(f)) ref[f] = meta[f];
  }
  return ref;
}

}  // namespace

EventRecorder::EventRecorder(server::ObjectService& objects, std::string component,
                             std::string host)
    : objects_(objects),
      events_(objects.kinds().byResource("", "v1", "events")),
      component_(std::move(component)),
      host_(std::move(host)) {
  thread_ = std::thread([this] { run(); });
}

EventRecorder::~EventRecorder() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void EventRecorder::record(const json& involvedObject, std::string_view type,
                           std::string_view reason, std::string message) {
  Pending p{referenceTo(involvedObject), std::string(type), std::string(reason), std::move(message),
            objects_.now()};
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    queue_.push_back(std::move(p));
    ++queued_;
  }
  cv_.notify_all();
}

void EventRecorder::flush() {
  std::unique_lock lock(mu_);
  const uint64_t target = queued_;
  cv_.wait(lock, [&] { return written_ >= target; });
}

void EventRecorder::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping with nothing left to write
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    write(p);
    lock.lock();
    ++written_;
    cv_.notify_all();
  }
}

void EventRecorder::write(const Pending& event) {
  const json& ref = event.reference;
  const std::string ns = ref.value("namespace", "");
  // The resourceVersion changes with every write of the object; it must not split the series.
  json identity = ref;
  identity.erase("resourceVersion");
  const std::string key =
      identity.dump() + '\n' + event.type + '\n' + event.reason + '\n' + event.message;
  if (auto it = recorded_.find(key); it != recorded_.end() && bump(it->second, event)) return;

  const std::string eventNs = ns.empty() ? "default" : ns;
  const std::string name = uniqueName(ref.value("name", ""), event.at);
  const std::string at = server::formatTime(event.at);
  json body = {{"apiVersion", "v1"},
               {"kind", "Event"},
               {"metadata", {{"name", name}, {"namespace", eventNs}}},
               {"involvedObject", ref},
               {"reason", event.reason},
               {"message", event.message},
               {"type", event.type},
               {"source", {{"component", component_}}},
               {"firstTimestamp", at},
               {"lastTimestamp", at},
               {"count", 1},
               {"reportingComponent", component_},
               {"reportingInstance", host_}};
  if (!host_.empty()) body["source"]["host"] = host_;
  auto created = objects_.create(*events_, eventNs, std::move(body), {});
  if (!created.ok()) return;  // best effort: a namespace being deleted refuses new events
  if (recorded_.size() >= kMaxRecorded) recorded_.clear();
  recorded_[key] = Recorded{eventNs, name, 1};
}

bool EventRecorder::bump(Recorded& existing, const Pending& event) {
  const json patch = {{"count", existing.count + 1},
                      {"lastTimestamp", server::formatTime(event.at)}};
  auto patched =
      objects_.patch(*events_, existing.ns, existing.name, api::PatchType::Merge, patch, {});
  if (!patched.ok()) return false;  // gone (deleted or expired): start a new series
  ++existing.count;
  return true;
}

std::string EventRecorder::uniqueName(const std::string& objectName,
                                      std::chrono::system_clock::time_point at) {
  int64_t nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
  // Two events in the same nanosecond (or a coarse clock) must still get distinct names.
  if (nanos <= lastNanos_) nanos = lastNanos_ + 1;
  lastNanos_ = nanos;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(nanos));
  return objectName + "." + hex;
}

}  // namespace kd::controllers

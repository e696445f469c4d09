#include "engine/controllers/event_recorder.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

namespace kd::controllers {
namespace {

// Kubernetes' recorder keeps this many aggregation entries; older ones are forgotten.
constexpr size_t kMaxRecorded = 4096;
// Events written together at most (one store transaction).
constexpr size_t kMaxBatch = 512;

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
    std::vector<Pending> batch;
    const size_t n = std::min(queue_.size(), kMaxBatch);
    batch.reserve(n);
    std::move(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n),
              std::back_inserter(batch));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    lock.unlock();
    write(batch);
    lock.lock();
    written_ += n;
    cv_.notify_all();
  }
}

void EventRecorder::write(std::vector<Pending>& batch) {
  std::vector<Series> series;
  std::unordered_map<std::string, size_t> index;
  for (const Pending& e : batch) {
    // The resourceVersion changes with every write of the object; it must not split a series.
    json identity = e.reference;
    identity.erase("resourceVersion");
    std::string key = identity.dump() + '\n' + e.type + '\n' + e.reason + '\n' + e.message;
    auto [it, fresh] = index.emplace(key, series.size());
    if (fresh) {
      series.push_back({std::move(key), &e, &e, 1});
    } else {
      series[it->second].last = &e;
      ++series[it->second].count;
    }
  }
  std::vector<server::ObjectService::NewObject> creates;
  std::vector<const Series*> created;
  for (const Series& s : series) {
    if (auto it = recorded_.find(s.key); it != recorded_.end() && bump(it->second, s)) continue;
    json body = newEvent(s);
    std::string ns = body["metadata"]["namespace"].get<std::string>();
    creates.push_back({std::move(ns), std::move(body)});
    created.push_back(&s);
  }
  if (creates.empty()) return;
  auto results = objects_.createAll(*events_, std::move(creates), {});
  for (size_t i = 0; i < results.size(); ++i) {
    // Best effort: a namespace being deleted refuses new events.
    if (!results[i].ok()) continue;
    const json& meta = results[i]->object["metadata"];
    if (recorded_.size() >= kMaxRecorded) recorded_.clear();
    recorded_[created[i]->key] =
        Recorded{meta.value("namespace", ""), meta.value("name", ""), created[i]->count};
  }
}

json EventRecorder::newEvent(const Series& s) {
  const json& ref = s.first->reference;
  const std::string ns = ref.value("namespace", "");
  const std::string eventNs = ns.empty() ? "default" : ns;
  json body = {{"apiVersion", "v1"},
               {"kind", "Event"},
               {"metadata",
                {{"name", uniqueName(ref.value("name", ""), s.first->at)}, {"namespace", eventNs}}},
               {"involvedObject", ref},
               {"reason", s.first->reason},
               {"message", s.first->message},
               {"type", s.first->type},
               {"source", {{"component", component_}}},
               {"firstTimestamp", server::formatTime(s.first->at)},
               {"lastTimestamp", server::formatTime(s.last->at)},
               {"count", s.count},
               {"reportingComponent", component_},
               {"reportingInstance", host_}};
  if (!host_.empty()) body["source"]["host"] = host_;
  return body;
}

bool EventRecorder::bump(Recorded& existing, const Series& s) {
  const json patch = {{"count", existing.count + s.count},
                      {"lastTimestamp", server::formatTime(s.last->at)}};
  auto patched =
      objects_.patch(*events_, existing.ns, existing.name, api::PatchType::Merge, patch, {});
  if (!patched.ok()) return false;  // gone (deleted or expired): start a new series
  existing.count += s.count;
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

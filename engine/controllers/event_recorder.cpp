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
  static const json kNoMeta = json::object();
  auto m = obj.find("metadata");
  const json& meta = m != obj.end() && m->is_object() ? *m : kNoMeta;
  json ref = json::object();
  ref["kind"] = obj.value("kind", "");
  ref["name"] = meta.value("name", "");
  ref["apiVersion"] = obj.value("apiVersion", "");
  for (const char* f : {"namespace", "uid", "resourceVersion"}) {
    if (auto it = meta.find(f); it != meta.end()) ref[f] = *it;
  }
  return ref;
}

// What makes two events one series: the object (not its resourceVersion, which changes with
// every write of it), type, reason and message.
std::string seriesKey(const json& ref, const std::string& type, const std::string& reason,
                      const std::string& message) {
  std::string key;
  for (const char* f : {"apiVersion", "kind", "namespace", "name", "uid"}) {
    if (auto it = ref.find(f); it != ref.end() && it->is_string()) {
      key += it->get_ref<const std::string&>();
    }
    key += '\n';
  }
  key += type;
  key += '\n';
  key += reason;
  key += '\n';
  key += message;
  return key;
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
  for (Pending& e : batch) {
    std::string key = seriesKey(e.reference, e.type, e.reason, e.message);
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
  server::WriteOptions options;
  options.engineBuilt = true;  // newEvent's body: known fields of the schema's types only
  auto results = objects_.createAll(*events_, std::move(creates), options);
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
  // Built field by field (a braced list would copy every value once more); the series' first
  // occurrence gives up its reference, which nothing reads after this.
  json& ref = s.first->reference;
  const std::string ns = ref.value("namespace", "");
  json body = json::object();
  body["apiVersion"] = "v1";
  body["kind"] = "Event";
  json& meta = body["metadata"] = json::object();
  meta["name"] = uniqueName(ref.value("name", ""), s.first->at);
  meta["namespace"] = ns.empty() ? "default" : ns;
  body["involvedObject"] = std::move(ref);
  body["reason"] = s.first->reason;
  body["message"] = s.first->message;
  body["type"] = s.first->type;
  json& source = body["source"] = json::object();
  source["component"] = component_;
  if (!host_.empty()) source["host"] = host_;
  const std::string first = server::formatTime(s.first->at);
  body["firstTimestamp"] = first;
  body["lastTimestamp"] = s.last == s.first ? first : server::formatTime(s.last->at);
  body["count"] = s.count;
  body["reportingComponent"] = component_;
  body["reportingInstance"] = host_;
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

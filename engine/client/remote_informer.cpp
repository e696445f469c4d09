#include "engine/client/remote_informer.h"

#include <unordered_map>

namespace kd::client {
namespace {

using api::metadataOf;
using api::objectKey;

constexpr auto kPoll = std::chrono::milliseconds(100);

std::string resourceVersionOf(const json& obj) {
  return metadataOf(obj).value("resourceVersion", "");
}

}  // namespace

RemoteInformer::RemoteInformer(ApiClient& client, const api::KindInfo& kind,
                               RemoteInformerOptions options)
    : client_(client), kind_(kind), options_(std::move(options)) {}

RemoteInformer::~RemoteInformer() {
  stop();
}

void RemoteInformer::addHandlers(EventHandlers handlers) {
  cache_.addHandlers(std::move(handlers));
}

void RemoteInformer::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void RemoteInformer::stop() {
  stopping_ = true;
  {
    std::lock_guard lock(mu_);
    if (watch_) watch_->cancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool RemoteInformer::hasSynced() const {
  std::lock_guard lock(mu_);
  return synced_;
}

bool RemoteInformer::waitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return synced_; });
}

int RemoteInformer::listCount() const {
  std::lock_guard lock(mu_);
  return lists_;
}

int RemoteInformer::watchCount() const {
  std::lock_guard lock(mu_);
  return watches_;
}

std::string RemoteInformer::lastResourceVersion() const {
  std::lock_guard lock(mu_);
  return resourceVersion_;
}

Status RemoteInformer::lastError() const {
  std::lock_guard lock(mu_);
  return lastError_;
}

CachedObject RemoteInformer::get(std::string_view key) const {
  return cache_.get(key);
}

CachedObject RemoteInformer::get(std::string_view ns, std::string_view name) const {
  return get(objectKey(kind_.namespaced ? ns : "", name));
}

std::vector<CachedObject> RemoteInformer::list() const {
  return list("");
}

std::vector<CachedObject> RemoteInformer::list(std::string_view ns) const {
  return cache_.list(ns);
}

void RemoteInformer::setError(Status status) {
  std::lock_guard lock(mu_);
  lastError_ = std::move(status);
}

bool RemoteInformer::pause(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [this] { return stopping(); });
  return !stopping();
}

void RemoteInformer::run() {
  std::string resourceVersion;
  bool needList = true;
  while (!stopping()) {
    if (needList) {
      auto listed = relist();
      if (!listed.ok()) {
        setError(listed.status());
        if (!pause(options_.retryDelay)) return;
        continue;
      }
      resourceVersion = *listed;
      needList = false;
    }
    needList = !watchFrom(resourceVersion);
  }
}

Result<std::string> RemoteInformer::relist() {
  ListOptions lo;
  lo.labelSelector = options_.labelSelector;
  lo.fieldSelector = options_.fieldSelector;
  auto listed = client_.list(kind_, options_.namespaceName, lo);
  if (!listed.ok()) return listed.status();
  std::unordered_map<std::string, CachedObject> fresh;
  if (auto items = listed->find("items"); items != listed->end() && items->is_array()) {
    for (auto& item : *items) {
      auto obj = std::make_shared<const json>(std::move(item));
      fresh.emplace(objectKey(*obj), std::move(obj));
    }
  }
  cache_.replace(std::move(fresh));
  std::string rv = resourceVersionOf(*listed);
  {
    std::lock_guard lock(mu_);
    synced_ = true;
    ++lists_;
    resourceVersion_ = rv;
    lastError_ = Status::ok();
  }
  cv_.notify_all();
  return rv;
}

bool RemoteInformer::watchFrom(std::string& resourceVersion) {
  ListOptions lo;
  lo.labelSelector = options_.labelSelector;
  lo.fieldSelector = options_.fieldSelector;
  lo.resourceVersion = resourceVersion;
  lo.allowWatchBookmarks = true;
  lo.timeoutSeconds = static_cast<int>(options_.watchTimeout.count());
  auto started = client_.watch(kind_, options_.namespaceName, lo);
  if (!started.ok()) {
    setError(started.status());
    if (started.status().code() == 410) return false;
    pause(options_.retryDelay);
    return true;
  }
  std::unique_ptr<Watch> stream = std::move(*started);
  {
    std::lock_guard lock(mu_);
    ++watches_;
    if (stopping()) return true;
    watch_ = stream.get();
  }
  bool keep = true;
  while (keep && !stopping()) {
    auto event = stream->next(kPoll);
    if (event) {
      keep = apply(*event, resourceVersion);
    } else if (stream->ended()) {
      break;
    }
  }
  {
    std::lock_guard lock(mu_);
    watch_ = nullptr;
    resourceVersion_ = resourceVersion;
  }
  if (Status end = stream->endStatus(); !end.isOk() && keep) {
    setError(end);
    // A broken connection: resume after a pause rather than hammering a restarting server.
    pause(options_.retryDelay);
  }
  return keep;
}

bool RemoteInformer::apply(WatchEvent& event, std::string& resourceVersion) {
  if (event.type == "ERROR") {
    const int code = event.object.is_object() ? event.object.value("code", 500) : 500;
    setError(statusFromResponse(code, event.object.dump()));
    return code != 410;
  }
  auto obj = std::make_shared<const json>(std::move(event.object));
  if (std::string rv = resourceVersionOf(*obj); !rv.empty()) resourceVersion = std::move(rv);
  if (event.type == "BOOKMARK") return true;
  if (event.type == "DELETED") {
    cache_.erase(objectKey(*obj), obj);
  } else {
    cache_.upsert(obj);
  }
  return true;
}

}  // namespace kd::client

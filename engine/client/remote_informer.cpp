#include "engine/client/remote_informer.h"

#include <algorithm>
#include <cstdlib>
#include <unordered_map>

namespace kd::client {
namespace {

using api::metadataOf;
using api::objectKey;

constexpr auto kPoll = std::chrono::milliseconds(100);

std::string resourceVersionOf(const json& obj) {
  return metadataOf(obj).value("resourceVersion", "");
}

// The order of changes, for maxObjects. Kubernetes documents resourceVersions as opaque, but
// both etcd's and our store's are increasing integers; a wrong order would only change which
// old objects are forgotten.
uint64_t changeNumberOf(const json& obj) {
  return std::strtoull(resourceVersionOf(obj).c_str(), nullptr, 10);
}

// The keys of `objects`, oldest change first.
std::vector<std::string> byChange(const std::unordered_map<std::string, CachedObject>& objects) {
  std::vector<std::pair<uint64_t, const std::string*>> order;
  order.reserve(objects.size());
  for (const auto& [key, obj] : objects) order.emplace_back(changeNumberOf(*obj), &key);
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> keys;
  keys.reserve(order.size());
  for (const auto& [n, key] : order) keys.push_back(*key);
  return keys;
}

// Drops all but the `n` most recently changed of `objects`.
void keepNewest(std::unordered_map<std::string, CachedObject>& objects, size_t n) {
  if (objects.size() <= n) return;
  const std::vector<std::string> keys = byChange(objects);
  for (size_t i = 0; i + n < keys.size(); ++i) objects.erase(keys[i]);
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
  // Into an empty, unbounded cache a list goes page by page: there is nothing to reconcile.
  const bool direct = !everCached_ && options_.maxObjects == 0;
  const size_t bound = options_.maxObjects;
  std::unordered_map<std::string, CachedObject> fresh;
  auto listed = listPages([&](json& items) {
    for (auto& item : items) {
      CachedObject obj = prepare(std::move(item), true);
      if (direct) {
        cache_.upsert(obj);
        everCached_ = true;
      } else {
        fresh.insert_or_assign(objectKey(*obj), std::move(obj));
      }
    }
    // A bounded cache holds at most twice its bound while listing.
    if (bound > 0 && fresh.size() > 2 * bound) keepNewest(fresh, bound);
  });
  if (!listed.ok()) return listed.status();
  if (!direct) {
    if (bound > 0) {
      keepNewest(fresh, bound);
      lastChange_.clear();
      changeOrder_.clear();
      for (const std::string& key : byChange(fresh)) touch(key);
    }
    cache_.replace(std::move(fresh));
    everCached_ = true;
  }
  {
    std::lock_guard lock(mu_);
    synced_ = true;
    ++lists_;
    resourceVersion_ = *listed;
    lastError_ = Status::ok();
  }
  cv_.notify_all();
  return listed;
}

Result<std::string> RemoteInformer::listPages(const std::function<void(json& items)>& onPage) {
  ListOptions lo;
  lo.labelSelector = options_.labelSelector;
  lo.fieldSelector = options_.fieldSelector;
  lo.limit = options_.listPageSize;
  lo.itemProjection = options_.projection.get();
  std::string resourceVersion;
  do {
    auto page = client_.list(kind_, options_.namespaceName, lo);
    if (!page.ok()) return page.status();
    if (resourceVersion.empty()) resourceVersion = resourceVersionOf(*page);
    lo.continueToken = metadataOf(*page).value("continue", "");
    if (auto items = page->find("items"); items != page->end() && items->is_array()) onPage(*items);
    if (stopping()) return Status::serviceUnavailable("the informer is stopping");
  } while (!lo.continueToken.empty());
  return resourceVersion;
}

CachedObject RemoteInformer::prepare(json&& object, bool projected) const {
  if (options_.projection && !projected) api::project(object, *options_.projection);
  if (options_.transform) options_.transform(object);
  return std::make_shared<const json>(std::move(object));
}

void RemoteInformer::touch(const std::string& key) {
  const uint64_t n = ++changes_;
  lastChange_.insert_or_assign(key, n);
  changeOrder_.emplace_back(key, n);
}

void RemoteInformer::forget(const std::string& key) {
  lastChange_.erase(key);
}

void RemoteInformer::trimToBound() {
  while (lastChange_.size() > options_.maxObjects && !changeOrder_.empty()) {
    auto [key, n] = std::move(changeOrder_.front());
    changeOrder_.pop_front();
    auto it = lastChange_.find(key);
    if (it == lastChange_.end() || it->second != n) continue;  // changed again, or gone
    lastChange_.erase(it);
    if (CachedObject last = cache_.get(key)) cache_.erase(key, last);
  }
  // Entries of keys that changed again pile up; drop them once they outnumber the live ones.
  if (changeOrder_.size() > 2 * lastChange_.size() + 1024) {
    std::erase_if(changeOrder_, [this](const auto& entry) {
      auto it = lastChange_.find(entry.first);
      return it == lastChange_.end() || it->second != entry.second;
    });
  }
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
  if (std::string rv = resourceVersionOf(event.object); !rv.empty())
    resourceVersion = std::move(rv);
  if (event.type == "BOOKMARK") return true;
  CachedObject obj = prepare(std::move(event.object), false);
  const bool bounded = options_.maxObjects > 0;
  if (event.type == "DELETED") {
    const std::string key = objectKey(*obj);
    cache_.erase(key, obj);
    if (bounded) forget(key);
  } else {
    cache_.upsert(obj);
    everCached_ = true;
    if (bounded) {
      touch(objectKey(*obj));
      trimToBound();
    }
  }
  return true;
}

}  // namespace kd::client

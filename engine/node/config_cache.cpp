#include "engine/node/config_cache.h"

#include <cstdio>

#include "engine/client/api_client.h"

namespace kd::node {

struct ConfigCache::Entry {
  ConfigKey key;
  std::mutex mu;
  bool live = false;        // a watch runs and the cached copy follows it
  uint64_t generation = 0;  // of the current watch; events of older ones are dropped
  Result<json> object = Status::notFound("");
  std::unique_ptr<client::Watch> watch;  // last: cancelled before the rest goes
};

namespace {

const api::KindInfo* kindOf(const std::string& resource) {
  return api::KindsRegistry::builtin().byResource("", "v1", resource);
}

Status notFound(const ConfigKey& key) {
  const std::string kind = key.resource == "secrets" ? "secrets" : "configmaps";
  return Status::notFound(kind + " \"" + key.name + "\" not found");
}

}  // namespace

ConfigCache::ConfigCache(client::ApiClient& api) : api_(api) {}

ConfigCache::~ConfigCache() = default;

void ConfigCache::acquire(const ConfigKey& key) {
  std::lock_guard lock(mu_);
  auto& [users, entry] = entries_[key];
  if (!entry) {
    entry = std::make_shared<Entry>();
    entry->key = key;
  }
  ++users;
}

void ConfigCache::release(const ConfigKey& key) {
  std::shared_ptr<Entry> gone;  // destroyed (its watch cancelled) after mu_ is released
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end() || --it->second.first > 0) return;
    gone = std::move(it->second.second);
    entries_.erase(it);
  }
  if (gone && gone->watch) {
    std::fprintf(stderr, "kubedesk-node: stopped watching %s %s/%s\n", key.resource.c_str(),
                 key.ns.c_str(), key.name.c_str());
  }
}

Result<json> ConfigCache::get(const ConfigKey& key) {
  const api::KindInfo* kind = kindOf(key.resource);
  if (!kind) return Status::notFound("unknown resource " + key.resource);
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) entry = it->second.second;
  }
  if (!entry) return api_.get(*kind, key.ns, key.name);  // not acquired: a plain read

  std::unique_ptr<client::Watch> retired;  // an ended watch, destroyed after the lock
  std::unique_lock lock(entry->mu);
  if (entry->live) return entry->object;
  client::ListOptions options;
  options.fieldSelector = "metadata.name=" + key.name;
  auto list = api_.list(*kind, key.ns, options);
  if (!list.ok()) {
    if (list.status().code() != 403) return list.status();
    std::fprintf(stderr, "kubedesk-node: cannot watch %s %s/%s (%s): reading it by GET\n",
                 key.resource.c_str(), key.ns.c_str(), key.name.c_str(),
                 list.status().message().c_str());
    return api_.get(*kind, key.ns, key.name);  // an engine that allows only get
  }
  const json& items = (*list)["items"];
  entry->object = items.empty() ? Result<json>(notFound(key)) : Result<json>(items[0]);
  options.resourceVersion = (*list)["metadata"].value("resourceVersion", "");
  const uint64_t generation = ++entry->generation;
  Entry* e = entry.get();  // the watch is cancelled before its entry goes
  client::WatchHandlers handlers;
  handlers.onEvent = [e, generation](client::WatchEvent event) {
    std::lock_guard l(e->mu);
    if (e->generation != generation) return;
    if (event.type == "ADDED" || event.type == "MODIFIED") {
      e->object = std::move(event.object);
    } else if (event.type == "DELETED") {
      e->object = notFound(e->key);
    } else if (event.type == "ERROR") {
      e->live = false;  // 410 and the like: list again at the next read
    }
  };
  handlers.onClosed = [e, generation](const Status&) {
    std::lock_guard l(e->mu);
    if (e->generation == generation) e->live = false;
  };
  retired = std::move(entry->watch);
  auto watch = api_.watch(*kind, key.ns, options, std::move(handlers));
  if (!watch.ok()) {  // the listed copy; the next read tries again
    std::fprintf(stderr, "kubedesk-node: watching %s %s/%s failed: %s\n", key.resource.c_str(),
                 key.ns.c_str(), key.name.c_str(), watch.status().message().c_str());
    return entry->object;
  }
  const bool first = !retired;
  entry->watch = std::move(*watch);
  entry->live = true;
  if (first) {
    std::fprintf(stderr, "kubedesk-node: watching %s %s/%s\n", key.resource.c_str(), key.ns.c_str(),
                 key.name.c_str());
  }
  return entry->object;
}

size_t ConfigCache::watchCount() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [key, value] : entries_) {
    std::lock_guard l(value.second->mu);
    n += value.second->live;
  }
  return n;
}

Result<json> ConfigRefs::get(const ConfigKey& key) {
  if (held_.insert(key).second) cache_->acquire(key);
  return cache_->get(key);
}

void ConfigRefs::keepOnly(const std::set<ConfigKey>& used) {
  for (auto it = held_.begin(); it != held_.end();) {
    if (used.count(*it)) {
      ++it;
    } else {
      cache_->release(*it);
      it = held_.erase(it);
    }
  }
}

}  // namespace kd::node

#include "engine/api/informer_cache.h"

#include <mutex>

namespace kd::api {
namespace {

// Compares in place: list() runs over every cached object on each controller sync.
bool namespaceIs(const json& obj, std::string_view ns) {
  const json& meta = metadataOf(obj);
  auto it = meta.find("namespace");
  return it != meta.end() && it->is_string() && it->get_ref<const std::string&>() == ns;
}

std::string resourceVersionOf(const json& obj) {
  return metadataOf(obj).value("resourceVersion", "");
}

}  // namespace

void InformerCache::addHandlers(EventHandlers handlers) {
  handlers_.push_back(std::move(handlers));
}

void InformerCache::upsert(const CachedObject& obj) {
  CachedObject old;
  {
    std::unique_lock lock(mu_);
    auto& slot = objects_[objectKey(*obj)];
    old = slot;
    slot = obj;
  }
  if (old && resourceVersionOf(*old) == resourceVersionOf(*obj)) return;
  for (const auto& h : handlers_) {
    if (old && h.onUpdate) h.onUpdate(old, obj);
    if (!old && h.onAdd) h.onAdd(obj);
  }
}

void InformerCache::erase(const std::string& key, const CachedObject& last) {
  {
    std::unique_lock lock(mu_);
    if (objects_.erase(key) == 0) return;
  }
  for (const auto& h : handlers_) {
    if (h.onDelete) h.onDelete(last);
  }
}

void InformerCache::replace(std::unordered_map<std::string, CachedObject> fresh) {
  std::vector<std::pair<std::string, CachedObject>> gone;
  {
    std::shared_lock lock(mu_);
    for (const auto& [key, obj] : objects_) {
      if (!fresh.contains(key)) gone.emplace_back(key, obj);
    }
  }
  for (const auto& [key, last] : gone) erase(key, last);
  for (const auto& [key, obj] : fresh) upsert(obj);
}

CachedObject InformerCache::get(std::string_view key) const {
  std::shared_lock lock(mu_);
  auto it = objects_.find(std::string(key));
  return it == objects_.end() ? nullptr : it->second;
}

std::vector<CachedObject> InformerCache::list(std::string_view ns) const {
  std::shared_lock lock(mu_);
  std::vector<CachedObject> out;
  out.reserve(ns.empty() ? objects_.size() : 0);
  for (const auto& [key, obj] : objects_) {
    if (ns.empty() || namespaceIs(*obj, ns)) out.push_back(obj);
  }
  return out;
}

}  // namespace kd::api

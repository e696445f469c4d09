#pragma once
// InformerCache: the cache and handler dispatch every informer shares, in-process
// (engine/controllers/informer.h) or remote (engine/client/remote_informer.h). It holds one
// CachedObject per objectKey and tells the registered handlers what changed:
//   - upsert() reports an add or an update, but nothing when the resourceVersion is the one
//     already cached (a relist re-reading what we had);
//   - erase() reports a delete when the key was cached;
//   - replace() reconciles the cache with a full list: deletes for keys that vanished, then
//     adds and updates.
// The cache is written before handlers run, so a handler reading it sees at least the state of
// the event. Reads are thread-safe; writes and handler registration come from one thread (the
// informer's), and handlers run on it.

#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/api/object_key.h"

namespace kd::api {

class InformerCache {
 public:
  // Register before the first write; handlers are called in registration order.
  void addHandlers(EventHandlers handlers);

  void upsert(const CachedObject& obj);
  void erase(const std::string& key, const CachedObject& last);
  void replace(std::unordered_map<std::string, CachedObject> fresh);

  // The cached object for an objectKey, or null.
  CachedObject get(std::string_view key) const;
  // Objects in one namespace ("" = all), in no particular order.
  std::vector<CachedObject> list(std::string_view ns = {}) const;

 private:
  std::vector<EventHandlers> handlers_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, CachedObject> objects_;
};

}  // namespace kd::api

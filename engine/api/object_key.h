#pragma once
// What every informer shares, whether it watches the store in-process
// (engine/controllers/informer.h) or a remote API server (engine/client/remote_informer.h):
// the cache key of an object, the cached object type and the handler shape, so code written
// against one moves to the other unchanged.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "engine/api/status.h"

namespace kd::api {

// A cached object, parsed once and shared read-only with every reader.
using CachedObject = std::shared_ptr<const json>;

struct EventHandlers {
  std::function<void(const CachedObject& obj)> onAdd;
  std::function<void(const CachedObject& oldObj, const CachedObject& newObj)> onUpdate;
  // `obj` is the last state known (from the DELETED event or the cache before a relist).
  std::function<void(const CachedObject& obj)> onDelete;
};

// "namespace/name" for namespaced objects, "name" for cluster-scoped ones (client-go's
// MetaNamespaceKeyFunc), the key of informer caches and of most controllers' queues.
std::string objectKey(const json& obj);
std::string objectKey(std::string_view ns, std::string_view name);
// Splits an objectKey back into namespace ("" for cluster-scoped) and name.
std::pair<std::string, std::string> splitObjectKey(std::string_view key);

// obj["metadata"] when it is an object, else an empty object.
const json& metadataOf(const json& obj);
// obj[outer][inner] when it is a string, else "" — read in place, for loops over whole caches.
std::string_view stringAt(const json& obj, const char* outer, const char* inner);

}  // namespace kd::api

#pragma once
// The ConfigMaps and Secrets this node's pods mount, kept up to date by watches, as the
// kubelet's configMapAndSecretChangeDetectionStrategy Watch does. Pod workers read their
// configMap/secret volumes (and projected sources) from here on every sync instead of GETting
// each object every second (100 pods mounting kube-root-ca.crt were ~100 GETs a second).
//
// One watch per referenced object (namespace, fieldSelector metadata.name=<name>), shared by
// every pod that references it: the first reader lists the object and watches from the list's
// resourceVersion; the watch's events replace the cached copy, so updates reach the volumes at
// the next sync. A watch that ends (server timeout, engine restart, 410) is re-listed by the
// next read. A pod acquires the objects it reads and releases them when it no longer uses
// them or is gone; the last release cancels the watch. Env vars are read at container start
// straight from the API (not through this cache).

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>

#include "engine/api/status.h"

namespace kd::client {
class ApiClient;
}

namespace kd::node {

struct ConfigKey {
  std::string resource;  // "configmaps" or "secrets"
  std::string ns, name;
  auto operator<=>(const ConfigKey&) const = default;
};

class ConfigCache {
 public:
  explicit ConfigCache(client::ApiClient& api);
  ~ConfigCache();
  ConfigCache(const ConfigCache&) = delete;
  ConfigCache& operator=(const ConfigCache&) = delete;

  // Registers one more user of `key` (a pod); the watch starts at the first get().
  void acquire(const ConfigKey& key);
  // One user fewer; the last one cancels the object's watch and forgets it.
  void release(const ConfigKey& key);
  // The object as its watch last saw it (a 404 Status when it does not exist); lists it and
  // starts the watch when none runs. When the API refuses a list (an engine whose node
  // authorizer allows only get), falls back to a GET.
  Result<json> get(const ConfigKey& key);

  // Objects with a running watch (for tests and logs).
  size_t watchCount() const;

  struct Entry;

 private:
  client::ApiClient& api_;
  mutable std::mutex mu_;
  std::map<ConfigKey, std::pair<int, std::shared_ptr<Entry>>> entries_;  // users, entry
};

// What one pod holds in the cache: reads through it, and after each refresh keeps only the
// objects that refresh read. Releases everything when destroyed.
class ConfigRefs {
 public:
  explicit ConfigRefs(ConfigCache* cache) : cache_(cache) {}
  ~ConfigRefs() { keepOnly({}); }
  ConfigRefs(const ConfigRefs&) = delete;
  ConfigRefs& operator=(const ConfigRefs&) = delete;

  Result<json> get(const ConfigKey& key);
  // Releases the held objects not in `used`.
  void keepOnly(const std::set<ConfigKey>& used);

 private:
  ConfigCache* cache_;
  std::set<ConfigKey> held_;
};

}  // namespace kd::node

#pragma once
// A RemoteInformer keeps an in-memory copy of one resource in step with an API server through
// list + watch over an ApiClient, and tells registered handlers what changed. It is the
// client-side twin of engine/controllers/informer.h (same key function, cached object type
// and handler shape, from engine/api/object_key.h), so code moves between the two unchanged:
//   - one thread per informer lists, then watches from the list's resourceVersion with
//     allowWatchBookmarks, so a quiet watch still advances its resume point;
//   - when a watch ends (server timeout, dropped connection) it resumes from the last
//     resourceVersion it saw;
//   - when that resourceVersion is gone (410 Expired, at watch start or as an ERROR event) it
//     lists again and reports the difference to the cache as adds, updates and deletes;
//   - the cache and handler dispatch are engine/api/informer_cache.h's, as in the in-process
//     informer: written before handlers run, no event for an unchanged resourceVersion.
// Handlers run on the informer thread, in registration order; they must be quick (enqueue a
// key, post to another thread). Errors while listing or watching are retried with back-off;
// the last one is readable through lastError().

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/api/informer_cache.h"
#include "engine/api/kinds.h"
#include "engine/api/object_key.h"
#include "engine/client/api_client.h"

namespace kd::client {

using api::CachedObject;
using api::EventHandlers;

struct RemoteInformerOptions {
  std::string namespaceName;  // "" = all namespaces (ignored for cluster-scoped kinds)
  std::string labelSelector;
  std::string fieldSelector;
  // The server ends each watch after this long (client-go's reflector picks 5-10 min); the
  // informer then resumes, which also notices compaction on a quiet resource.
  std::chrono::seconds watchTimeout{300};
  std::chrono::milliseconds retryDelay{1000};  // after a failed list or watch start
  // Lists in pages of this many objects (0 = one request), as client-go's reflector does: the
  // client holds one page's body and document at a time, and the first list hands objects to
  // the handlers page by page instead of after the last byte of a large list. The watch
  // resumes from the first page's resourceVersion, so what changes between pages arrives as
  // events.
  int64_t listPageSize = 0;
  // Called on every object, listed or watched, before it is cached (client-go's
  // SetTransform): a consumer that reads a few fields of a bulky kind keeps only those. It
  // must keep metadata.name, namespace and resourceVersion.
  std::function<void(json&)> transform;
  // Called on every object before `transform`, like it, but declared: the members of each
  // listed object that the projection drops are skipped while the list page is parsed, never
  // built (most of a list's cost when a tenth of each object is kept); watched objects are
  // cut after parsing. It must keep metadata.name, namespace and resourceVersion.
  std::shared_ptr<const api::JsonProjection> projection;
  // At most this many objects are cached (0 = no bound). Beyond it, the objects whose last
  // change is oldest (by resourceVersion) are forgotten and reported to handlers as deletes;
  // a later change brings one back. Meant for kinds where only recent objects matter, like
  // Events (which the API server itself expires after an hour, --event-ttl).
  size_t maxObjects = 0;
};

class RemoteInformer {
 public:
  // `client` must outlive the informer.
  RemoteInformer(ApiClient& client, const api::KindInfo& kind, RemoteInformerOptions options = {});
  ~RemoteInformer();  // stops
  RemoteInformer(const RemoteInformer&) = delete;
  RemoteInformer& operator=(const RemoteInformer&) = delete;

  const api::KindInfo& kind() const { return kind_; }

  // Register before start(); handlers are called in registration order.
  void addHandlers(EventHandlers handlers);
  void start();
  // Stops the thread; no handler runs after stop() returns. Idempotent. Must not be called
  // from a handler.
  void stop();

  // True once the first list has been loaded into the cache (and handlers told about it).
  bool hasSynced() const;
  bool waitForSync(std::chrono::milliseconds timeout) const;

  // The cached object for an objectKey, or null.
  CachedObject get(std::string_view key) const;
  CachedObject get(std::string_view ns, std::string_view name) const;
  // A snapshot of the cache, in no particular order.
  std::vector<CachedObject> list() const;
  // Objects in one namespace ("" = all).
  std::vector<CachedObject> list(std::string_view ns) const;
  // How many times the informer listed (1 after the first sync) and started a watch.
  int listCount() const;
  int watchCount() const;
  // The resourceVersion the next watch resumes from.
  std::string lastResourceVersion() const;
  // The last list/watch failure (OK when none happened since the last success).
  Status lastError() const;

 private:
  void run();
  // Lists and reconciles the cache; returns the list's resourceVersion.
  Result<std::string> relist();
  // Requests every page of the list, giving each page's items to `onPage`; returns the first
  // page's resourceVersion.
  Result<std::string> listPages(const std::function<void(json& items)>& onPage);
  // The object an item or event carries, projected (unless `projected` already) and
  // transformed, ready to cache.
  CachedObject prepare(json&& object, bool projected) const;
  // maxObjects bookkeeping (informer thread only): `key` changed now / is gone; forget the
  // oldest while over the bound.
  void touch(const std::string& key);
  void forget(const std::string& key);
  void trimToBound();
  // Streams events until the watch ends or stop; returns false when a relist is needed.
  bool watchFrom(std::string& resourceVersion);
  // Applies one event; false for an ERROR event that asks for a relist.
  bool apply(WatchEvent& event, std::string& resourceVersion);
  void setError(Status status);
  // Sleeps up to `d`; false once stopping.
  bool pause(std::chrono::milliseconds d);
  bool stopping() const { return stopping_.load(); }

  ApiClient& client_;
  const api::KindInfo kind_;
  const RemoteInformerOptions options_;
  api::InformerCache cache_;
  bool everCached_ = false;  // informer thread: anything was ever put in the cache

  // With maxObjects: each cached key's latest change number, and keys in change order (older
  // entries of a key that changed again are skipped when met).
  uint64_t changes_ = 0;
  std::unordered_map<std::string, uint64_t> lastChange_;
  std::deque<std::pair<std::string, uint64_t>> changeOrder_;

  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;  // guards everything below
  mutable std::condition_variable cv_;
  bool synced_ = false;
  int lists_ = 0;
  int watches_ = 0;
  std::string resourceVersion_;
  Status lastError_;
  Watch* watch_ = nullptr;  // the running watch, for stop() to cancel
  std::thread thread_;
};

}  // namespace kd::client

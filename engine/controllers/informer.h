#pragma once
// An informer keeps an in-memory copy of one resource (all namespaces) in step with the store
// through ObjectService list + watch, and tells registered handlers what changed. It is the
// in-process counterpart of client-go's shared informer:
//   - one thread per informer lists, then watches from the list's revision;
//   - when a watch ends (the store closed it) it resumes from the last revision it saw;
//   - when that revision was compacted away (410 Gone) it lists again and reports the
//     difference to the cache as adds, updates and deletes;
//   - the cache is updated before handlers run, so a handler (or a worker it wakes) reading
//     the cache sees at least the state of the event.
// Handlers run on the informer thread; they must be quick and only enqueue keys. The store's
// notify callback only wakes the informer thread, so store writers never wait on us.

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/api/informer_cache.h"
#include "engine/api/kinds.h"
#include "engine/api/object_key.h"
#include "engine/server/object_service.h"

namespace kd::controllers {

using api::CachedObject;

// What an informer keeps of each object.
enum class InformerView {
  Full,  // the whole object
  // apiVersion, kind and metadata only, without metadata.managedFields and kubectl's
  // last-applied-configuration annotation: the PartialObjectMetadata client-go's metadata
  // informers hold. A small fraction of the memory (and parse time) of Full, for controllers
  // that only look at names, uids, owners, finalizers and labels (the garbage collector).
  Metadata,
};

// Shared with the remote informer (engine/client/remote_informer.h).
using api::EventHandlers;
using api::objectKey;
using api::splitObjectKey;

class Informer {
 public:
  // Like client-go's reflector, a watch is ended and resumed every `watchTimeout`, so a
  // revision compacted meanwhile is noticed (and relisted) even when the resource is quiet.
  Informer(server::ObjectService& objects, const api::KindInfo& kind,
           std::chrono::milliseconds watchTimeout = std::chrono::minutes(5),
           InformerView view = InformerView::Full);
  ~Informer();  // stops
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  const api::KindInfo& kind() const { return kind_; }
  InformerView view() const { return view_; }

  // Register before start(); handlers are called in registration order.
  void addHandlers(EventHandlers handlers);
  void start();
  // Stops the thread; no handler runs after stop() returns. Idempotent.
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
  // How many times the informer listed (1 after the first sync); for tests and status.
  int listCount() const;

 private:
  void run();
  // Lists and reconciles the cache; returns the list's revision or an error.
  Result<int64_t> relist();
  // Streams events until the watch ends or stop; returns false when a relist is needed.
  bool watchFrom(int64_t& revision);
  void apply(const server::WatchEvent& event);
  CachedObject cached(const store::StoredObject& stored) const;
  // Waits until woken or stopped; false once stopped.
  bool waitForWork(std::chrono::milliseconds max);

  server::ObjectService& objects_;
  const api::KindInfo kind_;
  const std::chrono::milliseconds watchTimeout_;
  const InformerView view_;
  api::InformerCache cache_;  // shared with the remote informer

  // Shared with the store's notify callback, which may outlive a watch stream by a moment.
  struct Wakeup;
  std::shared_ptr<Wakeup> wakeup_;
  mutable std::mutex syncMu_;
  mutable std::condition_variable syncCv_;
  bool synced_ = false;
  int lists_ = 0;
  std::thread thread_;
};

}  // namespace kd::controllers

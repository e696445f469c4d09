#pragma once
// The API verbs on stored objects, independent of HTTP: what the Kubernetes API server's
// generic registry does between decoding a request and touching storage. Create, update and
// patch check the namespace, default, validate, stamp metadata (uid, creationTimestamp,
// generation on spec changes) and keep status and spec apart (the status subresource writes
// only status; the main resource never writes status). Delete honours preconditions,
// finalizers, propagation policy and pods' graceful termination. Watches filter by selectors
// and turn objects leaving or entering the selection into DELETED / ADDED events.
//
// The HTTP handler and in-process clients (controllers) both call this class, so both get the
// same semantics. Thread-safe.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "engine/api/kinds.h"
#include "engine/api/patch.h"
#include "engine/api/schema.h"
#include "engine/api/selectors.h"
#include "engine/api/validation.h"
#include "engine/server/kind_strategies.h"
#include "engine/store/sqlite_store.h"

namespace kd::server {

using Clock = std::function<std::chrono::system_clock::time_point()>;

struct WriteOptions {
  bool dryRun = false;
  api::FieldValidation fieldValidation = api::FieldValidation::Warn;
  std::string subresource;  // "", "status", "scale"
  // The body is one the engine built itself from typed values (EventRecorder's Events): every
  // field it has is one the kind's schema knows, of the schema's type, so create skips the
  // schema walk. Everything else (namespace check, metadata, defaults, the kind's validation)
  // still runs; what is stored is what the full path stores. Never for a client's body.
  bool engineBuilt = false;
};

// A body's apiVersion and kind, when it gives them, must be those of `kind` (400 otherwise,
// worded as kube-apiserver words it).
Status checkTypeMeta(const api::KindInfo& kind, const json& body);

struct WriteResult {
  json object;
  std::vector<std::string> warnings;
  bool created = false;  // the write created the object (201)
};

struct ListOptions {
  std::string labelSelector;
  std::string fieldSelector;
  size_t limit = 0;
  std::string continueToken;
};

struct ListResult {
  std::vector<store::ObjectPtr> items;
  int64_t revision = 0;
  std::string continueToken;
  int64_t remainingItemCount = -1;  // -1: unknown or not cut
};

struct DeleteOptions {
  std::optional<int64_t> gracePeriodSeconds;
  std::string propagationPolicy;  // "", "Orphan", "Background", "Foreground"
  std::string preconditionUid;
  std::string preconditionResourceVersion;
  bool dryRun = false;
};

struct DeleteResult {
  json object;
  bool deletedNow = false;  // gone from the store (vs. marked for deletion)
};

// One event as a watcher should see it, after selector filtering.
struct WatchEvent {
  std::string type;         // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
  store::ObjectPtr object;  // null for BOOKMARK / ERROR
  int64_t revision = 0;
  json errorStatus;                    // for ERROR
  std::shared_ptr<const json> parsed;  // `object` parsed, with WatchOptions::parsedObjects
};

struct WatchOptions {
  std::string labelSelector;
  std::string fieldSelector;
  std::string resourceVersion;  // "" or "0": start with ADDED events for the current state
  std::string name;             // watch one object (metadata.name)
  bool sendInitialEvents = false;
  // Live events carry the written object already parsed (for in-process consumers that keep
  // up; a parsed copy waits in the queue with each event).
  bool parsedObjects = false;
};

// A running watch: events are pulled with next(); `notify` (given at start) is called on a
// store thread when more may be available.
class WatchStream {
 public:
  virtual ~WatchStream() = default;
  // Appends what is ready; false when the stream has ended (after the last events).
  virtual bool next(std::vector<WatchEvent>& out) = 0;
  virtual int64_t lastRevision() const = 0;
};

class ObjectService {
 public:
  ObjectService(store::SqliteStore& store, const api::KindsRegistry& kinds,
                const api::SchemaRegistry& schemas, Clock clock);

  static std::string keyFor(const api::KindInfo& kind, std::string_view ns, std::string_view name);
  static std::string prefixFor(const api::KindInfo& kind, std::string_view ns);

  Result<store::ObjectPtr> get(const api::KindInfo& kind, std::string_view ns,
                               std::string_view name) const;
  Result<ListResult> list(const api::KindInfo& kind, std::string_view ns,
                          const ListOptions& options) const;
  Result<WriteResult> create(const api::KindInfo& kind, std::string_view ns, json body,
                             const WriteOptions& options);
  Result<WriteResult> update(const api::KindInfo& kind, std::string_view ns, std::string_view name,
                             json body, const WriteOptions& options);
  Result<WriteResult> patch(const api::KindInfo& kind, std::string_view ns, std::string_view name,
                            api::PatchType type, const json& patch, const WriteOptions& options);
  Result<DeleteResult> remove(const api::KindInfo& kind, std::string_view ns, std::string_view name,
                              const DeleteOptions& options);
  Result<json> removeCollection(const api::KindInfo& kind, std::string_view ns,
                                const ListOptions& selection, const DeleteOptions& options);
  // pods/binding: sets spec.nodeName once (and PodScheduled=True); 409 when already bound.
  Result<json> bind(std::string_view ns, std::string_view podName, const json& binding);

  // Creates many objects of one kind, each as create() would (its own result, in order; a
  // refused one fails alone), the accepted ones committed in one store transaction. With
  // WriteOptions::engineBuilt an accepted object's answer carries only its stored metadata
  // (name, uid, resourceVersion, ...): the caller built the rest, and copying every body
  // back was a tenth of the engine's event writing.
  struct NewObject {
    std::string ns;
    json body;
  };
  std::vector<Result<WriteResult>> createAll(const api::KindInfo& kind,
                                             std::vector<NewObject> objects,
                                             const WriteOptions& options);

  // pods/binding for many pods, each as bind() would (its own result, in order), written in
  // one store transaction. `seen` may carry the pod as the caller last saw it (an informer's
  // copy): while it is still the stored revision the bind starts from it instead of parsing.
  struct PodBinding {
    std::string ns, name, node;
    std::shared_ptr<const json> seen;
  };
  std::vector<Status> bindAll(const std::vector<PodBinding>& bindings);

  Result<std::unique_ptr<WatchStream>> watch(const api::KindInfo& kind, std::string_view ns,
                                             const WatchOptions& options,
                                             std::function<void()> notify);

  // The autoscaling/v1 Scale view of a scalable object.
  Result<json> getScale(const api::KindInfo& kind, std::string_view ns,
                        std::string_view name) const;

  store::SqliteStore& store() { return store_; }
  const api::KindsRegistry& kinds() const { return kinds_; }
  const api::SchemaRegistry& schemas() const { return schemas_; }
  std::chrono::system_clock::time_point now() const { return clock_(); }

 private:
  Result<WriteResult> updateWithRetry(
      const api::KindInfo& kind, std::string_view ns, std::string_view name,
      const WriteOptions& options, const std::function<Result<json>(const json& current)>& mutate,
      bool bodyCarriesPrecondition);
  Result<WriteResult> storeUpdate(const api::KindInfo& kind, const std::string& key, json updated,
                                  const json& current, int64_t revision,
                                  const WriteOptions& options);
  Status checkNamespace(const api::KindInfo& kind, std::string_view ns, bool creating) const;
  // Everything create() does before the store write: checks, metadata, defaults, admission.
  // A generated name is drawn again while the store holds it or, in a batch, while `batchKeys`
  // (the keys the batch writes before this object) does.
  Status prepareCreate(const api::KindInfo& kind, std::string_view ns, json& body,
                       const WriteOptions& options, std::vector<std::string>& warnings,
                       const std::unordered_set<std::string>* batchKeys = nullptr);
  Status admit(const api::KindInfo& kind, json& object, const json* old,
               const WriteOptions& options, std::vector<std::string>& warnings) const;
  Status notFound(const api::KindInfo& kind, std::string_view name) const;

  store::SqliteStore& store_;
  const api::KindsRegistry& kinds_;
  const api::SchemaRegistry& schemas_;
  Clock clock_;
  KindStrategies strategies_;
};

// RFC 3339 with second precision in UTC, as Kubernetes writes metav1.Time.
std::string formatTime(std::chrono::system_clock::time_point t);
std::optional<std::chrono::system_clock::time_point> parseTime(std::string_view s);

}  // namespace kd::server

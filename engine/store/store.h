#pragma once
// The store behind the API server: objects by key, one global strictly increasing revision
// (the resourceVersion every object and event carries), compare-and-swap writes and watches
// that resume from any retained revision.
//
// Keys are "<group>/<resource>/<namespace>/<name>" ("core" for the core group, "" namespace
// for cluster-scoped kinds), so a prefix selects a resource, or a resource in one namespace.
// All methods are thread-safe. A write returns only once it is durable against the process
// being killed.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/api/selectors.h"
#include "engine/api/status.h"

namespace kd::store {

struct StoredObject {
  std::string key;
  int64_t createRevision = 0;
  int64_t revision = 0;  // the object's resourceVersion
  std::string json;      // the serialized object; metadata.resourceVersion == revision
  api::Labels labels;    // metadata.labels, kept parsed for selectors
  api::Labels fields;    // selectable fields the index hook extracted (e.g. spec.nodeName)

  kd::json parse() const;
};
using ObjectPtr = std::shared_ptr<const StoredObject>;

enum class EventType { Added, Modified, Deleted };

struct Event {
  EventType type;
  int64_t revision;
  ObjectPtr object;    // for Deleted: the last state, carrying the deletion revision
  ObjectPtr previous;  // the state before a Modified/Deleted event, when still known
  // `object` parsed, shared with the writer: only for watches opened with parsed objects (the
  // engine's own informers), so they need not parse what the writer just serialized.
  std::shared_ptr<const kd::json> parsed;
};

// While one of these lives on a thread, the watches that thread's writes wake are woken when
// it ends instead of at once. The API server holds one while it handles a request, so that
// its answer reaches the client before the wake-ups (a system call each) are paid for.
class DeferredWakeups {
 public:
  DeferredWakeups();
  ~DeferredWakeups();
  DeferredWakeups(const DeferredWakeups&) = delete;
  DeferredWakeups& operator=(const DeferredWakeups&) = delete;

 private:
  friend class Watch;
  std::vector<std::function<void()>> pending_;
  DeferredWakeups* outer_;
};

// A watch: events for keys under a prefix with revision > the start revision, in revision
// order, without gaps. Events queue up until taken; the notify callback (set before events
// can arrive, called on the writing thread, must not block) says the queue became non-empty.
class Watch {
 public:
  Watch(std::string prefix, std::function<void()> notify, bool parsed = false);
  const std::string& prefix() const { return prefix_; }
  bool wantsParsed() const { return parsed_; }
  // Moves all queued events into `out` (appending). False once the watch was closed and
  // nothing is left: the consumer fell too far behind or the store shut down.
  bool take(std::vector<Event>& out);
  bool closed() const;

 private:
  friend class SqliteStore;
  void push(Event e);
  void wake();  // calls notify_, now or when the thread's DeferredWakeups ends
  void close();

  std::string prefix_;
  std::function<void()> notify_;
  bool parsed_ = false;
  mutable std::mutex mu_;
  std::deque<Event> queue_;
  bool closed_ = false;
};

// Hook that extracts selectable fields (beyond name/namespace) when an object is stored.
using FieldIndexer = std::function<api::Labels(std::string_view key, const kd::json& object)>;

struct ListPage {
  std::vector<ObjectPtr> items;
  int64_t revision = 0;  // the store revision the list reflects
  std::string nextKey;   // non-empty when `limit` cut the list: resume after this key
};

// Predicate applied while listing, so limit counts only matching objects.
using ObjectFilter = std::function<bool(const StoredObject&)>;

}  // namespace kd::store

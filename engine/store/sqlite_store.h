#pragma once
// The SQLite store: WAL mode, synchronous=NORMAL (a committed write survives the process being
// killed; the OS cache carries it to disk). A write returns once committed; writes that arrive
// while another commits are committed together in the next transaction (group commit). Two tables:
//   log      every write by revision with the object's text, the history watches replay;
//            trimmed by compact(), which keeps the rows the current objects point to
//   objects  the current state: each key's revision, whose log row holds its text; loaded
//            into memory at open and served from memory
// A schema_version row drives step-by-step migrations.

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "engine/store/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace kd::store {

class SqliteStore {
 public:
  // Opens (creating if needed) the database at `path`. `indexer` may be empty.
  static Result<std::unique_ptr<SqliteStore>> open(const std::filesystem::path& path,
                                                   FieldIndexer indexer = {});
  ~SqliteStore();
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  int64_t currentRevision() const;
  int64_t compactedRevision() const;

  Result<ObjectPtr> get(std::string_view key) const;

  // Objects whose key starts with `prefix`, in key order, starting after `afterKey`, at most
  // `limit` matching ones (0 = all).
  ListPage list(std::string_view prefix, const ObjectFilter& filter = {}, size_t limit = 0,
                std::string_view afterKey = {}) const;
  size_t count(std::string_view prefix) const;

  // Stores a new object; 409 AlreadyExists when the key exists. Sets metadata.resourceVersion.
  Result<ObjectPtr> create(const std::string& key, kd::json object);
  // Replaces the object when its revision equals `expectedRevision` (0: any); 409 Conflict on a
  // stale revision, 404 when absent.
  Result<ObjectPtr> update(const std::string& key, kd::json object, int64_t expectedRevision);
  // Deletes the object when its revision equals `expectedRevision` (0: any).
  Result<ObjectPtr> remove(const std::string& key, int64_t expectedRevision);

  // One write of writeAll(): what create (Added), update (Modified) or remove (Deleted) take.
  struct BatchWrite {
    EventType type = EventType::Modified;
    std::string key;
    kd::json object;  // unused for Deleted
    int64_t expectedRevision = 0;
  };
  // Many writes committed together: each is checked as create/update/remove would check it
  // (in order, so a write sees the ones before it) and fails alone; the accepted ones share one
  // transaction (a commit failure fails them all). One result per write, in order.
  std::vector<Result<ObjectPtr>> writeAll(std::vector<BatchWrite> writes);

  // Starts a watch on `prefix` for events after `sinceRevision`. 410 Gone (reason Expired)
  // when history before that revision was compacted away. Replayed history is queued first.
  // With `parsed`, live events carry the written object parsed (Event::parsed); the watcher
  // must keep up, as each queued event then holds a parsed copy.
  Result<std::shared_ptr<Watch>> watch(const std::string& prefix, int64_t sinceRevision,
                                       std::function<void()> notify, bool parsed = false);
  void stopWatch(const std::shared_ptr<Watch>& w);

  // Forgets history up to and including `revision` (never the current state).
  Status compact(int64_t revision);

  // Bytes of the database file and its WAL, for benchmarks and status.
  uint64_t diskBytes() const;

 private:
  SqliteStore() = default;
  Status migrate();
  Status loadObjects();
  Status prepareStatements();
  // A write checked and numbered, waiting for its commit.
  struct PendingWrite {
    EventType type;
    std::string key;
    ObjectPtr stored;    // the new state (for Deleted: the last state at the deletion revision)
    ObjectPtr previous;  // the state it replaces
    std::shared_ptr<const kd::json> parsed;  // `stored`, parsed
    Status status;                           // set with `done`
    bool done = false;
  };
  Result<ObjectPtr> write(EventType type, const std::string& key, kd::json* object,
                          int64_t expectedRevision);
  // Checks `w` against the latest state, numbers it and queues it for commit; needs writeMu_.
  Status stageLocked(PendingWrite& w, kd::json* object, int64_t expectedRevision);
  // Returns once `w` was committed (or failed), committing the queue if nobody else does.
  void awaitCommit(const PendingWrite& w);
  ObjectPtr latest(const std::string& key) const;  // pending or committed; needs writeMu_
  void commitQueued();                             // needs commitMu_
  Status persist(const std::vector<PendingWrite*>& batch);
  ObjectPtr makeObject(const std::string& key, int64_t createRev, int64_t rev, std::string json,
                       const kd::json& parsed) const;
  void publish(const Event& e);
  Status exec(const char* sql);
  bool step(sqlite3_stmt* statement);  // runs a statement without results, then resets it
  Status sqliteError(const char* what) const;

  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insertLog_ = nullptr;
  sqlite3_stmt* upsertObject_ = nullptr;
  sqlite3_stmt* deleteObject_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;  // prepared once: a commit per write makes these hot
  sqlite3_stmt* commit_ = nullptr;
  FieldIndexer indexer_;

  // Lock order: writeMu_ is never held while waiting for commitMu_; commitMu_ may take writeMu_
  // and mu_ briefly.
  mutable std::shared_mutex mu_;  // guards objects_ (committed state)
  std::mutex writeMu_;            // orders writers: queue_, pending_, nextRevision_
  std::mutex commitMu_;           // the SQLite connection, commits, watches_ and their events
  std::map<std::string, ObjectPtr, std::less<>> objects_;
  std::map<std::string, PendingWrite, std::less<>> pending_;  // newest uncommitted write per key
  std::vector<PendingWrite*> queue_;                          // numbered, not yet committed
  int64_t nextRevision_ = 0;                                  // last revision handed out
  std::atomic<int64_t> revision_{0};                          // last committed revision
  std::atomic<int64_t> compacted_{0};
  std::vector<std::shared_ptr<Watch>> watches_;
};

}  // namespace kd::store

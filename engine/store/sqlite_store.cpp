#include "engine/store/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <iterator>

#include "engine/api/json_text.h"

namespace kd::store {
namespace {

constexpr int kSchemaVersion = 2;
// A watcher this far behind is closed; its client re-lists, as with an etcd watch that lags.
constexpr size_t kMaxQueuedEvents = 500000;

// Step-by-step migrations: entry i brings the schema from version i to i+1.
const char* const kMigrations[] = {
    R"sql(
    CREATE TABLE objects(
      key TEXT PRIMARY KEY,
      create_rev INTEGER NOT NULL,
      rev INTEGER NOT NULL,
      value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE log(
      rev INTEGER PRIMARY KEY,
      key TEXT NOT NULL,
      type INTEGER NOT NULL,
      create_rev INTEGER NOT NULL,
      prev_rev INTEGER NOT NULL,
      value TEXT NOT NULL);
    INSERT INTO meta(key, value) VALUES('compact_rev', 0);
    )sql",
    // 2: each object's text is kept once, in the log row of its current revision; `objects`
    // only points there. Compaction had deleted the log rows of objects not written since:
    // those come back from `objects` (as Modified; below the compacted revision no watch
    // replays them).
    R"sql(
    INSERT INTO log(rev, key, type, create_rev, prev_rev, value)
      SELECT rev, key, 1, create_rev, 0, value FROM objects
      WHERE rev NOT IN (SELECT rev FROM log);
    CREATE TABLE objects_v2(
      key TEXT PRIMARY KEY,
      create_rev INTEGER NOT NULL,
      rev INTEGER NOT NULL) WITHOUT ROWID;
    INSERT INTO objects_v2(key, create_rev, rev) SELECT key, create_rev, rev FROM objects;
    DROP TABLE objects;
    ALTER TABLE objects_v2 RENAME TO objects;
    )sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

std::string prefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(end.back() + 1);
      return end;
    }
    end.pop_back();
  }
  return end;  // "" means no upper bound
}

std::string columnText(sqlite3_stmt* st, int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(st, col))) : std::string();
}

// The innermost DeferredWakeups alive on this thread; null when none is.
thread_local DeferredWakeups* currentDeferral = nullptr;

}  // namespace

kd::json StoredObject::parse() const {
  return kd::json::parse(json);
}

DeferredWakeups::DeferredWakeups() : outer_(currentDeferral) {
  currentDeferral = this;
}

DeferredWakeups::~DeferredWakeups() {
  currentDeferral = outer_;
  for (auto& notify : pending_) notify();
}

Watch::Watch(std::string prefix, std::function<void()> notify, bool parsed)
    : prefix_(std::move(prefix)), notify_(std::move(notify)), parsed_(parsed) {}

bool Watch::take(std::vector<Event>& out) {
  std::lock_guard lock(mu_);
  // One allocation for the whole batch: growing `out` event by event made each big batch
  // several large allocations, each consolidating the allocator's free lists.
  out.reserve(out.size() + queue_.size());
  std::move(queue_.begin(), queue_.end(), std::back_inserter(out));
  queue_.clear();
  return !closed_ || !out.empty();
}

bool Watch::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

void Watch::push(Event e) {
  bool wake;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    if (queue_.size() >= kMaxQueuedEvents) {
      closed_ = true;
      queue_.clear();
    } else {
      queue_.push_back(std::move(e));
    }
    wake = queue_.size() <= 1;
  }
  if (wake) this->wake();
}

void Watch::wake() {
  if (!notify_) return;
  if (currentDeferral) {
    currentDeferral->pending_.push_back(notify_);
  } else {
    notify_();
  }
}

void Watch::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  if (notify_) notify_();
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::filesystem::path& path,
                                                       FieldIndexer indexer) {
  std::unique_ptr<SqliteStore> s(new SqliteStore());
  s->path_ = path;
  s->indexer_ = std::move(indexer);
  if (sqlite3_open_v2(path.c_str(), &s->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return Status::internal("cannot open store " + path.string() + ": " +
                            (s->db_ ? sqlite3_errmsg(s->db_) : "out of memory"));
  }
  sqlite3_busy_timeout(s->db_, 5000);
  Status st = s->exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
      "PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY;");
  if (st.isOk()) st = s->migrate();
  if (st.isOk()) st = s->prepareStatements();
  if (st.isOk()) st = s->loadObjects();
  if (!st.isOk()) return st;
  return s;
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard w(commitMu_);
    for (auto& watch : watches_) watch->close();
    watches_.clear();
  }
  for (auto* st : {insertLog_, upsertObject_, deleteObject_, begin_, commit_}) {
    sqlite3_finalize(st);
  }
  if (db_) sqlite3_close_v2(db_);
}

Status SqliteStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::internal("store " + path_.string() + ": " + msg);
  }
  return {};
}

bool SqliteStore::step(sqlite3_stmt* statement) {
  const bool done = sqlite3_step(statement) == SQLITE_DONE;
  sqlite3_reset(statement);
  return done;
}

Status SqliteStore::sqliteError(const char* what) const {
  return Status::internal(std::string("store: ") + what + ": " + sqlite3_errmsg(db_));
}

Status SqliteStore::migrate() {
  Status st =
      exec("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);");
  if (!st.isOk()) return st;
  int version = 0;
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db_, "SELECT value FROM meta WHERE key='schema_version'", -1, &q, nullptr);
  if (q && sqlite3_step(q) == SQLITE_ROW) version = sqlite3_column_int(q, 0);
  sqlite3_finalize(q);
  if (version > kSchemaVersion) {
    return Status::internal("store " + path_.string() + " has schema version " +
                            std::to_string(version) + ", newer than this engine understands (" +
                            std::to_string(kSchemaVersion) + "); upgrade KubeDesk");
  }
  for (; version < kSchemaVersion; ++version) {
    std::string sql = std::string("BEGIN;") + kMigrations[version] +
                      "INSERT INTO meta(key, value) VALUES('schema_version', " +
                      std::to_string(version + 1) +
                      ") ON CONFLICT(key) DO UPDATE SET value=excluded.value; COMMIT;";
    st = exec(sql.c_str());
    if (!st.isOk()) {
      exec("ROLLBACK;");
      return st;
    }
  }
  return {};
}

Status SqliteStore::prepareStatements() {
  struct {
    sqlite3_stmt** stmt;
    const char* sql;
  } statements[] = {
      {&insertLog_,
       "INSERT INTO log(rev, key, type, create_rev, prev_rev, value) VALUES(?,?,?,?,?,?)"},
      {&upsertObject_,
       "INSERT INTO objects(key, create_rev, rev) VALUES(?,?,?) "
       "ON CONFLICT(key) DO UPDATE SET rev=excluded.rev"},
      {&deleteObject_, "DELETE FROM objects WHERE key=?"},
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
  };
  for (auto& s : statements) {
    if (sqlite3_prepare_v3(db_, s.sql, -1, SQLITE_PREPARE_PERSISTENT, s.stmt, nullptr) !=
        SQLITE_OK) {
      return sqliteError("prepare");
    }
  }
  return {};
}

ObjectPtr SqliteStore::makeObject(const std::string& key, int64_t createRev, int64_t rev,
                                  std::string text, const kd::json& parsed) const {
  auto obj = std::make_shared<StoredObject>();
  obj->key = key;
  obj->createRevision = createRev;
  obj->revision = rev;
  obj->json = std::move(text);
  obj->labels = api::labelsOf(parsed);
  if (indexer_) obj->fields = indexer_(key, parsed);
  return obj;
}

Status SqliteStore::loadObjects() {
  sqlite3_stmt* q = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "SELECT o.key, o.create_rev, o.rev, l.value FROM objects o "
                         "LEFT JOIN log l ON l.rev = o.rev",
                         -1, &q, nullptr) != SQLITE_OK) {
    return sqliteError("load");
  }
  int64_t maxRev = 0;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    std::string key = columnText(q, 0);
    int64_t createRev = sqlite3_column_int64(q, 1), rev = sqlite3_column_int64(q, 2);
    std::string text = columnText(q, 3);
    kd::json parsed = kd::json::parse(text, nullptr, false);
    if (sqlite3_column_type(q, 3) == SQLITE_NULL || parsed.is_discarded()) {
      sqlite3_finalize(q);
      return Status::internal("store " + path_.string() + ": object " + key + " is corrupt");
    }
    maxRev = std::max(maxRev, rev);
    objects_.emplace(key, makeObject(key, createRev, rev, std::move(text), parsed));
  }
  sqlite3_finalize(q);
  if (rc != SQLITE_DONE) return sqliteError("load");

  auto queryInt = [&](const char* sql) {
    sqlite3_prepare_v2(db_, sql, -1, &q, nullptr);
    int64_t v = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_finalize(q);
    return v;
  };
  compacted_ = queryInt("SELECT value FROM meta WHERE key='compact_rev'");
  maxRev = std::max({maxRev, compacted_.load(), queryInt("SELECT COALESCE(MAX(rev), 0) FROM log")});
  revision_ = maxRev;
  nextRevision_ = maxRev;
  return {};
}

int64_t SqliteStore::currentRevision() const {
  return revision_.load();
}
int64_t SqliteStore::compactedRevision() const {
  return compacted_.load();
}

Result<ObjectPtr> SqliteStore::get(std::string_view key) const {
  std::shared_lock lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return Status::notFound(std::string(key));
  return it->second;
}

ListPage SqliteStore::list(std::string_view prefix, const ObjectFilter& filter, size_t limit,
                           std::string_view afterKey) const {
  ListPage page;
  std::shared_lock lock(mu_);
  page.revision = revision_.load();
  auto it = afterKey.empty() ? objects_.lower_bound(prefix) : objects_.upper_bound(afterKey);
  for (; it != objects_.end() && it->first.starts_with(prefix); ++it) {
    if (filter && !filter(*it->second)) continue;
    if (limit != 0 && page.items.size() == limit) {
      page.nextKey = page.items.back()->key;
      break;
    }
    page.items.push_back(it->second);
  }
  return page;
}

size_t SqliteStore::count(std::string_view prefix) const {
  std::shared_lock lock(mu_);
  size_t n = 0;
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.starts_with(prefix); ++it) {
    ++n;
  }
  return n;
}

Result<ObjectPtr> SqliteStore::create(const std::string& key, kd::json object) {
  return write(EventType::Added, key, &object, 0);
}

Result<ObjectPtr> SqliteStore::update(const std::string& key, kd::json object,
                                      int64_t expectedRevision) {
  return write(EventType::Modified, key, &object, expectedRevision);
}

Result<ObjectPtr> SqliteStore::remove(const std::string& key, int64_t expectedRevision) {
  return write(EventType::Deleted, key, nullptr, expectedRevision);
}

Result<ObjectPtr> SqliteStore::write(EventType type, const std::string& key, kd::json* object,
                                     int64_t expectedRevision) {
  PendingWrite w{type, key};
  {
    std::lock_guard lock(writeMu_);
    if (Status st = stageLocked(w, object, expectedRevision); !st.isOk()) return st;
  }
  awaitCommit(w);
  if (!w.status.isOk()) return w.status;
  return w.stored;
}

std::vector<Result<ObjectPtr>> SqliteStore::writeAll(std::vector<BatchWrite> writes) {
  std::vector<PendingWrite> staged;
  staged.reserve(writes.size());  // queue_ points into it: no reallocation from here on
  // Why a write was refused stays in the result slot itself: a second vector of Status (as
  // large as the batch) cost an allocation and a free big enough to sort the allocator's
  // free lists each time.
  std::vector<Result<ObjectPtr>> results;
  results.reserve(writes.size());
  {
    std::lock_guard lock(writeMu_);
    for (BatchWrite& b : writes) {
      staged.push_back(PendingWrite{b.type, std::move(b.key)});
      Status st = stageLocked(staged.back(), &b.object, b.expectedRevision);
      results.emplace_back(st.isOk() ? Result<ObjectPtr>(ObjectPtr())
                                     : Result<ObjectPtr>(std::move(st)));
    }
  }
  for (size_t i = 0; i < writes.size(); ++i) {
    if (!results[i].ok()) continue;  // refused
    awaitCommit(staged[i]);          // the first wait commits them all (they were queued together)
    results[i] = staged[i].status.isOk() ? Result<ObjectPtr>(staged[i].stored)
                                         : Result<ObjectPtr>(staged[i].status);
  }
  return results;
}

Status SqliteStore::stageLocked(PendingWrite& w, kd::json* object, int64_t expectedRevision) {
  ObjectPtr previous = latest(w.key);
  if (w.type == EventType::Added && previous) return Status::alreadyExists(w.key);
  if (w.type != EventType::Added && !previous) return Status::notFound(w.key);
  if (expectedRevision != 0 && previous && previous->revision != expectedRevision) {
    return Status::conflict(
        "the object has been modified; please apply your changes to the "
        "latest version and try again");
  }
  const int64_t rev = ++nextRevision_;
  const int64_t createRev = previous ? previous->createRevision : rev;
  kd::json deleted;
  if (w.type == EventType::Deleted) {
    deleted = previous->parse();
    object = &deleted;
  }
  (*object)["metadata"]["resourceVersion"] = std::to_string(rev);
  w.previous = previous;
  w.stored = makeObject(w.key, createRev, rev, api::jsonText(*object), *object);
  w.parsed = std::make_shared<const kd::json>(std::move(*object));
  pending_[w.key] = w;
  queue_.push_back(&w);
  return {};
}

void SqliteStore::awaitCommit(const PendingWrite& w) {
  // Group commit: whoever gets the commit lock first commits everything queued by then, so
  // concurrent writers share one transaction; the others find their write already done.
  std::lock_guard commit(commitMu_);
  if (!w.done) commitQueued();
}

ObjectPtr SqliteStore::latest(const std::string& key) const {
  if (auto it = pending_.find(key); it != pending_.end()) {
    return it->second.type == EventType::Deleted ? nullptr : it->second.stored;
  }
  std::shared_lock lock(mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : it->second;
}

void SqliteStore::commitQueued() {
  std::vector<PendingWrite*> batch;
  {
    std::lock_guard lock(writeMu_);
    batch.swap(queue_);
  }
  Status st = persist(batch);
  if (!st.isOk()) {
    // Writes queued meanwhile were checked against the lost ones: they fail too, and the
    // revisions they took stay unused (revisions only need to increase).
    std::lock_guard lock(writeMu_);
    batch.insert(batch.end(), queue_.begin(), queue_.end());
    queue_.clear();
    pending_.clear();
    for (auto* w : batch) {
      w->status = st;
      w->done = true;
    }
    return;
  }
  {
    std::unique_lock lock(mu_);
    for (const auto* w : batch) {
      if (w->type == EventType::Deleted) {
        objects_.erase(w->key);
      } else {
        objects_.insert_or_assign(w->key, w->stored);
      }
    }
    revision_ = batch.back()->stored->revision;
  }
  {
    std::lock_guard lock(writeMu_);
    for (const auto* w : batch) {
      auto it = pending_.find(w->key);
      if (it != pending_.end() && it->second.stored == w->stored) pending_.erase(it);
    }
  }
  for (auto* w : batch) {
    publish(Event{w->type, w->stored->revision, w->stored, w->previous, std::move(w->parsed)});
    w->done = true;
  }
}

Status SqliteStore::persist(const std::vector<PendingWrite*>& batch) {
  if (!step(begin_)) return sqliteError("begin");
  bool ok = true;
  for (const auto* w : batch) {
    const StoredObject& obj = *w->stored;
    sqlite3_reset(insertLog_);
    sqlite3_bind_int64(insertLog_, 1, obj.revision);
    sqlite3_bind_text(insertLog_, 2, obj.key.data(), static_cast<int>(obj.key.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int(insertLog_, 3, static_cast<int>(w->type));
    sqlite3_bind_int64(insertLog_, 4, obj.createRevision);
    sqlite3_bind_int64(insertLog_, 5, w->previous ? w->previous->revision : 0);
    sqlite3_bind_text(insertLog_, 6, obj.json.data(), static_cast<int>(obj.json.size()),
                      SQLITE_STATIC);
    ok = sqlite3_step(insertLog_) == SQLITE_DONE;
    sqlite3_stmt* objStmt = w->type == EventType::Deleted ? deleteObject_ : upsertObject_;
    if (ok) {
      sqlite3_reset(objStmt);
      sqlite3_bind_text(objStmt, 1, obj.key.data(), static_cast<int>(obj.key.size()),
                        SQLITE_STATIC);
      if (w->type != EventType::Deleted) {
        sqlite3_bind_int64(objStmt, 2, obj.createRevision);
        sqlite3_bind_int64(objStmt, 3, obj.revision);
      }
      ok = sqlite3_step(objStmt) == SQLITE_DONE;
    }
    if (!ok) break;
  }
  if (!ok || !step(commit_)) {
    Status err = sqliteError("write");
    exec("ROLLBACK");
    return err;
  }
  return {};
}

void SqliteStore::publish(const Event& e) {
  for (auto it = watches_.begin(); it != watches_.end();) {
    if ((*it)->closed()) {
      it = watches_.erase(it);
      continue;
    }
    if (e.object->key.starts_with((*it)->prefix())) {
      (*it)->push((*it)->wantsParsed() ? e : Event{e.type, e.revision, e.object, e.previous, {}});
    }
    ++it;
  }
}

Result<std::shared_ptr<Watch>> SqliteStore::watch(const std::string& prefix, int64_t sinceRevision,
                                                  std::function<void()> notify, bool parsed) {
  std::lock_guard w(commitMu_);  // no commit may slip between the replay and the registration
  if (sinceRevision < compacted_.load()) {
    return Status::gone("too old resource version: " + std::to_string(sinceRevision) + " (" +
                        std::to_string(compacted_.load() + 1) + ")");
  }
  auto watch = std::make_shared<Watch>(prefix, std::move(notify), parsed);
  if (sinceRevision < revision_.load()) {
    std::string end = prefixEnd(prefix);
    sqlite3_stmt* q = nullptr;
    sqlite3_stmt* prevQ = nullptr;
    sqlite3_prepare_v2(db_,
                       "SELECT rev, key, type, create_rev, prev_rev, value FROM log "
                       "WHERE rev > ? AND key >= ? AND (? = '' OR key < ?) ORDER BY rev",
                       -1, &q, nullptr);
    sqlite3_prepare_v2(db_, "SELECT create_rev, value FROM log WHERE rev = ?", -1, &prevQ, nullptr);
    sqlite3_bind_int64(q, 1, sinceRevision);
    sqlite3_bind_text(q, 2, prefix.data(), static_cast<int>(prefix.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 3, end.data(), static_cast<int>(end.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 4, end.data(), static_cast<int>(end.size()), SQLITE_TRANSIENT);
    while (sqlite3_step(q) == SQLITE_ROW) {
      const int64_t rev = sqlite3_column_int64(q, 0), prevRev = sqlite3_column_int64(q, 4);
      std::string key = columnText(q, 1);
      auto type = static_cast<EventType>(sqlite3_column_int(q, 2));
      std::string text = columnText(q, 5);
      kd::json parsed = kd::json::parse(text, nullptr, false);
      Event e{type, rev, makeObject(key, sqlite3_column_int64(q, 3), rev, std::move(text), parsed),
              nullptr};
      if (prevRev != 0) {
        sqlite3_reset(prevQ);
        sqlite3_bind_int64(prevQ, 1, prevRev);
        if (sqlite3_step(prevQ) == SQLITE_ROW) {
          std::string prevText = columnText(prevQ, 1);
          kd::json prevParsed = kd::json::parse(prevText, nullptr, false);
          e.previous = makeObject(key, sqlite3_column_int64(prevQ, 0), prevRev, std::move(prevText),
                                  prevParsed);
        }
      }
      watch->push(std::move(e));
    }
    sqlite3_finalize(q);
    sqlite3_finalize(prevQ);
  }
  watches_.push_back(watch);
  return watch;
}

void SqliteStore::stopWatch(const std::shared_ptr<Watch>& w) {
  std::lock_guard lock(commitMu_);
  w->close();
  std::erase(watches_, w);
}

Status SqliteStore::compact(int64_t revision) {
  std::lock_guard w(commitMu_);
  // The newest log row stays, so the revision counter survives a restart; so do the rows
  // holding the current objects' text.
  revision = std::min(revision, revision_.load() - 1);
  if (revision <= compacted_.load()) return {};
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db_,
                     "DELETE FROM log WHERE rev <= ?1 AND rev NOT IN "
                     "(SELECT rev FROM objects WHERE rev <= ?1)",
                     -1, &q, nullptr);
  sqlite3_bind_int64(q, 1, revision);
  bool ok = exec("BEGIN IMMEDIATE").isOk() && sqlite3_step(q) == SQLITE_DONE;
  sqlite3_finalize(q);
  if (ok) {
    std::string sql =
        "UPDATE meta SET value=" + std::to_string(revision) + " WHERE key='compact_rev'";
    ok = exec(sql.c_str()).isOk() && exec("COMMIT").isOk();
  }
  if (!ok) {
    Status err = sqliteError("compact");
    exec("ROLLBACK");
    return err;
  }
  compacted_ = revision;
  return {};
}

uint64_t SqliteStore::diskBytes() const {
  std::error_code ec;
  uint64_t total = 0;
  for (const auto* suffix : {"", "-wal", "-shm"}) {
    auto size = std::filesystem::file_size(path_.string() + suffix, ec);
    if (!ec) total += size;
  }
  return total;
}

}  // namespace kd::store

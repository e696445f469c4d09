#include "engine/store/sqlite_store.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>
#include <QTemporaryDir>
#include <QtTest>
#include <atomic>
#include <thread>

using kd::json;
using kd::store::EventType;
using kd::store::SqliteStore;

namespace {

json pod(const std::string& name, const std::string& app = "web") {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", "default"}, {"labels", {{"app", app}}}}}};
}

std::string key(const std::string& name) {
  return "core/pods/default/" + name;
}

}  // namespace

class SqliteStoreTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::string dbPath() const { return dir_.filePath("store.db").toStdString(); }

  std::unique_ptr<SqliteStore> openFresh() {
    std::filesystem::remove(dbPath());
    std::filesystem::remove(dbPath() + "-wal");
    std::filesystem::remove(dbPath() + "-shm");
    auto s = SqliteStore::open(dbPath());
    if (!s.ok()) qFatal("open: %s", s.status().message().c_str());
    return std::move(s).value();
  }

 private slots:
  void createGetAndRevisionsIncrease() {
    auto s = openFresh();
    auto a = s->create(key("a"), pod("a"));
    auto b = s->create(key("b"), pod("b"));
    QVERIFY(a.ok() && b.ok());
    QVERIFY((*b)->revision > (*a)->revision);
    QCOMPARE(s->currentRevision(), (*b)->revision);
    auto got = s->get(key("a"));
    QVERIFY(got.ok());
    QCOMPARE((*got)->parse()["metadata"]["resourceVersion"].get<std::string>(),
             std::to_string((*a)->revision));
    QCOMPARE((*got)->labels.at("app"), std::string("web"));
    QCOMPARE(s->create(key("a"), pod("a")).status().reason(), std::string("AlreadyExists"));
    QCOMPARE(s->get(key("zz")).status().code(), 404);
  }

  void staleUpdateConflicts() {
    auto s = openFresh();
    auto a = s->create(key("a"), pod("a"));
    auto u1 = s->update(key("a"), pod("a", "v2"), (*a)->revision);
    QVERIFY(u1.ok());
    auto u2 = s->update(key("a"), pod("a", "v3"), (*a)->revision);
    QCOMPARE(u2.status().code(), 409);
    QCOMPARE(u2.status().reason(), std::string("Conflict"));
    QCOMPARE(s->remove(key("a"), (*a)->revision).status().code(), 409);
    QVERIFY(s->remove(key("a"), (*u1)->revision).ok());
    QCOMPARE(s->update(key("a"), pod("a"), 0).status().code(), 404);
  }

  void listByPrefixWithFilterAndLimit() {
    auto s = openFresh();
    for (int i = 0; i < 10; ++i) {
      s->create(key("p" + std::to_string(i)), pod("p" + std::to_string(i), i % 2 ? "odd" : "even"));
    }
    s->create("core/pods/other/x", pod("x"));
    s->create("core/podsx/default/y", pod("y"));
    QCOMPARE(s->list("core/pods/default/").items.size(), size_t(10));
    QCOMPARE(s->list("core/pods/").items.size(), size_t(11));
    auto odd = [](const kd::store::StoredObject& o) { return o.labels.at("app") == "odd"; };
    auto page1 = s->list("core/pods/default/", odd, 3);
    QCOMPARE(page1.items.size(), size_t(3));
    QVERIFY(!page1.nextKey.empty());
    auto page2 = s->list("core/pods/default/", odd, 3, page1.nextKey);
    QCOMPARE(page2.items.size(), size_t(2));
    QVERIFY(page2.nextKey.empty());
  }

  void watchReplaysHistoryThenFollowsLive() {
    auto s = openFresh();
    auto a = s->create(key("a"), pod("a"));
    const int64_t start = (*a)->revision;
    s->update(key("a"), pod("a", "v2"), 0);
    s->create("core/services/default/a", pod("svc"));
    s->remove(key("a"), 0);

    std::atomic<int> wakes{0};
    auto w = s->watch("core/pods/", start, [&] { ++wakes; });
    QVERIFY(w.ok());
    s->create(key("b"), pod("b"));
    std::vector<kd::store::Event> events;
    QVERIFY((*w)->take(events));
    QCOMPARE(events.size(), size_t(3));
    QCOMPARE(int(events[0].type), int(EventType::Modified));
    QVERIFY(events[0].previous);
    QCOMPARE(events[0].previous->labels.at("app"), std::string("web"));
    QCOMPARE(int(events[1].type), int(EventType::Deleted));
    QCOMPARE(events[1].object->parse()["metadata"]["resourceVersion"].get<std::string>(),
             std::to_string(events[1].revision));
    QCOMPARE(int(events[2].type), int(EventType::Added));
    for (size_t i = 1; i < events.size(); ++i) QVERIFY(events[i].revision > events[i - 1].revision);
    QVERIFY(wakes > 0);
    s->stopWatch(*w);
    events.clear();
    QVERIFY(!(*w)->take(events));
  }

  // A request handler answers first and wakes watchers after: the write is visible at once,
  // only the wake-up waits for the deferral to end, and another thread's writes wake at once.
  void deferredWakeupsWakeWhenTheDeferralEnds() {
    auto s = openFresh();
    std::atomic<int> wakes{0};
    auto w = s->watch("core/pods/", s->currentRevision(), [&] { ++wakes; });
    QVERIFY(w.ok());
    std::vector<kd::store::Event> events;
    {
      kd::store::DeferredWakeups deferred;
      QVERIFY(s->create(key("a"), pod("a")).ok());
      QCOMPARE(wakes.load(), 0);
      std::thread([&] {
        std::vector<kd::store::Event> first;
        (*w)->take(first);  // empty the queue, so the next write wakes again
        QCOMPARE(first.size(), size_t(1));
        QVERIFY(s->create(key("b"), pod("b")).ok());
      }).join();
      QCOMPARE(wakes.load(), 1);
    }
    QCOMPARE(wakes.load(), 2);
    QVERIFY((*w)->take(events));
    QCOMPARE(events.size(), size_t(1));
    s->stopWatch(*w);
  }

  void watchUnderConcurrentWritesHasNoGaps() {
    auto s = openFresh();
    std::vector<kd::store::Event> events;
    auto w = s->watch("core/pods/", s->currentRevision(), {});
    std::thread writers[2];
    for (int t = 0; t < 2; ++t) {
      writers[t] = std::thread([&, t] {
        for (int i = 0; i < 200; ++i)
          s->create(key("t" + std::to_string(t) + "-" + std::to_string(i)), pod("x"));
      });
    }
    for (auto& th : writers) th.join();
    (*w)->take(events);
    QCOMPARE(events.size(), size_t(400));
    for (size_t i = 1; i < events.size(); ++i)
      QCOMPARE(events[i].revision, events[i - 1].revision + 1);
  }

  // Concurrent writers share commits; compare-and-swap must still see every earlier write,
  // committed or still queued, so no increment is lost.
  void concurrentCompareAndSwapLosesNoUpdate() {
    auto s = openFresh();
    json counter = pod("counter");
    counter["data"] = 0;
    QVERIFY(s->create(key("counter"), counter).ok());
    const int64_t start = s->currentRevision();
    auto w = s->watch("core/pods/", start, {});
    QVERIFY(w.ok());
    constexpr int kThreads = 8, kIncrements = 60;
    std::atomic<int> conflicts{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int done = 0; done < kIncrements;) {
          auto current = s->get(key("counter"));
          json next = (*current)->parse();
          next["data"] = next["data"].get<int>() + 1;
          if (s->update(key("counter"), next, (*current)->revision).ok()) {
            ++done;
          } else {
            ++conflicts;
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    QCOMPARE((*s->get(key("counter")))->parse()["data"].get<int>(), kThreads * kIncrements);
    std::vector<kd::store::Event> events;
    (*w)->take(events);
    QCOMPARE(events.size(), size_t(kThreads * kIncrements));
    for (size_t i = 0; i < events.size(); ++i) {
      QCOMPARE(events[i].revision, start + 1 + int64_t(i));
      QCOMPARE(events[i].object->parse()["data"].get<int>(), int(i) + 1);
      QCOMPARE(events[i].previous->revision, events[i].revision - 1);
    }
    qInfo("%d conflicts retried", conflicts.load());
  }

  // A watch that starts while writes are being committed sees each later write exactly once.
  void watchStartedDuringWritesSeesEachLaterWriteOnce() {
    auto s = openFresh();
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0; !stop; ++i)
          s->create(key("w" + std::to_string(t) + "-" + std::to_string(i)), pod("x"));
      });
    }
    std::vector<std::pair<int64_t, std::shared_ptr<kd::store::Watch>>> watches;
    for (int i = 0; i < 20; ++i) {
      QTest::qWait(5);
      const int64_t from = s->currentRevision();
      auto w = s->watch("core/pods/", from, {});
      QVERIFY(w.ok());
      watches.emplace_back(from, *w);
    }
    stop = true;
    for (auto& th : writers) th.join();
    const int64_t last = s->currentRevision();
    for (auto& [from, w] : watches) {
      std::vector<kd::store::Event> events;
      w->take(events);
      QCOMPARE(int64_t(events.size()), last - from);
      for (size_t i = 0; i < events.size(); ++i)
        QCOMPARE(events[i].revision, from + 1 + int64_t(i));
    }
  }

  void compactionExpiresOldWatchesButKeepsState() {
    auto s = openFresh();
    for (int i = 0; i < 5; ++i) s->create(key("c" + std::to_string(i)), pod("c"));
    const int64_t rev = s->currentRevision();
    QVERIFY(s->compact(rev - 2).isOk());
    auto old = s->watch("core/pods/", rev - 3, {});
    QCOMPARE(old.status().code(), 410);
    QCOMPARE(old.status().reason(), std::string("Expired"));
    auto recent = s->watch("core/pods/", rev - 2, {});
    QVERIFY(recent.ok());
    std::vector<kd::store::Event> events;
    (*recent)->take(events);
    QCOMPARE(events.size(), size_t(2));
    QCOMPARE(s->list("core/pods/").items.size(), size_t(5));
  }

  void stateAndRevisionSurviveReopenAndFullCompaction() {
    int64_t rev;
    {
      auto s = openFresh();
      s->create(key("a"), pod("a"));
      s->create(key("b"), pod("b"));
      s->remove(key("b"), 0);
      rev = s->currentRevision();
      QVERIFY(s->compact(rev).isOk());
    }
    auto reopened = SqliteStore::open(dbPath());
    QVERIFY(reopened.ok());
    QCOMPARE((*reopened)->currentRevision(), rev);
    QCOMPARE((*reopened)->list("core/").items.size(), size_t(1));
    QCOMPARE((*reopened)->get(key("a")).value()->labels.at("app"), std::string("web"));
    auto c = (*reopened)->create(key("c"), pod("c"));
    QCOMPARE((*c)->revision, rev + 1);
  }

  void writeAllChecksEachWriteAndCommitsTheRestTogether() {
    auto s = openFresh();
    auto b = s->create(key("b"), pod("b"));
    auto c = s->create(key("c"), pod("c"));
    QVERIFY(b.ok() && c.ok());
    auto w = s->watch("core/pods/", s->currentRevision(), [] {});
    QVERIFY(w.ok());
    std::vector<SqliteStore::BatchWrite> writes;
    writes.push_back({EventType::Added, key("a"), pod("a"), 0});
    writes.push_back({EventType::Added, key("a"), pod("a"), 0});  // sees the one before it
    writes.push_back({EventType::Modified, key("b"), pod("b", "api"), (*b)->revision + 100});
    writes.push_back({EventType::Modified, key("c"), pod("c", "api"), (*c)->revision});
    writes.push_back({EventType::Deleted, key("b"), json(), 0});
    writes.push_back({EventType::Modified, key("zz"), pod("zz"), 0});
    auto results = s->writeAll(std::move(writes));
    QCOMPARE(results.size(), size_t(6));
    QVERIFY(results[0].ok());
    QCOMPARE(results[1].status().reason(), std::string("AlreadyExists"));
    QCOMPARE(results[2].status().reason(), std::string("Conflict"));
    QVERIFY(results[3].ok());
    QVERIFY(results[4].ok());
    QCOMPARE(results[5].status().code(), 404);
    // The accepted writes are numbered in order, one after the other.
    QCOMPARE(results[3].value()->revision, results[0].value()->revision + 1);
    QCOMPARE(results[4].value()->revision, results[3].value()->revision + 1);
    QCOMPARE(s->currentRevision(), results[4].value()->revision);
    QVERIFY(s->get(key("a")).ok());
    QVERIFY(!s->get(key("b")).ok());
    QCOMPARE(s->get(key("c")).value()->labels.at("app"), std::string("api"));
    std::vector<kd::store::Event> events;
    (*w)->take(events);
    QCOMPARE(events.size(), size_t(3));
    QCOMPARE(events[0].type, EventType::Added);
    QCOMPARE(events[1].type, EventType::Modified);
    QCOMPARE(events[2].type, EventType::Deleted);
    // And they are durable like any other write.
    s.reset();
    auto reopened = SqliteStore::open(dbPath());
    QVERIFY(reopened.ok());
    QVERIFY((*reopened)->get(key("a")).ok());
    QVERIFY(!(*reopened)->get(key("b")).ok());
  }

  // A version-1 database (each object's text in `objects` and in `log`, old log rows
  // compacted away) opens with every object, its history after the compacted revision, and
  // keeps them through the next compaction.
  void version1DatabaseIsMigrated() {
    openFresh().reset();
    std::filesystem::remove(dbPath());
    sqlite3* db = nullptr;
    QCOMPARE(sqlite3_open(dbPath().c_str(), &db), SQLITE_OK);
    const std::string a = pod("a").dump(), b = pod("b", "db").dump();
    const std::string sql =
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "CREATE TABLE objects(key TEXT PRIMARY KEY, create_rev INTEGER NOT NULL,"
        "  rev INTEGER NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE log(rev INTEGER PRIMARY KEY, key TEXT NOT NULL, type INTEGER NOT NULL,"
        "  create_rev INTEGER NOT NULL, prev_rev INTEGER NOT NULL, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES('schema_version', 1), ('compact_rev', 5);"
        // a: written at 3, its log row compacted; b: created at 6, kept in the log.
        "INSERT INTO objects VALUES('core/pods/default/a', 3, 3, '" +
        a +
        "');"
        "INSERT INTO objects VALUES('core/pods/default/b', 6, 6, '" +
        b +
        "');"
        "INSERT INTO log VALUES(6, 'core/pods/default/b', 0, 6, 0, '" +
        b + "');";
    QCOMPARE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);

    auto opened = SqliteStore::open(dbPath());
    QVERIFY2(opened.ok(), opened.ok() ? "" : opened.status().message().c_str());
    auto& s = *opened;
    QCOMPARE(s->currentRevision(), int64_t(6));
    QCOMPARE(s->get(key("a")).value()->labels.at("app"), std::string("web"));
    QCOMPARE(s->get(key("b")).value()->labels.at("app"), std::string("db"));
    auto w = s->watch("core/pods/", 5, {});
    QVERIFY(w.ok());
    std::vector<kd::store::Event> events;
    (*w)->take(events);
    QCOMPARE(events.size(), size_t(1));  // b's creation; a was written before revision 5
    QCOMPARE(events[0].object->key, key("b"));
    s->stopWatch(*w);
    QVERIFY(s->update(key("b"), pod("b", "db2"), 0).ok());
    QVERIFY(s->compact(s->currentRevision()).isOk());
    s.reset();
    auto reopened = SqliteStore::open(dbPath());
    QVERIFY(reopened.ok());
    QCOMPARE((*reopened)->get(key("a")).value()->labels.at("app"), std::string("web"));
    QCOMPARE((*reopened)->get(key("b")).value()->labels.at("app"), std::string("db2"));
  }

  void newerSchemaIsRefusedWithAClearMessage() {
    { auto s = openFresh(); }
    sqlite3* db = nullptr;
    sqlite3_open(dbPath().c_str(), &db);
    sqlite3_exec(db, "UPDATE meta SET value=99 WHERE key='schema_version'", nullptr, nullptr,
                 nullptr);
    sqlite3_close(db);
    auto s = SqliteStore::open(dbPath());
    QVERIFY(!s.ok());
    QVERIFY(s.status().message().find("newer than this engine") != std::string::npos);
  }

  // A child process writes as fast as it can and reports each acknowledged write through a
  // pipe; it is killed with SIGKILL mid-stream. Every acknowledged write must be there after.
  void acknowledgedWritesSurviveKill9() {
    { auto s = openFresh(); }
    int fds[2];
    QCOMPARE(pipe(fds), 0);
    pid_t child = fork();
    if (child == 0) {
      close(fds[0]);
      auto s = SqliteStore::open(dbPath());
      for (int i = 0;; ++i) {
        if (!(*s)->create(key("k" + std::to_string(i)), pod("k")).ok()) _exit(3);
        if (write(fds[1], &i, sizeof i) != sizeof i) _exit(4);
      }
    }
    close(fds[1]);
    int last = -1, v;
    while (last < 300 && read(fds[0], &v, sizeof v) == sizeof v) last = v;
    kill(child, SIGKILL);
    while (read(fds[0], &v, sizeof v) == sizeof v) last = v;  // acks sent before the kill
    close(fds[0]);
    waitpid(child, nullptr, 0);
    auto s = SqliteStore::open(dbPath());
    QVERIFY(s.ok());
    for (int i = 0; i <= last; ++i) {
      QVERIFY2((*s)->get(key("k" + std::to_string(i))).ok(), std::to_string(i).c_str());
    }
  }
};

QTEST_GUILESS_MAIN(SqliteStoreTest)
#include "sqlite_store_test.moc"

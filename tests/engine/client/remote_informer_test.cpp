// RemoteInformer against a real kubedesk-engine child process: list + watch, resume after the
// server ends a watch, relist after the store compacted past the informer's resourceVersion,
// and stop().

#include "engine/client/remote_informer.h"

#include <QProcess>
#include <QtTest>
#include <atomic>
#include <mutex>
#include <set>

#include "tests/e2e/engine_process.h"
#include "tests/support/settle.h"

using kd::json;
using kd::api::CachedObject;
using kd::client::ApiClient;
using kd::client::RemoteInformer;
using kd::client::RemoteInformerOptions;
using namespace std::chrono_literals;

namespace {

const kd::api::KindInfo& configMaps() {
  return *kd::api::KindsRegistry::builtin().resolve("configmaps");
}

// What the handlers saw, in order, as "ADD ns/name", "UPDATE ns/name", "DELETE ns/name".
class EventLog {
 public:
  kd::api::EventHandlers handlers() {
    return {[this](const CachedObject& o) { add("ADD " + kd::api::objectKey(*o)); },
            [this](const CachedObject&, const CachedObject& o) {
              add("UPDATE " + kd::api::objectKey(*o));
            },
            [this](const CachedObject& o) { add("DELETE " + kd::api::objectKey(*o)); }};
  }
  bool contains(const std::string& line) const {
    std::lock_guard lock(mu_);
    return std::find(lines_.begin(), lines_.end(), line) != lines_.end();
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return lines_.size();
  }

 private:
  void add(std::string line) {
    std::lock_guard lock(mu_);
    lines_.push_back(std::move(line));
  }
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

}  // namespace

class RemoteInformerTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void cleanupTestCase();
  void listThenWatch();
  void namespaceScoped();
  void resumesAfterWatchTimeout();
  void relistsAfterCompaction();
  void stopSilencesHandlers();
  void listsInPagesAndTransforms();
  void boundKeepsTheNewest();
  void listsAndWatchesProjected();

 private:
  void kubectlOk(const QStringList& args) {
    auto r = engine_->kubectl(args);
    KD_VERIFY2(r.exitCode == 0, qPrintable(r.err));
  }
  std::unique_ptr<RemoteInformer> informer(RemoteInformerOptions options = {}) {
    return std::make_unique<RemoteInformer>(*client_, configMaps(), options);
  }
  // An informer reporting to `log`, already started.
  std::unique_ptr<RemoteInformer> startedInformer(EventLog& log,
                                                  RemoteInformerOptions options = {}) {
    auto inf = informer(options);
    inf->addHandlers(log.handlers());
    inf->start();
    return inf;
  }

  std::unique_ptr<EngineProcess> engine_;
  std::unique_ptr<ApiClient> client_;
};

void RemoteInformerTest::initTestCase() {
  engine_ = std::make_unique<EngineProcess>();
  KD_VERIFY2(engine_->start(), qPrintable(engine_->log()));
  auto access = kd::client::loadClusterAccess(engine_->kubeconfig().toStdString(), "");
  KD_VERIFY2(access.ok(), access.status().message().c_str());
  kd::client::ClientOptions options;
  options.connectTimeout = 2000ms;
  auto client = ApiClient::create(*access, options);
  KD_VERIFY2(client.ok(), client.status().message().c_str());
  client_ = std::move(*client);
  kubectlOk({"create", "namespace", "inf-a"});
  kubectlOk({"create", "namespace", "inf-b"});
}

void RemoteInformerTest::cleanupTestCase() {
  client_.reset();
  engine_.reset();
}

void RemoteInformerTest::listThenWatch() {
  kubectlOk({"-n", "inf-a", "create", "configmap", "before", "--from-literal=k=1"});
  EventLog log;
  auto inf = startedInformer(log);
  QVERIFY(inf->waitForSync(10s));
  QVERIFY(log.contains("ADD inf-a/before"));
  QVERIFY(inf->get("inf-a", "before"));
  QCOMPARE(inf->get("inf-a/before")->at("data").at("k"), json("1"));

  kubectlOk({"-n", "inf-a", "create", "configmap", "after", "--from-literal=k=1"});
  KD_TRY_VERIFY(log.contains("ADD inf-a/after"));
  kubectlOk({"-n", "inf-a", "patch", "configmap", "after", "-p", "{\"data\":{\"k\":\"2\"}}"});
  KD_TRY_VERIFY(log.contains("UPDATE inf-a/after"));
  QCOMPARE(inf->get("inf-a/after")->at("data").at("k"), json("2"));
  kubectlOk({"-n", "inf-a", "delete", "configmap", "before"});
  KD_TRY_VERIFY(log.contains("DELETE inf-a/before"));
  QVERIFY(!inf->get("inf-a/before"));
  QCOMPARE(inf->listCount(), 1);
}

void RemoteInformerTest::namespaceScoped() {
  kubectlOk({"-n", "inf-b", "create", "configmap", "only-b"});
  RemoteInformerOptions options;
  options.namespaceName = "inf-b";
  auto inf = informer(options);
  inf->start();
  QVERIFY(inf->waitForSync(10s));
  for (const auto& obj : inf->list()) {
    QCOMPARE(kd::api::metadataOf(*obj).value("namespace", ""), std::string("inf-b"));
  }
  QVERIFY(inf->get("inf-b/only-b"));
  kubectlOk({"-n", "inf-a", "create", "configmap", "not-b"});
  kubectlOk({"-n", "inf-b", "create", "configmap", "second-b"});
  KD_TRY_VERIFY(inf->get("inf-b/second-b") != nullptr);
  QVERIFY(!inf->get("inf-a/not-b"));
}

void RemoteInformerTest::resumesAfterWatchTimeout() {
  RemoteInformerOptions options;
  options.watchTimeout = 1s;
  EventLog log;
  auto inf = startedInformer(log, options);
  QVERIFY(inf->waitForSync(10s));
  QTRY_VERIFY_WITH_TIMEOUT(inf->watchCount() >= 3, 15000);
  kubectlOk({"-n", "inf-a", "create", "configmap", "resumed"});
  KD_TRY_VERIFY(log.contains("ADD inf-a/resumed"));
  // Resuming from the last resourceVersion never needs a new list.
  QCOMPARE(inf->listCount(), 1);
  QVERIFY(inf->lastError().isOk());
}

// Stops the engine, moves the store's compaction mark past every revision the informer has
// seen, and restarts it on the same port: the informer's resume point is then 410 Expired.
void RemoteInformerTest::relistsAfterCompaction() {
  RemoteInformerOptions options;
  options.retryDelay = 200ms;
  EventLog log;
  auto inf = startedInformer(log, options);
  QVERIFY(inf->waitForSync(10s));
  kubectlOk({"-n", "inf-a", "create", "configmap", "gone-soon"});
  KD_TRY_VERIFY(inf->get("inf-a/gone-soon") != nullptr);

  engine_->stop();
  const QString db = engine_->dataDir() + "/store.db";
  const QString sql =
      "INSERT OR REPLACE INTO meta(key, value) VALUES('compact_rev', "
      "(SELECT COALESCE(MAX(rev), 0) + 1000 FROM log)); "
      "DELETE FROM objects WHERE key LIKE '%gone-soon%';";
  QProcess sqlite;
  sqlite.start("sqlite3", {db, sql});
  QVERIFY(sqlite.waitForFinished(10000));
  KD_VERIFY2(sqlite.exitCode() == 0, sqlite.readAllStandardError().constData());
  KD_VERIFY2(engine_->start(), qPrintable(engine_->log()));

  QTRY_VERIFY_WITH_TIMEOUT(inf->listCount() == 2, 20000);
  KD_TRY_VERIFY(log.contains("DELETE inf-a/gone-soon"));
  kubectlOk({"-n", "inf-a", "create", "configmap", "after-relist"});
  KD_TRY_VERIFY(log.contains("ADD inf-a/after-relist"));
  QVERIFY(std::stoll(inf->lastResourceVersion()) > 1000);
}

void RemoteInformerTest::stopSilencesHandlers() {
  std::atomic<int> calls{0};
  std::atomic<bool> stopped{false};
  std::atomic<bool> lateCall{false};
  auto inf = informer();
  inf->addHandlers({[&](const CachedObject&) {
                      ++calls;
                      if (stopped) lateCall = true;
                    },
                    [&](const CachedObject&, const CachedObject&) {
                      if (stopped) lateCall = true;
                    },
                    [&](const CachedObject&) {
                      if (stopped) lateCall = true;
                    }});
  inf->start();
  QVERIFY(inf->waitForSync(10s));
  QElapsedTimer timer;
  timer.start();
  inf->stop();
  stopped = true;
  KD_VERIFY2(timer.elapsed() < 2000, "stop() waited for the watch to end on its own");
  kubectlOk({"-n", "inf-a", "create", "configmap", "after-stop"});
  QTest::qWait(500);
  QVERIFY(!lateCall);
  QVERIFY(calls > 0);
  inf->stop();  // idempotent
}

// Pages of two objects: every object arrives, each through the transform, and what changes
// between the pages still arrives (as watch events).
void RemoteInformerTest::listsInPagesAndTransforms() {
  kubectlOk({"create", "namespace", "inf-pages"});
  for (int i = 0; i < 7; ++i) {
    kubectlOk({"-n", "inf-pages", "create", "configmap", QString("page-%1").arg(i),
               "--from-literal=big=" + QString(200, 'x')});
  }
  RemoteInformerOptions options;
  options.namespaceName = "inf-pages";
  options.listPageSize = 2;
  options.transform = [](json& obj) {
    obj.erase("data");
    obj["transformed"] = true;
  };
  EventLog log;
  auto inf = startedInformer(log, options);
  QVERIFY(inf->waitForSync(10s));
  QCOMPARE(inf->list().size(), size_t{8});  // and the namespace's kube-root-ca.crt
  for (int i = 0; i < 7; ++i) QVERIFY(inf->get("inf-pages", "page-" + std::to_string(i)));
  for (const auto& obj : inf->list()) {
    QVERIFY(!obj->contains("data"));
    QCOMPARE(obj->value("transformed", false), true);
  }
  QCOMPARE(inf->listCount(), 1);
  kubectlOk({"-n", "inf-pages", "create", "configmap", "page-after"});
  KD_TRY_VERIFY(log.contains("ADD inf-pages/page-after"));
  QCOMPARE(inf->get("inf-pages/page-after")->value("transformed", false), true);
}

// A projection: listed objects (parsed without the dropped members) and watched ones (cut
// after parsing) alike keep only what it names, and the transform still runs after it.
void RemoteInformerTest::listsAndWatchesProjected() {
  kubectlOk({"create", "namespace", "inf-proj"});
  for (int i = 0; i < 5; ++i) {
    kubectlOk({"-n", "inf-proj", "create", "configmap", QString("proj-%1").arg(i),
               "--from-literal=big=" + QString(200, 'x'), "--from-literal=small=y"});
  }
  RemoteInformerOptions options;
  options.namespaceName = "inf-proj";
  options.listPageSize = 2;
  options.projection = std::make_shared<const kd::api::JsonProjection>(
      kd::api::JsonProjection::only({"kind", "metadata", "data"})
          .with("metadata", kd::api::JsonProjection::only({"name", "namespace", "resourceVersion"}))
          .with("data", kd::api::JsonProjection::allBut({"big"})));
  options.transform = [](json& obj) { obj["transformed"] = true; };
  EventLog log;
  auto inf = startedInformer(log, options);
  QVERIFY(inf->waitForSync(10s));
  auto check = [](const kd::api::CachedObject& obj) {
    QVERIFY(obj);
    QVERIFY(!obj->contains("apiVersion"));
    QVERIFY(!obj->at("metadata").contains("uid"));
    QVERIFY(!obj->at("metadata").contains("creationTimestamp"));
    QVERIFY(!obj->at("metadata").value("resourceVersion", "").empty());
    QVERIFY(!obj->at("data").contains("big"));
    QCOMPARE(obj->at("data").value("small", ""), std::string("y"));
    QCOMPARE(obj->value("transformed", false), true);
  };
  for (int i = 0; i < 5; ++i) check(inf->get("inf-proj", "proj-" + std::to_string(i)));
  kubectlOk({"-n", "inf-proj", "create", "configmap", "proj-after", "--from-literal=big=z",
             "--from-literal=small=y"});
  KD_TRY_VERIFY(log.contains("ADD inf-proj/proj-after"));
  check(inf->get("inf-proj/proj-after"));
}

// A bound of 3: the list keeps the three most recently changed; a new object pushes out the
// oldest (a delete to the handlers); changing a forgotten object brings it back.
void RemoteInformerTest::boundKeepsTheNewest() {
  kubectlOk({"create", "namespace", "inf-bound"});
  for (int i = 0; i < 5; ++i)
    kubectlOk({"-n", "inf-bound", "create", "configmap", QString("b-%1").arg(i)});
  RemoteInformerOptions options;
  options.namespaceName = "inf-bound";
  options.maxObjects = 3;
  options.listPageSize = 2;
  EventLog log;
  auto inf = startedInformer(log, options);
  QVERIFY(inf->waitForSync(10s));
  // kube-root-ca.crt, created with the namespace, is the oldest change and is forgotten.
  QCOMPARE(inf->list().size(), size_t{3});
  for (const char* kept : {"inf-bound/b-2", "inf-bound/b-3", "inf-bound/b-4"})
    KD_VERIFY2(inf->get(kept), kept);
  kubectlOk({"-n", "inf-bound", "create", "configmap", "b-5"});
  KD_TRY_VERIFY(log.contains("DELETE inf-bound/b-2"));
  QVERIFY(inf->get("inf-bound/b-5"));
  QCOMPARE(inf->list().size(), size_t{3});
  kubectlOk({"-n", "inf-bound", "label", "configmap", "b-0", "back=yes"});
  KD_TRY_VERIFY(inf->get("inf-bound/b-0") != nullptr);
  QVERIFY(log.contains("DELETE inf-bound/b-3"));
  QCOMPARE(inf->list().size(), size_t{3});
}

QTEST_GUILESS_MAIN(RemoteInformerTest)
#include "remote_informer_test.moc"

// ResourceTableModel and ResourceFilterModel without a server: batches of pods as an informer
// would deliver them, status health, filters, and the cost of 10,000 pods.

#include "dashboard/resource_table_model.h"

#include <QElapsedTimer>
#include <QtTest>
#include <mutex>

#include "dashboard/resource_filter_model.h"

using kd::json;
using kd::dashboard::ChangeBatch;
using kd::dashboard::Health;
using kd::dashboard::ResourceFilterModel;
using kd::dashboard::ResourceTableModel;

namespace {

const kd::api::KindInfo& pods() {
  return *kd::api::KindsRegistry::builtin().resolve("pods");
}

kd::api::CachedObject pod(const std::string& ns, const std::string& name, const std::string& phase,
                          const std::string& waitingReason = {}) {
  json status = {{"phase", phase}};
  json cs = {{"name", "c"}, {"ready", phase == "Running"}, {"restartCount", 0}};
  if (!waitingReason.empty()) {
    cs["state"] = {{"waiting", {{"reason", waitingReason}}}};
  } else if (phase == "Running") {
    cs["state"] = {{"running", {{"startedAt", "2026-01-01T00:00:00Z"}}}};
  } else if (phase == "Succeeded") {
    cs["state"] = {{"terminated", {{"reason", "Completed"}, {"exitCode", 0}}}};
  }
  status["containerStatuses"] = json::array({cs});
  return std::make_shared<const json>(
      json{{"metadata",
            {{"name", name},
             {"namespace", ns},
             {"resourceVersion", "1"},
             {"creationTimestamp", "2026-01-01T00:00:00Z"}}},
           {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "busybox"}}})}}},
           {"status", status}});
}

QString statusOf(const ResourceTableModel& m, const std::string& key) {
  return m.index(m.rowOfKey(key), m.columnNamed("Status")).data().toString();
}

}  // namespace

class ResourceTableModelTest : public QObject {
  Q_OBJECT

 private slots:
  void columnsAreKubectls();
  void health_data();
  void health();
  void batchesAddUpdateDelete();
  void filterByNamespaceAndText();
  void sortsNaturally();
  void tenThousandPods();
  void keysFollowRowsThroughScatteredDeletes();
  void droppedObjectsAreFreedOffTheGuiThread();
};

void ResourceTableModelTest::columnsAreKubectls() {
  ResourceTableModel m(pods());
  QStringList headers;
  for (int c = 0; c < m.columnCount(); ++c)
    headers << m.headerData(c, Qt::Horizontal, Qt::DisplayRole).toString();
  QCOMPARE(headers, (QStringList{"NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"}));
}

void ResourceTableModelTest::health_data() {
  QTest::addColumn<QString>("phase");
  QTest::addColumn<QString>("waiting");
  QTest::addColumn<QString>("status");
  QTest::addColumn<int>("health");
  QTest::newRow("running") << "Running"
                           << ""
                           << "Running" << int(Health::Good);
  QTest::newRow("pending") << "Pending"
                           << ""
                           << "Pending" << int(Health::Progressing);
  QTest::newRow("creating") << "Pending"
                            << "ContainerCreating"
                            << "ContainerCreating" << int(Health::Progressing);
  QTest::newRow("crash loop") << "Running"
                              << "CrashLoopBackOff"
                              << "CrashLoopBackOff" << int(Health::Bad);
  QTest::newRow("completed") << "Succeeded"
                             << ""
                             << "Completed" << int(Health::Done);
  QTest::newRow("failed") << "Failed"
                          << ""
                          << "Failed" << int(Health::Bad);
}

void ResourceTableModelTest::health() {
  QFETCH(QString, phase);
  QFETCH(QString, waiting);
  QFETCH(QString, status);
  QFETCH(int, health);
  ResourceTableModel m(pods());
  m.applyBatch({{"ns/p", pod("ns", "p", phase.toStdString(), waiting.toStdString())}});
  QCOMPARE(statusOf(m, "ns/p"), status);
  QCOMPARE(int(m.healthAt(0)), health);
  const QModelIndex cell = m.index(0, m.columnNamed("Status"));
  QCOMPARE(cell.data(Qt::ForegroundRole).isValid(), health != int(Health::Unknown));
}

void ResourceTableModelTest::batchesAddUpdateDelete() {
  ResourceTableModel m(pods());
  QSignalSpy counts(&m, &ResourceTableModel::countChanged);
  m.applyBatch({{"a/p1", pod("a", "p1", "Pending")},
                {"a/p2", pod("a", "p2", "Pending")},
                {"b/p3", pod("b", "p3", "Pending")}});
  QCOMPARE(m.rowCount(), 3);
  QCOMPARE(counts.count(), 1);
  QSignalSpy changed(&m, &ResourceTableModel::dataChanged);
  m.applyBatch({{"a/p2", pod("a", "p2", "Running")}});
  QCOMPARE(statusOf(m, "a/p2"), QString("Running"));
  QCOMPARE(changed.count(), 1);
  QCOMPARE(counts.count(), 1);  // an update does not change the count
  m.applyBatch({{"a/p1", nullptr}, {"b/p3", nullptr}, {"a/p4", pod("a", "p4", "Pending")}});
  QCOMPARE(m.rowCount(), 2);
  QCOMPARE(m.rowOfKey("a/p1"), -1);
  QCOMPARE(m.rowOfKey("a/p2"), 0);
  QCOMPARE(m.rowOfKey("a/p4"), 1);
  QCOMPARE(counts.last().at(0).toInt(), 2);
  m.applyBatch({{"gone/never-seen", nullptr}});
  QCOMPARE(m.rowCount(), 2);
}

void ResourceTableModelTest::filterByNamespaceAndText() {
  ResourceTableModel m(pods());
  m.applyBatch({{"a/web-1", pod("a", "web-1", "Running")},
                {"a/db-1", pod("a", "db-1", "Pending")},
                {"b/web-2", pod("b", "web-2", "Running")}});
  ResourceFilterModel f;
  f.setSourceModel(&m);
  f.setNamespace("a");
  QCOMPARE(f.rowCount(), 2);
  f.setText("WEB");
  QCOMPARE(f.rowCount(), 1);
  f.setNamespace("");
  QCOMPARE(f.rowCount(), 2);
  f.setText("pending");  // any cell matches, the status too
  QCOMPARE(f.rowCount(), 1);
  // Rows arriving later are filtered as they come.
  m.applyBatch({{"c/x", pod("c", "x", "Pending")}});
  QCOMPARE(f.rowCount(), 2);
}

void ResourceTableModelTest::sortsNaturally() {
  ResourceTableModel m(pods());
  ChangeBatch batch;
  for (const char* name : {"web-10", "web-9", "Web-100", "web-9a", "db", "web-010x"})
    batch.push_back({std::string("a/") + name, pod("a", name, "Running")});
  m.applyBatch(batch);
  ResourceFilterModel f;
  f.setSourceModel(&m);
  const int nameColumn = m.columnNamed("Name");
  f.sort(nameColumn, Qt::AscendingOrder);
  QStringList names;
  for (int r = 0; r < f.rowCount(); ++r) names << f.index(r, nameColumn).data().toString();
  QCOMPARE(names, (QStringList{"db", "web-9", "web-9a", "web-10", "web-010x", "Web-100"}));
}

// 10,000 pods in one batch, then a 1,000-pod change batch, behind the sorted proxy. The times
// are printed for docs/benchmarks.md; speed is never a test assertion.
void ResourceTableModelTest::tenThousandPods() {
  ChangeBatch batch;
  for (int i = 0; i < 10000; ++i) {
    const std::string name = "pod-" + std::to_string(i);
    batch.push_back({"load/" + name, pod("load", name, i % 10 ? "Running" : "Pending")});
  }
  ResourceTableModel m(pods());
  ResourceFilterModel f;
  f.setSourceModel(&m);
  f.sort(m.columnNamed("Name"));
  QElapsedTimer t;
  t.start();
  m.applyBatch(batch);
  const qint64 fill = t.elapsed();
  QCOMPARE(f.rowCount(), 10000);
  t.restart();
  ChangeBatch rollout(batch.begin(), batch.begin() + 1000);
  for (auto& c : rollout) c.object = pod("load", c.key.substr(5), "Succeeded");
  m.applyBatch(rollout);
  const qint64 update = t.elapsed();
  qInfo("10,000 pods: fill %lld ms (sorted proxy), 1,000-pod update batch %lld ms", fill, update);
  QCOMPARE(f.rowCount(), 10000);
  int pending = 0, succeeded = 0;
  const int status = m.columnNamed("Status");
  for (int r = 0; r < m.rowCount(); ++r) {
    const QString s = m.index(r, status).data().toString();
    pending += s == "Pending";
    succeeded += s == "Succeeded" || s == "Completed";
  }
  QCOMPARE(succeeded, 1000);
  QCOMPARE(pending, 900);  // every tenth pod was Pending; 100 of them are now finished
}

// Deletes spread over the table shift the rows after them; every key still finds its row
// (the index is renumbered through each row's slot, not rebuilt), through updates and re-adds.
void ResourceTableModelTest::keysFollowRowsThroughScatteredDeletes() {
  ResourceTableModel m(pods());
  ChangeBatch all;
  for (int i = 0; i < 60; ++i) {
    const std::string name = "p" + std::to_string(i);
    all.push_back({"a/" + name, pod("a", name, "Pending")});
  }
  m.applyBatch(all);
  ChangeBatch change;  // as a bridge coalesces them: each key once
  for (int i = 0; i < 60; ++i) {
    const std::string name = "p" + std::to_string(i);
    if (i % 3 == 1) {
      change.push_back({"a/" + name, nullptr});
    } else if (i % 7 == 0) {
      change.push_back({"a/" + name, pod("a", name, "Running")});
    }
  }
  change.push_back({"a/new", pod("a", "new", "Pending")});
  m.applyBatch(change);
  m.applyBatch({{"a/p0", nullptr}, {"a/p59", nullptr}, {"a/p1", pod("a", "p1", "Running")}});
  QCOMPARE(m.rowCount(), 60 - 20 + 1 - 2 + 1);
  for (int r = 0; r < m.rowCount(); ++r) {
    const std::string key =
        m.index(r, 0).data(ResourceTableModel::KeyRole).toString().toStdString();
    QCOMPARE(m.rowOfKey(key), r);
    QCOMPARE("a/" + m.objectAt(r)->at("metadata").at("name").get<std::string>(), key);
  }
  for (const char* gone : {"a/p0", "a/p4", "a/p58", "a/p59"}) QCOMPARE(m.rowOfKey(gone), -1);
  QCOMPARE(statusOf(m, "a/p14"), QString("Running"));
  QCOMPARE(statusOf(m, "a/p2"), QString("Pending"));
  QCOMPARE(m.rowOfKey("a/new"), m.rowCount() - 2);
  QCOMPARE(m.rowOfKey("a/p1"), m.rowCount() - 1);
}

// The row held the last reference to a deleted or replaced object; it is freed on the model's
// worker thread, not on the GUI thread that applies the batch.
void ResourceTableModelTest::droppedObjectsAreFreedOffTheGuiThread() {
  std::mutex mu;
  std::vector<QThread*> freedOn;
  auto tracked = [&](const std::string& name, const std::string& phase) {
    const json doc = *pod("a", name, phase);
    return kd::api::CachedObject(new json(doc), [&](const json* j) {
      {
        std::lock_guard lock(mu);
        freedOn.push_back(QThread::currentThread());
      }
      delete j;
    });
  };
  {
    ResourceTableModel m(pods());
    m.applyBatch({{"a/gone", tracked("gone", "Pending")}, {"a/kept", tracked("kept", "Pending")}});
    m.applyBatch({{"a/gone", nullptr}, {"a/kept", pod("a", "kept", "Running")}});
    QTRY_COMPARE_WITH_TIMEOUT(
        [&] {
          std::lock_guard lock(mu);
          return freedOn.size();
        }(),
        size_t{2}, 5000);
    QCOMPARE(m.rowCount(), 1);
  }
  for (QThread* t : freedOn) QVERIFY(t != QThread::currentThread());
}

QTEST_MAIN(ResourceTableModelTest)
#include "resource_table_model_test.moc"

#include "engine/controllers/event_recorder.h"

#include <QRegularExpression>
#include <QtTest>
#include <set>

#include "tests/engine/controllers/test_cluster.h"

using kd::json;
using kd::controllers::EventRecorder;
using kd::testing::TestCluster;

class EventRecorderTest : public QObject {
  Q_OBJECT

  static std::vector<json> events(TestCluster& c, const std::string& ns) {
    auto listed = c.objects().list(TestCluster::kind("events"), ns, {});
    std::vector<json> out;
    if (!listed.ok()) return out;
    for (const auto& item : listed->items) out.push_back(item->parse());
    return out;
  }

  static json pod(TestCluster& c, const std::string& name) {
    if (!c.exists(TestCluster::kind("namespaces"), "", "default")) c.createNamespace("default");
    return c.create(TestCluster::kind("pods"), "default",
                    {{"metadata", {{"name", name}}},
                     {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}});
  }

 private slots:
  void eventHasTheKubernetesShape() {
    TestCluster c;
    const json p = pod(c, "web");
    EventRecorder recorder(c.objects(), "default-scheduler");
    recorder.record(p, "Normal", "Scheduled", "Successfully assigned default/web to n1");
    recorder.flush();

    auto all = events(c, "default");
    QCOMPARE(all.size(), size_t(1));
    const json& e = all[0];
    const QString name = QString::fromStdString(e["metadata"]["name"].get<std::string>());
    QVERIFY2(QRegularExpression("^web\\.[0-9a-f]{16}$").match(name).hasMatch(), qPrintable(name));
    QCOMPARE(e["involvedObject"]["kind"], json("Pod"));
    QCOMPARE(e["involvedObject"]["apiVersion"], json("v1"));
    QCOMPARE(e["involvedObject"]["namespace"], json("default"));
    QCOMPARE(e["involvedObject"]["name"], json("web"));
    QCOMPARE(e["involvedObject"]["uid"], p["metadata"]["uid"]);
    QCOMPARE(e["involvedObject"]["resourceVersion"], p["metadata"]["resourceVersion"]);
    QCOMPARE(e["type"], json("Normal"));
    QCOMPARE(e["reason"], json("Scheduled"));
    QCOMPARE(e["message"], json("Successfully assigned default/web to n1"));
    QCOMPARE(e["source"]["component"], json("default-scheduler"));
    QCOMPARE(e["count"], json(1));
    QVERIFY(e["firstTimestamp"].is_string());
    QCOMPARE(e["lastTimestamp"], e["firstTimestamp"]);
  }

  // The recorder's Events skip the schema walk (WriteOptions::engineBuilt). What it stores
  // must be what the full create path stores for the same body: the stored Event, created
  // again through create() with strict field validation (an unknown or mistyped field would be
  // refused there), is stored the same apart from what the server sets per object.
  void recordedEventIsWhatAFullCreateStores() {
    TestCluster c;
    const json p = pod(c, "web");
    EventRecorder recorder(c.objects(), "kubelet", "n1");
    recorder.record(p, "Warning", "BackOff", "Back-off restarting failed container c");
    recorder.flush();
    auto all = events(c, "default");
    QCOMPARE(all.size(), size_t(1));
    const json recorded = all[0];

    json body = recorded;
    for (const char* f : {"uid", "creationTimestamp", "resourceVersion"}) {
      body["metadata"].erase(f);
    }
    body["metadata"]["name"] = "again";
    kd::server::WriteOptions strict;
    strict.fieldValidation = kd::api::FieldValidation::Strict;
    auto created = c.objects().create(TestCluster::kind("events"), "default", body, strict);
    QVERIFY2(created.ok(), created.ok() ? "" : created.status().message().c_str());
    QVERIFY(created->warnings.empty());
    const json full = c.get(TestCluster::kind("events"), "default", "again");

    auto withoutPerObject = [](json e) {
      for (const char* f : {"name", "uid", "creationTimestamp", "resourceVersion"}) {
        e["metadata"].erase(f);
      }
      return e;
    };
    QCOMPARE(withoutPerObject(recorded).dump(), withoutPerObject(full).dump());
    QCOMPARE(recorded["source"]["host"], json("n1"));
    QCOMPARE(recorded["reportingInstance"], json("n1"));
  }

  void repeatsAggregateIntoOneEventWithACount() {
    TestCluster c;
    json p = pod(c, "web");
    EventRecorder recorder(c.objects(), "default-scheduler");
    for (int i = 0; i < 3; ++i) {
      // A newer resourceVersion of the same pod continues the same series.
      p["metadata"]["resourceVersion"] = std::to_string(100 + i);
      recorder.record(p, "Warning", "FailedScheduling", "0/1 nodes are available");
    }
    recorder.record(p, "Warning", "FailedScheduling", "0/2 nodes are available");
    recorder.flush();

    auto all = events(c, "default");
    QCOMPARE(all.size(), size_t(2));
    std::map<std::string, json> byMessage;
    for (const auto& e : all) byMessage[e["message"].get<std::string>()] = e;
    QCOMPARE(byMessage["0/1 nodes are available"]["count"], json(3));
    QCOMPARE(byMessage["0/2 nodes are available"]["count"], json(1));
    QVERIFY(byMessage["0/1 nodes are available"]["lastTimestamp"].get<std::string>() >=
            byMessage["0/1 nodes are available"]["firstTimestamp"].get<std::string>());
  }

  void differentObjectsGetTheirOwnEvents() {
    TestCluster c;
    EventRecorder recorder(c.objects(), "default-scheduler");
    recorder.record(pod(c, "a"), "Normal", "Scheduled", "same text");
    recorder.record(pod(c, "b"), "Normal", "Scheduled", "same text");
    recorder.flush();
    QCOMPARE(events(c, "default").size(), size_t(2));
  }

  void clusterScopedObjectsHaveEventsInDefault() {
    TestCluster c;
    c.createNamespace("default");
    const json node = c.create(TestCluster::kind("nodes"), "", {{"metadata", {{"name", "n1"}}}});
    QVERIFY(!node.is_null());
    EventRecorder recorder(c.objects(), "node-controller", "n1");
    recorder.record(node, "Normal", "NodeNotReady", "Node n1 status is now: NodeNotReady");
    recorder.flush();
    auto all = events(c, "default");
    QCOMPARE(all.size(), size_t(1));
    QCOMPARE(all[0]["involvedObject"]["kind"], json("Node"));
    QVERIFY(!all[0]["involvedObject"].contains("namespace"));
    QCOMPARE(all[0]["source"]["host"], json("n1"));
  }

  void aDeletedEventStartsANewSeries() {
    TestCluster c;
    const json p = pod(c, "web");
    EventRecorder recorder(c.objects(), "kubelet");
    recorder.record(p, "Normal", "Pulled", "image present");
    recorder.flush();
    auto first = events(c, "default");
    QCOMPARE(first.size(), size_t(1));
    QVERIFY(c.objects()
                .remove(TestCluster::kind("events"), "default",
                        first[0]["metadata"]["name"].get<std::string>(), {})
                .ok());
    recorder.record(p, "Normal", "Pulled", "image present");
    recorder.flush();
    auto second = events(c, "default");
    QCOMPARE(second.size(), size_t(1));
    QCOMPARE(second[0]["count"], json(1));
    QVERIFY(second[0]["metadata"]["name"] != first[0]["metadata"]["name"]);
  }

  // More than one batch of events at once: every event is written, and a repeat keeps one
  // Event whose count is the number of times it was recorded, whether the repeats fell in the
  // same batch or in later ones.
  void aBurstIsAllWrittenAndRepeatsStillAggregate() {
    TestCluster c;
    const json p = pod(c, "web");
    EventRecorder recorder(c.objects(), "x");
    for (int i = 0; i < 1200; ++i) {
      recorder.record(p, "Normal", "R", "m" + std::to_string(i));
      if (i % 2 == 0) recorder.record(p, "Warning", "W", "again");
    }
    recorder.flush();
    auto all = events(c, "default");
    QCOMPARE(all.size(), size_t(1201));
    std::set<std::string> names;
    for (const auto& e : all) {
      names.insert(e["metadata"]["name"].get<std::string>());
      QCOMPARE(e["count"], json(e["message"] == "again" ? 600 : 1));
    }
    QCOMPARE(names.size(), size_t(1201));
    recorder.record(p, "Warning", "W", "again");
    recorder.flush();
    all = events(c, "default");
    QCOMPARE(all.size(), size_t(1201));
    for (const auto& e : all) {
      if (e["message"] == "again") QCOMPARE(e["count"], json(601));
    }
  }

  void concurrentRecordsAreAllWritten() {
    TestCluster c;
    const json p = pod(c, "web");
    EventRecorder recorder(c.objects(), "x");
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 25; ++i) {
          recorder.record(p, "Normal", "R", "m" + std::to_string(t * 100 + i));
          recorder.record(p, "Normal", "R", "repeat");
        }
      });
    }
    for (auto& t : threads) t.join();
    recorder.flush();
    auto all = events(c, "default");
    QCOMPARE(all.size(), size_t(101));
    for (const auto& e : all) {
      if (e["message"] == "repeat") QCOMPARE(e["count"], json(100));
    }
  }
};

QTEST_GUILESS_MAIN(EventRecorderTest)
#include "event_recorder_test.moc"

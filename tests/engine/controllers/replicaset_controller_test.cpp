#include "engine/controllers/replicaset_controller.h"

#include <QtTest>
#include <atomic>

#include "engine/controllers/controller_manager.h"
#include "tests/engine/controllers/test_cluster.h"
#include "tests/support/settle.h"

using kd::json;
using kd::controllers::ControllerManager;
using kd::controllers::ReplicaSetController;
using kd::controllers::ReplicaSetControllerOptions;
using kd::testing::TestCluster;

Q_DECLARE_METATYPE(kd::json)

namespace {

// A clock the test moves by hand, starting at the real time.
struct FakeClock {
  std::chrono::system_clock::time_point base = std::chrono::system_clock::now();
  std::atomic<int64_t> offsetSeconds{0};
  std::chrono::system_clock::time_point now() const {
    return base + std::chrono::seconds(offsetSeconds.load());
  }
};

json replicaSet(const std::string& name, int replicas, int minReadySeconds = 0) {
  json labels = {{"app", name}};
  return {{"apiVersion", "apps/v1"},
          {"kind", "ReplicaSet"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"replicas", replicas},
            {"minReadySeconds", minReadySeconds},
            {"selector", {{"matchLabels", labels}}},
            {"template",
             {{"metadata", {{"labels", {{"app", name}, {"tier", "web"}}}}},
              {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "busybox"}}})}}}}}}}};
}

}  // namespace

class ReplicaSetControllerTest : public QObject {
  Q_OBJECT

  std::unique_ptr<TestCluster> cluster;
  TestCluster& c() { return *cluster; }
  FakeClock clock;
  std::unique_ptr<ControllerManager> manager;
  const kd::api::KindInfo& pods = TestCluster::kind("pods");
  const kd::api::KindInfo& rss = TestCluster::kind("replicasets", "apps");

  void start() {
    manager = std::make_unique<ControllerManager>(c().objects());
    ReplicaSetControllerOptions options;
    options.clock = [this] { return clock.now(); };
    manager->add(std::make_unique<ReplicaSetController>(c().objects(), options));
    QVERIFY(manager->start().isOk());
  }

  std::vector<json> podsOf(const std::string& ns) {
    std::vector<json> out;
    auto listed = c().objects().list(pods, ns, {});
    for (const auto& item : listed->items) out.push_back(item->parse());
    return out;
  }

  static bool ownedBy(const json& pod, const json& rs) {
    for (const auto& ref : pod["metadata"].value("ownerReferences", json::array())) {
      if (ref["uid"] == rs["metadata"]["uid"] && ref.value("controller", false)) return true;
    }
    return false;
  }

  // Plays the kubelet: writes phase and Ready through the status subresource.
  void setPodStatus(const std::string& ns, const std::string& name, const std::string& phase,
                    bool ready, int readyAgoSeconds = 0) {
    json pod = c().get(pods, ns, name);
    const std::string since =
        kd::server::formatTime(clock.now() - std::chrono::seconds(readyAgoSeconds));
    pod["metadata"].erase("resourceVersion");
    pod["status"] = {{"phase", phase},
                     {"conditions", json::array({{{"type", "Ready"},
                                                  {"status", ready ? "True" : "False"},
                                                  {"lastTransitionTime", since}}})}};
    kd::server::WriteOptions options;
    options.subresource = "status";
    QVERIFY(c().objects().update(pods, ns, name, pod, options).ok());
  }

  void scale(const std::string& ns, const std::string& name, int replicas) {
    QVERIFY(c().objects()
                .patch(rss, ns, name, kd::api::PatchType::Merge,
                       {{"spec", {{"replicas", replicas}}}}, {})
                .ok());
  }

 private slots:
  void init() {
    cluster = std::make_unique<TestCluster>();
    clock.offsetSeconds = 0;
  }
  void cleanup() {
    manager.reset();
    cluster.reset();
  }

  void createsAndDeletesPodsToReachReplicas_data() {
    QTest::addColumn<int>("first");
    QTest::addColumn<int>("second");
    QTest::newRow("3 then 5") << 3 << 5;
    QTest::newRow("4 then 1") << 4 << 1;
    QTest::newRow("0 then 2") << 0 << 2;
    QTest::newRow("burst 40 then 0") << 40 << 0;
  }
  void createsAndDeletesPodsToReachReplicas() {
    QFETCH(int, first);
    QFETCH(int, second);
    c().createNamespace("ns");
    start();
    json rs = c().create(rss, "ns", replicaSet("web", first));
    KD_TRY_COMPARE(podsOf("ns").size(), size_t(first));
    KD_TRY_COMPARE(c().get(rss, "ns", "web")["status"].value("replicas", -1), first);
    for (const auto& pod : podsOf("ns")) {
      const std::string name = pod["metadata"]["name"];
      QCOMPARE(name.substr(0, 4), std::string("web-"));
      QCOMPARE(name.size(), size_t(9));
      QCOMPARE(pod["metadata"]["labels"], json({{"app", "web"}, {"tier", "web"}}));
      const json& ref = pod["metadata"]["ownerReferences"][0];
      QCOMPARE(ref["kind"], json("ReplicaSet"));
      QCOMPARE(ref["uid"], rs["metadata"]["uid"]);
      QCOMPARE(ref["controller"], json(true));
      QCOMPARE(ref["blockOwnerDeletion"], json(true));
    }
    scale("ns", "web", second);
    KD_TRY_COMPARE(podsOf("ns").size(), size_t(second));
    KD_TRY_COMPARE(c().get(rss, "ns", "web")["status"].value("replicas", -1), second);
    const json status = c().get(rss, "ns", "web")["status"];
    QCOMPARE(status.value("fullyLabeledReplicas", 0), second);
    QCOMPARE(status.value("observedGeneration", 0), 2);
  }

  void adoptsOrphansAndReleasesPodsThatStopMatching() {
    c().createNamespace("ns");
    json orphan = c().create(
        pods, "ns",
        {{"metadata", {{"name", "stray"}, {"labels", {{"app", "web"}}}}},
         {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "busybox"}}})}}}});
    json other = c().create(
        pods, "ns",
        {{"metadata", {{"name", "other"}, {"labels", {{"app", "db"}}}}},
         {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "busybox"}}})}}}});
    start();
    json rs = c().create(rss, "ns", replicaSet("web", 2));
    KD_TRY_VERIFY(ownedBy(c().get(pods, "ns", "stray"), rs));
    KD_TRY_COMPARE(podsOf("ns").size(), size_t(3));  // one created, one adopted
    QVERIFY(!ownedBy(c().get(pods, "ns", "other"), rs));

    // Relabelled out of the selector: released (owner reference removed) and replaced.
    QVERIFY(c().objects()
                .patch(pods, "ns", "stray", kd::api::PatchType::Merge,
                       {{"metadata", {{"labels", {{"app", "moved"}}}}}}, {})
                .ok());
    KD_TRY_VERIFY(!c().get(pods, "ns", "stray")["metadata"].contains("ownerReferences"));
    KD_TRY_COMPARE(podsOf("ns").size(), size_t(4));
    int owned = 0;
    for (const auto& pod : podsOf("ns")) owned += ownedBy(pod, rs) ? 1 : 0;
    QCOMPARE(owned, 2);
  }

  // Each pod: name, nodeName, phase, ready, seconds since ready/creation order.
  void scaleDownDeletesInKubernetesOrder_data() {
    QTest::addColumn<json>("podSpecs");
    QTest::addColumn<int>("keep");
    QTest::addColumn<QStringList>("survivors");
    QTest::newRow("unassigned before assigned")
        << json::array({{"a", "", "Pending", false, 0}, {"b", "n1", "Pending", false, 0}}) << 1
        << QStringList{"b"};
    QTest::newRow("pending before running")
        << json::array({{"a", "n1", "Running", false, 0}, {"b", "n1", "Pending", false, 0}}) << 1
        << QStringList{"a"};
    QTest::newRow("not ready before ready") << json::array({{"a", "n1", "Running", true, 0},
                                                            {"b", "n2", "Running", false, 0},
                                                            {"c", "n3", "Running", true, 0}})
                                            << 2 << QStringList{"a", "c"};
    QTest::newRow("doubled up on a node first") << json::array({{"a", "n1", "Running", true, 100},
                                                                {"b", "n1", "Running", true, 100},
                                                                {"c", "n2", "Running", true, 100}})
                                                << 2 << QStringList{"c", "?"};
    QTest::newRow("ready for less time first") << json::array({{"a", "n1", "Running", true, 3600},
                                                               {"b", "n2", "Running", true, 5},
                                                               {"c", "n3", "Running", true, 600}})
                                               << 2 << QStringList{"a", "c"};
    QTest::newRow("mixed") << json::array({{"a", "n1", "Running", true, 3600},
                                           {"b", "", "Pending", false, 0},
                                           {"c", "n2", "Pending", false, 0},
                                           {"d", "n3", "Running", false, 0},
                                           {"e", "n4", "Running", true, 60}})
                           << 2 << QStringList{"a", "e"};
  }
  void scaleDownDeletesInKubernetesOrder() {
    QFETCH(json, podSpecs);
    QFETCH(int, keep);
    QFETCH(QStringList, survivors);
    c().createNamespace("ns");
    for (const auto& p : podSpecs) {
      json spec = {{"containers", json::array({{{"name", "c"}, {"image", "busybox"}}})}};
      if (!p[1].get<std::string>().empty()) spec["nodeName"] = p[1];
      QVERIFY(!c().create(pods, "ns",
                          {{"metadata", {{"name", p[0]}, {"labels", {{"app", "web"}}}}},
                           {"spec", spec}})
                   .is_null());
      setPodStatus("ns", p[0], p[2], p[3], p[4]);
    }
    start();
    c().create(rss, "ns", replicaSet("web", keep));
    KD_TRY_COMPARE(podsOf("ns").size(), size_t(keep));
    QStringList left;
    for (const auto& pod : podsOf("ns")) {
      left << QString::fromStdString(pod["metadata"]["name"].get<std::string>());
    }
    left.sort();
    if (survivors.contains("?")) {  // one of two equal pods survives
      QVERIFY(left.contains(survivors.front()));
      QVERIFY(left.contains("a") != left.contains("b"));
    } else {
      QCOMPARE(left, survivors);
    }
  }

  void statusCountsReadyAndAvailableAfterMinReadySeconds() {
    c().createNamespace("ns");
    start();
    c().create(rss, "ns", replicaSet("web", 2, 30));
    KD_TRY_COMPARE(podsOf("ns").size(), size_t(2));
    for (const auto& pod : podsOf("ns"))
      setPodStatus("ns", pod["metadata"]["name"], "Running", true);
    KD_TRY_COMPARE(c().get(rss, "ns", "web")["status"].value("readyReplicas", 0), 2);
    QCOMPARE(c().get(rss, "ns", "web")["status"].value("availableReplicas", 0), 0);
    clock.offsetSeconds = 31;
    // Any event makes the controller look again (the real requeue waits 30 real seconds).
    QVERIFY(c().objects()
                .patch(rss, "ns", "web", kd::api::PatchType::Merge,
                       {{"metadata", {{"annotations", {{"poke", "1"}}}}}}, {})
                .ok());
    KD_TRY_COMPARE(c().get(rss, "ns", "web")["status"].value("availableReplicas", 0), 2);
  }

  void createFailureSetsReplicaFailureCondition() {
    c().createNamespace("ns");
    start();
    QVERIFY(!c().create(rss, "ns", replicaSet("web", 0)).is_null());
    // A terminating namespace refuses new content (403): every pod create fails. No namespace
    // controller runs here, so the namespace stays Terminating.
    const auto& namespaces = c().kind("namespaces");
    QVERIFY(c().objects().remove(namespaces, "", "ns", {}).ok());
    scale("ns", "web", 2);
    KD_TRY_VERIFY(c().get(rss, "ns", "web")["status"].value("conditions", json::array()).size() ==
                  1);
    const json cond = c().get(rss, "ns", "web")["status"]["conditions"][0];
    QCOMPARE(cond["type"], json("ReplicaFailure"));
    QCOMPARE(cond["reason"], json("FailedCreate"));
    QVERIFY(podsOf("ns").empty());
  }

  void eventsRecordCreations() {
    c().createNamespace("ns");
    start();
    c().create(rss, "ns", replicaSet("web", 1));
    KD_TRY_COMPARE(podsOf("ns").size(), size_t(1));
    const std::string pod = podsOf("ns")[0]["metadata"]["name"];
    auto created = [&] {
      auto listed = c().objects().list(TestCluster::kind("events"), "ns", {});
      for (const auto& e : listed->items) {
        const json ev = e->parse();
        if (ev.value("reason", "") == "SuccessfulCreate" &&
            ev.value("message", "") == "Created pod: " + pod &&
            ev["involvedObject"].value("name", "") == "web") {
          return true;
        }
      }
      return false;
    };
    KD_TRY_VERIFY(created());
  }
};

QTEST_GUILESS_MAIN(ReplicaSetControllerTest)
#include "replicaset_controller_test.moc"

#include "engine/controllers/statefulset_controller.h"

#include <QtTest>

#include "engine/controllers/controller_manager.h"
#include "tests/engine/controllers/test_cluster.h"
#include "tests/support/settle.h"

using kd::json;
using kd::controllers::ControllerManager;
using kd::controllers::StatefulSetController;
using kd::testing::TestCluster;

class StatefulSetControllerTest : public QObject {
  Q_OBJECT

  std::unique_ptr<TestCluster> cluster;
  std::unique_ptr<ControllerManager> manager;
  const kd::api::KindInfo& pods = TestCluster::kind("pods");
  const kd::api::KindInfo& claims = TestCluster::kind("persistentvolumeclaims");
  const kd::api::KindInfo& sets =
      *kd::api::KindsRegistry::builtin().byResource("apps", "v1", "statefulsets");

  void start() {
    manager = std::make_unique<ControllerManager>(cluster->objects());
    manager->add(std::make_unique<StatefulSetController>(cluster->objects()));
    QVERIFY(manager->start().isOk());
  }

  static json statefulSet(int replicas, const std::string& policy = "OrderedReady") {
    json claim = {{"metadata", {{"name", "data"}}},
                  {"spec",
                   {{"accessModes", {"ReadWriteOnce"}},
                    {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}};
    return {{"metadata", {{"name", "web"}}},
            {"spec",
             {{"replicas", replicas},
              {"serviceName", "web"},
              {"podManagementPolicy", policy},
              {"selector", {{"matchLabels", {{"app", "web"}}}}},
              {"template",
               {{"metadata", {{"labels", {{"app", "web"}}}}},
                {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox:1"}}}}}}}},
              {"volumeClaimTemplates", {claim}}}}};
  }

  // Names of the set's pods not marked for deletion, sorted.
  std::vector<std::string> podNames() {
    std::vector<std::string> out;
    const auto listed = cluster->objects().list(pods, "default", {});
    for (const auto& item : listed->items) {
      json p = item->parse();
      if (!p["metadata"].contains("deletionTimestamp")) out.push_back(p["metadata"]["name"]);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  void makeReady(const std::string& name) {
    json p = cluster->get(pods, "default", name);
    if (p.is_null()) return;
    p["status"] = {{"phase", "Running"}, {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}};
    kd::server::WriteOptions options;
    options.subresource = "status";
    cluster->objects().update(pods, "default", name, p, options);
  }

  json setStatus() { return cluster->get(sets, "default", "web")["status"]; }

  static std::vector<std::string> names(std::initializer_list<const char*> list) {
    return {list.begin(), list.end()};
  }

 private slots:
  void init() {
    cluster = std::make_unique<TestCluster>();
    QVERIFY(!cluster->createNamespace("default").is_null());
  }
  void cleanup() {
    if (manager) manager->stop();
    manager.reset();
    cluster.reset();
  }

  void orderedReadyCreatesOneAtATimeWithClaims() {
    QVERIFY(!cluster->create(sets, "default", statefulSet(3)).is_null());
    start();
    KD_TRY_COMPARE(podNames(), names({"web-0"}));
    QTest::qWait(300);
    QCOMPARE(podNames(), names({"web-0"}));  // web-1 waits for web-0 to be Ready

    const json pod = cluster->get(pods, "default", "web-0");
    QCOMPARE(pod["spec"]["hostname"], "web-0");
    QCOMPARE(pod["spec"]["subdomain"], "web");
    QCOMPARE(pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"], "web-0");
    QCOMPARE(pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"], "0");
    QCOMPARE(pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"], "data-web-0");
    QVERIFY(cluster->exists(claims, "default", "data-web-0"));

    makeReady("web-0");
    KD_TRY_COMPARE(podNames(), names({"web-0", "web-1"}));
    makeReady("web-1");
    KD_TRY_COMPARE(podNames(), names({"web-0", "web-1", "web-2"}));
    makeReady("web-2");
    KD_TRY_COMPARE(setStatus().value("readyReplicas", 0), 3);
    QCOMPARE(setStatus()["currentRevision"], setStatus()["updateRevision"]);

    // Scale down removes the highest ordinal first and keeps its claim.
    json set = cluster->get(sets, "default", "web");
    set["spec"]["replicas"] = 1;
    QVERIFY(cluster->objects().update(sets, "default", "web", set, {}).ok());
    KD_TRY_COMPARE(podNames(), names({"web-0"}));
    QVERIFY(cluster->exists(claims, "default", "data-web-2"));

    // A deleted pod comes back under the same name, reusing its claim.
    QVERIFY(cluster->objects().remove(pods, "default", "web-0", {}).ok());
    KD_TRY_VERIFY(
        cluster->exists(pods, "default", "web-0") &&
        !cluster->get(pods, "default", "web-0")["metadata"].contains("deletionTimestamp"));
  }

  void parallelCreatesAllAtOnce() {
    QVERIFY(!cluster->create(sets, "default", statefulSet(3, "Parallel")).is_null());
    start();
    QTRY_VERIFY2(podNames() == names({"web-0", "web-1", "web-2"}),
                 cluster->get(sets, "default", "web").dump().c_str());
  }

  void rollingUpdateHonoursPartitionFromTheTop() {
    json set = statefulSet(3, "Parallel");
    set["spec"]["updateStrategy"] = {{"type", "RollingUpdate"},
                                     {"rollingUpdate", {{"partition", 1}}}};
    QVERIFY(!cluster->create(sets, "default", set).is_null());
    start();
    KD_TRY_COMPARE(podNames().size(), 3u);
    for (const char* n : {"web-0", "web-1", "web-2"}) makeReady(n);
    KD_TRY_COMPARE(setStatus().value("readyReplicas", 0), 3);
    const std::string oldRevision = setStatus()["updateRevision"];

    set = cluster->get(sets, "default", "web");
    set["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:2";
    QVERIFY(cluster->objects().update(sets, "default", "web", set, {}).ok());

    auto image = [this](const char* n) {
      json p = cluster->get(pods, "default", n);
      return p.is_null() ? std::string() : p["spec"]["containers"][0]["image"].get<std::string>();
    };
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < 10000 &&
           !(image("web-1") == "busybox:2" && image("web-2") == "busybox:2")) {
      for (const char* n : {"web-1", "web-2"}) {
        json p = cluster->get(pods, "default", n);
        if (!p.is_null() && !p["status"].contains("conditions")) makeReady(n);
      }
      QTest::qWait(20);
    }
    QCOMPARE(image("web-2"), "busybox:2");
    QCOMPARE(image("web-1"), "busybox:2");
    QTest::qWait(300);
    QCOMPARE(image("web-0"), "busybox:1");  // below the partition
    KD_TRY_COMPARE(setStatus().value("updatedReplicas", 0), 2);
    QCOMPARE(setStatus()["currentRevision"], oldRevision);
    QVERIFY(setStatus()["updateRevision"] != oldRevision);
  }
};

QTEST_GUILESS_MAIN(StatefulSetControllerTest)
#include "statefulset_controller_test.moc"

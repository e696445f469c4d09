#include "engine/controllers/volume_controller.h"

#include <QtTest>

#include "engine/controllers/controller_manager.h"
#include "tests/engine/controllers/test_cluster.h"
#include "tests/support/settle.h"

using kd::json;
using kd::controllers::ControllerManager;
using kd::controllers::VolumeController;
using kd::testing::TestCluster;

class VolumeControllerTest : public QObject {
  Q_OBJECT

  std::unique_ptr<TestCluster> cluster;
  std::unique_ptr<ControllerManager> manager;
  const kd::api::KindInfo& pods = TestCluster::kind("pods");
  const kd::api::KindInfo& claims = TestCluster::kind("persistentvolumeclaims");
  const kd::api::KindInfo& volumes = TestCluster::kind("persistentvolumes");
  const kd::api::KindInfo& classes =
      *kd::api::KindsRegistry::builtin().byResource("storage.k8s.io", "v1", "storageclasses");

  void start() {
    manager = std::make_unique<ControllerManager>(cluster->objects());
    manager->add(std::make_unique<VolumeController>(cluster->objects()));
    QVERIFY(manager->start().isOk());
  }

  json claim(const std::string& name, const char* size, json storageClass = nullptr) {
    json spec = {{"accessModes", {"ReadWriteOnce"}},
                 {"resources", {{"requests", {{"storage", size}}}}}};
    if (!storageClass.is_null()) spec["storageClassName"] = storageClass;
    return cluster->create(claims, "default", {{"metadata", {{"name", name}}}, {"spec", spec}});
  }

  void consumer(const std::string& claimName, const std::string& node) {
    json pod = {{"metadata", {{"name", "user"}}},
                {"spec",
                 {{"nodeName", node},
                  {"containers", {{{"name", "c"}, {"image", "busybox"}}}},
                  {"volumes",
                   {{{"name", "data"}, {"persistentVolumeClaim", {{"claimName", claimName}}}}}}}}};
    QVERIFY(!cluster->create(pods, "default", pod).is_null());
  }

  std::string phaseOf(const kd::api::KindInfo& kind, const std::string& ns,
                      const std::string& name) {
    json obj = cluster->get(kind, ns, name);
    return obj.is_null() ? "<gone>" : obj.value("status", json::object()).value("phase", "");
  }

 private slots:
  void init() {
    cluster = std::make_unique<TestCluster>();
    QVERIFY(!cluster->createNamespace("default").is_null());
    QVERIFY(!cluster->create(classes, "", kd::controllers::defaultStorageClass()).is_null());
  }
  void cleanup() {
    if (manager) manager->stop();
    manager.reset();
    cluster.reset();
  }

  void waitsForFirstConsumerThenProvisionsOnItsNode() {
    const json c = claim("data", "1Gi");
    QCOMPARE(c["spec"]["storageClassName"], "standard");  // DefaultStorageClass admission
    start();
    QTest::qWait(300);
    QCOMPARE(phaseOf(claims, "default", "data"), "Pending");

    consumer("data", "n2");
    const std::string pv = "pvc-" + c["metadata"]["uid"].get<std::string>();
    KD_TRY_COMPARE(phaseOf(claims, "default", "data"), "Bound");
    const json bound = cluster->get(claims, "default", "data");
    QCOMPARE(bound["spec"]["volumeName"], pv);
    QCOMPARE(bound["status"]["capacity"]["storage"], "1Gi");
    QCOMPARE(bound["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"], "yes");

    KD_TRY_COMPARE(phaseOf(volumes, "", pv), "Bound");
    const json volume = cluster->get(volumes, "", pv);
    QCOMPARE(volume["spec"]["claimRef"]["name"], "data");
    QCOMPARE(volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"]
                   [0]["values"][0],
             "n2");
    QVERIFY(volume["spec"]["hostPath"]["path"].get<std::string>().starts_with(
        kd::controllers::kLocalPathRoot));

    // reclaimPolicy Delete: the volume goes with its claim.
    QVERIFY(cluster->objects().remove(claims, "default", "data", {}).ok());
    KD_TRY_COMPARE(phaseOf(volumes, "", pv), "<gone>");
  }

  void staticVolumeBindsSmallestFitAndIsReleased() {
    for (auto [name, size] : {std::pair{"big", "10Gi"}, {"small", "2Gi"}, {"tiny", "500Mi"}}) {
      json pv = {{"metadata", {{"name", name}}},
                 {"spec",
                  {{"capacity", {{"storage", size}}},
                   {"accessModes", {"ReadWriteOnce"}},
                   {"storageClassName", "manual"},
                   {"hostPath", {{"path", std::string("/tmp/") + name}}}}}};
      QVERIFY(!cluster->create(volumes, "", pv).is_null());
    }
    claim("want", "1Gi", "manual");
    start();
    KD_TRY_COMPARE(phaseOf(claims, "default", "want"), "Bound");
    QCOMPARE(cluster->get(claims, "default", "want")["spec"]["volumeName"], "small");
    KD_TRY_COMPARE(phaseOf(volumes, "", "big"), "Available");

    QVERIFY(cluster->objects().remove(claims, "default", "want", {}).ok());
    KD_TRY_COMPARE(phaseOf(volumes, "", "small"), "Released");  // Retain, the default
  }

  void immediateClassProvisionsWithoutConsumer() {
    json sc = kd::controllers::defaultStorageClass();
    sc["metadata"] = {{"name", "fast"}};
    sc["volumeBindingMode"] = "Immediate";
    QVERIFY(!cluster->create(classes, "", sc).is_null());
    claim("now", "1Gi", "fast");
    start();
    KD_TRY_COMPARE(phaseOf(claims, "default", "now"), "Bound");
    const std::string pv = cluster->get(claims, "default", "now")["spec"]["volumeName"];
    QVERIFY(!cluster->get(volumes, "", pv)["spec"].contains("nodeAffinity"));
  }
};

QTEST_GUILESS_MAIN(VolumeControllerTest)
#include "volume_controller_test.moc"

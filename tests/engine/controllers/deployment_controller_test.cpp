#include "engine/controllers/deployment_controller.h"

#include <QtTest>
#include <atomic>
#include <map>

#include "engine/controllers/controller_manager.h"
#include "engine/controllers/replicaset_controller.h"
#include "tests/engine/controllers/test_cluster.h"
#include "tests/support/settle.h"

using kd::json;
using kd::controllers::ControllerManager;
using kd::controllers::DeploymentController;
using kd::controllers::DeploymentControllerOptions;
using kd::controllers::ReplicaSetController;
using kd::controllers::ReplicaSetControllerOptions;
using kd::testing::TestCluster;

Q_DECLARE_METATYPE(kd::json)

namespace {

struct FakeClock {
  std::chrono::system_clock::time_point base = std::chrono::system_clock::now();
  std::atomic<int64_t> offsetSeconds{0};
  std::chrono::system_clock::time_point now() const {
    return base + std::chrono::seconds(offsetSeconds.load());
  }
};

json deployment(const std::string& name, int replicas, const std::string& image,
                const std::string& strategyType = "RollingUpdate",
                json rollingUpdate = json::object()) {
  json strategy = json::object();
  strategy["type"] = strategyType;
  if (!rollingUpdate.empty()) strategy["rollingUpdate"] = std::move(rollingUpdate);
  json labels = {{"app", name}};
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", labels}}},
            {"strategy", strategy},
            {"template",
             {{"metadata", {{"labels", labels}}},
              {"spec", {{"containers", json::array({{{"name", "c"}, {"image", image}}})}}}}}}}};
}

json condition(const json& obj, const std::string& type) {
  for (const auto& c : obj["status"].value("conditions", json::array())) {
    if (c["type"] == type) return c;
  }
  return json::object();
}

}  // namespace

class DeploymentControllerTest : public QObject {
  Q_OBJECT

  std::unique_ptr<TestCluster> cluster;
  FakeClock clock;
  std::unique_ptr<ControllerManager> manager;
  const kd::api::KindInfo& pods = TestCluster::kind("pods");
  const kd::api::KindInfo& rss = TestCluster::kind("replicasets", "apps");
  const kd::api::KindInfo& deploys = TestCluster::kind("deployments", "apps");

  TestCluster& c() { return *cluster; }

  void start() {
    manager = std::make_unique<ControllerManager>(c().objects());
    auto now = [this] { return clock.now(); };
    ReplicaSetControllerOptions rsOptions;
    rsOptions.clock = now;
    DeploymentControllerOptions dOptions;
    dOptions.clock = now;
    manager->add(std::make_unique<ReplicaSetController>(c().objects(), rsOptions));
    manager->add(std::make_unique<DeploymentController>(c().objects(), dOptions));
    QVERIFY(manager->start().isOk());
  }

  std::vector<json> list(const kd::api::KindInfo& kind) {
    std::vector<json> out;
    auto listed = c().objects().list(kind, "ns", {});
    for (const auto& item : listed->items) out.push_back(item->parse());
    return out;
  }

  json get(const std::string& name) { return c().get(deploys, "ns", name); }

  void patch(const kd::api::KindInfo& kind, const std::string& name, const json& p) {
    QVERIFY(c().objects().patch(kind, "ns", name, kd::api::PatchType::Merge, p, {}).ok());
  }

  void setImage(const std::string& name, const std::string& image) {
    json containers = json::array({json::object()});
    containers[0]["name"] = "c";
    containers[0]["image"] = image;
    patch(deploys, name, {{"spec", {{"template", {{"spec", {{"containers", containers}}}}}}}});
  }

  // Plays the kubelet: every pod not yet Ready becomes Running and Ready.
  int markPodsReady() {
    int marked = 0;
    for (json pod : list(pods)) {
      if (kd::controllers::podReady(pod)) continue;
      pod["metadata"].erase("resourceVersion");
      pod["status"] = {
          {"phase", "Running"},
          {"conditions",
           json::array({{{"type", "Ready"},
                         {"status", "True"},
                         {"lastTransitionTime", kd::server::formatTime(clock.now())}}})}};
      kd::server::WriteOptions options;
      options.subresource = "status";
      if (c().objects()
              .update(pods, "ns", pod["metadata"]["name"].get<std::string>(), pod, options)
              .ok()) {
        ++marked;
      }
    }
    return marked;
  }

  static std::string imageOf(const json& pod) {
    return pod["spec"]["containers"][0]["image"].get<std::string>();
  }

  bool rolledOut(const std::string& name, const std::string& image, int replicas) {
    const json d = get(name);
    const json& s = d["status"];
    if (s.value("observedGeneration", 0) != d["metadata"].value("generation", 0)) return false;
    if (s.value("updatedReplicas", 0) != replicas || s.value("replicas", 0) != replicas ||
        s.value("availableReplicas", 0) != replicas) {
      return false;
    }
    const auto all = list(pods);
    return int(all.size()) == replicas &&
           std::all_of(all.begin(), all.end(), [&](const json& p) { return imageOf(p) == image; });
  }

  bool hasEvent(const std::string& reason, const std::string& message) {
    auto listed = c().objects().list(TestCluster::kind("events"), "ns", {});
    for (const auto& e : listed->items) {
      const json ev = e->parse();
      if (ev.value("reason", "") == reason && ev.value("message", "") == message) return true;
    }
    return false;
  }

  json replicaSetWithImage(const std::string& image) {
    for (const auto& rs : list(rss)) {
      if (rs["spec"]["template"]["spec"]["containers"][0]["image"] == image) return rs;
    }
    return nullptr;
  }

 private slots:
  void init() {
    cluster = std::make_unique<TestCluster>();
    c().createNamespace("ns");
    clock.offsetSeconds = 0;
  }
  void cleanup() {
    manager.reset();
    cluster.reset();
  }

  void fencepostsRoundLikeKubernetes_data() {
    QTest::addColumn<json>("surge");
    QTest::addColumn<json>("unavailable");
    QTest::addColumn<int>("replicas");
    QTest::addColumn<int>("wantSurge");
    QTest::addColumn<int>("wantUnavailable");
    QTest::newRow("25% of 10") << json("25%") << json("25%") << 10 << 3 << 2;
    QTest::newRow("25% of 1") << json("25%") << json("25%") << 1 << 1 << 0;
    QTest::newRow("both round to zero") << json("0%") << json("10%") << 5 << 0 << 1;
    QTest::newRow("integers") << json(2) << json(0) << 4 << 2 << 0;
    QTest::newRow("zero and zero") << json(0) << json(0) << 3 << 0 << 1;
    QTest::newRow("50% of 3") << json("50%") << json("50%") << 3 << 2 << 1;
  }
  void fencepostsRoundLikeKubernetes() {
    QFETCH(json, surge);
    QFETCH(json, unavailable);
    QFETCH(int, replicas);
    QFETCH(int, wantSurge);
    QFETCH(int, wantUnavailable);
    const auto f = kd::controllers::resolveFenceposts(surge, unavailable, replicas);
    QCOMPARE(f.maxSurge, int64_t(wantSurge));
    QCOMPARE(f.maxUnavailable, int64_t(wantUnavailable));
  }

  void podTemplateHashIsStableAndSafe() {
    const json a = deployment("web", 1, "v1")["spec"]["template"];
    const json b = deployment("web", 1, "v2")["spec"]["template"];
    const std::string ha = kd::controllers::podTemplateHash(a, std::nullopt);
    QCOMPARE(ha, kd::controllers::podTemplateHash(json::parse(a.dump()), std::nullopt));
    QVERIFY(ha != kd::controllers::podTemplateHash(b, std::nullopt));
    QVERIFY(ha != kd::controllers::podTemplateHash(a, 1));
    QVERIFY(!ha.empty());
    for (char ch : ha)
      QVERIFY(std::string("bcdfghjklmnpqrstvwxz2456789").find(ch) != std::string::npos);
  }

  void createsReplicaSetNamedByHashAndScalesIt() {
    start();
    c().create(deploys, "ns", deployment("web", 3, "v1"));
    KD_TRY_COMPARE(list(pods).size(), size_t(3));
    const auto all = list(rss);
    QCOMPARE(all.size(), size_t(1));
    const json& rs = all[0];
    const std::string hash = rs["metadata"]["labels"]["pod-template-hash"];
    QCOMPARE(rs["metadata"]["name"], json("web-" + hash));
    QCOMPARE(rs["spec"]["selector"]["matchLabels"]["pod-template-hash"], json(hash));
    QCOMPARE(rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"], json(hash));
    QCOMPARE(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"], json("1"));
    QCOMPARE(rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"], json("3"));
    QCOMPARE(rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"], json("4"));
    KD_TRY_VERIFY(hasEvent("ScalingReplicaSet", "Scaled up replica set web-" + hash + " to 3"));
    KD_TRY_COMPARE(
        get("web")["metadata"]["annotations"].value("deployment.kubernetes.io/revision", ""),
        std::string("1"));
    QVERIFY(condition(get("web"), "Progressing")["status"] == "True");

    markPodsReady();
    KD_TRY_VERIFY(rolledOut("web", "v1", 3));
    KD_TRY_COMPARE(condition(get("web"), "Progressing")["reason"], json("NewReplicaSetAvailable"));
    const json d = get("web");
    QCOMPARE(condition(d, "Progressing")["message"],
             json("ReplicaSet \"web-" + hash + "\" has successfully progressed."));
    QCOMPARE(condition(d, "Available")["reason"], json("MinimumReplicasAvailable"));
    QCOMPARE(condition(d, "Available")["message"], json("Deployment has minimum availability."));

    // Scaling event: the replica set follows, annotations too.
    patch(deploys, "web", {{"spec", {{"replicas", 5}}}});
    KD_TRY_COMPARE(list(pods).size(), size_t(5));
    KD_TRY_COMPARE(c().get(rss, "ns", "web-" + hash)["metadata"]["annotations"].value(
                       "deployment.kubernetes.io/desired-replicas", ""),
                   std::string("5"));
  }

  void rollingUpdateStaysWithinSurgeAndUnavailable_data() {
    QTest::addColumn<int>("replicas");
    QTest::addColumn<json>("surge");
    QTest::addColumn<json>("unavailable");
    QTest::newRow("defaults 25%, 4") << 4 << json("25%") << json("25%");
    QTest::newRow("surge 1 unavailable 0") << 3 << json(1) << json(0);
    QTest::newRow("surge 0 unavailable 1") << 3 << json(0) << json(1);
    QTest::newRow("50% of 6") << 6 << json("50%") << json("50%");
  }
  void rollingUpdateStaysWithinSurgeAndUnavailable() {
    QFETCH(int, replicas);
    QFETCH(json, surge);
    QFETCH(json, unavailable);
    const auto f = kd::controllers::resolveFenceposts(surge, unavailable, replicas);
    start();
    c().create(deploys, "ns",
               deployment("web", replicas, "v1", "RollingUpdate",
                          {{"maxSurge", surge}, {"maxUnavailable", unavailable}}));
    KD_TRY_VERIFY((markPodsReady(), rolledOut("web", "v1", replicas)));
    setImage("web", "v2");
    QElapsedTimer timer;
    timer.start();
    while (!rolledOut("web", "v2", replicas) && timer.elapsed() < 20000) {
      const auto all = list(pods);
      int ready = 0;
      std::map<std::string, int64_t> owned;
      for (const auto& p : all) {
        ready += kd::controllers::podReady(p) ? 1 : 0;
        if (const json* ref = kd::controllers::controllerRefOf(p)) ++owned[(*ref)["uid"]];
      }
      // Pods of a replica set just scaled down exist until its controller deletes them, so
      // the pod bound allows for them (as in Kubernetes); replica set sizes are bound strictly.
      int64_t specSum = 0, leaving = 0;
      for (const auto& rs : list(rss)) {
        const int64_t spec = rs["spec"].value("replicas", 0);
        specSum += spec;
        leaving += std::max<int64_t>(0, owned[rs["metadata"]["uid"]] - spec);
      }
      QVERIFY2(specSum <= replicas + f.maxSurge, "replica sets exceed replicas + maxSurge");
      QVERIFY2(int64_t(all.size()) - leaving <= replicas + f.maxSurge,
               "pods exceed replicas + maxSurge");
      QVERIFY2(ready >= replicas - f.maxUnavailable, "ready pods below replicas - maxUnavailable");
      markPodsReady();
      QTest::qWait(5);
    }
    if (!rolledOut("web", "v2", replicas)) {
      qWarning("deployment: %s", get("web").dump().c_str());
      for (const auto& rs : list(rss)) qWarning("rs: %s", rs.dump().c_str());
    }
    QVERIFY(rolledOut("web", "v2", replicas));
    QCOMPARE(replicaSetWithImage("v1")["spec"]["replicas"], json(0));
    QCOMPARE(
        replicaSetWithImage("v2")["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        json("2"));
  }

  void recreateScalesOldToZeroFirst() {
    start();
    auto created = c().objects().create(deploys, "ns", deployment("web", 3, "v1", "Recreate"), {});
    QVERIFY2(created.ok(), created.status().message().c_str());
    KD_TRY_VERIFY((markPodsReady(), rolledOut("web", "v1", 3)));
    setImage("web", "v2");
    QElapsedTimer timer;
    timer.start();
    while (!rolledOut("web", "v2", 3) && timer.elapsed() < 20000) {
      std::set<std::string> images;
      for (const auto& p : list(pods)) images.insert(imageOf(p));
      QVERIFY2(images.size() <= 1, "old and new pods run at the same time");
      markPodsReady();
      QTest::qWait(5);
    }
    QVERIFY(rolledOut("web", "v2", 3));
  }

  void revisionsFollowRollbacks() {
    start();
    c().create(deploys, "ns", deployment("web", 1, "v1"));
    KD_TRY_VERIFY((markPodsReady(), rolledOut("web", "v1", 1)));
    setImage("web", "v2");
    KD_TRY_VERIFY((markPodsReady(), rolledOut("web", "v2", 1)));
    // What `kubectl rollout undo` does: put the old template back.
    setImage("web", "v1");
    KD_TRY_VERIFY((markPodsReady(), rolledOut("web", "v1", 1)));
    QCOMPARE(list(rss).size(), size_t(2));
    const json v1 = replicaSetWithImage("v1");
    QCOMPARE(v1["metadata"]["annotations"]["deployment.kubernetes.io/revision"], json("3"));
    QCOMPARE(v1["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"], json("1"));
    KD_TRY_COMPARE(
        get("web")["metadata"]["annotations"].value("deployment.kubernetes.io/revision", ""),
        std::string("3"));
  }

  void historyLimitDeletesOldReplicaSets() {
    start();
    json d = deployment("web", 1, "v1");
    d["spec"]["revisionHistoryLimit"] = 1;
    c().create(deploys, "ns", d);
    for (const char* image : {"v1", "v2", "v3", "v4"}) {
      if (std::string(image) != "v1") setImage("web", image);
      KD_TRY_VERIFY((markPodsReady(), rolledOut("web", image, 1)));
    }
    KD_TRY_COMPARE(list(rss).size(), size_t(2));
    QVERIFY(!replicaSetWithImage("v4").is_null());
    QVERIFY(!replicaSetWithImage("v3").is_null());
  }

  void pauseStopsTheRollout() {
    start();
    c().create(deploys, "ns", deployment("web", 2, "v1"));
    KD_TRY_VERIFY((markPodsReady(), rolledOut("web", "v1", 2)));
    patch(deploys, "web", {{"spec", {{"paused", true}}}});
    KD_TRY_COMPARE(condition(get("web"), "Progressing")["reason"], json("DeploymentPaused"));
    setImage("web", "v2");
    KD_TRY_COMPARE(get("web")["status"].value("observedGeneration", 0),
                   get("web")["metadata"].value("generation", 0));
    QCOMPARE(list(rss).size(), size_t(1));
    patch(deploys, "web", {{"spec", {{"paused", false}}}});
    KD_TRY_VERIFY((markPodsReady(), rolledOut("web", "v2", 2)));
    QCOMPARE(list(rss).size(), size_t(2));
  }

  void progressDeadlineExceeded() {
    start();
    json d = deployment("web", 2, "v1");
    d["spec"]["progressDeadlineSeconds"] = 30;
    c().create(deploys, "ns", d);
    KD_TRY_COMPARE(list(pods).size(), size_t(2));
    // Wait until the last progress (all pods created) is recorded before time moves on.
    KD_TRY_VERIFY(get("web")["status"].value("updatedReplicas", 0) == 2 &&
                  get("web")["status"].value("replicas", 0) == 2 &&
                  condition(get("web"), "Progressing").contains("reason"));
    QCOMPARE(condition(get("web"), "Progressing")["status"], json("True"));
    QCOMPARE(condition(get("web"), "Available")["reason"], json("MinimumReplicasUnavailable"));
    clock.offsetSeconds = 31;  // nobody made the pods ready
    patch(deploys, "web", {{"metadata", {{"annotations", {{"poke", "1"}}}}}});
    KD_TRY_COMPARE(condition(get("web"), "Progressing")["reason"],
                   json("ProgressDeadlineExceeded"));
    const json cond = condition(get("web"), "Progressing");
    QCOMPARE(cond["status"], json("False"));
    const std::string rs = list(rss)[0]["metadata"]["name"];
    QCOMPARE(cond["message"], json("ReplicaSet \"" + rs + "\" has timed out progressing."));
  }
};

QTEST_GUILESS_MAIN(DeploymentControllerTest)
#include "deployment_controller_test.moc"

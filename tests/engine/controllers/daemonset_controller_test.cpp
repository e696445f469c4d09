#include "engine/controllers/daemonset_controller.h"

#include <QtTest>

#include "engine/controllers/controller_manager.h"
#include "tests/engine/controllers/test_cluster.h"
#include "tests/support/settle.h"

using kd::json;
using kd::controllers::ControllerManager;
using kd::controllers::DaemonSetController;
using kd::testing::TestCluster;

Q_DECLARE_METATYPE(kd::json)

class DaemonSetControllerTest : public QObject {
  Q_OBJECT

  std::unique_ptr<TestCluster> cluster;
  std::unique_ptr<ControllerManager> manager;
  const kd::api::KindInfo& pods = TestCluster::kind("pods");
  const kd::api::KindInfo& nodes = TestCluster::kind("nodes");
  const kd::api::KindInfo& daemonSets =
      *kd::api::KindsRegistry::builtin().byResource("apps", "v1", "daemonsets");
  const kd::api::KindInfo& revisions =
      *kd::api::KindsRegistry::builtin().byResource("apps", "v1", "controllerrevisions");

  void start() {
    manager = std::make_unique<ControllerManager>(cluster->objects());
    manager->add(std::make_unique<DaemonSetController>(cluster->objects()));
    QVERIFY(manager->start().isOk());
  }

  void node(const std::string& name, json labels = json::object(), json taints = json::array()) {
    json body = {{"metadata", {{"name", name}, {"labels", std::move(labels)}}},
                 {"spec", {{"taints", std::move(taints)}}}};
    QVERIFY(!cluster->create(nodes, "", body).is_null());
  }

  static json daemonSet(const std::string& image, json nodeSelector = json::object()) {
    json podSpec = {{"containers", {{{"name", "agent"}, {"image", image}}}}};
    if (!nodeSelector.empty()) podSpec["nodeSelector"] = std::move(nodeSelector);
    return {{"metadata", {{"name", "agent"}}},
            {"spec",
             {{"selector", {{"matchLabels", {{"app", "agent"}}}}},
              {"template", {{"metadata", {{"labels", {{"app", "agent"}}}}}, {"spec", podSpec}}}}}};
  }

  // Active pods of the DaemonSet by the node they are pinned to.
  std::map<std::string, json> podsByNode() {
    std::map<std::string, json> out;
    const auto listed = cluster->objects().list(pods, "default", {});
    for (const auto& item : listed->items) {
      json p = item->parse();
      if (p["metadata"].contains("deletionTimestamp")) continue;
      const json& field =
          p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
           ["nodeSelectorTerms"][0]["matchFields"][0];
      out[field["values"][0].get<std::string>()] = p;
    }
    return out;
  }

  std::vector<std::string> nodeNames() {
    std::vector<std::string> out;
    for (const auto& [n, p] : podsByNode()) out.push_back(n);
    return out;
  }

  void makeReady(const json& pod) {
    json p = pod;
    p["status"] = {{"phase", "Running"}, {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}};
    kd::server::WriteOptions options;
    options.subresource = "status";
    cluster->objects().update(pods, "default", p["metadata"]["name"].get<std::string>(), p,
                              options);
  }

  json dsStatus() { return cluster->get(daemonSets, "default", "agent")["status"]; }

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

  void shouldRun_data() {
    QTest::addColumn<json>("podSpec");
    QTest::addColumn<json>("node");
    QTest::addColumn<bool>("expected");
    QTest::addColumn<bool>("mayStay");
    const json plain = {{"containers", json::array()}};
    QTest::newRow("plain node") << plain << json{{"metadata", {{"name", "n"}}}} << true << true;
    QTest::newRow("not-ready taint is tolerated")
        << plain
        << json{{"metadata", {{"name", "n"}}},
                {"spec",
                 {{"taints",
                   {{{"key", "node.kubernetes.io/not-ready"}, {"effect", "NoExecute"}}}}}}}
        << true << true;
    QTest::newRow("custom NoSchedule taint keeps it off")
        << plain
        << json{{"metadata", {{"name", "n"}}},
                {"spec",
                 {{"taints",
                   {{{"key", "dedicated"}, {"value", "gpu"}, {"effect", "NoSchedule"}}}}}}}
        << false << true;
    QTest::newRow("PreferNoSchedule is only a preference")
        << plain
        << json{{"metadata", {{"name", "n"}}},
                {"spec", {{"taints", {{{"key", "dedicated"}, {"effect", "PreferNoSchedule"}}}}}}}
        << true << true;
    QTest::newRow("custom NoExecute taint evicts too")
        << plain
        << json{{"metadata", {{"name", "n"}}},
                {"spec", {{"taints", {{{"key", "dedicated"}, {"effect", "NoExecute"}}}}}}}
        << false << false;
    json tolerant = plain;
    tolerant["tolerations"] = {{{"key", "dedicated"}, {"operator", "Exists"}}};
    QTest::newRow("tolerated custom taint")
        << tolerant
        << json{{"metadata", {{"name", "n"}}},
                {"spec", {{"taints", {{{"key", "dedicated"}, {"effect", "NoSchedule"}}}}}}}
        << true << true;
    json selective = plain;
    selective["nodeSelector"] = {{"disk", "ssd"}};
    QTest::newRow("nodeSelector mismatch")
        << selective << json{{"metadata", {{"name", "n"}, {"labels", {{"disk", "hdd"}}}}}} << false
        << false;
    QTest::newRow("nodeSelector match")
        << selective << json{{"metadata", {{"name", "n"}, {"labels", {{"disk", "ssd"}}}}}} << true
        << true;
    json affine = plain;
    affine["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = {
        {"nodeSelectorTerms",
         {{{"matchExpressions", {{{"key", "zone"}, {"operator", "NotIn"}, {"values", {"b"}}}}}}}}};
    QTest::newRow("affinity NotIn excludes")
        << affine << json{{"metadata", {{"name", "n"}, {"labels", {{"zone", "b"}}}}}} << false
        << false;
    QTest::newRow("affinity NotIn admits")
        << affine << json{{"metadata", {{"name", "n"}, {"labels", {{"zone", "a"}}}}}} << true
        << true;
  }

  void shouldRun() {
    QFETCH(json, podSpec);
    QFETCH(json, node);
    QFETCH(bool, expected);
    QFETCH(bool, mayStay);
    const auto placement = kd::controllers::daemonPlacement({{"spec", podSpec}}, node);
    QCOMPARE(placement.shouldRun, expected);
    QCOMPARE(placement.shouldContinueRunning, mayStay);
  }

  void onePodPerEligibleNodeFollowingNodes() {
    node("n1");
    node("n2");
    node("tainted", json::object(), {{{"key", "dedicated"}, {"effect", "NoSchedule"}}});
    QVERIFY(!cluster->create(daemonSets, "default", daemonSet("busybox:1")).is_null());
    start();
    KD_TRY_COMPARE(nodeNames(), (std::vector<std::string>{"n1", "n2"}));
    const json pod = podsByNode()["n1"];
    QCOMPARE(pod["metadata"]["ownerReferences"][0]["kind"], "DaemonSet");
    QVERIFY(pod["metadata"]["labels"].contains("controller-revision-hash"));
    QCOMPARE(pod["metadata"]["labels"]["pod-template-generation"], "1");
    bool toleratesNotReady = false;
    for (const auto& t : pod["spec"]["tolerations"]) {
      toleratesNotReady |= t["key"] == "node.kubernetes.io/not-ready";
    }
    QVERIFY(toleratesNotReady);

    node("n3");
    KD_TRY_COMPARE(nodeNames(), (std::vector<std::string>{"n1", "n2", "n3"}));
    KD_TRY_COMPARE(dsStatus().value("desiredNumberScheduled", 0), 3);
    QCOMPARE(dsStatus().value("numberReady", -1), 0);
    for (const auto& [n, p] : podsByNode()) makeReady(p);
    KD_TRY_COMPARE(dsStatus().value("numberAvailable", 0), 3);
    QVERIFY(!dsStatus().contains("numberUnavailable"));

    // Tainting a node removes its daemon pod.
    json n2 = cluster->get(nodes, "", "n2");
    n2["spec"]["taints"] = {{{"key", "dedicated"}, {"effect", "NoExecute"}}};
    QVERIFY(cluster->objects().update(nodes, "", "n2", n2, {}).ok());
    KD_TRY_COMPARE(nodeNames(), (std::vector<std::string>{"n1", "n3"}));
    KD_TRY_COMPARE(dsStatus().value("desiredNumberScheduled", 0), 2);
  }

  void nodeSelectorFollowsLabels() {
    node("n1", {{"disk", "ssd"}});
    node("n2", {{"disk", "hdd"}});
    QVERIFY(!cluster->create(daemonSets, "default", daemonSet("busybox:1", {{"disk", "ssd"}}))
                 .is_null());
    start();
    KD_TRY_COMPARE(nodeNames(), std::vector<std::string>{"n1"});
    json n2 = cluster->get(nodes, "", "n2");
    n2["metadata"]["labels"]["disk"] = "ssd";
    QVERIFY(cluster->objects().update(nodes, "", "n2", n2, {}).ok());
    KD_TRY_COMPARE(nodeNames(), (std::vector<std::string>{"n1", "n2"}));
  }

  void rollingUpdateReplacesOneNodeAtATime() {
    for (const char* n : {"n1", "n2", "n3"}) node(n);
    QVERIFY(!cluster->create(daemonSets, "default", daemonSet("busybox:1")).is_null());
    start();
    KD_TRY_COMPARE(podsByNode().size(), 3u);
    for (const auto& [n, p] : podsByNode()) makeReady(p);
    KD_TRY_COMPARE(dsStatus().value("numberAvailable", 0), 3);

    json ds = cluster->get(daemonSets, "default", "agent");
    ds["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:2";
    QVERIFY(cluster->objects().update(daemonSets, "default", "agent", ds, {}).ok());

    // Never more than maxUnavailable (1) node without an available pod; every node ends on v2.
    // The bound is generous: on a loaded machine the three steps once took more than 15 s.
    QElapsedTimer timer;
    timer.start();
    int maxDown = 0;
    while (timer.elapsed() < 60000) {
      auto byNode = podsByNode();
      int ready = 0, updated = 0;
      for (const auto& [n, p] : byNode) {
        const bool isReady = p.contains("status") && p["status"].contains("conditions");
        ready += isReady ? 1 : 0;
        updated += p["spec"]["containers"][0]["image"] == "busybox:2" ? 1 : 0;
        if (!isReady) makeReady(p);
      }
      maxDown = std::max(maxDown, 3 - ready);
      if (updated == 3 && ready == 3) break;
      QTest::qWait(20);
    }
    QVERIFY(maxDown <= 1);
    for (const auto& [n, p] : podsByNode()) {
      QCOMPARE(p["spec"]["containers"][0]["image"], "busybox:2");
    }
    KD_TRY_COMPARE(dsStatus().value("updatedNumberScheduled", 0), 3);
    auto revs = cluster->objects().list(revisions, "default", {});
    QCOMPARE(revs->items.size(), 2u);
    std::set<int64_t> numbers;
    for (const auto& r : revs->items) numbers.insert(r->parse()["revision"].get<int64_t>());
    QCOMPARE(numbers, (std::set<int64_t>{1, 2}));
  }
};

QTEST_GUILESS_MAIN(DaemonSetControllerTest)
#include "daemonset_controller_test.moc"

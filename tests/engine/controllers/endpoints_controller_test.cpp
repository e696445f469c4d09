#include "engine/controllers/endpoints_controller.h"

#include <QtTest>

#include "engine/controllers/controller_manager.h"
#include "tests/engine/controllers/test_cluster.h"
#include "tests/support/settle.h"

using kd::json;
using kd::controllers::ControllerManager;
using kd::controllers::EndpointsController;
using kd::testing::TestCluster;

class EndpointsControllerTest : public QObject {
  Q_OBJECT

  std::unique_ptr<TestCluster> cluster;
  std::unique_ptr<ControllerManager> manager;
  const kd::api::KindInfo& pods = TestCluster::kind("pods");
  const kd::api::KindInfo& services = TestCluster::kind("services");
  const kd::api::KindInfo& endpoints = TestCluster::kind("endpoints");
  const kd::api::KindInfo& slices =
      *kd::api::KindsRegistry::builtin().byResource("discovery.k8s.io", "v1", "endpointslices");

  void start(int perSlice = 100) {
    manager = std::make_unique<ControllerManager>(cluster->objects());
    manager->add(std::make_unique<EndpointsController>(cluster->objects(), perSlice));
    QVERIFY(manager->start().isOk());
  }

  json service(const std::string& name, json selector, json ports) {
    json spec = {{"ports", std::move(ports)}};
    if (!selector.is_null()) spec["selector"] = std::move(selector);
    return cluster->create(
        services, "default",
        {{"metadata", {{"name", name}, {"labels", {{"team", "a"}}}}}, {"spec", std::move(spec)}});
  }

  // A pod as a kubelet leaves it: optionally with an IP, Ready or not.
  void pod(const std::string& name, json labels, const std::string& ip, bool ready) {
    json body = {{"metadata", {{"name", name}, {"labels", std::move(labels)}}},
                 {"spec",
                  {{"nodeName", "n1"},
                   {"containers",
                    {{{"name", "c"},
                      {"image", "busybox"},
                      {"ports", {{{"name", "http"}, {"containerPort", 8080}}}}}}}}}};
    QVERIFY(!cluster->create(pods, "default", body).is_null());
    setStatus(name, ip, ready);
  }

  void setStatus(const std::string& name, const std::string& ip, bool ready) {
    json p = cluster->get(pods, "default", name);
    p["status"] = {{"phase", "Running"},
                   {"conditions", {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}};
    if (!ip.empty()) p["status"]["podIP"] = ip;
    kd::server::WriteOptions options;
    options.subresource = "status";
    QVERIFY(cluster->objects().update(pods, "default", name, p, options).ok());
  }

  std::vector<json> slicesOf(const std::string& svc) {
    std::vector<json> out;
    const auto listed = cluster->objects().list(slices, "default", {});
    for (const auto& item : listed->items) {
      json s = item->parse();
      if (s["metadata"]["labels"].value(kd::controllers::kServiceNameLabel, "") == svc) {
        out.push_back(std::move(s));
      }
    }
    return out;
  }

  static std::vector<std::string> ips(const json& addresses) {
    std::vector<std::string> out;
    for (const auto& a : addresses) out.push_back(a["ip"]);
    return out;
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

  void readyAndNotReadyPodsWithNamedTargetPort() {
    pod("a", {{"app", "web"}}, "10.244.0.2", true);
    pod("b", {{"app", "web"}}, "10.244.0.3", false);
    pod("no-ip", {{"app", "web"}}, "", false);
    pod("other", {{"app", "db"}}, "10.244.0.9", true);
    service("web", {{"app", "web"}}, {{{"name", "http"}, {"port", 80}, {"targetPort", "http"}}});
    start();

    KD_TRY_VERIFY(cluster->exists(endpoints, "default", "web"));
    json ep = cluster->get(endpoints, "default", "web");
    QCOMPARE(ep["metadata"]["labels"]["team"], "a");
    QCOMPARE(ep["subsets"].size(), 1u);
    const json& subset = ep["subsets"][0];
    QCOMPARE(ips(subset["addresses"]), std::vector<std::string>{"10.244.0.2"});
    QCOMPARE(ips(subset["notReadyAddresses"]), std::vector<std::string>{"10.244.0.3"});
    QCOMPARE(subset["addresses"][0]["targetRef"]["name"], "a");
    QCOMPARE(subset["addresses"][0]["nodeName"], "n1");
    const json wantPorts = {{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}}};
    QCOMPARE(subset["ports"], wantPorts);

    KD_TRY_COMPARE(slicesOf("web").size(), 1u);
    json slice = slicesOf("web")[0];
    QCOMPARE(slice["addressType"], "IPv4");
    QCOMPARE(slice["endpoints"].size(), 2u);
    QCOMPARE(slice["endpoints"][0]["conditions"]["ready"], true);
    QCOMPARE(slice["endpoints"][1]["conditions"]["ready"], false);
    QCOMPARE(slice["metadata"]["ownerReferences"][0]["name"], "web");
    QCOMPARE(slice["metadata"]["labels"][kd::controllers::kSliceManagedByLabel],
             kd::controllers::kSliceManagedBy);

    // A pod turning Ready moves to addresses.
    setStatus("b", "10.244.0.3", true);
    KD_TRY_COMPARE(cluster->get(endpoints, "default", "web")["subsets"][0]["addresses"].size(), 2u);
    QVERIFY(!cluster->get(endpoints, "default", "web")["subsets"][0].contains("notReadyAddresses"));
  }

  void terminatingPodLeavesEndpointsButStaysInSlice() {
    QVERIFY(!cluster->create(TestCluster::kind("nodes"), "", {{"metadata", {{"name", "n1"}}}})
                 .is_null());
    pod("a", {{"app", "web"}}, "10.244.0.2", true);
    pod("b", {{"app", "web"}}, "10.244.0.3", true);
    service("web", {{"app", "web"}}, {{{"port", 80}}});
    start();
    KD_TRY_COMPARE(cluster->get(endpoints, "default", "web")["subsets"][0]["addresses"].size(), 2u);
    kd::server::DeleteOptions grace;
    grace.gracePeriodSeconds = 30;
    QVERIFY(cluster->objects().remove(pods, "default", "b", grace).ok());
    QVERIFY(cluster->exists(pods, "default", "b"));  // bound: waits for its kubelet

    KD_TRY_COMPARE(cluster->get(endpoints, "default", "web")["subsets"][0]["addresses"].size(), 1u);
    QCOMPARE(cluster->get(endpoints, "default", "web")["subsets"][0]["ports"][0]["port"], 80);
    KD_TRY_VERIFY(slicesOf("web")[0]["endpoints"][1]["conditions"]["terminating"] == true);
    const json cond = slicesOf("web")[0]["endpoints"][1]["conditions"];
    QCOMPARE(cond["ready"], false);
    QCOMPARE(cond["serving"], true);
  }

  void serviceWithoutSelectorKeepsItsEndpoints() {
    service("external", nullptr, {{{"port", 5432}}});
    json manual = {
        {"metadata", {{"name", "external"}}},
        {"subsets", {{{"addresses", {{{"ip", "192.0.2.10"}}}}, {"ports", {{{"port", 5432}}}}}}}};
    QVERIFY(!cluster->create(endpoints, "default", manual).is_null());
    pod("a", {{"app", "web"}}, "10.244.0.2", true);
    start();
    QTest::qWait(300);
    QCOMPARE(ips(cluster->get(endpoints, "default", "external")["subsets"][0]["addresses"]),
             std::vector<std::string>{"192.0.2.10"});
    QVERIFY(slicesOf("external").empty());
  }

  void slicesSplitAndShrinkAndServiceDeletionRemovesEndpoints() {
    for (int i = 0; i < 5; ++i) {
      pod("p" + std::to_string(i), {{"app", "web"}}, "10.244.1." + std::to_string(i + 2), true);
    }
    service("web", {{"app", "web"}}, {{{"port", 80}}});
    start(2);
    KD_TRY_COMPARE(slicesOf("web").size(), 3u);
    size_t total = 0;
    for (const auto& s : slicesOf("web")) total += s["endpoints"].size();
    QCOMPARE(total, 5u);

    for (int i = 1; i < 5; ++i) {  // no Node n1: the pods go at once
      QVERIFY(cluster->objects().remove(pods, "default", "p" + std::to_string(i), {}).ok());
    }
    KD_TRY_COMPARE(slicesOf("web").size(), 1u);
    KD_TRY_COMPARE(slicesOf("web")[0]["endpoints"].size(), 1u);

    QVERIFY(cluster->objects().remove(services, "default", "web", {}).ok());
    KD_TRY_VERIFY(!cluster->exists(endpoints, "default", "web"));
  }

  // Pods changing while the controller syncs: each sync reads pods the informer may replace
  // at the same moment (a sync that kept only pointers into the cache read freed pods and
  // crashed the engine). The endpoints must still end on the pods' last state.
  void podsChangingDuringSyncsEndOnTheirLastState() {
    constexpr int kPods = 40;
    for (int i = 0; i < kPods; ++i) {
      pod("p" + std::to_string(i), {{"app", "web"}}, "10.244.2." + std::to_string(i + 2), true);
    }
    service("web", {{"app", "web"}}, {{{"port", 80}}});
    start();
    KD_TRY_VERIFY(cluster->exists(endpoints, "default", "web"));
    for (int round = 0; round < 20; ++round) {
      for (int i = 0; i < kPods; ++i) {
        setStatus("p" + std::to_string(i), "10.244.2." + std::to_string(i + 2), round % 2 == 1);
      }
    }
    // Round 19 left every pod Ready.
    KD_TRY_COMPARE(cluster->get(endpoints, "default", "web")["subsets"][0]["addresses"].size(),
                   size_t(kPods));
    QVERIFY(!cluster->get(endpoints, "default", "web")["subsets"][0].contains("notReadyAddresses"));
  }

  void emptyServiceHasEmptyEndpointsAndPlaceholderSlice() {
    service("lonely", {{"app", "none"}}, {{{"port", 80}}});
    start();
    KD_TRY_VERIFY(cluster->exists(endpoints, "default", "lonely"));
    QVERIFY(!cluster->get(endpoints, "default", "lonely").contains("subsets"));
    KD_TRY_COMPARE(slicesOf("lonely").size(), 1u);
    QCOMPARE(slicesOf("lonely")[0]["endpoints"], json::array());
  }
};

QTEST_GUILESS_MAIN(EndpointsControllerTest)
#include "endpoints_controller_test.moc"

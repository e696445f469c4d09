#include "engine/controllers/node_lifecycle_controller.h"

#include <QtTest>
#include <atomic>

#include "engine/controllers/controller_manager.h"
#include "tests/engine/controllers/test_cluster.h"
#include "tests/support/settle.h"

using kd::json;
using kd::controllers::ControllerManager;
using kd::controllers::NodeLifecycleController;
using kd::controllers::NodeLifecycleOptions;
using kd::server::formatTime;
using kd::testing::TestCluster;
using namespace std::chrono_literals;

namespace {

const auto& nodes() {
  return TestCluster::kind("nodes");
}
const auto& pods() {
  return TestCluster::kind("pods");
}
const auto& leases() {
  return TestCluster::kind("leases", "coordination.k8s.io");
}

// A wall clock the test moves by hand.
struct FakeClock {
  std::atomic<int64_t> seconds{1'800'000'000};
  std::chrono::system_clock::time_point now() const {
    return std::chrono::system_clock::time_point(std::chrono::seconds(seconds.load()));
  }
  void advance(std::chrono::seconds s) { seconds += s.count(); }
};

void registerNode(TestCluster& c, const std::string& name, const FakeClock& clock) {
  for (const char* ns : {"default", "kube-node-lease"}) {
    if (!c.exists(TestCluster::kind("namespaces"), "", ns)) c.createNamespace(ns);
  }
  c.create(nodes(), "", {{"metadata", {{"name", name}}}});
  json node = c.get(nodes(), "", name);
  const std::string at = formatTime(clock.now());
  node["status"]["conditions"] = {{{"type", "Ready"},
                                   {"status", "True"},
                                   {"reason", "KubeletReady"},
                                   {"lastHeartbeatTime", at},
                                   {"lastTransitionTime", at}},
                                  {{"type", "MemoryPressure"},
                                   {"status", "False"},
                                   {"lastHeartbeatTime", at},
                                   {"lastTransitionTime", at}}};
  kd::server::WriteOptions o;
  o.subresource = "status";
  QVERIFY(c.objects().update(nodes(), "", name, node, o).ok());
  c.create(leases(), "kube-node-lease",
           {{"metadata", {{"name", name}}},
            {"spec", {{"holderIdentity", name}, {"renewTime", at}, {"leaseDurationSeconds", 40}}}});
}

void renew(TestCluster& c, const std::string& name, const FakeClock& clock) {
  json lease = c.get(leases(), "kube-node-lease", name);
  lease["spec"]["renewTime"] = formatTime(clock.now());
  QVERIFY(c.objects().update(leases(), "kube-node-lease", name, lease, {}).ok());
}

json condition(const json& node, const std::string& type) {
  for (const auto& cond : node["status"].value("conditions", json::array())) {
    if (cond["type"] == type) return cond;
  }
  return nullptr;
}

std::vector<std::string> taintKeys(const json& node, const std::string& effect) {
  std::vector<std::string> keys;
  for (const auto& t : node.value("spec", json::object()).value("taints", json::array())) {
    if (t["effect"] == effect) keys.push_back(t["key"]);
  }
  return keys;
}

json podOn(const std::string& name, const std::string& node, json tolerations) {
  return {{"metadata", {{"name", name}}},
          {"spec",
           {{"nodeName", node},
            {"tolerations", std::move(tolerations)},
            {"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
}

json tolerateUnreachable(int seconds) {
  json t = {
      {"key", "node.kubernetes.io/unreachable"}, {"operator", "Exists"}, {"effect", "NoExecute"}};
  if (seconds >= 0) t["tolerationSeconds"] = seconds;
  return t;
}

}  // namespace

class NodeLifecycleControllerTest : public QObject {
  Q_OBJECT

 private slots:
  void silentNodeBecomesUnknownAndTainted() {
    TestCluster c;
    FakeClock clock;
    registerNode(c, "n1", clock);
    NodeLifecycleOptions o;
    o.clock = [&clock] { return clock.now(); };
    NodeLifecycleController controller(c.objects(), o);

    clock.advance(30s);  // within the 40 s grace period
    QVERIFY(controller.sync("n1").isOk());
    QCOMPARE(condition(c.get(nodes(), "", "n1"), "Ready")["status"], json("True"));
    QVERIFY(taintKeys(c.get(nodes(), "", "n1"), "NoExecute").empty());

    clock.advance(11s);
    QVERIFY(controller.sync("n1").isOk());
    const json node = c.get(nodes(), "", "n1");
    const json ready = condition(node, "Ready");
    QCOMPARE(ready["status"], json("Unknown"));
    QCOMPARE(ready["reason"], json("NodeStatusUnknown"));
    QCOMPARE(ready["message"], json("Kubelet stopped posting node status."));
    QCOMPARE(condition(node, "MemoryPressure")["status"], json("Unknown"));
    QCOMPARE(taintKeys(node, "NoExecute"),
             std::vector<std::string>{"node.kubernetes.io/unreachable"});
    QCOMPARE(taintKeys(node, "NoSchedule"),
             std::vector<std::string>{"node.kubernetes.io/unreachable"});
  }

  void leaseRenewalsKeepTheNodeReady() {
    TestCluster c;
    FakeClock clock;
    registerNode(c, "n1", clock);
    NodeLifecycleOptions o;
    o.clock = [&clock] { return clock.now(); };
    NodeLifecycleController controller(c.objects(), o);
    for (int i = 0; i < 10; ++i) {
      clock.advance(10s);
      renew(c, "n1", clock);
      QVERIFY(controller.sync("n1").isOk());
    }
    QCOMPARE(condition(c.get(nodes(), "", "n1"), "Ready")["status"], json("True"));
    QVERIFY(taintKeys(c.get(nodes(), "", "n1"), "NoExecute").empty());
    QVERIFY(taintKeys(c.get(nodes(), "", "n1"), "NoSchedule").empty());
  }

  void notReadyNodeGetsTheNotReadyTaintAndLosesItWhenReady() {
    TestCluster c;
    FakeClock clock;
    registerNode(c, "n1", clock);
    NodeLifecycleOptions o;
    o.clock = [&clock] { return clock.now(); };
    NodeLifecycleController controller(c.objects(), o);
    auto setReady = [&](const char* status) {
      json node = c.get(nodes(), "", "n1");
      for (auto& cond : node["status"]["conditions"]) {
        if (cond["type"] == "Ready") cond["status"] = status;
      }
      kd::server::WriteOptions w;
      w.subresource = "status";
      QVERIFY(c.objects().update(nodes(), "", "n1", node, w).ok());
    };
    setReady("False");
    QVERIFY(controller.sync("n1").isOk());
    QCOMPARE(taintKeys(c.get(nodes(), "", "n1"), "NoExecute"),
             std::vector<std::string>{"node.kubernetes.io/not-ready"});
    setReady("True");
    QVERIFY(controller.sync("n1").isOk());
    QVERIFY(taintKeys(c.get(nodes(), "", "n1"), "NoExecute").empty());
  }

  void podsAreEvictedAfterTheirTolerationSeconds() {
    TestCluster c;
    FakeClock clock;
    registerNode(c, "n1", clock);
    c.create(pods(), "default", podOn("intolerant", "n1", {tolerateUnreachable(0)}));
    // No tolerations: the API gives it Kubernetes' default 300 s for not-ready/unreachable.
    c.create(pods(), "default", podOn("patient", "n1", json::array()));
    QCOMPARE(c.get(pods(), "default", "patient")["spec"]["tolerations"],
             json({{{"key", "node.kubernetes.io/not-ready"},
                    {"operator", "Exists"},
                    {"effect", "NoExecute"},
                    {"tolerationSeconds", 300}},
                   {{"key", "node.kubernetes.io/unreachable"},
                    {"operator", "Exists"},
                    {"effect", "NoExecute"},
                    {"tolerationSeconds", 300}}}));
    c.create(pods(), "default", podOn("forever", "n1", {tolerateUnreachable(-1)}));
    NodeLifecycleOptions o;
    o.clock = [&clock] { return clock.now(); };
    o.monitorPeriod = 100ms;
    NodeLifecycleController* controller = nullptr;
    ControllerManager manager(c.objects());
    {
      auto owned = std::make_unique<NodeLifecycleController>(c.objects(), o);
      controller = owned.get();
      manager.add(std::move(owned));
    }
    QVERIFY(manager.start().isOk());
    auto gone = [&](const char* name) {
      const json p = c.get(pods(), "default", name);
      return p.is_null() || p["metadata"].contains("deletionTimestamp");
    };

    clock.advance(41s);
    KD_TRY_VERIFY(gone("intolerant"));
    QVERIFY(!gone("patient"));
    clock.advance(299s);
    QVERIFY(controller->sync("n1").isOk());
    QVERIFY(!gone("patient"));
    clock.advance(2s);
    KD_TRY_VERIFY(gone("patient"));
    QVERIFY(!gone("forever"));
  }
};

QTEST_GUILESS_MAIN(NodeLifecycleControllerTest)
#include "node_lifecycle_controller_test.moc"

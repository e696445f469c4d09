#include "vm/simulated/simulated_nodes.h"

#include <QtTest>

#include "engine/controllers/controller_manager.h"
#include "engine/scheduler/scheduler.h"
#include "tests/engine/controllers/test_cluster.h"
#include "tests/support/settle.h"
#include "vm/simulated/simulated_kubelet.h"

using kd::json;
using kd::controllers::ControllerManager;
using kd::testing::TestCluster;
using kd::vm::SimulatedKubelet;
using kd::vm::SimulatedNodes;
using kd::vm::SimulatedNodesOptions;
using namespace std::chrono_literals;

namespace {

const auto& pods() {
  return TestCluster::kind("pods");
}

// A cluster with a scheduler and `count` simulated nodes named t-m01...
struct SimCluster {
  explicit SimCluster(int count) : manager(c.objects()) {
    c.createNamespace("default");
    c.createNamespace("kube-node-lease");
    manager.add(std::make_unique<kd::scheduler::Scheduler>(c.objects()));
    ok = manager.start().isOk();
    SimulatedNodesOptions o;
    o.count = count;
    o.namePrefix = "t";
    o.jobPodDuration = 300ms;
    nodes = std::make_unique<SimulatedNodes>(c.objects(), o);
    ok = ok && nodes->start().isOk();
  }
  json pod(const std::string& name) { return c.get(pods(), "default", name); }
  std::string phase(const std::string& name) { return pod(name)["status"].value("phase", ""); }

  TestCluster c;
  ControllerManager manager;
  std::unique_ptr<SimulatedNodes> nodes;
  bool ok = false;
};

json bare(const std::string& name, json meta = json::object(), json spec = json::object()) {
  json p = {{"metadata", {{"name", name}}},
            {"spec", {{"containers", {{{"name", "main"}, {"image", "busybox"}}}}}}};
  p["metadata"].merge_patch(meta);
  p["spec"].merge_patch(spec);
  return p;
}

json jobPod(const std::string& name, const std::string& exitCode = "") {
  json meta = {{"ownerReferences",
                {{{"apiVersion", "batch/v1"},
                  {"kind", "Job"},
                  {"name", "j"},
                  {"uid", "00000000-0000-0000-0000-00000000000a"},
                  {"controller", true}}}}};
  if (!exitCode.empty()) meta["annotations"] = {{"kubedesk.io/simulated-exit-code", exitCode}};
  return bare(name, meta, {{"restartPolicy", "Never"}});
}

json condition(const json& pod, const std::string& type) {
  for (const auto& c : pod["status"].value("conditions", json::array())) {
    if (c["type"] == type) return c;
  }
  return nullptr;
}

}  // namespace

class SimulatedNodesTest : public QObject {
  Q_OBJECT

 private slots:
  void registersReadyNodesWithLeases() {
    SimCluster s(3);
    QVERIFY(s.ok);
    QCOMPARE(s.nodes->nodeNames(), (std::vector<std::string>{"t-m01", "t-m02", "t-m03"}));
    const json node = s.c.get(TestCluster::kind("nodes"), "", "t-m02");
    QCOMPARE(node["metadata"]["labels"]["kubernetes.io/hostname"], json("t-m02"));
    QCOMPARE(node["metadata"]["labels"]["kubernetes.io/os"], json("linux"));
    QCOMPARE(node["metadata"]["labels"]["node.kubernetes.io/instance-type"], json("simulated"));
    QCOMPARE(node["spec"]["podCIDR"], json("10.244.2.0/24"));
    QCOMPARE(node["status"]["capacity"]["cpu"], json("4"));
    QCOMPARE(node["status"]["allocatable"]["memory"], json("8Gi"));
    QCOMPARE(node["status"]["allocatable"]["pods"], json("110"));
    QCOMPARE(condition(node, "Ready")["status"], json("True"));
    QCOMPARE(node["status"]["addresses"][0]["address"], json("10.244.2.1"));
    QVERIFY(
        s.c.exists(TestCluster::kind("leases", "coordination.k8s.io"), "kube-node-lease", "t-m03"));
    const json first = s.c.get(TestCluster::kind("nodes"), "", "t-m01");
    QVERIFY(first["metadata"]["labels"].contains("node-role.kubernetes.io/control-plane"));
  }

  void boundPodRuns() {
    SimCluster s(2);
    QVERIFY(s.ok);
    s.c.create(pods(), "default", bare("web"));
    KD_TRY_COMPARE(s.phase("web"), std::string("Running"));
    const json p = s.pod("web");
    const std::string node = p["spec"]["nodeName"];
    const std::string index = node.substr(node.size() - 1);  // t-m01 -> 1
    const std::string ip = p["status"]["podIP"];
    QVERIFY2(ip.rfind("10.244." + index + ".", 0) == 0, ip.c_str());
    QCOMPARE(p["status"]["hostIP"], json("10.244." + index + ".1"));
    for (const char* type : {"PodScheduled", "Initialized", "ContainersReady", "Ready"}) {
      QCOMPARE(condition(p, type)["status"], json("True"));
    }
    const json& cs = p["status"]["containerStatuses"][0];
    QCOMPARE(cs["name"], json("main"));
    QCOMPARE(cs["ready"], json(true));
    QCOMPARE(cs["started"], json(true));
    QVERIFY(cs["state"]["running"].contains("startedAt"));
  }

  void podsGetDistinctIps() {
    SimCluster s(1);
    QVERIFY(s.ok);
    for (const char* name : {"a", "b", "c"}) s.c.create(pods(), "default", bare(name));
    KD_TRY_VERIFY(s.phase("a") == "Running" && s.phase("b") == "Running" &&
                  s.phase("c") == "Running");
    std::set<std::string> ips;
    for (const char* name : {"a", "b", "c"}) ips.insert(s.pod(name)["status"]["podIP"]);
    QCOMPARE(ips.size(), size_t(3));
  }

  void jobPodsFinish_data() {
    QTest::addColumn<QString>("exitCode");
    QTest::addColumn<QString>("phase");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("reason");
    QTest::newRow("success") << ""
                             << "Succeeded" << 0 << "Completed";
    QTest::newRow("failure") << "1"
                             << "Failed" << 1 << "Error";
  }
  void jobPodsFinish() {
    QFETCH(QString, exitCode);
    QFETCH(QString, phase);
    QFETCH(int, code);
    QFETCH(QString, reason);
    SimCluster s(1);
    QVERIFY(s.ok);
    s.c.create(pods(), "default", jobPod("worker", exitCode.toStdString()));
    KD_TRY_COMPARE(s.phase("worker"), std::string("Running"));
    KD_TRY_COMPARE(s.phase("worker"), phase.toStdString());
    const json p = s.pod("worker");
    const json& terminated = p["status"]["containerStatuses"][0]["state"]["terminated"];
    QCOMPARE(terminated["exitCode"], json(code));
    QCOMPARE(terminated["reason"], json(reason.toStdString()));
    QCOMPARE(condition(p, "Ready")["status"], json("False"));
  }

  void annotatedPodsRestartUnderAlways() {
    SimCluster s(1);
    QVERIFY(s.ok);
    s.c.create(pods(), "default",
               bare("flaky", {{"annotations",
                               {{"kubedesk.io/simulated-duration", "200ms"},
                                {"kubedesk.io/simulated-exit-code", "2"}}}}));
    KD_TRY_VERIFY(s.pod("flaky")["status"].value("containerStatuses", json::array()).size() == 1 &&
                  s.pod("flaky")["status"]["containerStatuses"][0].value("restartCount", 0) >= 1);
    const json p = s.pod("flaky");
    QCOMPARE(p["status"]["phase"], json("Running"));
    QCOMPARE(p["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"], json(2));
  }

  void readinessWaitsForTheAnnotation() {
    SimCluster s(1);
    QVERIFY(s.ok);
    s.c.create(pods(), "default",
               bare("slow", {{"annotations", {{"kubedesk.io/simulated-ready-after", "1s"}}}}));
    KD_TRY_COMPARE(s.phase("slow"), std::string("Running"));
    QCOMPARE(condition(s.pod("slow"), "Ready")["status"], json("False"));
    KD_TRY_COMPARE(condition(s.pod("slow"), "Ready")["status"], json("True"));
  }

  void deletedPodsAreFinalized() {
    SimCluster s(1);
    QVERIFY(s.ok);
    s.c.create(pods(), "default", bare("doomed"));
    KD_TRY_COMPARE(s.phase("doomed"), std::string("Running"));
    auto r = s.c.objects().remove(pods(), "default", "doomed", {});
    QVERIFY(r.ok());
    QVERIFY(!r->deletedNow);  // graceful: the node has to finish it
    KD_TRY_VERIFY(!s.c.exists(pods(), "default", "doomed"));
  }

  void parsesDurations_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("millis");  // -1: malformed
    QTest::newRow("seconds") << "3s" << 3000;
    QTest::newRow("millis") << "500ms" << 500;
    QTest::newRow("compound") << "1m30s" << 90000;
    QTest::newRow("fraction") << "1.5s" << 1500;
    QTest::newRow("hours") << "1h" << 3600000;
    QTest::newRow("no unit") << "3" << -1;
    QTest::newRow("bad unit") << "3d" << -1;
    QTest::newRow("empty") << "" << -1;
  }
  void parsesDurations() {
    QFETCH(QString, text);
    QFETCH(int, millis);
    auto d = SimulatedKubelet::parseDuration(text.toStdString());
    if (millis < 0) {
      QVERIFY(!d);
    } else {
      QVERIFY(d);
      QCOMPARE(int(d->count()), millis);
    }
  }
};

QTEST_GUILESS_MAIN(SimulatedNodesTest)
#include "simulated_nodes_test.moc"

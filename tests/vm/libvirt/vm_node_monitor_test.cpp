// The VM node monitor's decision without VMs: which VM observations turn a Node NotReady and how
// its status reads (table-driven), then the monitor itself against a real store, with domain
// states given through its domainStatus hook: a VM stopped unasked makes its Node NotReady with
// a Warning event, one the driver stopped on purpose (its stop-requested mark, or its directory
// gone) does not, and a monitor that starts looks at every node without waiting for an event.

#include "vm/libvirt/vm_node_monitor.h"

#include <QtTest>
#include <fstream>
#include <map>
#include <mutex>

#include "tests/engine/controllers/test_cluster.h"

using kd::json;
using kd::testing::TestCluster;
using kd::vm::DomainState;
using kd::vm::DomainStatus;
using kd::vm::VmObservation;
namespace fs = std::filesystem;

namespace {

const char* const kNow = "2026-01-02T03:04:05Z";
const char* const kEarlier = "2026-01-01T00:00:00Z";
const char* const kKubeletConditions[] = {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"};

json condition(const std::string& type, const std::string& status, const std::string& reason,
               const std::string& message) {
  return {{"type", type},
          {"status", status},
          {"reason", reason},
          {"message", message},
          {"lastHeartbeatTime", kEarlier},
          {"lastTransitionTime", kEarlier}};
}

json readyConditions() {
  return json::array({condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
                      condition("MemoryPressure", "False", "KubeletHasSufficientMemory", ""),
                      condition("DiskPressure", "False", "KubeletHasNoDiskPressure", ""),
                      condition("PIDPressure", "False", "KubeletHasSufficientPID", "")});
}

json storedNode(json conditions) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", "p-m01"}, {"resourceVersion", "7"}}},
          {"status", {{"conditions", std::move(conditions)}}}};
}

const json* conditionOf(const json& node, const std::string& type) {
  for (const auto& c : node["status"]["conditions"]) {
    if (c.value("type", "") == type) return &c;
  }
  return nullptr;
}

VmObservation observed(DomainState state, const std::string& reason, bool stopRequested = false) {
  return {"kubedesk-p-m01", DomainStatus{state, reason}, stopRequested};
}

}  // namespace

class VmNodeMonitorTest : public QObject {
  Q_OBJECT

  const kd::api::KindInfo& nodes() { return TestCluster::kind("nodes"); }

  // A registered Node of `cluster` whose kubelet posted `conditions`. Events about nodes live in
  // "default", which the engine creates at start.
  void registerNode(TestCluster& cluster, const std::string& name, json conditions) {
    if (!cluster.exists(TestCluster::kind("namespaces"), "", "default")) {
      cluster.createNamespace("default");
    }
    QVERIFY(!cluster.create(nodes(), "", {{"metadata", {{"name", name}}}}).is_null());
    json node = cluster.get(nodes(), "", name);
    node["status"]["conditions"] = std::move(conditions);
    kd::server::WriteOptions status;
    status.subresource = "status";
    auto written = cluster.objects().update(nodes(), "", name, node, status);
    QVERIFY2(written.ok(), written.status().message().c_str());
  }

  std::string ready(TestCluster& cluster, const std::string& name) {
    const json node = cluster.get(nodes(), "", name);
    const json* c = conditionOf(node, "Ready");
    return c ? c->value("status", "") : "";
  }

  // Events about Node `name` with `reason`, as "<type>: <message>".
  QStringList events(TestCluster& cluster, const std::string& name, const std::string& reason) {
    QStringList found;
    auto list = cluster.objects().list(TestCluster::kind("events"), "default", {});
    if (!list.ok()) return found;
    for (const auto& item : list->items) {
      const json e = item->parse();
      if (e["involvedObject"].value("name", "") != name || e.value("reason", "") != reason) {
        continue;
      }
      found << QString::fromStdString(e.value("type", "") + ": " + e.value("message", ""));
    }
    return found;
  }

 private slots:
  void decision_data() {
    QTest::addColumn<int>("state");
    QTest::addColumn<QString>("reason");
    QTest::addColumn<bool>("stopRequested");
    QTest::addColumn<bool>("deleting");
    QTest::addColumn<bool>("writes");
    QTest::newRow("running") << int(DomainState::kRunning) << "running" << false << false << false;
    QTest::newRow("paused") << int(DomainState::kPaused) << "paused" << false << false << false;
    QTest::newRow("destroyed") << int(DomainState::kShutoff) << "Stopped (Destroyed)" << false
                               << false << true;
    QTest::newRow("crashed") << int(DomainState::kCrashed) << "Crashed (Panicked)" << false << false
                             << true;
    QTest::newRow("undefined") << int(DomainState::kMissing) << "Undefined" << false << false
                               << true;
    QTest::newRow("kdctl stop") << int(DomainState::kShutoff) << "Stopped (Shutdown)" << true
                                << false << false;
    QTest::newRow("node deleting")
        << int(DomainState::kShutoff) << "Stopped (Destroyed)" << false << true << false;
  }

  void decision() {
    QFETCH(int, state);
    QFETCH(QString, reason);
    QFETCH(bool, stopRequested);
    QFETCH(bool, deleting);
    QFETCH(bool, writes);
    json node = storedNode(readyConditions());
    if (deleting) node["metadata"]["deletionTimestamp"] = kEarlier;
    const VmObservation vm =
        observed(static_cast<DomainState>(state), reason.toStdString(), stopRequested);
    const auto body = kd::vm::nodeWithStoppedVm(node, vm, kNow);
    QCOMPARE(body.has_value(), writes);
    if (!body) return;
    const std::string message = "VM kubedesk-p-m01 stopped: " + reason.toStdString();
    QCOMPARE(kd::vm::vmStoppedMessage(vm), message);
    for (const char* type : kKubeletConditions) {
      const json* c = conditionOf(*body, type);
      QVERIFY2(c, type);
      QCOMPARE(c->value("status", ""), std::string("Unknown"));
      QCOMPARE(c->value("reason", ""), std::string("NodeStatusUnknown"));
      QCOMPARE(c->value("message", ""), message);
      QCOMPARE(c->value("lastTransitionTime", ""), std::string(kNow));
      QCOMPARE(c->value("lastHeartbeatTime", ""), std::string(kEarlier));  // the kubelet's
    }
    // A compare-and-swap on what was read: a newer write of the agent wins.
    QCOMPARE((*body)["metadata"].value("resourceVersion", ""), std::string("7"));
  }

  void aNodeThatSaysSoAlreadyIsLeftAlone() {
    const VmObservation vm = observed(DomainState::kShutoff, "Stopped (Destroyed)");
    const auto first = kd::vm::nodeWithStoppedVm(storedNode(readyConditions()), vm, kEarlier);
    QVERIFY(first);
    QVERIFY(!kd::vm::nodeWithStoppedVm(*first, vm, kNow));
  }

  // The lifecycle controller got there first (the engine was down when the VM died): the
  // message now names the VM, and the conditions keep the time they really went Unknown.
  void aNodeGoneSilentLearnsWhy() {
    json conditions = json::array();
    for (const char* type : kKubeletConditions) {
      conditions.push_back(
          condition(type, "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."));
    }
    const auto body = kd::vm::nodeWithStoppedVm(
        storedNode(conditions), observed(DomainState::kShutoff, "Stopped (Crashed)"), kNow);
    QVERIFY(body);
    const json* c = conditionOf(*body, "Ready");
    QCOMPARE(c->value("message", ""), std::string("VM kubedesk-p-m01 stopped: Stopped (Crashed)"));
    QCOMPARE(c->value("lastTransitionTime", ""), std::string(kEarlier));
  }

  // Kubernetes adds the kubelet conditions a node never posted, as Unknown.
  void aNodeWithoutConditionsGetsThemAll() {
    const auto body = kd::vm::nodeWithStoppedVm(
        storedNode(json::array()), observed(DomainState::kShutoff, "Stopped (Destroyed)"), kNow);
    QVERIFY(body);
    QCOMPARE(int((*body)["status"]["conditions"].size()), 4);
    for (const char* type : kKubeletConditions) {
      QVERIFY2(conditionOf(*body, type), type);
      QCOMPARE(conditionOf(*body, type)->value("status", ""), std::string("Unknown"));
    }
  }

  void syncMarksTheNodeAndRecordsWhy() {
    TestCluster cluster;
    QTemporaryDir profile;
    fs::create_directories(fs::path(profile.path().toStdString()) / "nodes/m01");
    registerNode(cluster, "p-m01", readyConditions());
    kd::vm::VmNodeMonitor monitor(
        cluster.objects(),
        {.profileDir = profile.path().toStdString(),
         .profile = "p",
         .domainStatus = [](const std::string& domain) -> kd::Result<DomainStatus> {
           if (domain != "kubedesk-p-m01") return kd::Status::notFound(domain);
           return DomainStatus{DomainState::kShutoff, "Stopped (Destroyed)"};
         }});
    QVERIFY(monitor.sync("p-m01").isOk());
    QCOMPARE(ready(cluster, "p-m01"), std::string("Unknown"));
    const json marked = cluster.get(nodes(), "", "p-m01");
    const json* c = conditionOf(marked, "Ready");
    QCOMPARE(c->value("message", ""),
             std::string("VM kubedesk-p-m01 stopped: Stopped (Destroyed)"));
    QTRY_COMPARE(events(cluster, "p-m01", "NodeVMStopped"),
                 QStringList{"Warning: VM kubedesk-p-m01 stopped: Stopped (Destroyed)"});
    QTRY_COMPARE(events(cluster, "p-m01", "NodeNotReady"),
                 QStringList{"Normal: Node p-m01 status is now: NodeNotReady"});
    // Nothing new to say: no second write, no second event.
    const std::string version =
        cluster.get(nodes(), "", "p-m01")["metadata"].value("resourceVersion", "");
    QVERIFY(monitor.sync("p-m01").isOk());
    QCOMPARE(cluster.get(nodes(), "", "p-m01")["metadata"].value("resourceVersion", ""), version);
    // Names that are not this profile's nodes are no concern of it.
    QVERIFY(monitor.sync("other-m01").isOk());
    QVERIFY(monitor.sync("p-m01x").isOk());
  }

  void intentionalStopsAreLeftAlone() {
    TestCluster cluster;
    QTemporaryDir profile;
    const fs::path dir = profile.path().toStdString();
    fs::create_directories(dir / "nodes/m01");
    std::ofstream(dir / "nodes/m01/stop-requested").close();  // kdctl stop (libvirt_nodes.h)
    registerNode(cluster, "p-m01", readyConditions());
    registerNode(cluster, "p-m02", readyConditions());  // node delete: its directory is gone
    kd::vm::VmNodeMonitor monitor(
        cluster.objects(),
        {.profileDir = dir, .profile = "p", .domainStatus = [](const std::string&) {
           return kd::Result<DomainStatus>(
               DomainStatus{DomainState::kShutoff, "Stopped (Shutdown)"});
         }});
    QVERIFY(monitor.sync("p-m01").isOk());
    QVERIFY(monitor.sync("p-m02").isOk());
    QCOMPARE(ready(cluster, "p-m01"), std::string("True"));
    QCOMPARE(ready(cluster, "p-m02"), std::string("True"));
    QVERIFY(events(cluster, "p-m01", "NodeVMStopped").isEmpty());
  }

  // As after an engine restart: no event arrives for a VM that died meanwhile, yet its node
  // is marked; the node whose VM runs is not.
  void startLooksAtEveryNode() {
    TestCluster cluster;
    QTemporaryDir profile;
    const fs::path dir = profile.path().toStdString();
    for (const char* node : {"m01", "m02"}) fs::create_directories(dir / "nodes" / node);
    registerNode(cluster, "p-m01", readyConditions());
    registerNode(cluster, "p-m02", readyConditions());
    std::mutex mu;
    std::map<std::string, int> asked;
    kd::vm::VmNodeMonitor monitor(
        cluster.objects(),
        {.profileDir = dir,
         .profile = "p",
         .domainStatus = [&](const std::string& domain) -> kd::Result<DomainStatus> {
           std::lock_guard lock(mu);
           ++asked[domain];
           if (domain == "kubedesk-p-m01") return DomainStatus{DomainState::kCrashed, "Crashed"};
           return DomainStatus{DomainState::kRunning, "running"};
         }});
    monitor.start();
    QTRY_COMPARE(ready(cluster, "p-m01"), std::string("Unknown"));
    QTRY_VERIFY([&] {
      std::lock_guard lock(mu);
      return asked["kubedesk-p-m02"] > 0;
    }());
    monitor.stop();
    QCOMPARE(ready(cluster, "p-m02"), std::string("True"));
  }
};

QTEST_GUILESS_MAIN(VmNodeMonitorTest)
#include "vm_node_monitor_test.moc"

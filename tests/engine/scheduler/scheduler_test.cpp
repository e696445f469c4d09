#include "engine/scheduler/scheduler.h"

#include <sqlite3.h>
#include <QtTest>

#include "engine/controllers/controller_manager.h"
#include "tests/engine/controllers/test_cluster.h"
#include "tests/support/settle.h"

using kd::json;
using kd::controllers::ControllerManager;
using kd::scheduler::Scheduler;
using kd::scheduler::SchedulerOptions;
using kd::testing::TestCluster;

namespace {

const auto& pods() {
  return TestCluster::kind("pods");
}
const auto& nodes() {
  return TestCluster::kind("nodes");
}

json node(const std::string& name, const std::string& cpu, json spec = json::object()) {
  return {{"metadata", {{"name", name}, {"labels", {{"kubernetes.io/hostname", name}}}}},
          {"spec", spec},
          {"status",
           {{"capacity", {{"cpu", cpu}, {"memory", "8Gi"}, {"pods", "110"}}},
            {"allocatable", {{"cpu", cpu}, {"memory", "8Gi"}, {"pods", "110"}}}}}};
}

json pod(const std::string& name, const std::string& cpu, json spec = json::object()) {
  json p = {
      {"metadata", {{"name", name}}},
      {"spec",
       {{"containers",
         {{{"name", "c"}, {"image", "busybox"}, {"resources", {{"requests", {{"cpu", cpu}}}}}}}}}}};
  p["spec"].merge_patch(spec);
  return p;
}

std::string nodeOf(TestCluster& c, const std::string& name) {
  return c.get(pods(), "default", name)["spec"].value("nodeName", "");
}

std::vector<json> eventsFor(TestCluster& c, const std::string& podName) {
  std::vector<json> out;
  auto listed = c.objects().list(TestCluster::kind("events"), "default", {});
  if (!listed.ok()) return out;
  for (const auto& item : listed->items) {
    json e = item->parse();
    if (e["involvedObject"]["name"] == podName) out.push_back(std::move(e));
  }
  return out;
}

json eventWithReason(TestCluster& c, const std::string& podName, const std::string& reason) {
  for (auto& e : eventsFor(c, podName)) {
    if (e["reason"] == reason) return e;
  }
  return nullptr;
}

// A cluster with the namespace the tests' pods live in.
struct Cluster : TestCluster {
  Cluster() { createNamespace("default"); }
};

SchedulerOptions fastRetries() {
  SchedulerOptions o;
  o.initialBackoff = std::chrono::milliseconds(10);
  o.maxBackoff = std::chrono::milliseconds(50);
  return o;
}

}  // namespace

class SchedulerTest : public QObject {
  Q_OBJECT

 private slots:
  void bindsToANodeThatFitsAndSaysSo() {
    Cluster c;
    c.create(nodes(), "", node("small", "1"));
    c.create(nodes(), "", node("big", "4"));
    ControllerManager manager(c.objects());
    manager.add(std::make_unique<Scheduler>(c.objects()));
    QVERIFY(manager.start().isOk());
    QVERIFY(!c.create(pods(), "default", pod("p", "2")).is_null());

    KD_TRY_COMPARE(nodeOf(c, "p"), std::string("big"));
    KD_TRY_VERIFY(!eventWithReason(c, "p", "Scheduled").is_null());
    const json e = eventWithReason(c, "p", "Scheduled");
    QCOMPARE(e["type"], json("Normal"));
    QCOMPARE(e["message"], json("Successfully assigned default/p to big"));
    QCOMPARE(e["source"]["component"], json("default-scheduler"));
  }

  void unschedulablePodSaysWhyAndWaitsForANode() {
    Cluster c;
    c.create(nodes(), "",
             node("gone", "8",
                  {{"taints",
                    {{{"key", "node.kubernetes.io/unreachable"}, {"effect", "NoSchedule"}}}}}));
    c.create(nodes(), "", node("a", "1"));
    c.create(nodes(), "", node("b", "1"));
    ControllerManager manager(c.objects());
    manager.add(std::make_unique<Scheduler>(c.objects(), fastRetries()));
    QVERIFY(manager.start().isOk());
    c.create(pods(), "default", pod("p", "2"));

    const std::string message =
        "0/3 nodes are available: 1 node(s) had untolerated taint "
        "{node.kubernetes.io/unreachable: }, 2 Insufficient cpu. preemption: 0/3 nodes are "
        "available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found "
        "for incoming pod.";
    auto condition = [&] {
      for (const auto& cond :
           c.get(pods(), "default", "p")["status"].value("conditions", json::array())) {
        if (cond["type"] == "PodScheduled") return cond;
      }
      return json();
    };
    KD_TRY_VERIFY(!condition().is_null());
    QCOMPARE(condition()["status"], json("False"));
    QCOMPARE(condition()["reason"], json("Unschedulable"));
    QCOMPARE(condition()["message"], json(message));
    KD_TRY_VERIFY(!eventWithReason(c, "p", "FailedScheduling").is_null());
    QCOMPARE(eventWithReason(c, "p", "FailedScheduling")["type"], json("Warning"));
    QCOMPARE(eventWithReason(c, "p", "FailedScheduling")["message"], json(message));
    QCOMPARE(nodeOf(c, "p"), std::string());

    // A node that fits arrives: the waiting pod is tried again and lands there.
    c.create(nodes(), "", node("c", "4"));
    KD_TRY_COMPARE(nodeOf(c, "p"), std::string("c"));
  }

  void freedRoomIsReused() {
    Cluster c;
    json n = node("only", "1");
    n["status"]["allocatable"]["pods"] = "2";
    c.create(nodes(), "", n);
    ControllerManager manager(c.objects());
    manager.add(std::make_unique<Scheduler>(c.objects(), fastRetries()));
    QVERIFY(manager.start().isOk());
    for (const char* name : {"a", "b", "c"}) c.create(pods(), "default", pod(name, "100m"));

    KD_TRY_VERIFY(!eventWithReason(c, "c", "FailedScheduling").is_null() ||
                  !eventWithReason(c, "b", "FailedScheduling").is_null() ||
                  !eventWithReason(c, "a", "FailedScheduling").is_null());
    std::vector<std::string> placed, waiting;
    for (const char* name : {"a", "b", "c"}) {
      (nodeOf(c, name).empty() ? waiting : placed).push_back(name);
    }
    QCOMPARE(placed.size(), size_t(2));
    QCOMPARE(waiting.size(), size_t(1));
    QVERIFY(eventWithReason(c, waiting[0], "FailedScheduling")["message"].get<std::string>().find(
                "1 Too many pods") != std::string::npos);
    QVERIFY(c.objects().remove(pods(), "default", placed[0], {}).ok());
    KD_TRY_COMPARE(nodeOf(c, waiting[0]), std::string("only"));
  }

  // A failed binding (here: another process holds the database's write lock longer than the
  // store waits for it, so the whole batch fails) forgets the pods it had assumed and tries
  // them again. The node has room for exactly the three pods: had the failed ones stayed
  // assumed, the retries would find no room (or not be tried at all).
  //
  // The failure is said on the pod as kube-scheduler says it: a FailedScheduling event and
  // PodScheduled=False with reason SchedulerError and the error; the binding that then
  // succeeds turns the condition True. The pods' history (a watch from before the scheduler
  // started) shows the False condition, which lasts only until the retry binds.
  void failedBindingsAreForgottenAndRetried() {
    Cluster c;
    json n = node("only", "4");
    n["status"]["allocatable"]["pods"] = "3";
    c.create(nodes(), "", n);
    for (const char* name : {"a", "b", "c"}) c.create(pods(), "default", pod(name, "100m"));
    const int64_t before = c.objects().store().currentRevision();
    sqlite3* other = nullptr;
    QCOMPARE(sqlite3_open(c.dbPath().c_str(), &other), SQLITE_OK);
    QCOMPARE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

    ControllerManager manager(c.objects());
    auto owned = std::make_unique<Scheduler>(c.objects(), fastRetries());
    Scheduler* scheduler = owned.get();
    manager.add(std::move(owned));
    QVERIFY(manager.start().isOk());
    KD_TRY_VERIFY(scheduler->errorCount() >= 1);  // the store gave up waiting (5 s)
    QCOMPARE(scheduler->scheduledCount(), uint64_t(0));
    sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(other);

    for (const char* name : {"a", "b", "c"}) KD_TRY_COMPARE(nodeOf(c, name), std::string("only"));
    KD_TRY_COMPARE(scheduler->scheduledCount(), uint64_t(3));
    KD_TRY_VERIFY(!eventWithReason(c, "a", "Scheduled").is_null());
    // The failure was said on the pod, as kube-scheduler says it.
    bool said = false;
    for (const char* name : {"a", "b", "c"}) {
      const json e = eventWithReason(c, name, "FailedScheduling");
      said = said || (!e.is_null() && e["message"].get<std::string>().find("database is locked") !=
                                          std::string::npos);
    }
    QVERIFY(said);

    // Every version of the pods written since the scheduler started, in order.
    kd::server::WatchOptions from;
    from.resourceVersion = std::to_string(before);
    auto watch = c.objects().watch(pods(), "default", from, [] {});
    QVERIFY(watch.ok());
    int64_t last = 0;
    for (const char* name : {"a", "b", "c"}) {
      last = std::max<int64_t>(last, std::stoll(c.get(pods(), "default", name)["metadata"].value(
                                         "resourceVersion", "0")));
    }
    std::vector<kd::server::WatchEvent> history;
    KD_TRY_VERIFY(((*watch)->next(history), !history.empty() && history.back().revision >= last));
    auto podScheduled = [](const json& p) {
      for (const auto& cond : p["status"].value("conditions", json::array())) {
        if (cond["type"] == "PodScheduled") return cond;
      }
      return json();
    };
    bool saidOnPod = false;
    for (const auto& e : history) {
      if (!e.object) continue;
      const json cond = podScheduled(e.object->parse());
      if (cond.is_null() || cond["status"] != "False") continue;
      QCOMPARE(cond["reason"], json("SchedulerError"));
      QVERIFY(cond["message"].get<std::string>().find("database is locked") != std::string::npos);
      saidOnPod = true;
    }
    QVERIFY(saidOnPod);
    // Bound now: the condition is True, the error gone from it.
    for (const char* name : {"a", "b", "c"}) {
      const json cond = podScheduled(c.get(pods(), "default", name));
      QCOMPARE(cond["status"], json("True"));
      QVERIFY(!cond.contains("reason"));
    }
  }

  void spreadsReplicasOfOneController() {
    Cluster c;
    for (const char* name : {"n1", "n2", "n3"}) c.create(nodes(), "", node(name, "4"));
    ControllerManager manager(c.objects());
    manager.add(std::make_unique<Scheduler>(c.objects()));
    QVERIFY(manager.start().isOk());
    const json owner = {{"apiVersion", "apps/v1"},
                        {"kind", "ReplicaSet"},
                        {"name", "web"},
                        {"uid", "11111111-2222-3333-4444-555555555555"},
                        {"controller", true}};
    for (int i = 0; i < 6; ++i) {
      json p = pod("web-" + std::to_string(i), "100m");
      p["metadata"]["ownerReferences"] = {owner};
      c.create(pods(), "default", p);
    }
    std::map<std::string, int> perNode;
    auto allBound = [&] {
      perNode.clear();
      for (int i = 0; i < 6; ++i) {
        const std::string n = nodeOf(c, "web-" + std::to_string(i));
        if (n.empty()) return false;
        ++perNode[n];
      }
      return true;
    };
    KD_TRY_VERIFY(allBound());
    QCOMPARE(perNode, (std::map<std::string, int>{{"n1", 2}, {"n2", 2}, {"n3", 2}}));
  }

  void leavesOtherSchedulersPodsAlone() {
    Cluster c;
    c.create(nodes(), "", node("n1", "4"));
    ControllerManager manager(c.objects());
    manager.add(std::make_unique<Scheduler>(c.objects()));
    QVERIFY(manager.start().isOk());
    c.create(pods(), "default", pod("theirs", "100m", {{"schedulerName", "custom"}}));
    c.create(pods(), "default", pod("ours", "100m"));
    KD_TRY_COMPARE(nodeOf(c, "ours"), std::string("n1"));
    QCOMPARE(nodeOf(c, "theirs"), std::string());
  }

  void feasibleNodesToFind_data() {
    QTest::addColumn<int>("all");
    QTest::addColumn<int>("wanted");
    QTest::newRow("small cluster: all") << 50 << 50;
    QTest::newRow("100 nodes") << 100 << 100;
    QTest::newRow("1000 nodes: 42%") << 1000 << 420;
    QTest::newRow("5000 nodes: 10%") << 5000 << 500;
    QTest::newRow("huge: at least 5%") << 10000 << 500;
  }
  void feasibleNodesToFind() {
    QFETCH(int, all);
    QFETCH(int, wanted);
    QCOMPARE(int(Scheduler::feasibleNodesToFind(size_t(all))), wanted);
  }
};

QTEST_GUILESS_MAIN(SchedulerTest)
#include "scheduler_test.moc"

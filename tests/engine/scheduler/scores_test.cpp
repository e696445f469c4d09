#include "engine/scheduler/scores.h"

#include <QtTest>

using kd::json;
using namespace kd::scheduler;

namespace {

json node(const std::string& name, const std::string& cpu, const std::string& memory,
          json labels = json::object()) {
  labels["kubernetes.io/hostname"] = name;
  return {{"metadata", {{"name", name}, {"labels", labels}}},
          {"status", {{"allocatable", {{"cpu", cpu}, {"memory", memory}, {"pods", "110"}}}}}};
}

json pod(const std::string& name, const std::string& cpu, const std::string& memory,
         json extra = json::object()) {
  json p = {{"metadata", {{"name", name}, {"namespace", "default"}}},
            {"spec",
             {{"containers",
               {{{"name", "c"},
                 {"image", "busybox"},
                 {"resources", {{"requests", {{"cpu", cpu}, {"memory", memory}}}}}}}}}}};
  p.merge_patch(extra);
  return p;
}

json ownedBy(const std::string& uid) {
  return {{"metadata",
           {{"ownerReferences",
             {{{"apiVersion", "apps/v1"},
               {"kind", "ReplicaSet"},
               {"name", "rs"},
               {"uid", uid},
               {"controller", true}}}}}}};
}

}  // namespace

class ScoresTest : public QObject {
  Q_OBJECT

 private slots:
  void resourceScores_data() {
    QTest::addColumn<QString>("placedCpu");
    QTest::addColumn<QString>("placedMemory");
    QTest::addColumn<QString>("podCpu");
    QTest::addColumn<QString>("podMemory");
    QTest::addColumn<qint64>("least");
    QTest::addColumn<qint64>("balanced");
    // Node: 4 cpu, 8Gi.
    QTest::newRow("empty node, small pod") << ""
                                           << ""
                                           << "1"
                                           << "2Gi" << qint64(75) << qint64(100);
    QTest::newRow("half full") << "1"
                               << "2Gi"
                               << "1"
                               << "2Gi" << qint64(50) << qint64(100);
    QTest::newRow("cpu heavy") << "3"
                               << "0"
                               << "1"
                               << "0" << qint64(50) << qint64(50);
    QTest::newRow("unbalanced") << ""
                                << ""
                                << "2"
                                << "0" << qint64(75) << qint64(75);
  }
  void resourceScores() {
    QFETCH(QString, placedCpu);
    QFETCH(QString, placedMemory);
    QFETCH(QString, podCpu);
    QFETCH(QString, podMemory);
    QFETCH(qint64, least);
    QFETCH(qint64, balanced);
    SchedulerCache cache;
    cache.upsertNode(node("n1", "4", "8Gi"));
    if (!placedCpu.isEmpty()) {
      json p = pod("a", placedCpu.toStdString(), placedMemory.toStdString());
      p["spec"]["nodeName"] = "n1";
      cache.upsertPod(p);
    }
    const PodInfo info = parsePod(pod("p", podCpu.toStdString(), podMemory.toStdString()));
    QCOMPARE(qint64(leastAllocatedScore(info, *cache.node("n1"))), least);
    QCOMPARE(qint64(balancedAllocationScore(info, *cache.node("n1"))), balanced);
  }

  void requestlessPodsStillSpreadByNonZeroDefaults() {
    SchedulerCache cache;
    cache.upsertNode(node("n1", "1", "1Gi"));
    json p = {{"metadata", {{"name", "p"}, {"namespace", "default"}}},
              {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
    // 100m of 1 cpu and 200Mi of 1Gi left free: (90 + 80) / 2.
    QCOMPARE(leastAllocatedScore(parsePod(p), *cache.node("n1")), int64_t(85));
  }

  void totalPrefers_data() {
    QTest::addColumn<QString>("expected");
    QTest::addColumn<QString>("pod");
    QTest::addColumn<QString>("placed");  // pod JSON placed on n1
    QTest::newRow("emptier node") << "n2" << QString::fromStdString(pod("p", "1", "1Gi").dump())
                                  << QString::fromStdString(pod("a", "2", "2Gi").dump());
    QTest::newRow("preferred node affinity")
        << "n1"
        << QString::fromStdString(pod("p", "1", "1Gi",
                                      {{"spec",
                                        {{"affinity",
                                          {{"nodeAffinity",
                                            {{"preferredDuringSchedulingIgnoredDuringExecution",
                                              {{{"weight", 100},
                                                {"preference",
                                                 {{"matchExpressions",
                                                   {{{"key", "disk"},
                                                     {"operator", "In"},
                                                     {"values", {"ssd"}}}}}}}}}}}}}}}}})
                                      .dump())
        << QString::fromStdString(pod("a", "100m", "100Mi").dump());
    QTest::newRow("spread replicas of one controller")
        << "n2" << QString::fromStdString(pod("p", "100m", "100Mi", ownedBy("rs-1")).dump())
        << QString::fromStdString(pod("a", "100m", "100Mi", ownedBy("rs-1")).dump());
    QTest::newRow("avoid PreferNoSchedule taint")
        << "n2" << QString::fromStdString(pod("p", "100m", "100Mi").dump()) << "";
  }
  void totalPrefers() {
    QFETCH(QString, expected);
    QFETCH(QString, pod);
    QFETCH(QString, placed);
    SchedulerCache cache;
    json n1 = node("n1", "4", "8Gi", {{"disk", "ssd"}});
    if (QString(QTest::currentDataTag()).contains("PreferNoSchedule")) {
      n1["spec"]["taints"] = {{{"key", "k"}, {"effect", "PreferNoSchedule"}}};
    }
    cache.upsertNode(n1);
    cache.upsertNode(node("n2", "4", "8Gi"));
    if (!placed.isEmpty()) {
      json a = json::parse(placed.toStdString());
      a["spec"]["nodeName"] = "n1";
      cache.upsertPod(a);
    }
    const PodInfo info = parsePod(json::parse(pod.toStdString()));
    std::vector<NodeScore> scores = {{cache.node("n1"), 0}, {cache.node("n2"), 0}};
    scoreNodes(info, scores);
    const auto best = std::max_element(scores.begin(), scores.end(),
                                       [](auto& a, auto& b) { return a.score < b.score; });
    QVERIFY2(scores[0].score != scores[1].score, "expected a strict preference");
    QCOMPARE(QString::fromStdString(best->node->name), expected);
  }
};

QTEST_GUILESS_MAIN(ScoresTest)
#include "scores_test.moc"

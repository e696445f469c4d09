#include <QtTest>

#include "engine/api/go_duration.h"
#include "engine/server/metrics_api.h"
#include "engine/server/metrics_store.h"

using kd::json;
using kd::server::MetricsStore;
using kd::server::MetricsStoreOptions;
using kd::server::TimePoint;
using namespace std::chrono_literals;

namespace {

// A clock the test moves by hand.
struct FakeClock {
  TimePoint now = TimePoint(std::chrono::seconds(1767323045));
  std::function<TimePoint()> fn() {
    return [this] { return now; };
  }
};

json container(const std::string& name, int64_t cpu, int64_t memory) {
  return {{"name", name}, {"cpuNanoCores", cpu}, {"memoryBytes", memory}};
}

json pod(const std::string& name, const std::string& uid, json containers) {
  return {{"namespace", "default"}, {"name", name}, {"uid", uid}, {"containers", containers}};
}

json report(int64_t nodeCpu, json pods) {
  return {{"windowSeconds", 10.069},
          {"node", {{"cpuNanoCores", nodeCpu}, {"memoryBytes", 1 << 20}}},
          {"pods", pods}};
}

}  // namespace

class MetricsStoreTest : public QObject {
  Q_OBJECT

 private slots:
  void keepsTheLatestSample() {
    FakeClock clock;
    MetricsStore store(clock.fn());
    QVERIFY(store
                .report("n1", report(5, {pod("web", "u1",
                                             {container("a", 1, 4096), container("b", 2, 8192)})}))
                .isOk());
    clock.now += 10s;
    QVERIFY(store.report("n1", report(7, {pod("web", "u1", {container("a", 3, 4096)})})).isOk());
    auto node = store.node("n1");
    QVERIFY(node);
    QCOMPARE(node->usage.cpuNanoCores, int64_t{7});
    QCOMPARE(node->window.count(), int64_t{10069});
    QVERIFY(node->timestamp == clock.now);
    auto web = store.pod("default", "web");
    QVERIFY(web);
    QCOMPARE(web->uid, std::string("u1"));
    QCOMPARE(web->containers.size(), size_t{1});
    QCOMPARE(web->total().cpuNanoCores, int64_t{3});
    QVERIFY(!store.pod("default", "other"));
    QVERIFY(!store.node("n2"));
  }

  void rejectsMalformedReports_data() {
    QTest::addColumn<QString>("body");
    QTest::newRow("no window") << "{\"node\":{\"cpuNanoCores\":1,\"memoryBytes\":1}}";
    QTest::newRow("no node") << "{\"windowSeconds\":1}";
    QTest::newRow("cpu as text")
        << "{\"windowSeconds\":1,\"node\":{\"cpuNanoCores\":\"1\",\"memoryBytes\":1}}";
    QTest::newRow("pod without name") << "{\"windowSeconds\":1,\"node\":{\"cpuNanoCores\":1,"
                                         "\"memoryBytes\":1},\"pods\":[{\"namespace\":\"d\","
                                         "\"containers\":[]}]}";
  }
  void rejectsMalformedReports() {
    QFETCH(QString, body);
    FakeClock clock;
    MetricsStore store(clock.fn());
    kd::Status s = store.report("n1", json::parse(body.toStdString()));
    QCOMPARE(s.code(), 400);
    QCOMPARE(store.nodeCount(), size_t{0});
  }

  void podsMissingFromAReportAreGone() {
    FakeClock clock;
    MetricsStore store(clock.fn());
    store.report("n1", report(1, {pod("a", "ua", {container("c", 1, 1)}),
                                  pod("b", "ub", {container("c", 1, 1)})}));
    QCOMPARE(store.podCount(), size_t{2});
    clock.now += 10s;
    store.report("n1", report(1, {pod("b", "ub", {container("c", 1, 1)})}));
    QCOMPARE(store.podCount(), size_t{1});
    QVERIFY(!store.pod("default", "a"));
    QVERIFY(store.podHistory("default", "a").empty());
    QCOMPARE(store.podHistory("default", "b").size(), size_t{2});
  }

  void staleNodesDropOutWithTheirPods() {
    FakeClock clock;
    MetricsStore store(clock.fn(), {15min, 900, 60s});
    store.report("n1", report(1, {pod("a", "ua", {container("c", 1, 1)})}));
    clock.now += 30s;
    store.report("n2", report(1, {}));
    clock.now += 31s;  // n1 last reported 61 s ago
    QCOMPARE(store.nodeCount(), size_t{1});
    QVERIFY(!store.node("n1"));
    QVERIFY(!store.pod("default", "a"));
    QCOMPARE(store.podCount(), size_t{0});
    QVERIFY(store.node("n2"));
  }

  void recreatedPodStartsANewHistory() {
    FakeClock clock;
    MetricsStore store(clock.fn());
    store.report("n1", report(1, {pod("a", "u1", {container("c", 1, 1)})}));
    clock.now += 10s;
    store.report("n1", report(1, {pod("a", "u1", {container("c", 1, 1)})}));
    clock.now += 10s;
    store.report("n1", report(1, {pod("a", "u2", {container("c", 5, 1)})}));
    auto history = store.podHistory("default", "a");
    QCOMPARE(history.size(), size_t{1});
    QCOMPARE(history[0].usage.cpuNanoCores, int64_t{5});
  }

  // An hour of reports every second keeps at most the retention's worth, bounded by count.
  void historyIsBounded_data() {
    QTest::addColumn<int>("stepMs");
    QTest::addColumn<int>("expected");
    QTest::newRow("every 10 s: 15 minutes") << 10000 << 91;
    QTest::newRow("every 500 ms: capped at 900 points") << 500 << 900;
  }
  void historyIsBounded() {
    QFETCH(int, stepMs);
    QFETCH(int, expected);
    FakeClock clock;
    MetricsStore store(clock.fn());
    for (int i = 0; i < 3600 * 1000 / stepMs; ++i) {
      store.report("n1", report(i, {pod("a", "u1", {container("c", i, 1)})}));
      clock.now += std::chrono::milliseconds(stepMs);
    }
    clock.now -= std::chrono::milliseconds(stepMs);
    const auto nodeHistory = store.nodeHistory("n1");
    const auto podHistory = store.podHistory("default", "a");
    QCOMPARE(int(nodeHistory.size()), expected);
    QCOMPARE(int(podHistory.size()), expected);
    QVERIFY(nodeHistory.front().timestamp >= clock.now - 15min);
    QVERIFY(nodeHistory.back().timestamp == clock.now);
    QVERIFY(podHistory.front().timestamp < podHistory.back().timestamp);
  }

  // Quantities as resource.Quantity prints them; durations as Go's time.Duration does.
  void formatsLikeKubernetes_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<qint64>("value");
    QTest::addColumn<QString>("text");
    QTest::newRow("cpu zero") << "cpu" << qint64(0) << "0";
    QTest::newRow("cpu nanocores") << "cpu" << qint64(123456789) << "123456789n";
    QTest::newRow("cpu micro") << "cpu" << qint64(123456000) << "123456u";
    QTest::newRow("cpu milli") << "cpu" << qint64(250000000) << "250m";
    QTest::newRow("cpu one and a half") << "cpu" << qint64(1500000000) << "1500m";
    QTest::newRow("cpu two cores") << "cpu" << qint64(2000000000) << "2";
    QTest::newRow("cpu ten n") << "cpu" << qint64(10) << "10n";
    QTest::newRow("memory small") << "memory" << qint64(1000) << "1000";
    QTest::newRow("memory pages") << "memory" << qint64(4096 * 3) << "12Ki";
    QTest::newRow("memory MiB") << "memory" << qint64(5 << 20) << "5Mi";
    QTest::newRow("memory odd") << "memory" << qint64(1536 + 1) << "1537";
    QTest::newRow("memory GiB") << "memory" << qint64(1) * (1 << 30) << "1Gi";
    QTest::newRow("window ms") << "window" << qint64(500) << "500ms";
    QTest::newRow("window s") << "window" << qint64(10069) << "10.069s";
    QTest::newRow("window whole s") << "window" << qint64(20000) << "20s";
    QTest::newRow("window tenths") << "window" << qint64(1500) << "1.5s";
    QTest::newRow("window minutes") << "window" << qint64(60500) << "1m0.5s";
    QTest::newRow("window hours") << "window" << qint64(3600000) << "1h0m0s";
  }
  void formatsLikeKubernetes() {
    QFETCH(QString, kind);
    QFETCH(qint64, value);
    QFETCH(QString, text);
    std::string got = kind == "cpu"      ? kd::server::cpuQuantity(value)
                      : kind == "memory" ? kd::server::memoryQuantity(value)
                                         : kd::api::goDuration(std::chrono::milliseconds(value));
    QCOMPARE(QString::fromStdString(got), text);
  }

  void metricsKindsAreMetricsServers() {
    const auto& kinds = kd::server::metricsKinds().all();
    QCOMPARE(kinds.size(), size_t{2});
    QCOMPARE(kinds[0].kind, std::string("NodeMetrics"));
    QVERIFY(!kinds[0].namespaced);
    QCOMPARE(kinds[1].kind, std::string("PodMetrics"));
    QVERIFY(kinds[1].namespaced);
    for (const auto& k : kinds) {
      QCOMPARE(k.apiVersion(), std::string("metrics.k8s.io/v1beta1"));
      QCOMPARE(k.verbs, (std::vector<std::string>{"get", "list"}));
    }
  }
};

QTEST_GUILESS_MAIN(MetricsStoreTest)
#include "metrics_store_test.moc"

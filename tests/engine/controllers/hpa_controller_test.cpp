#include "engine/controllers/hpa_controller.h"

#include <QtTest>
#include <atomic>

#include "engine/server/metrics_store.h"
#include "tests/engine/controllers/test_cluster.h"

using kd::json;
using kd::controllers::HpaController;
using kd::controllers::HpaControllerOptions;
using kd::server::formatTime;
using kd::server::MetricsStore;
using kd::testing::TestCluster;
using namespace std::chrono_literals;

Q_DECLARE_METATYPE(kd::json)

namespace {

const kd::api::KindInfo& hpas() {
  return *kd::api::KindsRegistry::builtin().byResource("autoscaling", "v2",
                                                       "horizontalpodautoscalers");
}
const kd::api::KindInfo& deploys() {
  return TestCluster::kind("deployments", "apps");
}
const kd::api::KindInfo& pods() {
  return TestCluster::kind("pods");
}

// A wall clock the test moves by hand.
struct FakeClock {
  std::atomic<int64_t> seconds{1'800'000'000};
  std::chrono::system_clock::time_point now() const {
    return std::chrono::system_clock::time_point(std::chrono::seconds(seconds.load()));
  }
  void advance(std::chrono::seconds s) { seconds += s.count(); }
};

// One pod of the target: its usage (cpu in millicores, memory in MiB) and how it looks.
struct PodState {
  int64_t cpuMilli = 0;
  int64_t memoryMi = 0;
  bool ready = true;
  bool sampled = true;   // the node agent reported it
  bool requests = true;  // its container requests cpu 100m and memory 64Mi
};

PodState podState(const json& j) {
  PodState p;
  p.cpuMilli = j.value("cpu", 0);
  p.memoryMi = j.value("mem", 0);
  p.ready = j.value("ready", true);
  p.sampled = j.value("sampled", true);
  p.requests = j.value("requests", true);
  return p;
}

json cpuUtilization(int percent) {
  return {
      {"type", "Resource"},
      {"resource",
       {{"name", "cpu"}, {"target", {{"type", "Utilization"}, {"averageUtilization", percent}}}}}};
}
json memoryUtilization(int percent) {
  return {{"type", "Resource"},
          {"resource",
           {{"name", "memory"},
            {"target", {{"type", "Utilization"}, {"averageUtilization", percent}}}}}};
}
json memoryAverage(const std::string& value) {
  return {{"type", "Resource"},
          {"resource",
           {{"name", "memory"}, {"target", {{"type", "AverageValue"}, {"averageValue", value}}}}}};
}

json condition(const json& hpa, const std::string& type) {
  for (const auto& c : hpa["status"].value("conditions", json::array())) {
    if (c["type"] == type) return c;
  }
  return json::object();
}

// A cluster with Deployment "web" (selector app=web), its pods, an HPA on it and the metrics
// store the node agents would feed; the controller reads that store through its source.
class Harness {
 public:
  explicit Harness(HpaControllerOptions o = {}) {
    c.createNamespace("default");
    o.clock = [this] { return clock.now(); };
    o.metrics = [this](const std::string& ns, const std::string& name) {
      return store.pod(ns, name);
    };
    controller = std::make_unique<HpaController>(c.objects(), std::move(o));
  }

  void deployment(int replicas) {
    json container = {{"name", "main"}, {"image", "busybox"}};
    c.create(deploys(), "default",
             {{"metadata", {{"name", "web"}}},
              {"spec",
               {{"replicas", replicas},
                {"selector", {{"matchLabels", {{"app", "web"}}}}},
                {"template",
                 {{"metadata", {{"labels", {{"app", "web"}}}}},
                  {"spec", {{"containers", {container}}}}}}}}});
  }

  void hpa(json metrics, int minReplicas, int maxReplicas, json behavior = nullptr) {
    json spec = {
        {"scaleTargetRef", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", "web"}}},
        {"minReplicas", minReplicas},
        {"maxReplicas", maxReplicas},
        {"metrics", std::move(metrics)}};
    if (!behavior.is_null()) spec["behavior"] = std::move(behavior);
    c.create(hpas(), "default", {{"metadata", {{"name", "web"}}}, {"spec", spec}});
  }

  // Creates pod web-<i> for each state; a ready pod started an hour ago (long past the cpu
  // initialization period) unless `started` says otherwise.
  void addPods(const std::vector<PodState>& states, std::chrono::seconds started = 3600s) {
    for (const auto& s : states) {
      const std::string name = "web-" + std::to_string(states_.size());
      json container = {{"name", "main"}, {"image", "busybox"}};
      if (s.requests)
        container["resources"] = {{"requests", {{"cpu", "100m"}, {"memory", "64Mi"}}}};
      json pod = c.create(pods(), "default",
                          {{"metadata", {{"name", name}, {"labels", {{"app", "web"}}}}},
                           {"spec", {{"nodeName", "n1"}, {"containers", {container}}}}});
      const std::string at = formatTime(clock.now() - started);
      pod["status"] = {{"phase", "Running"},
                       {"startTime", at},
                       {"conditions",
                        {{{"type", "Ready"},
                          {"status", s.ready ? "True" : "False"},
                          {"lastTransitionTime", at}}}}};
      kd::server::WriteOptions o;
      o.subresource = "status";
      QVERIFY(c.objects().update(pods(), "default", name, pod, o).ok());
      states_.push_back({name, s});
    }
    report();
  }

  // The node agent's report of every sampled pod, stamped now.
  void report() {
    json reported = json::array();
    for (const auto& [name, s] : states_) {
      if (!s.sampled) continue;
      reported.push_back({{"namespace", "default"},
                          {"name", name},
                          {"uid", c.get(pods(), "default", name)["metadata"]["uid"]},
                          {"containers",
                           {{{"name", "main"},
                             {"cpuNanoCores", s.cpuMilli * 1'000'000},
                             {"memoryBytes", s.memoryMi * 1024 * 1024}}}}});
    }
    QVERIFY(store
                .report("n1", {{"windowSeconds", 10},
                               {"node", {{"cpuNanoCores", 0}, {"memoryBytes", 0}}},
                               {"pods", reported}})
                .isOk());
  }

  void setLoad(int64_t cpuMilli) {
    for (auto& [name, s] : states_) s.cpuMilli = cpuMilli;
    report();
  }

  // Moves the clock, re-reports the same usage (samples go stale after a minute) and syncs.
  void syncAfter(std::chrono::seconds s) {
    clock.advance(s);
    report();
    QVERIFY(controller->sync("default/web").isOk());
  }

  int replicas() { return c.get(deploys(), "default", "web")["spec"].value("replicas", -1); }
  json hpaObject() { return c.get(hpas(), "default", "web"); }

  std::vector<json> events(const std::string& reason) {
    controller->flushEvents();
    std::vector<json> out;
    auto listed = c.objects().list(TestCluster::kind("events"), "default", {});
    for (const auto& item : listed->items) {
      json e = item->parse();
      if (e["reason"] == reason) out.push_back(e);
    }
    return out;
  }

  TestCluster c;
  FakeClock clock;
  MetricsStore store{[this] { return clock.now(); }};
  std::unique_ptr<HpaController> controller;

 private:
  std::vector<std::pair<std::string, PodState>> states_;
};

// status.currentMetrics of a cpu utilization metric at 75% of a 100m request.
const char* const kCpuAt75Percent =
    R"([{"type": "Resource", "resource": {"name": "cpu",
        "current": {"averageUtilization": 75, "averageValue": "75m"}}}])";

// A Pods metric: the engine serves no custom metrics API, so it always fails.
const json kQpsMetric = {{"type", "Pods"},
                         {"pods",
                          {{"metric", {{"name", "qps"}}},
                           {"target", {{"type", "AverageValue"}, {"averageValue", "1"}}}}}};

const json kNoScaleDownWindow = {{"scaleDown", {{"stabilizationWindowSeconds", 0}}}};

}  // namespace

class HpaControllerTest : public QObject {
  Q_OBJECT

 private slots:
  // One sync from a steady state: the replica count Kubernetes' replica calculator and
  // normalization would choose, and the conditions they set.
  void decidesLikeKubernetes_data() {
    QTest::addColumn<int>("replicas");
    QTest::addColumn<int>("maxReplicas");
    QTest::addColumn<json>("metrics");
    QTest::addColumn<json>("podStates");
    QTest::addColumn<json>("behavior");
    QTest::addColumn<int>("want");
    QTest::addColumn<QString>("active");
    QTest::addColumn<QString>("limited");
    const json cpu50 = json::array({cpuUtilization(50)});
    QTest::newRow("75% of a 50% target on 2 pods: 3")
        << 2 << 10 << cpu50 << json{{{"cpu", 75}}, {{"cpu", 75}}} << json() << 3
        << "ValidMetricFound"
        << "DesiredWithinRange";
    QTest::newRow("within the 10% tolerance: unchanged")
        << 2 << 10 << cpu50 << json{{{"cpu", 54}}, {{"cpu", 54}}} << json() << 2
        << "ValidMetricFound"
        << "DesiredWithinRange";
    QTest::newRow("no behavior: at most max(2x, 4) up")
        << 1 << 10 << cpu50 << json{{{"cpu", 900}}} << json() << 4 << "ValidMetricFound"
        << "ScaleUpLimit";
    QTest::newRow("maxReplicas clamps") << 2 << 3 << cpu50 << json{{{"cpu", 200}}, {{"cpu", 200}}}
                                        << json() << 3 << "ValidMetricFound"
                                        << "TooManyReplicas";
    // 150% on the one pod that counts says "down to 3"; the three others counted as idle make
    // it 37%, a scale-down reversed into "stay": Kubernetes keeps 4.
    const json missing = {{"sampled", false}}, unready = {{"cpu", 900}, {"ready", false}};
    QTest::newRow("unsampled pods count as idle on a scale-up")
        << 4 << 10 << cpu50 << json{{{"cpu", 150}}, missing, missing, missing} << kNoScaleDownWindow
        << 4 << "ValidMetricFound"
        << "DesiredWithinRange";
    QTest::newRow("unready pods count as idle on a scale-up")
        << 4 << 10 << cpu50 << json{{{"cpu", 150}}, unready, unready, unready} << kNoScaleDownWindow
        << 4 << "ValidMetricFound"
        << "DesiredWithinRange";
    QTest::newRow("unsampled and unready pods: scale up on what is left")
        << 3 << 10 << cpu50 << json{{{"cpu", 300}}, missing, unready} << json() << 6
        << "ValidMetricFound"
        << "DesiredWithinRange";
    QTest::newRow("scale-down without a window")
        << 2 << 10 << cpu50 << json{{{"cpu", 10}}, {{"cpu", 10}}} << kNoScaleDownWindow << 1
        << "ValidMetricFound"
        << "DesiredWithinRange";
    QTest::newRow("unsampled pod counts as fully used on a scale-down")
        << 3 << 10 << cpu50 << json{{{"cpu", 10}}, {{"cpu", 10}}, {{"sampled", false}}}
        << kNoScaleDownWindow << 3 << "ValidMetricFound"
        << "DesiredWithinRange";
    QTest::newRow("memory average value")
        << 2 << 10 << json::array({memoryAverage("50Mi")}) << json{{{"mem", 100}}, {{"mem", 100}}}
        << json() << 4 << "ValidMetricFound"
        << "DesiredWithinRange";
    QTest::newRow("memory utilization")
        << 2 << 10 << json::array({memoryUtilization(50)}) << json{{{"mem", 64}}, {{"mem", 64}}}
        << json() << 4 << "ValidMetricFound"
        << "DesiredWithinRange";
    QTest::newRow("two metrics: the larger proposal")
        << 2 << 10 << json::array({cpuUtilization(50), memoryAverage("50Mi")})
        << json{{{"cpu", 75}, {"mem", 100}}, {{"cpu", 75}, {"mem", 100}}} << json() << 4
        << "ValidMetricFound"
        << "DesiredWithinRange";
    QTest::newRow("a failing metric beside a working one")
        << 2 << 10 << json::array({kQpsMetric, cpuUtilization(50)})
        << json{{{"cpu", 75}}, {{"cpu", 75}}} << json() << 3 << "ValidMetricFound"
        << "DesiredWithinRange";
    QTest::newRow("a zero target")
        << 2 << 10 << json::array({cpuUtilization(0)}) << json{{{"cpu", 75}}, {{"cpu", 75}}}
        << json() << 2 << "FailedGetResourceMetric"
        << "";
    QTest::newRow("a pod without a cpu request")
        << 1 << 10 << cpu50 << json{{{"cpu", 100}, {"requests", false}}} << json() << 1
        << "FailedGetResourceMetric"
        << "";
    QTest::newRow("no samples at all")
        << 2 << 10 << cpu50 << json{{{"sampled", false}}, {{"sampled", false}}} << json() << 2
        << "FailedGetResourceMetric"
        << "";
    QTest::newRow("Pods metrics: no custom metrics API")
        << 1 << 10 << json::array({kQpsMetric}) << json{{{"cpu", 100}}} << json() << 1
        << "FailedGetPodsMetric"
        << "";
  }
  void decidesLikeKubernetes() {
    QFETCH(int, replicas);
    QFETCH(int, maxReplicas);
    QFETCH(json, metrics);
    QFETCH(json, podStates);
    QFETCH(json, behavior);
    QFETCH(int, want);
    QFETCH(QString, active);
    QFETCH(QString, limited);
    Harness h;
    h.deployment(replicas);
    std::vector<PodState> states;
    for (const auto& p : podStates) states.push_back(podState(p));
    h.addPods(states);
    h.hpa(metrics, 1, maxReplicas, behavior);
    QVERIFY(h.controller->sync("default/web").isOk());
    QCOMPARE(h.replicas(), want);
    const json hpa = h.hpaObject();
    QCOMPARE(hpa["status"]["currentReplicas"], json(replicas));
    // A sync that could not compute leaves desiredReplicas as it was (0 on a new HPA).
    QCOMPARE(hpa["status"]["desiredReplicas"], json(active == "ValidMetricFound" ? want : 0));
    QCOMPARE(QString::fromStdString(condition(hpa, "ScalingActive").value("reason", "")), active);
    QCOMPARE(QString::fromStdString(condition(hpa, "ScalingLimited").value("reason", "")), limited);
    QCOMPARE(condition(hpa, "AbleToScale")["status"], json("True"));
  }

  void statusAndEventsTellWhatHappened() {
    Harness h;
    h.deployment(2);
    h.addPods({{.cpuMilli = 75}, {.cpuMilli = 75}});
    h.hpa(json::array({cpuUtilization(50)}), 1, 10);
    QVERIFY(h.controller->sync("default/web").isOk());
    const json hpa = h.hpaObject();
    QCOMPARE(hpa["status"]["currentMetrics"], json::parse(kCpuAt75Percent));
    QCOMPARE(hpa["status"]["lastScaleTime"], json(formatTime(h.clock.now())));
    QCOMPARE(condition(hpa, "AbleToScale")["reason"], json("SucceededRescale"));
    QCOMPARE(condition(hpa, "AbleToScale")["message"],
             json("the HPA controller was able to update the target scale to 3"));
    QCOMPARE(condition(hpa, "ScalingActive")["message"],
             json("the HPA was able to successfully calculate a replica count from cpu resource "
                  "utilization (percentage of request)"));
    const auto rescaled = h.events("SuccessfulRescale");
    QCOMPARE(rescaled.size(), size_t(1));
    QCOMPARE(rescaled[0]["message"],
             json("New size: 3; reason: cpu resource utilization (percentage of request) above "
                  "target"));
    QCOMPARE(rescaled[0]["source"]["component"], json("horizontal-pod-autoscaler"));
  }

  void failedMetricsExplainThemselves() {
    Harness h;
    h.deployment(1);
    h.addPods({{.cpuMilli = 100, .requests = false}});
    h.hpa(json::array({cpuUtilization(50)}), 1, 10);
    QVERIFY(h.controller->sync("default/web").isOk());
    const json hpa = h.hpaObject();
    QCOMPARE(condition(hpa, "ScalingActive")["message"],
             json("the HPA was unable to compute the replica count: missing request for cpu in "
                  "container main of Pod web-0"));
    QVERIFY(!hpa["status"].contains("currentMetrics"));
    QCOMPARE(h.events("FailedGetResourceMetric").size(), size_t(1));
    const auto failed = h.events("FailedComputeMetricsReplicas");
    QCOMPARE(failed.size(), size_t(1));
    QCOMPARE(failed[0]["message"],
             json("invalid metrics (1 invalid out of 1), first error is: failed to get cpu "
                  "utilization: missing request for cpu in container main of Pod web-0"));
  }

  void defaultStabilizationHoldsScaleDownFiveMinutes() {
    Harness h;
    h.deployment(4);
    h.addPods({{.cpuMilli = 5}, {.cpuMilli = 5}, {.cpuMilli = 5}, {.cpuMilli = 5}});
    h.hpa(json::array({cpuUtilization(50)}), 1, 10);
    h.syncAfter(0s);
    QCOMPARE(h.replicas(), 4);
    QCOMPARE(condition(h.hpaObject(), "AbleToScale")["reason"], json("ScaleDownStabilized"));
    h.syncAfter(200s);
    QCOMPARE(h.replicas(), 4);
    h.syncAfter(101s);  // the recommendation of 4 is now older than 300 s
    QCOMPARE(h.replicas(), 1);
    QCOMPARE(h.events("SuccessfulRescale")[0]["message"],
             json("New size: 1; reason: All metrics below target"));
  }

  void behaviorWindowAndPodsPolicyPaceScaleDown() {
    Harness h;
    h.deployment(4);
    h.addPods({{.cpuMilli = 5}, {.cpuMilli = 5}, {.cpuMilli = 5}, {.cpuMilli = 5}});
    h.hpa(json::array({cpuUtilization(50)}), 1, 10,
          {{"scaleDown",
            {{"stabilizationWindowSeconds", 10},
             {"policies", {{{"type", "Pods"}, {"value", 1}, {"periodSeconds", 60}}}}}}});
    h.syncAfter(0s);
    QCOMPARE(h.replicas(), 4);  // within the 10 s window of the first recommendation
    h.syncAfter(11s);
    QCOMPARE(h.replicas(), 3);  // one pod per minute
    QCOMPARE(condition(h.hpaObject(), "ScalingLimited")["reason"], json("ScaleDownLimit"));
    h.syncAfter(30s);
    QCOMPARE(h.replicas(), 3);
    h.syncAfter(31s);
    QCOMPARE(h.replicas(), 2);
  }

  void scaleUpStabilizationTakesTheLowestRecommendation() {
    Harness h;
    h.deployment(2);
    h.addPods({{.cpuMilli = 75}, {.cpuMilli = 75}});
    h.hpa(json::array({cpuUtilization(50)}), 1, 10,
          {{"scaleUp", {{"stabilizationWindowSeconds", 60}}}});
    h.syncAfter(0s);
    QCOMPARE(h.replicas(), 2);  // the initial recommendation (2) is within the window
    QCOMPARE(condition(h.hpaObject(), "AbleToScale")["reason"], json("ScaleUpStabilized"));
    h.syncAfter(61s);
    QCOMPARE(h.replicas(), 3);
  }

  void cpuSampledBeforeReadinessIsSetAside() {
    Harness h;
    h.deployment(1);
    h.hpa(json::array({cpuUtilization(50)}), 1, 10);
    // Started a minute ago, ready for 5 s: the 10 s sample window began before it was ready.
    h.addPods({{.cpuMilli = 500}}, 60s);
    json pod = h.c.get(pods(), "default", "web-0");
    pod["status"]["conditions"][0]["lastTransitionTime"] = formatTime(h.clock.now() - 5s);
    kd::server::WriteOptions o;
    o.subresource = "status";
    QVERIFY(h.c.objects().update(pods(), "default", "web-0", pod, o).ok());
    QVERIFY(h.controller->sync("default/web").isOk());
    QCOMPARE(h.replicas(), 1);
    QCOMPARE(condition(h.hpaObject(), "ScalingActive")["message"],
             json("the HPA was unable to compute the replica count: did not receive metrics for "
                  "targeted pods (pods might be unready)"));
    h.syncAfter(10s);  // a full window after readiness
    QCOMPARE(h.replicas(), 4);
  }

  void targetOutsideTheLimitsIsBroughtIn() {
    Harness h;
    h.deployment(6);
    h.hpa(json::array({cpuUtilization(50)}), 2, 4);
    QVERIFY(h.controller->sync("default/web").isOk());
    QCOMPARE(h.replicas(), 4);
    QCOMPARE(h.events("SuccessfulRescale")[0]["message"],
             json("New size: 4; reason: Current number of replicas above Spec.MaxReplicas"));
  }

  void targetAtZeroDisablesScaling() {
    Harness h;
    h.deployment(0);
    h.hpa(json::array({cpuUtilization(50)}), 1, 4);
    QVERIFY(h.controller->sync("default/web").isOk());
    QCOMPARE(h.replicas(), 0);
    const json active = condition(h.hpaObject(), "ScalingActive");
    QCOMPARE(active["status"], json("False"));
    QCOMPARE(active["reason"], json("ScalingDisabled"));
  }

  void missingTargetCannotScale() {
    Harness h;
    h.hpa(json::array({cpuUtilization(50)}), 1, 4);
    QVERIFY(h.controller->sync("default/web").isOk());
    const json able = condition(h.hpaObject(), "AbleToScale");
    QCOMPARE(able["status"], json("False"));
    QCOMPARE(able["reason"], json("FailedGetScale"));
    QVERIFY2(able["message"].get<std::string>().find("not found") != std::string::npos,
             able.dump().c_str());
    QCOMPARE(h.events("FailedGetScale").size(), size_t(1));
  }

  void deletedHpaIsForgotten() {
    Harness h;
    QVERIFY(h.controller->sync("default/gone").isOk());
  }
};

QTEST_GUILESS_MAIN(HpaControllerTest)
#include "hpa_controller_test.moc"

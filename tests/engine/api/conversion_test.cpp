#include "engine/api/conversion.h"

#include <QtTest>

#include "engine/api/kinds.h"

using kd::json;
using kd::api::KindsRegistry;

namespace {

const kd::api::VersionConverter& converter() {
  return kd::api::hpaV1Converter();
}

// An autoscaling/v2 HPA with one metric of every source type, a behavior, current metrics and
// conditions: everything v1 cannot hold.
const char* kRichV2 = R"({
  "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
  "metadata": {"name": "web", "namespace": "default", "resourceVersion": "7",
               "annotations": {"team": "a"}},
  "spec": {
    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
    "minReplicas": 2, "maxReplicas": 9,
    "metrics": [
      {"type": "Resource", "resource": {"name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": 50}}},
      {"type": "Resource", "resource": {"name": "memory",
        "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
      {"type": "Pods", "pods": {"metric": {"name": "qps"},
        "target": {"type": "AverageValue", "averageValue": "10"}}},
      {"type": "Object", "object": {
        "describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "in"},
        "metric": {"name": "hits", "selector": {"matchLabels": {"a": "b"}}},
        "target": {"type": "Value", "value": "2k"}}},
      {"type": "External", "external": {"metric": {"name": "queue"},
        "target": {"type": "AverageValue", "averageValue": "30"}}},
      {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app",
        "target": {"type": "Utilization", "averageUtilization": 60}}}
    ],
    "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60,
      "policies": [{"type": "Pods", "value": 1, "periodSeconds": 30}]}}
  },
  "status": {
    "observedGeneration": 3, "lastScaleTime": "2026-11-23T07:00:00Z",
    "currentReplicas": 4, "desiredReplicas": 5,
    "currentMetrics": [
      {"type": "Resource", "resource": {"name": "cpu",
        "current": {"averageUtilization": 71, "averageValue": "142m"}}},
      {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "400Mi"}}}
    ],
    "conditions": [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
                    "lastTransitionTime": "2026-11-23T07:00:00Z"}]
  }
})";

const char* kPlainV1 = R"({
  "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
  "metadata": {"name": "web"},
  "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
           "minReplicas": 1, "maxReplicas": 4, "targetCPUUtilizationPercentage": 50}
})";

json annotation(const json& object, const char* key) {
  return json::parse(object["metadata"]["annotations"][key].get<std::string>());
}

json withoutRoundTripAnnotations(json object) {
  for (const char* key : {kd::api::kHpaMetricsAnnotation, kd::api::kHpaCurrentMetricsAnnotation,
                          kd::api::kHpaBehaviorAnnotation, kd::api::kHpaConditionsAnnotation}) {
    object["metadata"]["annotations"].erase(key);
  }
  return object;
}

struct Malformed {
  const char* name;
  const char* body;
};
const Malformed kMalformed[] = {
    {"spec is a string", R"({"spec": "x", "status": 3})"},
    {"metrics not a list", R"({"spec": {"metrics": {"a": 1}}})"},
    {"metric not an object", R"({"spec": {"metrics": [1, "x", null]}})"},
    {"annotations not strings",
     R"({"metadata": {"annotations": {"autoscaling.alpha.kubernetes.io/metrics": 5}}})"},
    {"annotation not JSON",
     R"({"metadata": {"annotations": {"autoscaling.alpha.kubernetes.io/metrics": "[{"}}})"},
    {"metadata not an object", R"({"metadata": [1]})"},
};

}  // namespace

class ConversionTest : public QObject {
  Q_OBJECT
 private slots:
  void v2ToV1KeepsWhatV1CanHold() {
    const json v1 = converter().toServed(json::parse(kRichV2));
    QCOMPARE(v1["apiVersion"], json("autoscaling/v1"));
    QCOMPARE(v1["spec"]["scaleTargetRef"]["name"], json("web"));
    QCOMPARE(v1["spec"]["minReplicas"], json(2));
    QCOMPARE(v1["spec"]["maxReplicas"], json(9));
    QCOMPARE(v1["spec"]["targetCPUUtilizationPercentage"], json(50));
    QVERIFY(!v1["spec"].contains("metrics"));
    QVERIFY(!v1["spec"].contains("behavior"));
    QCOMPARE(v1["status"]["observedGeneration"], json(3));
    QCOMPARE(v1["status"]["lastScaleTime"], json("2026-11-23T07:00:00Z"));
    QCOMPARE(v1["status"]["currentReplicas"], json(4));
    QCOMPARE(v1["status"]["desiredReplicas"], json(5));
    QCOMPARE(v1["status"]["currentCPUUtilizationPercentage"], json(71));
    QVERIFY(!v1["status"].contains("conditions"));
    QCOMPARE(v1["metadata"]["annotations"]["team"], json("a"));
    QCOMPARE(v1["metadata"]["resourceVersion"], json("7"));
  }

  void v2ToV1PutsTheRestInAnnotationsInV1Shape() {
    const json v1 = converter().toServed(json::parse(kRichV2));
    const json others = annotation(v1, kd::api::kHpaMetricsAnnotation);
    QCOMPARE(others.size(), size_t(5));  // all but the cpu utilization one
    QCOMPARE(others[0], json::parse(R"({"type": "Resource",
        "resource": {"name": "memory", "targetAverageValue": "500Mi"}})"));
    QCOMPARE(others[1], json::parse(R"({"type": "Pods",
        "pods": {"metricName": "qps", "targetAverageValue": "10"}})"));
    QCOMPARE(others[2]["object"]["target"]["kind"], json("Ingress"));
    QCOMPARE(others[2]["object"]["targetValue"], json("2k"));
    QCOMPARE(others[2]["object"]["selector"]["matchLabels"]["a"], json("b"));
    QCOMPARE(others[3]["external"]["targetAverageValue"], json("30"));
    QCOMPARE(others[4]["containerResource"]["targetAverageUtilization"], json(60));
    const json current = annotation(v1, kd::api::kHpaCurrentMetricsAnnotation);
    QCOMPARE(current.size(), size_t(2));  // the cpu one too: it keeps the raw value
    QCOMPARE(current[0]["resource"]["currentAverageValue"], json("142m"));
    QCOMPARE(annotation(v1, kd::api::kHpaBehaviorAnnotation)["scaleDown"]["policies"][0]["value"],
             json(1));
    QCOMPARE(annotation(v1, kd::api::kHpaConditionsAnnotation)[0]["reason"],
             json("ReadyForNewScale"));
  }

  void v2ToV1ToV2KeepsEverything() {
    const json v2 = json::parse(kRichV2);
    auto back = converter().toStored(converter().toServed(v2));
    QVERIFY(back.ok());
    QCOMPARE(back->value("apiVersion", ""), std::string("autoscaling/v2"));
    QCOMPARE((*back)["metadata"], v2["metadata"]);  // the round-trip annotations are gone again
    QCOMPARE((*back)["status"], v2["status"]);
    QCOMPARE((*back)["spec"]["behavior"], v2["spec"]["behavior"]);
    // As in Kubernetes, the metrics v1 could not hold come first and the cpu target last.
    json expected = v2["spec"]["metrics"];
    std::rotate(expected.begin(), expected.begin() + 1, expected.end());
    QCOMPARE((*back)["spec"]["metrics"], expected);
    QCOMPARE((*back)["spec"]["scaleTargetRef"], v2["spec"]["scaleTargetRef"]);
    QCOMPARE((*back)["spec"]["maxReplicas"], json(9));
  }

  void v1ToV2ToV1IsStable() {
    const json v1 = converter().toServed(json::parse(kRichV2));
    auto v2 = converter().toStored(v1);
    QVERIFY(v2.ok());
    const json again = converter().toServed(*v2);
    QCOMPARE(withoutRoundTripAnnotations(again), withoutRoundTripAnnotations(v1));
    QCOMPARE(annotation(again, kd::api::kHpaMetricsAnnotation).size(), size_t(5));
  }

  void plainV1BecomesTheCpuMetric() {
    auto v2 = converter().toStored(json::parse(kPlainV1));
    QVERIFY(v2.ok());
    QCOMPARE((*v2)["spec"]["metrics"], json::parse(R"([{"type": "Resource", "resource":
        {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}])"));
    QVERIFY(!v2->contains("status"));
    QVERIFY(!(*v2)["metadata"].contains("annotations"));
  }

  void v1WithoutTargetGetsTheV1Default() {
    json v1 = json::parse(kPlainV1);
    v1["spec"].erase("targetCPUUtilizationPercentage");
    auto v2 = converter().toStored(v1);
    QVERIFY(v2.ok());
    QCOMPARE((*v2)["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], json(80));
  }

  void v1StatusBecomesCurrentMetrics() {
    json v1 = json::parse(kPlainV1);
    v1["status"] = {
        {"currentReplicas", 2}, {"desiredReplicas", 3}, {"currentCPUUtilizationPercentage", 90}};
    auto v2 = converter().toStored(v1);
    QVERIFY(v2.ok());
    QCOMPARE((*v2)["status"]["desiredReplicas"], json(3));
    QCOMPARE((*v2)["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"],
             json(90));
  }

  void storedRoundTripAnnotationsAreNotShownTwice() {
    // A v2 writer may have set such an annotation itself; v1 shows only what conversion made.
    json v2 = json::parse(kRichV2);
    v2["spec"]["metrics"] = json::array({v2["spec"]["metrics"].front()});
    v2["spec"].erase("behavior");
    v2["status"].erase("currentMetrics");
    v2["status"].erase("conditions");
    v2["metadata"]["annotations"][kd::api::kHpaMetricsAnnotation] = "[]";
    const json v1 = converter().toServed(v2);
    QCOMPARE(v1["metadata"]["annotations"], json::parse(R"({"team": "a"})"));
  }

  void malformedInputNeverThrows_data() {
    QTest::addColumn<QString>("body");
    for (const auto& [name, body] : kMalformed) QTest::newRow(name) << QString(body);
  }
  void malformedInputNeverThrows() {
    QFETCH(QString, body);
    const json in = json::parse(body.toStdString());
    const json v1 = converter().toServed(in);
    QCOMPARE(v1["kind"], json("HorizontalPodAutoscaler"));
    auto v2 = converter().toStored(in);
    QVERIFY(v2.ok());
    QCOMPARE((*v2)["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], json(80));
  }

  void aBodyThatIsNotAnObjectIsABadRequest() {
    auto r = converter().toStored(json::array());
    QVERIFY(!r.ok());
    QCOMPARE(r.status().code(), 400);
  }

  void registryServesV1ByConversion() {
    const auto& kinds = KindsRegistry::builtin();
    const auto* v1 = kinds.byResource("autoscaling", "v1", "horizontalpodautoscalers");
    QVERIFY(v1 && v1->converter && v1->storageVersion == "v2");
    QCOMPARE(v1->schemaType, std::string("autoscaling.v1.HorizontalPodAutoscaler"));
    QCOMPARE(kinds.storageOf(*v1).version, std::string("v2"));
    QCOMPARE(kinds.byKind("autoscaling/v1", "HorizontalPodAutoscaler"), v1);
    QCOMPARE(kinds.resolve("hpa")->version, std::string("v2"));
    for (const auto& k : kinds.all()) QVERIFY(!k.converter);  // one entry per stored resource
    QCOMPARE(kinds.served().size(), kinds.all().size() + 1);
    for (const auto& g : kinds.groups()) {
      if (g.group == "autoscaling") QCOMPARE(g.versions, (std::vector<std::string>{"v2", "v1"}));
    }
    const auto* pods = kinds.byResource("", "v1", "pods");
    QVERIFY(pods && !pods->converter && &kinds.storageOf(*pods) == pods);
  }
};

QTEST_GUILESS_MAIN(ConversionTest)
#include "conversion_test.moc"

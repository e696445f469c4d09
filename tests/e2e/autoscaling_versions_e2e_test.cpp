// End to end: HorizontalPodAutoscalers served as autoscaling/v1 and autoscaling/v2 of the same
// stored objects (engine/api/conversion.h), driven by the real kubectl 1.32 (whose `autoscale`
// posts autoscaling/v1 as protobuf) and kubectl 1.27, against a real kubedesk-engine.

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QtTest>

#include "engine_process.h"

namespace {

const QString kKubectl127 = "/usr/lib/google-cloud-sdk/bin/kubectl.1.27";
// kubectl 1.28+ drops the version of a short name ("hpa.v1.autoscaling" asks for the preferred
// v2; kubectl's shortcut expander does that, not the server), so v1 is named in full.
const QString kV1 = "horizontalpodautoscalers.v1.autoscaling";
const QString kV2 = "horizontalpodautoscalers.v2.autoscaling";

// An autoscaler with what autoscaling/v1 cannot express: a memory metric and a behavior.
const char* const kRichV2 = R"(apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: rich
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
  - type: Resource
    resource: {name: memory, target: {type: AverageValue, averageValue: 300Mi}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 30}
)";

const char* const kV1WithUnknownField = R"(apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata:
  name: strict
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 2
  targetCPUUtilizationPercentage: 70
  bogus: 1
)";

const char* const kMaxReplicasSix = R"({"spec":{"maxReplicas":6}})";
const char* const kMaxReplicasEight = R"({"spec":{"maxReplicas":8}})";
const char* const kMinReplicasTwo = R"({"spec":{"minReplicas":2}})";
const char* const kCurrentCpu42 = R"({"status":{"currentCPUUtilizationPercentage":42}})";
const char* const kCpuTo65 =
    R"([{"op":"replace","path":"/spec/targetCPUUtilizationPercentage","value":65}])";

QJsonObject parseObject(const QString& text) {
  return QJsonDocument::fromJson(text.toUtf8()).object();
}

// The rows of a `kubectl get` table without the AGE column (which may tick between calls).
QString withoutAge(const QString& table) {
  QStringList lines;
  for (const auto& line : table.split('\n', Qt::SkipEmptyParts)) {
    lines << line.left(line.lastIndexOf(QRegularExpression("\\s+\\S+$")));
  }
  return lines.join('\n');
}

}  // namespace

class AutoscalingVersionsE2eTest : public QObject {
  Q_OBJECT
  EngineProcess engine_;

  CommandResult k(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input);
  }
  QString get(const QString& resource, const QString& name, const QString& jsonpath) {
    return k({"get", resource, name, "-o", "jsonpath=" + jsonpath}).out;
  }

 private slots:
  void initTestCase() {
    KD_VERIFY2(engine_.start(), qPrintable(engine_.log()));
    CMD_OK(k({"create", "deployment", "web", "--image=busybox", "--", "sleep", "3600"}));
  }

  void kubectl132AutoscalePostsV1() {
    auto r = k({"autoscale", "deployment", "web", "--cpu-percent=50", "--min=1", "--max=4"});
    CMD_OK(r);
    QCOMPARE(r.out.trimmed(), QString("horizontalpodautoscaler.autoscaling/web autoscaled"));
  }

  void getHpaListsItInBothVersionsAlike() {
    auto v2 = k({"get", "hpa"});
    CMD_OK(v2);
    KD_VERIFY2(v2.out.contains(QRegularExpression(
                   "NAME\\s+REFERENCE\\s+TARGETS\\s+MINPODS\\s+MAXPODS\\s+REPLICAS\\s+AGE")),
               qPrintable(v2.out));
    KD_VERIFY2(
        v2.out.contains(QRegularExpression("web\\s+Deployment/web\\s+cpu: \\S+/50%\\s+1\\s+4")),
        qPrintable(v2.out));
    auto v1 = k({"get", kV1});
    CMD_OK(v1);
    QCOMPARE(withoutAge(v1.out), withoutAge(v2.out));
  }

  void v1YamlShowsTheV1Fields() {
    auto r = k({"get", kV1, "web", "-o", "yaml"});
    CMD_OK(r);
    KD_VERIFY2(r.out.contains("apiVersion: autoscaling/v1"), qPrintable(r.out));
    KD_VERIFY2(r.out.contains("targetCPUUtilizationPercentage: 50"), qPrintable(r.out));
    KD_VERIFY2(!r.out.contains("metrics:"), qPrintable(r.out));
    // kubectl 1.27 keeps the version of a short name.
    auto old = engine_.kubectl({"get", "hpa.v1.autoscaling", "web", "-o", "yaml"}, {}, kKubectl127);
    CMD_OK(old);
    KD_VERIFY2(old.out.contains("targetCPUUtilizationPercentage: 50"), qPrintable(old.out));
  }

  void aV2ClientSeesTheMetric() {
    QCOMPARE(get(kV2, "web", "{.apiVersion}"), QString("autoscaling/v2"));
    QCOMPARE(get(kV2, "web", "{.spec.metrics[0].resource.name}"), QString("cpu"));
    QCOMPARE(get(kV2, "web", "{.spec.metrics[0].resource.target.type}"), QString("Utilization"));
    QCOMPARE(get(kV2, "web", "{.spec.metrics[0].resource.target.averageUtilization}"),
             QString("50"));
  }

  void patchingV1ChangesWhatV2Shows() {
    const QString before = get(kV1, "web", "{.metadata.resourceVersion}");
    CMD_OK(k({"patch", kV1, "web", "--type=merge", "-p", kMaxReplicasSix}));
    QCOMPARE(get(kV2, "web", "{.spec.maxReplicas}"), QString("6"));
    CMD_OK(k({"patch", kV1, "web", "--type=json", "-p", kCpuTo65}));
    QCOMPARE(get(kV2, "web", "{.spec.metrics[0].resource.target.averageUtilization}"),
             QString("65"));
    CMD_OK(k({"patch", kV1, "web", "--type=strategic", "-p", kMinReplicasTwo}));
    QCOMPARE(get(kV2, "web", "{.spec.minReplicas}"), QString("2"));

    // A watch on v1 from before the patches replays them as v1 objects.
    auto w = k({"get", "--raw",
                "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers?watch=1&"
                "timeoutSeconds=1&resourceVersion=" +
                    before});
    CMD_OK(w);
    QStringList maxReplicas;
    for (const auto& line : w.out.split('\n', Qt::SkipEmptyParts)) {
      const QJsonObject event = parseObject(line);
      const QJsonObject object = event["object"].toObject();
      QCOMPARE(event["type"].toString(), QString("MODIFIED"));
      QCOMPARE(object["apiVersion"].toString(), QString("autoscaling/v1"));
      KD_VERIFY2(!object["spec"].toObject().contains("metrics"), qPrintable(line));
      maxReplicas << QString::number(object["spec"].toObject()["maxReplicas"].toInt());
    }
    KD_VERIFY2(maxReplicas.contains("6"), qPrintable(w.out));
  }

  void whatV1CannotHoldSurvivesV1Writes() {
    CMD_OK(k({"apply", "-f", "-"}, kRichV2));
    auto v1 = k({"get", kV1, "rich", "-o", "json"});
    CMD_OK(v1);
    const QJsonObject annotations =
        parseObject(v1.out)["metadata"].toObject()["annotations"].toObject();
    KD_VERIFY2(annotations["autoscaling.alpha.kubernetes.io/metrics"].toString().contains("300Mi"),
               qPrintable(v1.out));
    KD_VERIFY2(annotations.contains("autoscaling.alpha.kubernetes.io/behavior"),
               qPrintable(v1.out));
    // A whole v1 object written back (update), then a v1 patch: the v2-only parts stay.
    CMD_OK(k({"replace", "-f", "-"}, v1.out.toUtf8()));
    CMD_OK(k({"patch", kV1, "rich", "--type=merge", "-p", kMaxReplicasEight}));
    QCOMPARE(get(kV2, "rich", "{.spec.maxReplicas}"), QString("8"));
    QCOMPARE(get(kV2, "rich", "{.spec.metrics[*].resource.name}"), QString("memory cpu"));
    QCOMPARE(get(kV2, "rich", "{.spec.behavior.scaleDown.stabilizationWindowSeconds}"),
             QString("30"));
    const QJsonObject stored = parseObject(get(kV2, "rich", "{.metadata.annotations}"));
    for (const auto& key : stored.keys())
      KD_VERIFY2(!key.startsWith("autoscaling.alpha"), qPrintable(key));
  }

  void v1StatusSubresource() {
    CMD_OK(k({"patch", kV1, "web", "--subresource=status", "--type=merge", "-p", kCurrentCpu42}));
    QCOMPARE(get(kV2, "web", "{.status.currentMetrics[0].resource.current.averageUtilization}"),
             QString("42"));
  }

  void kubectl127Autoscale() {
    CMD_OK(k({"create", "deployment", "old", "--image=busybox", "--", "sleep", "3600"}));
    auto r = engine_.kubectl({"autoscale", "deployment", "old", "--cpu-percent=40", "--max=3"}, {},
                             kKubectl127);
    CMD_OK(r);
    QCOMPARE(get(kV2, "old", "{.spec.metrics[0].resource.target.averageUtilization}"),
             QString("40"));
  }

  void discoveryListsBothVersions() {
    auto versions = k({"api-versions"});
    CMD_OK(versions);
    QVERIFY(versions.out.contains("autoscaling/v1\n"));
    QVERIFY(versions.out.contains("autoscaling/v2\n"));
    auto group = k({"get", "--raw", "/apis/autoscaling"});
    CMD_OK(group);
    QCOMPARE(parseObject(group.out)["preferredVersion"].toObject()["version"].toString(),
             QString("v2"));
    auto v1 = k({"get", "--raw", "/apis/autoscaling/v1"});
    CMD_OK(v1);
    QStringList names;
    for (const auto& r : parseObject(v1.out)["resources"].toArray()) {
      names << r.toObject()["name"].toString();
    }
    QCOMPARE(names, (QStringList{"horizontalpodautoscalers", "horizontalpodautoscalers/status"}));
  }

  void strictFieldValidationJudgesV1Fields() {
    auto r = k({"apply", "-f", "-"}, kV1WithUnknownField);
    KD_VERIFY2(r.exitCode != 0, qPrintable(r.out));
    KD_VERIFY2(r.err.contains("unknown field \"spec.bogus\""), qPrintable(r.err));
    QByteArray valid = kV1WithUnknownField;
    valid.replace("  bogus: 1\n", "");
    CMD_OK(k({"apply", "-f", "-"}, valid));
    QCOMPARE(get(kV2, "strict", "{.spec.metrics[0].resource.target.averageUtilization}"),
             QString("70"));
  }

  void deleteThroughV1() {
    CMD_OK(k({"delete", kV1, "web", "rich", "strict", "old"}));
    auto r = k({"get", "hpa", "-o", "name"});
    CMD_OK(r);
    QCOMPARE(r.out.trimmed(), QString());
  }
};

QTEST_GUILESS_MAIN(AutoscalingVersionsE2eTest)
#include "autoscaling_versions_e2e_test.moc"

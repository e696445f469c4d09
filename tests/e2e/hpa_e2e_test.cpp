// End to end: a HorizontalPodAutoscaler made with `kubectl autoscale` scales a Deployment of
// busybox pods up while they burn CPU and back down once they stop, on the usage a real
// kubedesk-node reads from the pods' cgroups under the real runc; kubectl 1.32 lists and
// describes it. kubectl 1.32's autoscale posts autoscaling/v1 (as protobuf), which the engine
// serves by conversion from the stored autoscaling/v2 object.
// The engine evaluates autoscalers every 2 s and the agent reports usage every second, so
// the test takes tens of seconds, not minutes. Needs root.

#include <unistd.h>

#include <QRegularExpression>
#include <QtTest>

#include "node_agent_process.h"

namespace {

// Each pod burns a CPU until /tmp/stop exists, then idles. Requests 100m, so one busy pod is
// far above a 50% target.
const char* const kWeb = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox
        command: ["sh", "-c", "while [ ! -e /tmp/stop ]; do :; done; exec sleep 3600"]
        resources:
          requests:
            cpu: 100m
            memory: 16Mi
)";

// A short scale-down window so the test need not wait Kubernetes' default 300 s.
const char* const kShortScaleDownWindow =
    R"({"spec": {"behavior": {"scaleDown": {"stabilizationWindowSeconds": 5}}}})";

// `kubectl get hpa`'s row for web: TARGETS' current cpu, then REPLICAS.
const QRegularExpression kHpaRow(
    "^web\\s+Deployment/web\\s+cpu: (\\d+|<unknown>)%?/50%\\s+1\\s+3\\s+(\\d+)\\s+\\S+$",
    QRegularExpression::MultilineOption);

}  // namespace

class HpaE2eTest : public QObject {
  Q_OBJECT
  EngineProcess engine_{{}, {"--horizontal-pod-autoscaler-sync-period", "2s"}};
  NodeAgentProcess agent_{engine_, "n1", {"--metrics-interval", "1s"}};

  CommandResult k(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input);
  }
  int replicas() {
    return k({"get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"}).out.toInt();
  }
  int runningPods() {
    auto r =
        k({"get", "pods", "-l", "app=web", "--field-selector=status.phase=Running", "-o", "name"});
    return r.exitCode == 0 ? int(r.out.split('\n', Qt::SkipEmptyParts).size()) : -1;
  }
  QString describe() { return k({"describe", "hpa", "web"}).out; }

 private slots:
  void initTestCase() {
    if (::geteuid() != 0) QSKIP("kubedesk-node needs root");
    KD_VERIFY2(engine_.start(), qPrintable(engine_.log()));
    QVERIFY(agent_.start());
    KD_VERIFY2(waitFor(
                   [&] {
                     return k({"get", "node", "n1"}).exitCode == 0;
                   },
                   60000),
               qPrintable(agent_.log()));
    CMD_OK(k({"apply", "-f", "-"}, kWeb));
    KD_VERIFY2(waitFor([&] { return runningPods() == 1; }, 60000),
               qPrintable(k({"get", "pods", "-o", "wide"}).out + agent_.log()));
  }

  void autoscaleCreatesAnHpaThatKubectlLists() {
    auto r = k({"autoscale", "deployment", "web", "--cpu-percent=50", "--min=1", "--max=3"});
    CMD_OK(r);
    QCOMPARE(r.out.trimmed(), QString("horizontalpodautoscaler.autoscaling/web autoscaled"));
    CMD_OK(k({"patch", "hpa", "web", "--type=merge", "-p", kShortScaleDownWindow}));
    r = k({"get", "hpa"});
    CMD_OK(r);
    KD_VERIFY2(QRegularExpression("^NAME\\s+REFERENCE\\s+TARGETS\\s+MINPODS\\s+MAXPODS\\s+"
                                  "REPLICAS\\s+AGE\\n")
                   .match(r.out)
                   .hasMatch(),
               qPrintable(r.out));
    KD_VERIFY2(kHpaRow.match(r.out).hasMatch(), qPrintable(r.out));
  }

  void busyPodsScaleTheDeploymentUp() {
    // One busy pod is many times its 100m request: one sync goes to the maximum.
    KD_VERIFY2(waitFor([&] { return replicas() == 3; }, 60000), qPrintable(describe()));
    CommandResult r;
    KD_VERIFY2(waitFor(
                   [&] {
                     r = k({"get", "hpa", "web", "--no-headers"});
                     const auto row = kHpaRow.match(r.out);
                     return row.hasMatch() && row.captured(1).toInt() > 55 &&
                            row.captured(2) == "3";
                   },
                   30000),
               qPrintable(r.out + r.err));
    qInfo().noquote() << "kubectl get hpa (busy):\n" + r.out;
    const QString described = describe();
    KD_VERIFY2(described.contains(QRegularExpression(
                   "SuccessfulRescale\\s+\\S+\\s+horizontal-pod-autoscaler\\s+New size: 3; reason: "
                   "cpu resource utilization \\(percentage of request\\) above target")),
               qPrintable(described));
    KD_VERIFY2(described.contains(QRegularExpression("ScalingActive\\s+True\\s+ValidMetricFound")),
               qPrintable(described));
    KD_VERIFY2(described.contains(QRegularExpression("ScalingLimited\\s+True\\s+TooManyReplicas")),
               qPrintable(described));
  }

  void idlePodsScaleItBackDown() {
    KD_VERIFY2(waitFor([&] { return runningPods() == 3; }, 60000),
               qPrintable(k({"get", "pods", "-o", "wide"}).out));
    const auto pods =
        k({"get", "pods", "-l", "app=web", "-o", "name"}).out.split('\n', Qt::SkipEmptyParts);
    for (const auto& pod : pods) CMD_OK(k({"exec", pod, "--", "touch", "/tmp/stop"}));
    KD_VERIFY2(waitFor([&] { return replicas() == 1; }, 60000), qPrintable(describe()));
    const QString described = describe();
    KD_VERIFY2(described.contains(QRegularExpression(
                   "SuccessfulRescale\\s+\\S+\\s+horizontal-pod-autoscaler\\s+New size: 1; reason: "
                   "All metrics below target")),
               qPrintable(described));
    CommandResult r;
    KD_VERIFY2(waitFor(
                   [&] {
                     r = k({"get", "hpa", "web", "--no-headers"});
                     const auto row = kHpaRow.match(r.out);
                     return row.hasMatch() && row.captured(1).toInt() < 45 &&
                            row.captured(2) == "1";
                   },
                   30000),
               qPrintable(r.out + r.err));
    qInfo().noquote() << "kubectl get hpa (idle):\n" + r.out;
  }

  void cleanupTestCase() {
    if (engine_.url().isEmpty()) return;
    k({"delete", "hpa", "web"});
    k({"delete", "deployment", "web", "--timeout=30s"});
    waitFor([&] { return runningPods() == 0; }, 30000);
    const QStringList left = agent_.cleanUp();
    KD_VERIFY2(left.isEmpty(), qPrintable(left.join(',')));
  }
};

QTEST_GUILESS_MAIN(HpaE2eTest)
#include "hpa_e2e_test.moc"

// End to end: kdctl against a real kubedesk-engine process, compared with the real kubectl on
// the same objects; and kdctl's cluster lifecycle on a throwaway profile.

#include <signal.h>

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include "engine_process.h"

namespace {

const QString kKdctl = QStringLiteral(KD_BINARY_DIR "/bin/kdctl");

QString manifest(const QString& name) {
  return QStringLiteral(KD_SOURCE_DIR "/tests/e2e/manifests/") + name;
}

bool writeFile(const QString& path, const QByteArray& text) {
  QFile f(path);
  return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(text) == text.size();
}

// Alive and not a zombie waiting for a parent that never reaps it.
bool alive(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  QFile stat(QString("/proc/%1/stat").arg(pid));
  if (!stat.open(QIODevice::ReadOnly)) return false;
  const QByteArray text = stat.readAll();
  const int close = text.lastIndexOf(')');
  return close < 0 || text.mid(close + 2, 1) != "Z";
}

QJsonObject jsonOf(const QString& text) {
  return QJsonDocument::fromJson(text.toUtf8()).object();
}

// Objects of every kind describe has a layout for, with the fields those layouts print.
const QByteArray kDescribeManifest =
    QByteArray(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: rich}\n---\n"
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: rich}\n"
        "spec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: rich}\n"
        "data: {one: \"1\"}\nbinaryData: {blob: aGVsbG8=}\n---\n"
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: rich}\n"
        "data: {p: aHVudGVyMg==, q: \"\"}\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: np, namespace: rich}\n"
        "spec:\n  type: NodePort\n  selector: {app: rich}\n  ports:\n"
        "  - {name: http, port: 80, targetPort: http}\n"
        "  - {name: metrics, port: 9090, targetPort: 9090, protocol: UDP}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: rich\n  namespace: rich\n"
        "  labels: {app: rich, tier: db}\n  annotations:\n    note: short\n    long: \"") +
    QByteArray(150, 'a') +
    QByteArray(
        "\"\nspec:\n  nodeSelector: {kubernetes.io/os: linux}\n  tolerations:\n"
        "  - {key: dedicated, operator: Equal, value: db, effect: NoSchedule}\n"
        "  initContainers:\n  - {name: init, image: busybox, command: [sh, -c, \"echo hi\"]}\n"
        "  containers:\n  - name: main\n    image: busybox:1.36\n    args: [sleep, \"3600\"]\n"
        "    ports:\n    - {containerPort: 8080, name: http}\n"
        "    - {containerPort: 9090, protocol: UDP}\n"
        "    resources:\n      requests: {cpu: 250m, memory: 64Mi}\n"
        "      limits: {cpu: \"1\", memory: 128Mi}\n"
        "    livenessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 5}\n"
        "    startupProbe: {exec: {command: [cat, /tmp/ready]}}\n"
        "    readinessProbe: {tcpSocket: {port: http}}\n"
        "    env:\n    - {name: PLAIN, value: hello}\n"
        "    - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}\n"
        "    - {name: PASS, valueFrom: {secretKeyRef: {name: s, key: p, optional: true}}}\n"
        "    envFrom:\n    - configMapRef: {name: cfg}\n    - {secretRef: {name: s}, prefix: S_}\n"
        "    volumeMounts:\n    - {name: cfg, mountPath: /etc/cfg, readOnly: true}\n"
        "    - {name: scratch, mountPath: /scratch}\n"
        "    - {name: data, mountPath: /data, subPath: sub}\n"
        "  volumes:\n  - {name: cfg, configMap: {name: cfg}}\n"
        "  - {name: sec, secret: {secretName: s}}\n  - {name: scratch, emptyDir: {}}\n"
        "  - {name: host, hostPath: {path: /tmp, type: Directory}}\n"
        "  - {name: data, persistentVolumeClaim: {claimName: data}}\n"
        "  - name: info\n    downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: "
        "metadata.labels}}]}\n---\n"
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: logger, namespace: rich}\n"
        "spec:\n  selector: {matchLabels: {app: logger}}\n  template:\n"
        "    metadata: {labels: {app: logger}}\n    spec: {containers: [{name: c, image: "
        "busybox}]}\n"
        "---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: cache, namespace: rich}\n"
        "spec:\n  serviceName: cache\n  replicas: 2\n  selector: {matchLabels: {app: cache}}\n"
        "  template:\n    metadata: {labels: {app: cache}}\n"
        "    spec: {containers: [{name: c, image: busybox}]}\n");

// Ages ("5s", "2m10s (x3 over 5m)") and the padding after them differ between two runs a
// second apart; everything else must not.
QString withoutAges(QString text) {
  static const QRegularExpression kAge(
      "\\b\\d+[smhdy](\\d+[smh])?( \\(x\\d+ over \\d+[smhdy](\\d+[smh])?\\))? *");
  return text.replace(kAge, "AGE ");
}

// Lines sorted: event lists tie on equal timestamps, and kubectl's sort is not stable.
QStringList sortedLines(const QString& text) {
  QStringList lines = withoutAges(text).split('\n');
  std::sort(lines.begin(), lines.end());
  return lines;
}

// The first line where two outputs part, both sides shown, for a failure message that
// says more than QCOMPARE's truncated strings.
QString firstDifference(const QString& mine, const QString& theirs) {
  const QStringList a = mine.split('\n'), b = theirs.split('\n');
  for (qsizetype i = 0; i < std::max(a.size(), b.size()); ++i) {
    const QString left = i < a.size() ? a[i] : "<end>", right = i < b.size() ? b[i] : "<end>";
    if (left != right)
      return QString("line %1 differs\n  kdctl:   %2\n  kubectl: %3\n--- kdctl\n%4--- kubectl\n%5")
          .arg(i + 1)
          .arg(left, right, mine, theirs);
  }
  return "outputs are equal";
}

}  // namespace

class KdctlE2eTest : public QObject {
  Q_OBJECT
  EngineProcess engine_{{}, {"--simulated-nodes", "2"}};
  QTemporaryDir tmp_;

  CommandResult kd(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input, kKdctl);
  }
  CommandResult k(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input);
  }

 private slots:
  void initTestCase() {
    KD_VERIFY2(engine_.start(), qPrintable(engine_.log()));
    CMD_OK(k({"apply", "-f", manifest("shop.yaml")}));
    CMD_OK(k({"create", "namespace", "empty"}));
    CMD_OK(k({"apply", "-f", "-"}, kDescribeManifest));
    CMD_OK(k({"apply", "-f", manifest("controllers-jobs.yaml")}));
    CMD_OK(k({"wait", "--for=condition=Ready", "pod/rich", "-n", "rich", "--timeout=60s"}));
    CMD_OK(k({"wait", "--for=condition=Available", "deploy/web", "-n", "shop", "--timeout=60s"}));
    CMD_OK(k({"wait", "--for=condition=Complete", "job/batch", "--timeout=60s"}));
  }

  // describe prints what kubectl 1.32 prints, line for line, apart from ages.
  void describeMatchesKubectl_data() {
    QTest::addColumn<QStringList>("args");
    const QStringList rich{"-n", "rich"};
    QTest::newRow("pod: containers, probes, env, volumes")
        << QStringList{"describe", "pod", "rich"} + rich;
    QTest::newRow("pods by label")
        << QStringList{"describe", "pods", "-l", "app=web", "-n", "shop"};
    QTest::newRow("deployment") << QStringList{"describe", "deploy/web", "-n", "shop"};
    QTest::newRow("replica sets") << QStringList{"describe", "rs", "-n", "shop"};
    QTest::newRow("service") << QStringList{"describe", "svc", "web", "-n", "shop"};
    QTest::newRow("node port service") << QStringList{"describe", "svc", "np"} + rich;
    QTest::newRow("endpoints") << QStringList{"describe", "endpoints"} + rich;
    QTest::newRow("config map") << QStringList{"describe", "cm", "cfg"} + rich;
    QTest::newRow("secrets: byte counts") << QStringList{"describe", "secrets"} + rich;
    QTest::newRow("claim") << QStringList{"describe", "pvc", "data"} + rich;
    QTest::newRow("namespace") << QStringList{"describe", "ns", "shop"};
    QTest::newRow("cron job") << QStringList{"describe", "cronjob", "report", "-n", "shop"};
    QTest::newRow("job") << QStringList{"describe", "job", "batch"};
    QTest::newRow("daemon set") << QStringList{"describe", "ds", "logger"} + rich;
    QTest::newRow("stateful set") << QStringList{"describe", "sts", "cache"} + rich;
    QTest::newRow("node") << QStringList{"describe", "node", "kubedesk-m01"};
    QTest::newRow("name prefix") << QStringList{"describe", "pod", "batch"};
    QTest::newRow("name and selector") << QStringList{"describe", "pod", "batch", "-l", "x!=y"};
    QTest::newRow("not found") << QStringList{"describe", "deploy", "nope", "-n", "shop"};
    QTest::newRow("nothing selected") << QStringList{"describe", "pods", "-n", "empty"};
  }

  void describeMatchesKubectl() {
    QFETCH(QStringList, args);
    CommandResult mine, theirs;
    for (int attempt = 0; attempt < 3; ++attempt) {
      mine = kd(args);
      theirs = k(args);
      if (withoutAges(mine.out) == withoutAges(theirs.out) && mine.err == theirs.err) break;
    }
    QCOMPARE(mine.exitCode, theirs.exitCode);
    QCOMPARE(mine.err, theirs.err);
    QCOMPARE(withoutAges(mine.out), withoutAges(theirs.out));
  }

  // Read-only rollout, wait and events commands: same output, errors and exit codes.
  void inspectionMatchesKubectl_data() {
    QTest::addColumn<QStringList>("args");
    const QStringList shop{"-n", "shop"};
    QTest::newRow("rollout status") << QStringList{"rollout", "status", "deploy/web"} + shop;
    QTest::newRow("rollout status daemon set")
        << QStringList{"rollout", "status", "ds/logger", "-n", "rich", "--watch=false"};
    QTest::newRow("rollout status stateful set")
        << QStringList{"rollout", "status", "sts/cache", "-n", "rich", "--watch=false"};
    QTest::newRow("rollout history") << QStringList{"rollout", "history", "deploy/web"} + shop;
    QTest::newRow("rollout history revision")
        << QStringList{"rollout", "history", "deploy/web", "--revision=1"} + shop;
    QTest::newRow("rollout history missing revision")
        << QStringList{"rollout", "history", "deploy/web", "--revision=9"} + shop;
    QTest::newRow("rollout history daemon set")
        << QStringList{"rollout", "history", "ds/logger", "-n", "rich"};
    QTest::newRow("rollout history stateful set revision")
        << QStringList{"rollout", "history", "sts/cache", "-n", "rich", "--revision=1"};
    QTest::newRow("rollout undo missing revision")
        << QStringList{"rollout", "undo", "deploy/web", "--to-revision=9"} + shop;
    QTest::newRow("rollout pause daemon set")
        << QStringList{"rollout", "pause", "ds/logger", "-n", "rich"};
    QTest::newRow("rollout resume running")
        << QStringList{"rollout", "resume", "deploy/web"} + shop;
    QTest::newRow("wait condition")
        << QStringList{"wait", "--for=condition=Available", "deploy/web"} + shop;
    QTest::newRow("wait condition value times out")
        << QStringList{"wait", "--for=condition=Available=false", "deploy/web", "--timeout=1s"} +
               shop;
    QTest::newRow("wait jsonpath by label")
        << QStringList{"wait", "--for=jsonpath={.status.phase}=Running", "pod", "-l", "app=web"} +
               shop;
    QTest::newRow("wait delete of missing")
        << QStringList{"wait", "--for=delete", "pod/nope", "--timeout=1s"} + shop;
    QTest::newRow("wait on missing")
        << QStringList{"wait", "--for=condition=Ready", "pod/nope", "--timeout=1s"} + shop;
    QTest::newRow("wait nothing selected")
        << QStringList{"wait", "--for=condition=Ready", "pod", "-l", "app=none", "--timeout=1s"} +
               shop;
    QTest::newRow("wait unknown condition")
        << QStringList{"wait", "--for=bogus", "deploy/web"} + shop;
    QTest::newRow("events for an object")
        << QStringList{"events", "--for", "pod/rich", "-n", "rich"};
    QTest::newRow("events, bad type") << QStringList{"events", "--types=Bad"};
    QTest::newRow("events, none") << QStringList{"events", "-n", "empty"};
    QTest::newRow("events, warnings") << QStringList{"events", "--types=Warning", "-A"};
    QTest::newRow("events, namespace") << QStringList{"events", "-n", "rich"};
    QTest::newRow("events, all namespaces") << QStringList{"events", "-A"};
    // Simulated nodes run no containers: the engine answers log requests with a Status.
    QTest::newRow("logs of a pod") << QStringList{"logs", "rich", "-n", "rich"};
    QTest::newRow("logs, unknown container")
        << QStringList{"logs", "rich", "-n", "rich", "-c", "x"};
    QTest::newRow("logs of a deployment") << QStringList{"logs", "deploy/web", "--tail=5"} + shop;
    QTest::newRow("logs of a service") << QStringList{"logs", "svc/web"} + shop;
    QTest::newRow("logs by label") << QStringList{"logs", "-l", "app=web", "--prefix"} + shop;
    QTest::newRow("logs of a missing pod") << QStringList{"logs", "nope"} + shop;
    QTest::newRow("top pods") << QStringList{"top", "pods"} + shop;
    QTest::newRow("top nodes") << QStringList{"top", "nodes"};
  }

  void inspectionMatchesKubectl() {
    QFETCH(QStringList, args);
    CommandResult mine, theirs;
    // `top` names a pod's age (older than two minutes) when it has no metrics: a moving number.
    const QRegularExpression age("age: [0-9hms.]+");
    for (int attempt = 0; attempt < 3; ++attempt) {
      mine = kd(args);
      theirs = k(args);
      mine.err.replace(age, "age: AGE");
      theirs.err.replace(age, "age: AGE");
      if (sortedLines(mine.out) == sortedLines(theirs.out) && mine.err == theirs.err) break;
    }
    QCOMPARE(mine.exitCode, theirs.exitCode);
    QCOMPARE(mine.err, theirs.err);
    QCOMPARE(sortedLines(mine.out), sortedLines(theirs.out));
  }

  // A rollout driven by kdctl, checked with kubectl: undo restores the old template, restart
  // stamps the template, pause blocks both; messages are kubectl's.
  void rolloutChangesWhatKubectlSees() {
    const QStringList ns{"-n", "shop"};
    CMD_OK(k(QStringList{"create", "deployment", "roll", "--image=busybox:1.36", "--replicas=2"} +
             ns));
    CMD_OK(k(QStringList{"rollout", "status", "deploy/roll", "--timeout=60s"} + ns));
    CMD_OK(k(QStringList{"set", "image", "deploy/roll", "busybox=busybox:1.37"} + ns));
    auto status = kd(QStringList{"rollout", "status", "deploy/roll", "--timeout=60s"} + ns);
    CMD_OK(status);
    KD_VERIFY2(status.out.endsWith("deployment \"roll\" successfully rolled out\n"),
               qPrintable(status.out));

    auto undone = kd(QStringList{"rollout", "undo", "deploy/roll"} + ns);
    CMD_OK(undone);
    QCOMPARE(undone.out, QString("deployment.apps/roll rolled back\n"));
    QCOMPARE(k(QStringList{"get", "deploy", "roll", "-o",
                           "jsonpath={.spec.template.spec.containers[0].image}"} +
               ns)
                 .out,
             QString("busybox:1.36"));
    CMD_OK(k(QStringList{"rollout", "status", "deploy/roll", "--timeout=60s"} + ns));
    auto history = k(QStringList{"rollout", "history", "deploy/roll"} + ns);
    QCOMPARE(kd(QStringList{"rollout", "history", "deploy/roll"} + ns).out, history.out);
    KD_VERIFY2(history.out.contains("\n2         <none>\n3         <none>\n"),
               qPrintable(history.out));
    auto same = kd(QStringList{"rollout", "undo", "deploy/roll", "--to-revision=3"} + ns);
    QCOMPARE(same.out, QString("deployment.apps/roll skipped rollback (current template already "
                               "matches revision 3)"));

    auto restarted = kd(QStringList{"rollout", "restart", "deploy/roll"} + ns);
    CMD_OK(restarted);
    QCOMPARE(restarted.out, QString("deployment.apps/roll restarted\n"));
    QVERIFY(
        !k(QStringList{"get", "deploy", "roll", "-o",
                       "jsonpath={.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/"
                       "restartedAt}"} +
           ns)
             .out.isEmpty());

    auto paused = kd(QStringList{"rollout", "pause", "deploy/roll"} + ns);
    QCOMPARE(paused.out, QString("deployment.apps/roll paused\n"));
    for (const auto& verb : {"pause", "undo", "restart"}) {
      const QStringList args = QStringList{"rollout", verb, "deploy/roll"} + ns;
      auto mine = kd(args), theirs = k(args);
      QCOMPARE(mine.exitCode, 1);
      QCOMPARE(mine.exitCode, theirs.exitCode);
      QCOMPARE(mine.err, theirs.err);
    }
    auto resumed = kd(QStringList{"rollout", "resume", "deploy/roll"} + ns);
    QCOMPARE(resumed.out, QString("deployment.apps/roll resumed\n"));
    QCOMPARE(k(QStringList{"get", "deploy", "roll", "-o", "jsonpath={.spec.paused}"} + ns).out,
             QString());
    // Later cases print `get all` for this namespace; they need the restart's rollout finished.
    CMD_OK(k(QStringList{"rollout", "status", "deploy/roll", "--timeout=60s"} + ns));
  }

  // diff: exit 0 without differences, 1 with them (printed by diff -u -N, or by
  // KUBECTL_EXTERNAL_DIFF), >1 on errors; nothing is written.
  void diffExitCodes() {
    const QString file = tmp_.filePath("diff.yaml");
    const QByteArray head =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: difftest, namespace: shop}\n";
    QVERIFY(writeFile(file, head + "data: {a: \"1\"}\n"));
    CMD_OK(k({"apply", "-f", file}));
    for (const auto& result : {kd({"diff", "-f", file}), k({"diff", "-f", file})}) {
      QCOMPARE(result.exitCode, 0);
      QCOMPARE(result.out, QString());
    }
    QVERIFY(writeFile(file, head + "data: {a: \"2\"}\n"));
    auto mine = kd({"diff", "-f", file});
    QCOMPARE(mine.exitCode, 1);
    QCOMPARE(k({"diff", "-f", file}).exitCode, 1);
    KD_VERIFY2(
        mine.out.startsWith("diff -u -N ") && mine.out.contains("\n-  a: \"1\"\n+  a: \"2\"\n"),
        qPrintable(mine.out));
    QCOMPARE(k({"get", "cm", "difftest", "-n", "shop", "-o", "jsonpath={.data.a}"}).out,
             QString("1"));

    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("KUBECONFIG", engine_.kubeconfig());
    env.insert("HOME", tmp_.path());
    env.insert("KUBECTL_EXTERNAL_DIFF", "diff -q");
    auto external = runWithEnvironment(kKdctl, {"diff", "-f", file}, env);
    QCOMPARE(external.exitCode, 1);
    KD_VERIFY2(external.out.contains(" differ"), qPrintable(external.out));

    QVERIFY(writeFile(file, "apiVersion: v1\nkind: Nonsense\nmetadata: {name: x}\n"));
    auto broken = kd({"diff", "-f", file});
    KD_VERIFY2(broken.exitCode > 1, qPrintable(broken.err));
    QVERIFY(k({"diff", "-f", file}).exitCode > 1);
  }

  // wait blocks until the change happens, then prints kubectl's message.
  void waitSeesDeletion() {
    CMD_OK(k({"create", "configmap", "doomed", "-n", "shop"}));
    QProcess* waiter = engine_.startKubectl(
        {"wait", "--for=delete", "cm/doomed", "-n", "shop", "--timeout=30s"}, kKdctl);
    QTest::qWait(700);
    QCOMPARE(waiter->state(), QProcess::Running);
    CMD_OK(k({"delete", "cm", "doomed", "-n", "shop"}));
    QVERIFY(waiter->waitForFinished(20000));
    QCOMPARE(waiter->exitCode(), 0);
    QCOMPARE(QString::fromUtf8(waiter->readAllStandardOutput()),
             QString("configmap/doomed condition met\n"));
    delete waiter;
  }

  // Printed tables must equal kubectl's byte for byte; a run straddling a second boundary can
  // change an AGE cell, and the shop CronJob may start a Job between the two, so the pair is
  // retried until the cluster holds still.
  void tablesMatchKubectl_data() {
    QTest::addColumn<QStringList>("args");
    QTest::newRow("deployments") << QStringList{"get", "deploy", "-n", "shop"};
    QTest::newRow("short name, wide") << QStringList{"get", "deploy", "-n", "shop", "-o", "wide"};
    QTest::newRow("configmaps with labels")
        << QStringList{"get", "cm", "-n", "shop", "--show-labels"};
    QTest::newRow("all namespaces") << QStringList{"get", "configmaps", "-A"};
    QTest::newRow("cluster scoped") << QStringList{"get", "ns"};
    QTest::newRow("all") << QStringList{"get", "all", "-n", "shop"};
    // Every kind of the category at once (daemon set, stateful set, job and cron job among
    // them): the sections come in kubectl's order.
    QTest::newRow("all, every namespace") << QStringList{"get", "all", "-A"};
    QTest::newRow("two kinds") << QStringList{"get", "deploy,svc", "-n", "shop"};
    QTest::newRow("by name") << QStringList{"get", "deployment", "web", "-n", "shop"};
    QTest::newRow("slash form") << QStringList{"get", "deploy/web", "-n", "shop"};
    QTest::newRow("label selector") << QStringList{"get", "deploy", "-A", "-l", "app=web"};
    QTest::newRow("no headers") << QStringList{"get", "svc", "-n", "shop", "--no-headers"};
    QTest::newRow("empty namespace") << QStringList{"get", "pods", "-n", "empty"};
    QTest::newRow("not found") << QStringList{"get", "deploy", "nope", "-n", "shop"};
    QTest::newRow("name output") << QStringList{"get", "cm", "-n", "shop", "-o", "name"};
    QTest::newRow("jsonpath") << QStringList{
        "get", "deploy",
        "-n",  "shop",
        "-o",  "jsonpath={range .items[*]}{.metadata.name}={.spec.replicas}{\"\\n\"}{end}"};
    QTest::newRow("json of one object")
        << QStringList{"get", "deploy", "web", "-n", "shop", "-o", "json"};
    QTest::newRow("json of a list") << QStringList{"get", "cm", "-n", "shop", "-o", "json"};
    // uids mix digits and letters: bytewise, as kubectl 1.32 sorts strings.
    QTest::newRow("sorted by uid") << QStringList{"get", "cm", "-A", "--sort-by=.metadata.uid"};
    QTest::newRow("sorted, braces")
        << QStringList{"get", "ns", "--sort-by={.metadata.uid}", "-o", "name"};
    QTest::newRow("sorted by name, by its bare path")
        << QStringList{"get", "deploy", "-A", "--sort-by=metadata.name"};
    QTest::newRow("sorted json list")
        << QStringList{"get", "cm", "-n", "shop", "-o", "json", "--sort-by=.metadata.uid"};
    QTest::newRow("sorted by a missing field")
        << QStringList{"get", "cm", "-n", "shop", "--sort-by=.spec.nope", "-o", "name"};
    QTest::newRow("custom columns")
        << QStringList{"get", "deploy", "-A", "-o",
                       "custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas,"
                       "IMAGES:.spec.template.spec.containers[*].image,NOPE:.status.nope"};
    QTest::newRow("custom columns, sorted, no headers")
        << QStringList{"get",
                       "pods",
                       "-A",
                       "--no-headers",
                       "--sort-by=.metadata.name",
                       "-o",
                       "custom-columns=NS:{.metadata.namespace},NAME:.metadata.name"};
  }

  void tablesMatchKubectl() {
    QFETCH(QStringList, args);
    CommandResult mine, theirs;
    for (int attempt = 0; attempt < 10; ++attempt) {
      if (attempt > 0) QTest::qWait(300);
      mine = kd(args);
      theirs = k(args);
      if (mine.out == theirs.out && mine.err == theirs.err) break;
    }
    QCOMPARE(mine.exitCode, theirs.exitCode);
    QCOMPARE(mine.err, theirs.err);
    KD_VERIFY2(mine.out == theirs.out, qPrintable(firstDifference(mine.out, theirs.out)));
  }

  void applyInteroperatesWithKubectl_data() {
    QTest::addColumn<bool>("kdctlFirst");
    QTest::newRow("kdctl then kubectl") << true;
    QTest::newRow("kubectl then kdctl") << false;
  }

  // The second tool must delete what the first applied and the file no longer holds, keep
  // what someone else set, and add what is new: the three-way merge.
  void applyInteroperatesWithKubectl() {
    QFETCH(bool, kdctlFirst);
    const QString name = kdctlFirst ? "merge-a" : "merge-b";
    const QString file = tmp_.filePath(name + ".yaml");
    const QByteArray head = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name.toUtf8() +
                            "\n  namespace: shop\n";
    auto first = [&](const QStringList& a) { return kdctlFirst ? kd(a) : k(a); };
    auto second = [&](const QStringList& a) { return kdctlFirst ? k(a) : kd(a); };

    QVERIFY(writeFile(file, head + "  labels:\n    keep: \"yes\"\n    drop: \"yes\"\n"
                                   "data:\n  a: \"1\"\n  b: \"2\"\n"));
    auto created = first({"apply", "-f", file});
    CMD_OK(created);
    QCOMPARE(created.out, "configmap/" + name + " created\n");
    CMD_OK(k({"label", "cm", name, "-n", "shop", "other=set-by-hand"}));

    QVERIFY(
        writeFile(file, head + "  labels:\n    keep: \"yes\"\ndata:\n  a: \"1\"\n  c: \"3\"\n"));
    auto configured = second({"apply", "-f", file});
    CMD_OK(configured);
    QCOMPARE(configured.out, "configmap/" + name + " configured\n");

    auto live = k({"get", "cm", name, "-n", "shop", "-o", "json"});
    CMD_OK(live);
    const QJsonObject obj = jsonOf(live.out);
    const QJsonObject data = obj["data"].toObject();
    QCOMPARE(data.keys(), (QStringList{"a", "c"}));
    const QJsonObject labels = obj["metadata"].toObject()["labels"].toObject();
    QCOMPARE(labels.keys(), (QStringList{"keep", "other"}));

    auto again = first({"apply", "-f", file});
    CMD_OK(again);
    QCOMPARE(again.out, "configmap/" + name + " unchanged\n");
  }

  void lastAppliedAnnotationMatchesKubectls() {
    const QString file = tmp_.filePath("annot.yaml");
    QVERIFY(writeFile(file,
                      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: annot-NAME\n"
                      "data:\n  html: \"<b>&</b>\"\n"));
    QFile f(file);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray text = f.readAll();
    f.close();
    QVERIFY(writeFile(file, QByteArray(text).replace("NAME", "kd")));
    CMD_OK(kd({"apply", "-f", file}));
    QVERIFY(writeFile(file, QByteArray(text).replace("NAME", "k")));
    CMD_OK(k({"apply", "-f", file}));
    const QString path =
        "jsonpath={.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}";
    auto mine = k({"get", "cm", "annot-kd", "-o", path});
    auto theirs = k({"get", "cm", "annot-k", "-o", path});
    QCOMPARE(QString(mine.out).replace("annot-kd", "X"),
             QString(theirs.out).replace("annot-k", "X"));
  }

  void verbsPrintLikeKubectl() {
    auto scaled = kd({"scale", "deploy/web", "-n", "shop", "--replicas=3"});
    CMD_OK(scaled);
    QCOMPARE(scaled.out, QString("deployment.apps/web scaled\n"));
    QCOMPARE(k({"get", "deploy", "web", "-n", "shop", "-o", "jsonpath={.spec.replicas}"}).out,
             QString("3"));

    auto labeled = kd({"label", "deploy", "web", "-n", "shop", "tier=front"});
    CMD_OK(labeled);
    QCOMPARE(labeled.out, QString("deployment.apps/web labeled\n"));
    auto clash = kd({"label", "deploy", "web", "-n", "shop", "tier=back"});
    QCOMPARE(clash.exitCode, 1);
    KD_VERIFY2(clash.err.contains("--overwrite is false"), qPrintable(clash.err));
    CMD_OK(kd({"label", "deploy", "web", "-n", "shop", "tier-"}));

    auto annotated = kd({"annotate", "cm", "web-config", "-n", "shop", "owner=me"});
    CMD_OK(annotated);
    QCOMPARE(annotated.out, QString("configmap/web-config annotated\n"));

    auto patched = kd({"patch", "cm", "web-config", "-n", "shop", "--type", "merge", "-p",
                       "{\"data\":{\"MODE\":\"dev\"}}"});
    CMD_OK(patched);
    QCOMPARE(patched.out, QString("configmap/web-config patched\n"));
    auto same = kd({"patch", "cm", "web-config", "-n", "shop", "--type", "merge", "-p",
                    "{\"data\":{\"MODE\":\"dev\"}}"});
    QCOMPARE(same.out, QString("configmap/web-config patched (no change)\n"));
  }

  void createAndDelete() {
    const QString file = tmp_.filePath("del.yaml");
    QVERIFY(writeFile(file,
                      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: del-a\n"
                      "  labels: {group: del}\n---\napiVersion: v1\nkind: ConfigMap\n"
                      "metadata:\n  name: del-b\n  labels: {group: del}\n"));
    auto created = kd({"create", "-f", file});
    CMD_OK(created);
    QCOMPARE(created.out, QString("configmap/del-a created\nconfigmap/del-b created\n"));
    auto exists = kd({"create", "-f", file});
    QCOMPARE(exists.exitCode, 1);
    KD_VERIFY2(exists.err.contains("Error from server (AlreadyExists): error when creating"),
               qPrintable(exists.err));

    auto one = kd({"delete", "cm", "del-a"});
    CMD_OK(one);
    QCOMPARE(one.out, QString("configmap \"del-a\" deleted\n"));
    auto bySelector = kd({"delete", "cm", "-l", "group=del"});
    CMD_OK(bySelector);
    QCOMPARE(bySelector.out, QString("configmap \"del-b\" deleted\n"));
    auto missing = kd({"delete", "cm", "del-a"});
    auto missingK = k({"delete", "cm", "del-a"});
    QCOMPARE(missing.exitCode, 1);
    QCOMPARE(missing.err, missingK.err);
    CMD_OK(kd({"delete", "cm", "del-a", "--ignore-not-found"}));
  }

  void getPodsIsFast() {
    QElapsedTimer t;
    const int runs = 10;
    t.start();
    for (int i = 0; i < runs; ++i) CMD_OK(kd({"get", "pods", "-n", "shop"}));
    const double mine = double(t.elapsed()) / runs;
    t.restart();
    for (int i = 0; i < runs; ++i) CMD_OK(k({"get", "pods", "-n", "shop"}));
    const double theirs = double(t.elapsed()) / runs;
    qInfo("get pods: kdctl %.1f ms, kubectl %.1f ms (mean of %d)", mine, theirs, runs);
    QVERIFY(mine < theirs);
  }

  // start/status/stop/delete on a profile of its own, with every path the CLI writes inside a
  // temporary directory.
  void lifecycle() {
    QTemporaryDir dir;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("XDG_DATA_HOME", dir.filePath("data"));
    env.insert("HOME", dir.filePath("home"));
    env.insert("KUBECONFIG", dir.filePath("kubeconfig"));
    const QStringList profile{"--profile", "e2e"};
    // Whatever fails below, no engine outlives the test.
    struct Cleanup {
      QProcessEnvironment env;
      ~Cleanup() { runWithEnvironment(kKdctl, {"delete", "--profile", "e2e"}, env); }
    } cleanup{env};

    auto started = runWithEnvironment(kKdctl, QStringList{"start"} + profile, env);
    CMD_OK(started);
    KD_VERIFY2(started.out.contains("Done! kubectl is now configured to use \"e2e\" cluster"),
               qPrintable(started.out));
    auto state = QJsonDocument::fromJson([&] {
                   QFile f(dir.filePath("data/kubedesk/e2e/engine.json"));
                   f.open(QIODevice::ReadOnly);
                   return f.readAll();
                 }())
                     .object();
    const pid_t pid = state["pid"].toInt();
    QVERIFY(pid > 0 && alive(pid));

    auto again = runWithEnvironment(kKdctl, QStringList{"start"} + profile, env);
    CMD_OK(again);
    QCOMPARE(QJsonDocument::fromJson([&] {
               QFile f(dir.filePath("data/kubedesk/e2e/engine.json"));
               f.open(QIODevice::ReadOnly);
               return f.readAll();
             }())
                 .object()["pid"]
                 .toInt(),
             int(pid));  // the running engine is reused

    auto status = runWithEnvironment(kKdctl, QStringList{"status"} + profile, env);
    CMD_OK(status);
    KD_VERIFY2(status.out.contains("host: Running") && status.out.contains("apiserver: Running") &&
                   status.out.contains("kubeconfig: Configured"),
               qPrintable(status.out));
    auto viaKubectl =
        runWithEnvironment("/usr/bin/kubectl", {"get", "ns", "default", "-o", "name"}, env);
    CMD_OK(viaKubectl);
    QCOMPARE(viaKubectl.out, QString("namespace/default\n"));
    // dashboard: the desktop app on this profile's cluster, on a display (a real Xvfb here).
    {
      QProcessEnvironment noDisplay = env;
      noDisplay.remove("DISPLAY");
      noDisplay.remove("WAYLAND_DISPLAY");
      auto refused = runWithEnvironment(kKdctl, QStringList{"dashboard"} + profile, noDisplay);
      QCOMPARE(refused.exitCode, 1);
      KD_VERIFY2(refused.err.contains("no display to open the dashboard on"),
                 qPrintable(refused.err));
      QProcess xvfb;
      xvfb.start("Xvfb", {"-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"});
      QVERIFY(xvfb.waitForStarted(5000));
      QTRY_VERIFY_WITH_TIMEOUT(xvfb.canReadLine() || xvfb.waitForReadyRead(100), 10000);
      const QString display = ":" + QString::fromUtf8(xvfb.readLine()).trimmed();
      QProcessEnvironment withDisplay = noDisplay;
      withDisplay.insert("DISPLAY", display);
      auto opened = runWithEnvironment(kKdctl, QStringList{"dashboard"} + profile, withDisplay);
      CMD_OK(opened);
      const auto match = QRegularExpression("dashboard is open \\(pid (\\d+)").match(opened.out);
      KD_VERIFY2(match.hasMatch(), qPrintable(opened.out));
      const pid_t app = match.captured(1).toInt();
      // It runs, on this profile's context, and talks to this profile's engine.
      const QString port = QString::number(state["port"].toInt());
      const QRegularExpression socket(":" + port + "\\s.*pid=" + QString::number(app) + ",");
      bool connected = false;
      QElapsedTimer waited;
      waited.start();
      while (!connected && waited.elapsed() < 20000) {
        connected = runWithEnvironment("ss", {"-tnp"}, env).out.contains(socket);
        if (!connected) QTest::qWait(200);
      }
      QFile cmdline(QString("/proc/%1/cmdline").arg(app));
      QVERIFY(cmdline.open(QIODevice::ReadOnly));
      const QByteArray argv = cmdline.readAll();
      ::kill(app, SIGTERM);
      xvfb.terminate();
      xvfb.waitForFinished(5000);
      KD_VERIFY2(connected, qPrintable(runWithEnvironment("ss", {"-tnp"}, env).out));
      KD_VERIFY2(argv.contains(QByteArray("--context\0e2e\0", 14)), argv.constData());
    }
    auto list = runWithEnvironment(kKdctl, {"profile", "list"}, env);
    CMD_OK(list);
    QVERIFY(list.out.contains(QRegularExpression("e2e\\s+Running")));

    CMD_OK(runWithEnvironment(kKdctl, QStringList{"stop"} + profile, env));
    QVERIFY(!alive(pid));
    auto stopped = runWithEnvironment(kKdctl, QStringList{"status"} + profile, env);
    QCOMPARE(stopped.exitCode, 7);
    auto noCluster = runWithEnvironment(kKdctl, QStringList{"dashboard"} + profile, env);
    QCOMPARE(noCluster.exitCode, 1);
    KD_VERIFY2(noCluster.err.contains("the \"e2e\" cluster is not running"),
               qPrintable(noCluster.err));
    QVERIFY(stopped.out.contains("host: Stopped"));

    // The stopped engine's pid may come round again, even as another profile's engine (pid_max
    // is 32768 here): kdctl must neither count that engine as this profile's nor stop it.
    {
      QFile f(dir.filePath("data/kubedesk/e2e/engine.json"));
      QVERIFY(f.open(QIODevice::ReadOnly));
      QJsonObject recorded = QJsonDocument::fromJson(f.readAll()).object();
      f.close();
      recorded["pid"] = engine_.pid();
      QVERIFY(writeFile(f.fileName(), QJsonDocument(recorded).toJson()));
    }
    auto stranger = runWithEnvironment(kKdctl, QStringList{"status"} + profile, env);
    QCOMPARE(stranger.exitCode, 7);
    CMD_OK(runWithEnvironment(kKdctl, QStringList{"stop"} + profile, env));
    QVERIFY(alive(pid_t(engine_.pid())));

    CMD_OK(runWithEnvironment(kKdctl, QStringList{"start"} + profile, env));
    const pid_t second = QJsonDocument::fromJson([&] {
                           QFile f(dir.filePath("data/kubedesk/e2e/engine.json"));
                           f.open(QIODevice::ReadOnly);
                           return f.readAll();
                         }())
                             .object()["pid"]
                             .toInt();
    QVERIFY(second != pid && alive(second));
    CMD_OK(runWithEnvironment(kKdctl, {"delete", "-p", "e2e"}, env));
    QVERIFY(!alive(second));
    QVERIFY(!QDir(dir.filePath("data/kubedesk/e2e")).exists());
    QFile kubeconfig(dir.filePath("kubeconfig"));
    QVERIFY(kubeconfig.open(QIODevice::ReadOnly));
    QVERIFY(!kubeconfig.readAll().contains("e2e"));
  }
};

QTEST_GUILESS_MAIN(KdctlE2eTest)
#include "kdctl_e2e_test.moc"

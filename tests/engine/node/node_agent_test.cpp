// Integration: a real kubedesk-engine, the real kubedesk-node agent running containers under
// the real runc from the bundled busybox image, driven by the real kubectl. Needs root.

#include <unistd.h>

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>
#include <functional>

#include "../../e2e/engine_process.h"

namespace {

#define KUBECTL_OK(result)                                                                   \
  QVERIFY2((result).exitCode == 0, qPrintable("exit " + QString::number((result).exitCode) + \
                                              "\n" + (result).err + (result).out))

// A one-container pod as JSON (kubectl takes JSON on stdin).
QByteArray podManifest(const QString& name, const QString& restartPolicy, const QString& image,
                       const QStringList& command, int grace = 30) {
  QJsonObject container{
      {"name", "main"}, {"image", image}, {"command", QJsonArray::fromStringList(command)}};
  QJsonObject pod{{"apiVersion", "v1"},
                  {"kind", "Pod"},
                  {"metadata", QJsonObject{{"name", name}}},
                  {"spec", QJsonObject{{"nodeName", "n1"},
                                       {"restartPolicy", restartPolicy},
                                       {"terminationGracePeriodSeconds", grace},
                                       {"containers", QJsonArray{container}}}}};
  return QJsonDocument(pod).toJson();
}

// Lines of `mountpoint` fields from /proc/self/mountinfo under `prefix`.
QStringList mountsUnder(const QString& prefix) {
  QFile f("/proc/self/mountinfo");
  f.open(QIODevice::ReadOnly);
  QStringList out;
  for (const auto& line : QString::fromUtf8(f.readAll()).split('\n')) {
    const QStringList fields = line.split(' ');
    if (fields.size() > 4 && fields[4].startsWith(prefix)) out << fields[4];
  }
  return out;
}

CommandResult run(const QString& program, const QStringList& args) {
  QProcess p;
  p.start(program, args);
  CommandResult r;
  if (!p.waitForFinished(30000)) return r;
  r.exitCode = p.exitCode();
  r.out = QString::fromUtf8(p.readAllStandardOutput());
  r.err = QString::fromUtf8(p.readAllStandardError());
  return r;
}

}  // namespace

class NodeAgentTest : public QObject {
  Q_OBJECT
  EngineProcess engine_;
  QTemporaryDir tmp_;
  QProcess agent_;
  QString stateDir_;

  CommandResult k(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input);
  }
  QString jsonpath(const QString& kind, const QString& name, const QString& path) {
    return k({"get", kind, name, "-o", "jsonpath=" + path}).out.trimmed();
  }
  // Polls `check` every 250 ms until it holds or `ms` pass.
  bool waitFor(const std::function<bool()>& check, int ms) {
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < ms) {
      if (check()) return true;
      QThread::msleep(250);
    }
    return check();
  }
  QString agentLog() { return QString::fromUtf8(agent_.readAll()); }
  bool startAgent() {
    agent_.start(
        KD_BINARY_DIR "/bin/kubedesk-node",
        {"--kubeconfig", engine_.kubeconfig(), "--node-name", "n1", "--state-dir", stateDir_});
    return agent_.waitForStarted(5000);
  }
  bool waitRunning(const QString& pod) {
    return waitFor([&] { return jsonpath("pod", pod, "{.status.phase}") == "Running"; }, 30000);
  }
  // runc containers whose bundle lies in this test's state directory.
  QStringList ourContainers() {
    auto r = run("runc", {"list", "-f", "json"});
    QStringList ids;
    for (const auto& v : QJsonDocument::fromJson(r.out.toUtf8()).array()) {
      const QJsonObject c = v.toObject();
      if (c["bundle"].toString().startsWith(stateDir_)) ids << c["id"].toString();
    }
    return ids;
  }

 private slots:
  void initTestCase() {
    if (::geteuid() != 0) QSKIP("kubedesk-node needs root");
    QVERIFY2(engine_.start(), qPrintable(engine_.log()));
    stateDir_ = tmp_.filePath("state");
    agent_.setProcessChannelMode(QProcess::MergedChannels);
    agent_.start(
        KD_BINARY_DIR "/bin/kubedesk-node",
        {"--kubeconfig", engine_.kubeconfig(), "--node-name", "n1", "--state-dir", stateDir_});
    QVERIFY(agent_.waitForStarted(5000));
  }

  void nodeGoesReady() {
    const QString ready = "{.status.conditions[?(@.type==\"Ready\")].status}";
    QVERIFY2(waitFor([&] { return jsonpath("node", "n1", ready) == "True"; }, 30000),
             qPrintable(agentLog()));
    auto nodes = k({"get", "nodes"});
    QVERIFY2(nodes.out.contains(QRegularExpression("n1\\s+Ready")), qPrintable(nodes.out));
    QCOMPARE(jsonpath("node", "n1", "{.status.capacity.pods}"), QString("110"));
    QVERIFY(waitFor(
        [&] {
          return k({"get", "lease", "n1", "-n", "kube-node-lease"}).exitCode == 0;
        },
        15000));
  }

  void failingContainerEndsThePodFailed() {
    KUBECTL_OK(k({"apply", "-f", "-"}, podManifest("fails", "Never", "busybox",
                                                   {"sh", "-c", "echo hello; sleep 1; exit 3"})));
    QVERIFY2(
        waitFor([&] { return jsonpath("pod", "fails", "{.status.phase}") == "Failed"; }, 30000),
        qPrintable(k({"get", "pod", "fails", "-o", "yaml"}).out + agentLog()));
    const QString t = "{.status.containerStatuses[0].state.terminated.";
    QCOMPARE(jsonpath("pod", "fails", t + "exitCode}"), QString("3"));
    QCOMPARE(jsonpath("pod", "fails", t + "reason}"), QString("Error"));
    QVERIFY(jsonpath("pod", "fails", "{.status.containerStatuses[0].containerID}")
                .startsWith("runc://"));
    QVERIFY(jsonpath("pod", "fails", "{.status.containerStatuses[0].imageID}")
                .startsWith("docker.io/library/busybox@sha256:"));
    // The container's output is in its CRI log.
    const QString uid = jsonpath("pod", "fails", "{.metadata.uid}");
    QFile log(stateDir_ + "/logs/default_fails_" + uid + "/main/0.log");
    QVERIFY2(log.open(QIODevice::ReadOnly), qPrintable(log.fileName()));
    QVERIFY(QString::fromUtf8(log.readAll())
                .contains(QRegularExpression("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z "
                                             "stdout F hello$",
                                             QRegularExpression::MultilineOption)));
    auto events = k({"get", "events", "--field-selector", "involvedObject.name=fails"});
    for (const char* reason : {"Pulled", "Created", "Started"}) {
      QVERIFY2(events.out.contains(reason), qPrintable(events.out));
    }
  }

  void runningPodIsReadyAndDeletesGracefully() {
    KUBECTL_OK(
        k({"apply", "-f", "-"}, podManifest("sleeper", "Always", "busybox", {"sleep", "3600"}, 2)));
    QVERIFY2(waitFor(
                 [&] {
                   return jsonpath("pod", "sleeper",
                                   "{.status.conditions[?(@.type==\"Ready\")].status}") == "True";
                 },
                 30000),
             qPrintable(k({"get", "pod", "sleeper", "-o", "yaml"}).out + agentLog()));
    QCOMPARE(jsonpath("pod", "sleeper", "{.status.phase}"), QString("Running"));
    QVERIFY(!jsonpath("pod", "sleeper", "{.status.containerStatuses[0].state.running.startedAt}")
                 .isEmpty());
    const QString id =
        jsonpath("pod", "sleeper", "{.status.containerStatuses[0].containerID}").mid(7);
    QVERIFY2(ourContainers().contains(id), qPrintable(ourContainers().join(',')));
    QElapsedTimer t;
    t.start();
    KUBECTL_OK(k({"delete", "pod", "sleeper", "--grace-period=2", "--timeout=30s"}));
    QVERIFY2(t.elapsed() < 10000, qPrintable(QString::number(t.elapsed())));
    QVERIFY(t.elapsed() >= 1500);  // sleep as PID 1 ignores SIGTERM: the grace period runs out
    QVERIFY(!ourContainers().contains(id));
    QVERIFY(k({"get", "pod", "sleeper"}).exitCode != 0);
  }

  void crashingContainerBacksOff() {
    KUBECTL_OK(k({"apply", "-f", "-"},
                 podManifest("crasher", "OnFailure", "busybox", {"sh", "-c", "exit 1"})));
    const QString s = "{.status.containerStatuses[0].";
    QVERIFY2(waitFor(
                 [&] {
                   return jsonpath("pod", "crasher", s + "restartCount}").toInt() >= 2 &&
                          jsonpath("pod", "crasher", s + "state.waiting.reason}") ==
                              "CrashLoopBackOff";
                 },
                 40000),
             qPrintable(k({"get", "pod", "crasher", "-o", "yaml"}).out));
    QCOMPARE(jsonpath("pod", "crasher", s + "lastState.terminated.exitCode}"), QString("1"));
    QVERIFY(jsonpath("pod", "crasher", s + "state.waiting.message}")
                .startsWith("back-off 20s restarting failed container=main pod=crasher_default("));
    QCOMPARE(jsonpath("pod", "crasher", "{.status.phase}"), QString("Running"));
    auto get = k({"get", "pod", "crasher"});
    QVERIFY2(get.out.contains("CrashLoopBackOff"), qPrintable(get.out));
  }

  void missingImageBacksOff() {
    KUBECTL_OK(k({"apply", "-f", "-"},
                 podManifest("noimage", "Always", "kubedesk.invalid/nothing:1", {"true"})));
    const QString reason = "{.status.containerStatuses[0].state.waiting.reason}";
    QStringList seen;
    QVERIFY(waitFor(
        [&] {
          const QString r = jsonpath("pod", "noimage", reason);
          if (!r.isEmpty() && !seen.contains(r)) seen << r;
          return r == "ImagePullBackOff";
        },
        20000));
    QVERIFY2(seen.contains("ErrImagePull") || seen.first() == "ImagePullBackOff",
             qPrintable(seen.join(',')));
    QCOMPARE(jsonpath("pod", "noimage", "{.status.phase}"), QString("Pending"));
    auto events = k({"get", "events", "--field-selector", "involvedObject.name=noimage"});
    QVERIFY2(events.out.contains("kubedesk.invalid/nothing:1"), qPrintable(events.out));
  }

  void missingExecutableIsAStartError() {
    KUBECTL_OK(k({"apply", "-f", "-"}, podManifest("nocmd", "Never", "busybox", {"/no/such"})));
    QVERIFY2(
        waitFor([&] { return jsonpath("pod", "nocmd", "{.status.phase}") == "Failed"; }, 30000),
        qPrintable(k({"get", "pod", "nocmd", "-o", "yaml"}).out));
    const QString t = "{.status.containerStatuses[0].state.terminated.";
    QCOMPARE(jsonpath("pod", "nocmd", t + "reason}"), QString("StartError"));
    QCOMPARE(jsonpath("pod", "nocmd", t + "exitCode}"), QString("128"));
    QVERIFY2(jsonpath("pod", "nocmd", t + "message}").contains("/no/such"),
             qPrintable(jsonpath("pod", "nocmd", t + "message}")));
  }

  void restartedAgentAdoptsRunningContainers() {
    KUBECTL_OK(k({"apply", "-f", "-"},
                 podManifest("survivor", "Always", "busybox", {"sleep", "3600"}, 1)));
    QVERIFY(waitRunning("survivor"));
    const QString status =
        "{.status.containerStatuses[0].containerID} "
        "{.status.containerStatuses[0].state.running.startedAt} "
        "{.status.containerStatuses[0].restartCount}";
    const QString before = jsonpath("pod", "survivor", status);
    const QString id = before.section(' ', 0, 0).mid(7);
    agent_.terminate();
    QVERIFY(agent_.waitForFinished(10000));
    QVERIFY2(ourContainers().contains(id), qPrintable(agentLog()));
    QVERIFY(startAgent());
    // A pod created after the restart runs: the new agent is at work.
    KUBECTL_OK(
        k({"apply", "-f", "-"}, podManifest("after", "Always", "busybox", {"sleep", "60"}, 1)));
    QVERIFY2(waitRunning("after"), qPrintable(agentLog()));
    QCOMPARE(jsonpath("pod", "survivor", status), before);
    QVERIFY(before.endsWith(" 0"));
    QCOMPARE(jsonpath("pod", "survivor", "{.status.phase}"), QString("Running"));
  }

  void podsOutliveAnEngineRestart() {
    const QString idPath = "{.status.containerStatuses[0].containerID}";
    const QString before = jsonpath("pod", "survivor", idPath);
    QVERIFY(before.startsWith("runc://"));
    engine_.stop();
    QThread::msleep(2000);
    QVERIFY(ourContainers().contains(before.mid(7)));
    QVERIFY2(engine_.start(), qPrintable(engine_.log()));  // same data dir, same port
    QVERIFY(waitFor([&] { return k({"get", "nodes"}).exitCode == 0; }, 20000));
    KUBECTL_OK(
        k({"apply", "-f", "-"}, podManifest("later", "Always", "busybox", {"sleep", "60"}, 1)));
    QVERIFY2(waitRunning("later"), qPrintable(agentLog()));
    QCOMPARE(jsonpath("pod", "survivor", idPath), before);
    QCOMPARE(jsonpath("pod", "survivor", "{.status.containerStatuses[0].restartCount}"),
             QString("0"));
  }

  void cleanupTestCase() {
    if (engine_.url().isEmpty()) return;
    k({"delete", "pods", "--all", "--grace-period=1", "--timeout=30s"});
    QVERIFY2(ourContainers().isEmpty(), qPrintable(ourContainers().join(',')));
    agent_.terminate();
    agent_.waitForFinished(10000);
    // Whatever a failed test left behind: containers, then mounts.
    for (const auto& id : ourContainers()) run("runc", {"delete", "--force", id});
    const QStringList mounts = mountsUnder(stateDir_);
    for (const auto& m : mounts) run("umount", {"-l", m});
    QVERIFY2(mounts.isEmpty(), qPrintable(mounts.join(',')));
  }
};

QTEST_GUILESS_MAIN(NodeAgentTest)
#include "node_agent_test.moc"

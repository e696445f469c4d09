// End to end: `kdctl node add` and `kdctl node delete` on a throwaway profile of the local
// driver (node agents as host processes, real runc, the bundled busybox image), checked with
// the real kubectl. One node starts with a Deployment and a DaemonSet; `node add` brings a
// second node Ready; the Deployment's pods are moved onto it; `node delete` drains it (the
// DaemonSet pod is not evicted), stops its agent and removes its Node, state and network, and
// the Deployment's pods come back on the first node; stop and start bring back exactly the
// remaining node; an unknown node is a clear error; delete leaves nothing running. Needs root.

#include <signal.h>
#include <unistd.h>

#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>
#include <functional>

#include "engine_process.h"

namespace {

const QString kKdctl = QStringLiteral(KD_BINARY_DIR "/bin/kdctl");

// Two sleepers that go wherever the scheduler puts them, and a daemon on every node.
const QByteArray kWorkload =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n"
    "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
    "    spec:\n      terminationGracePeriodSeconds: 1\n      containers:\n"
    "      - {name: main, image: busybox, command: [sleep, \"3600\"]}\n---\n"
    "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: daemon}\nspec:\n"
    "  selector: {matchLabels: {app: daemon}}\n  template:\n"
    "    metadata: {labels: {app: daemon}}\n    spec:\n"
    "      terminationGracePeriodSeconds: 1\n      containers:\n"
    "      - {name: main, image: busybox, command: [sleep, \"3600\"]}\n";

bool waitFor(const std::function<bool()>& check, int ms) {
  QElapsedTimer t;
  t.start();
  while (!check()) {
    if (t.elapsed() > ms) return false;
    QThread::msleep(300);
  }
  return true;
}

// Live processes whose command line contains `text`.
QList<int> processesWith(const QString& text) {
  QList<int> pids;
  for (const QString& entry : QDir("/proc").entryList(QDir::Dirs)) {
    bool number = false;
    const int pid = entry.toInt(&number);
    if (!number || pid == ::getpid()) continue;
    QFile cmdline("/proc/" + entry + "/cmdline");
    if (!cmdline.open(QIODevice::ReadOnly)) continue;
    QByteArray line = cmdline.readAll();
    line.replace('\0', ' ');
    if (line.contains(text.toUtf8())) pids << pid;
  }
  return pids;
}

QString run(const QString& program, const QStringList& args) {
  QProcess p;
  p.start(program, args);
  p.waitForFinished(10000);
  return QString::fromUtf8(p.readAllStandardOutput());
}

// The pids of the containers in a local node's runc root.
QList<int> containerPids(const QString& nodeDir) {
  QList<int> pids;
  const auto list =
      QJsonDocument::fromJson(
          run("runc", {"--root", nodeDir + "/runc", "list", "--format", "json"}).toUtf8())
          .array();
  for (const auto& c : list) {
    if (c.toObject()["pid"].toInt() > 0) pids << c.toObject()["pid"].toInt();
  }
  return pids;
}

bool alive(int pid) {
  return pid > 0 && ::kill(pid, 0) == 0 &&
         !run("cat", {QString("/proc/%1/stat").arg(pid)}).section(") ", 1).startsWith("Z");
}

// The uids of the pods whose directories the node's agent keeps under `nodeDir`.
QStringList podUidsUnder(const QString& nodeDir) {
  return QDir(nodeDir + "/state/pods").entryList(QDir::Dirs | QDir::NoDotAndDotDot);
}

// The pod cgroups of `uids` still present in any hierarchy.
QStringList podCgroupsLeft(const QStringList& uids) {
  QStringList left;
  for (const QString& hierarchy :
       QDir("/sys/fs/cgroup").entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
    for (const QString& uid : uids) {
      const QString dir = "/sys/fs/cgroup/" + hierarchy + "/kubedesk/pod" + uid;
      if (QDir(dir).exists()) left << dir;
    }
  }
  return left;
}

}  // namespace

class KdctlNodeE2eTest : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  QProcessEnvironment env_ = QProcessEnvironment::systemEnvironment();
  // Short: the bridge is "kd-<profile>" up to 9 characters.
  const QString profile_ = "kn" + QString::number(::getpid() % 100000);
  QStringList m02Pods_;  // "uid" of the Deployment's pods that ran on m02

  QString node(int index) const { return profile_ + QString("-m%1").arg(index, 2, 10, QChar('0')); }
  QString profileDir() const { return tmp_.filePath("data/kubedesk/" + profile_); }

  CommandResult kdctl(const QStringList& args, int timeoutMs = 180000) {
    return runWithEnvironment(kKdctl, args + QStringList{"--profile", profile_}, env_, timeoutMs);
  }
  CommandResult kubectl(const QStringList& args, const QByteArray& input = {}) {
    return runWithEnvironment("/usr/bin/kubectl", args, env_, 60000, input);
  }
  QString jsonpath(const QStringList& what, const QString& path) {
    return kubectl(QStringList{"get"} + what + QStringList{"-o", "jsonpath=" + path}).out;
  }
  // "node phase" of each pod labelled app=`app`, sorted.
  QStringList podPlaces(const QString& app) {
    QStringList lines = jsonpath({"pods", "-l", "app=" + app},
                                 "{range .items[*]}{.spec.nodeName} {.status.phase} "
                                 "{.metadata.deletionTimestamp}{\"\\n\"}{end}")
                            .split('\n', Qt::SkipEmptyParts);
    for (auto& l : lines) l = l.trimmed();
    lines.sort();
    return lines;
  }
  // Waits up to `ms` until podPlaces(app), joined with ',', reads `expected`.
  bool placedAs(const QString& app, const QString& expected, int ms) {
    return waitFor([&] { return podPlaces(app).join(',') == expected; }, ms);
  }
  QStringList readyNodes() {
    QStringList lines = jsonpath({"nodes"},
                                 "{range .items[*]}{.metadata.name} "
                                 "{.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}")
                            .split('\n', Qt::SkipEmptyParts);
    lines.sort();
    return lines;
  }
  QJsonArray recordedNodes() {
    QFile f(profileDir() + "/cluster.json");
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QJsonDocument::fromJson(f.readAll()).object()["nodes"].toArray();
  }

 private slots:
  void initTestCase() {
    if (::geteuid() != 0) QSKIP("the local driver needs root");
    QVERIFY(tmp_.isValid());
    env_.insert("XDG_DATA_HOME", tmp_.filePath("data"));
    env_.insert("HOME", tmp_.filePath("home"));
    env_.insert("KUBECONFIG", tmp_.filePath("kubeconfig"));
    auto started = kdctl({"start", "--driver=local", "--nodes=1"});
    CMD_OK(started);
    QCOMPARE(readyNodes(), QStringList{node(1) + " True"});
    CMD_OK(kubectl({"apply", "-f", "-"}, kWorkload));
    KD_VERIFY2(placedAs("web", node(1) + " Running," + node(1) + " Running", 90000),
               qPrintable(podPlaces("web").join(',')));
  }

  void cleanupTestCase() {
    if (::geteuid() == 0) kdctl({"delete"});
  }

  void addBringsANodeReady() {
    auto added = kdctl({"node", "add"});
    CMD_OK(added);
    KD_VERIFY2(added.out.contains("Successfully added m02 to " + profile_), qPrintable(added.out));
    QCOMPARE(readyNodes(), (QStringList{node(1) + " True", node(2) + " True"}));
    QCOMPARE(recordedNodes(), (QJsonArray{1, 2}));

    auto list = kdctl({"node", "list"});
    CMD_OK(list);
    const QStringList lines = list.out.split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 2);
    for (int i = 0; i < 2; ++i) {
      KD_VERIFY2(lines[i].startsWith(node(i + 1) + "\t192.168."), qPrintable(list.out));
    }
    // The daemon runs on the new node too.
    KD_VERIFY2(placedAs("daemon", node(1) + " Running," + node(2) + " Running", 90000),
               qPrintable(podPlaces("daemon").join(',')));
  }

  // The Deployment's pods move to m02: m01 is cordoned while they are replaced.
  void deploymentMovesToTheNewNode() {
    CMD_OK(kubectl({"cordon", node(1)}));
    CMD_OK(kubectl({"delete", "pods", "-l", "app=web", "--wait=false"}));
    KD_VERIFY2(placedAs("web", node(2) + " Running," + node(2) + " Running", 90000),
               qPrintable(podPlaces("web").join(',')));
    CMD_OK(kubectl({"uncordon", node(1)}));
    m02Pods_ = jsonpath({"pods", "-l", "app=web"}, "{.items[*].metadata.uid}").split(' ');
    QCOMPARE(m02Pods_.size(), 2);
  }

  void deleteDrainsTheNodeAndRemovesIt() {
    const QString m02Dir = profileDir() + "/nodes/m02";
    const QList<int> containers = containerPids(m02Dir);
    QCOMPARE(containers.size(), 3);  // two sleepers and the daemon
    QVERIFY(!processesWith(m02Dir + "/state").isEmpty());
    const QStringList m02Uids = podUidsUnder(m02Dir);
    QCOMPARE(m02Uids.size(), 3);

    auto deleted = kdctl({"node", "delete", node(2)});
    CMD_OK(deleted);
    KD_VERIFY2(deleted.out.contains("node/" + node(2) + " cordoned") &&
                   deleted.out.contains("evicting pod default/web-") &&
                   deleted.out.contains("node/" + node(2) + " drained") &&
                   deleted.out.contains("Node m02 was successfully deleted."),
               qPrintable(deleted.out));
    KD_VERIFY2(deleted.err.contains("ignoring DaemonSet-managed Pods: default/daemon-"),
               qPrintable(deleted.err));
    QVERIFY(!deleted.out.contains("evicting pod default/daemon-"));

    QCOMPARE(kubectl({"get", "nodes", "-o", "name"}).out, "node/" + node(1) + "\n");
    KD_VERIFY2(placedAs("web", node(1) + " Running," + node(1) + " Running", 90000),
               qPrintable(podPlaces("web").join(',')));
    for (const QString& uid :
         jsonpath({"pods", "-l", "app=web"}, "{.items[*].metadata.uid}").split(' ')) {
      QVERIFY(!m02Pods_.contains(uid));
    }
    KD_VERIFY2(
        waitFor([&] { return podPlaces("daemon") == QStringList{node(1) + " Running"}; }, 30000),
        qPrintable(podPlaces("daemon").join(',')));

    QVERIFY(!QDir(m02Dir).exists());
    QVERIFY(!run("ip", {"netns", "list"}).contains("kd-" + node(2)));
    QVERIFY(run("ip", {"netns", "list"}).contains("kd-" + node(1)));
    QVERIFY(processesWith(m02Dir + "/state").isEmpty());
    for (int pid : containers) KD_VERIFY2(!alive(pid), qPrintable(QString::number(pid)));
    // The daemon pod is not evicted: its containers and cgroups go with the node.
    KD_VERIFY2(podCgroupsLeft(m02Uids).isEmpty(), qPrintable(podCgroupsLeft(m02Uids).join(',')));
    QCOMPARE(recordedNodes(), QJsonArray{1});
  }

  void unknownNodeIsAClearError() {
    auto unknown = kdctl({"node", "delete", "nosuch"});
    QCOMPARE(unknown.exitCode, 1);
    KD_VERIFY2(unknown.err.contains("node \"nosuch\" not found in profile \"" + profile_ +
                                    "\" (its nodes: " + node(1) + ")"),
               qPrintable(unknown.err));
    auto gone = kdctl({"node", "delete", node(2)});
    QCOMPARE(gone.exitCode, 1);
    QCOMPARE(readyNodes(), QStringList{node(1) + " True"});
  }

  void stopAndStartBringBackTheRemainingNode() {
    CMD_OK(kdctl({"stop"}));
    QVERIFY(processesWith(profileDir()).isEmpty());
    auto stopped = kdctl({"node", "add"});
    QCOMPARE(stopped.exitCode, 1);
    KD_VERIFY2(stopped.err.contains("is not running"), qPrintable(stopped.err));

    // A profile recorded before nodes could come and go has a count: it still starts.
    {
      QFile record(profileDir() + "/cluster.json");
      QVERIFY(record.open(QIODevice::WriteOnly | QIODevice::Truncate));
      record.write("{\"driver\":\"local\",\"nodes\":1,\"cpus\":1,\"memory\":512}");
    }
    auto started = kdctl({"start"});
    CMD_OK(started);
    KD_VERIFY2(started.out.contains("Starting 1 local node"), qPrintable(started.out));
    QCOMPARE(readyNodes(), QStringList{node(1) + " True"});
    QVERIFY(!QDir(profileDir() + "/nodes/m02").exists());
    KD_VERIFY2(placedAs("web", node(1) + " Running," + node(1) + " Running", 90000),
               qPrintable(podPlaces("web").join(',')));
    QCOMPARE(recordedNodes(), QJsonArray{1});
  }

  void deleteLeavesNothing() {
    const QList<int> containers = containerPids(profileDir() + "/nodes/m01");
    QVERIFY(!containers.isEmpty());
    const QStringList uids = podUidsUnder(profileDir() + "/nodes/m01");
    QVERIFY(!uids.isEmpty());
    CMD_OK(kdctl({"delete"}));
    QVERIFY(!QDir(profileDir()).exists());
    QVERIFY(processesWith(profileDir()).isEmpty());
    QVERIFY(!run("ip", {"netns", "list"}).contains("kd-" + profile_));
    QVERIFY(!run("ip", {"link", "show"}).contains("kd-" + profile_));
    for (int pid : containers) KD_VERIFY2(!alive(pid), qPrintable(QString::number(pid)));
    KD_VERIFY2(podCgroupsLeft(uids).isEmpty(), qPrintable(podCgroupsLeft(uids).join(',')));
  }
};

QTEST_GUILESS_MAIN(KdctlNodeE2eTest)
#include "kdctl_node_e2e_test.moc"

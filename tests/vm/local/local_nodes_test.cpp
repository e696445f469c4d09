// The local driver end to end: a real engine, node agents started as host processes by
// startLocalNodes, a real pod under runc, then stop (nothing left running) and start again
// (the same nodes come back), then delete (state gone).

#include "vm/local/local_nodes.h"

#include <unistd.h>

#include <QtTest>

#include "tests/e2e/engine_process.h"

namespace {

#define KUBECTL_OK(result)                                                                   \
  QVERIFY2((result).exitCode == 0, qPrintable("exit " + QString::number((result).exitCode) + \
                                              "\n" + (result).err + (result).out))

const std::string kProfile = "localtest";

}  // namespace

class LocalNodesTest : public QObject {
  Q_OBJECT
  EngineProcess engine_;
  QTemporaryDir nodesDir_;
  std::filesystem::path profileDir() const { return nodesDir_.path().toStdString(); }

  kd::vm::LocalNodesOptions options(int count) const {
    kd::vm::LocalNodesOptions o;
    o.profileDir = profileDir();
    o.kubeconfig = engine_.kubeconfig().toStdString();
    o.profile = kProfile;
    o.count = count;
    o.nodeBinary = KD_BINARY_DIR "/bin/kubedesk-node";
    return o;
  }

  QString jsonpath(const QStringList& args, const QString& path) {
    return engine_
        .kubectl(QStringList(args) << "-o"
                                   << "jsonpath=" + path)
        .out;
  }

  static int runcContainers(const std::filesystem::path& nodeDir) {
    QProcess p;
    p.start("runc", {"--root", QString::fromStdString((nodeDir / "runc").string()), "list", "-q"});
    p.waitForFinished(10000);
    return QString(p.readAllStandardOutput()).split('\n', Qt::SkipEmptyParts).size();
  }

 private slots:
  void initTestCase() {
    if (::geteuid() != 0) QSKIP("the local driver needs root");
    QVERIFY2(engine_.start(), qPrintable(engine_.log()));
  }

  void cleanupTestCase() {
    if (::geteuid() == 0) kd::vm::deleteLocalNodes(profileDir(), kProfile);
  }

  void startRunsPodsStopLeavesNothingStartBringsThemBack() {
    auto started = kd::vm::startLocalNodes(options(2));
    QVERIFY2(started.ok(), started.status().message().c_str());
    QCOMPARE(started->size(), 2u);
    QCOMPARE((*started)[0].name, std::string("localtest-m01"));
    QTRY_COMPARE_WITH_TIMEOUT(
        jsonpath({"get", "nodes"}, "{.items[*].status.conditions[?(@.type==\"Ready\")].status}"),
        QString("True True"), 30000);

    // Starting again leaves the running agents alone.
    auto again = kd::vm::startLocalNodes(options(2));
    QVERIFY(again.ok());
    QCOMPARE((*again)[0].pid, (*started)[0].pid);

    KUBECTL_OK(engine_.kubectl({"run", "sleeper", "--image=busybox", "--restart=Always",
                                "--overrides={\"spec\":{\"nodeName\":\"localtest-m01\"}}", "--",
                                "sleep", "3600"}));
    QTRY_COMPARE_WITH_TIMEOUT(jsonpath({"get", "pod", "sleeper"}, "{.status.phase}"),
                              QString("Running"), 60000);
    QCOMPARE(runcContainers((*started)[0].dir), 1);

    QVERIFY(kd::vm::stopLocalNodes(profileDir(), kProfile).isOk());
    for (const auto& n : kd::vm::localNodes(profileDir(), kProfile)) {
      QCOMPARE(n.pid, 0);
      QCOMPARE(runcContainers(n.dir), 0);
    }

    auto restarted = kd::vm::startLocalNodes(options(2));
    QVERIFY(restarted.ok());
    QVERIFY((*restarted)[0].pid != (*started)[0].pid);
    QTRY_COMPARE_WITH_TIMEOUT(runcContainers((*restarted)[0].dir), 1, 60000);
    QTRY_COMPARE_WITH_TIMEOUT(jsonpath({"get", "pod", "sleeper"}, "{.status.phase}"),
                              QString("Running"), 60000);

    KUBECTL_OK(engine_.kubectl({"delete", "pod", "sleeper", "--grace-period=1"}, {},
                               "/usr/bin/kubectl", 60000));
    QVERIFY(kd::vm::deleteLocalNodes(profileDir(), kProfile).isOk());
    QVERIFY(kd::vm::localNodes(profileDir(), kProfile).empty());
  }
};

QTEST_GUILESS_MAIN(LocalNodesTest)
#include "local_nodes_test.moc"

// The local driver end to end: a real engine, node agents started as host processes by
// startLocalNodes, a real pod under runc, then stop (nothing left running) and start again
// (the same nodes come back), then delete (state gone). Then pod networking across two nodes:
// each node in its own network namespace, pod IPs from the nodes' podCIDRs, HTTP from a pod on
// one node to a pod on the other, IPs kept across an agent restart, nothing left after delete.
// Then one node deleted of two (`kdctl node delete`): the other stays, and nodes with a gap in
// their indices start, stop and delete like any others.

#include "vm/local/local_nodes.h"

#include <unistd.h>

#include <QtTest>
#include <cstdio>

#include "engine/api/status.h"
#include "engine/node/process.h"
#include "tests/e2e/engine_process.h"
#include "tests/support/settle.h"

namespace {

const std::string kProfile = "localtest";

std::string run(const std::vector<std::string>& argv) {
  auto r = kd::node::runProcess(argv);
  return r.ok() ? r->output : "";
}

// A busybox httpd serving its pod's name on port 80, with `labels`; pods labelled app=web
// never share a node (required anti-affinity).
kd::json webPod(const kd::json& labels) {
  const kd::json antiAffinity = {{"requiredDuringSchedulingIgnoredDuringExecution",
                                  {{{"labelSelector", {{"matchLabels", {{"app", "web"}}}}},
                                    {"topologyKey", "kubernetes.io/hostname"}}}}};
  return {{"metadata", {{"labels", labels}}},
          {"spec",
           {{"affinity", {{"podAntiAffinity", antiAffinity}}},
            {"containers",
             {{{"name", "httpd"},
               {"image", "busybox"},
               {"command",
                {"sh", "-c", "hostname > /tmp/index.html && exec httpd -f -p 80 -h /tmp"}}}}}}}};
}

}  // namespace

class LocalNodesTest : public QObject {
  Q_OBJECT
  EngineProcess engine_;
  QTemporaryDir nodesDir_;
  std::filesystem::path profileDir() const { return nodesDir_.path().toStdString(); }

  kd::vm::LocalNodesOptions options(std::vector<int> indices) const {
    kd::vm::LocalNodesOptions o = options(0);
    o.indices = std::move(indices);
    return o;
  }

  static QList<int> indicesOf(const std::vector<kd::vm::LocalNode>& nodes) {
    QList<int> indices;
    for (const auto& n : nodes) indices << n.index;
    return indices;
  }

  kd::vm::LocalNodesOptions options(int count) const {
    kd::vm::LocalNodesOptions o;
    o.profileDir = profileDir();
    o.kubeconfig = engine_.kubeconfig().toStdString();
    o.profile = kProfile;
    o.count = count;
    o.nodeBinary = KD_BINARY_DIR "/bin/kubedesk-node";
    return o;
  }

  // "name node ip uid" of each pod matching `selector`, sorted by node.
  QStringList podsOf(const QString& selector) {
    QStringList lines = jsonpath({"get", "pods", "-l", selector},
                                 "{range .items[*]}{.spec.nodeName} {.metadata.name} "
                                 "{.status.podIP} {.metadata.uid}{\"\\n\"}{end}")
                            .split('\n', Qt::SkipEmptyParts);
    lines.sort();
    return lines;
  }

  // HTTP GET from inside the network namespace of pod `uid` on node `index`.
  QString fetchFromPod(int index, const QString& uid, const QString& ip) {
    char node[8];
    std::snprintf(node, sizeof node, "m%02d", index);
    const auto netns =
        profileDir() / "nodes" / node / "state" / "pods" / uid.toStdString() / "ns" / "net";
    return QString::fromStdString(
               run({"timeout", "5", "nsenter", "--net=" + netns.string(), "busybox", "wget", "-q",
                    "-O-", "http://" + ip.toStdString() + "/"}))
        .trimmed();
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
    KD_VERIFY2(engine_.start(), qPrintable(engine_.log()));
  }

  void cleanupTestCase() {
    if (::geteuid() == 0) kd::vm::deleteLocalNodes(profileDir(), kProfile);
  }

  void startRunsPodsStopLeavesNothingStartBringsThemBack() {
    auto started = kd::vm::startLocalNodes(options(2));
    KD_VERIFY2(started.ok(), started.status().message().c_str());
    QCOMPARE(started->size(), 2u);
    QCOMPARE((*started)[0].name, std::string("localtest-m01"));
    QTRY_COMPARE_WITH_TIMEOUT(
        jsonpath({"get", "nodes"}, "{.items[*].status.conditions[?(@.type==\"Ready\")].status}"),
        QString("True True"), 30000);

    // Starting again leaves the running agents alone.
    auto again = kd::vm::startLocalNodes(options(2));
    QVERIFY(again.ok());
    QCOMPARE((*again)[0].pid, (*started)[0].pid);

    CMD_OK(engine_.kubectl({"run", "sleeper", "--image=busybox", "--restart=Always",
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

    CMD_OK(engine_.kubectl({"delete", "pod", "sleeper", "--grace-period=1"}, {}, "/usr/bin/kubectl",
                           60000));
    QVERIFY(kd::vm::deleteLocalNodes(profileDir(), kProfile).isOk());
    QVERIFY(kd::vm::localNodes(profileDir(), kProfile).empty());
  }

  void podsReachEachOtherAcrossNodes() {
    auto started = kd::vm::startLocalNodes(options(2));
    KD_VERIFY2(started.ok(), started.status().message().c_str());
    QTRY_COMPARE_WITH_TIMEOUT(
        jsonpath({"get", "nodes"}, "{.items[*].status.conditions[?(@.type==\"Ready\")].status}"),
        QString("True True"), 30000);
    const QStringList cidrs = jsonpath({"get", "nodes"}, "{.items[*].spec.podCIDR}").split(' ');
    QCOMPARE(cidrs.size(), 2);
    QVERIFY(cidrs[0] != cidrs[1] && cidrs[0].startsWith("10.244."));
    QTRY_VERIFY_WITH_TIMEOUT(
        jsonpath({"get", "nodes"},
                 "{.items[*].status.addresses[?(@.type==\"InternalIP\")].address}")
            .startsWith("192.168."),
        30000);

    kd::json deployment = {{"apiVersion", "apps/v1"},
                           {"kind", "Deployment"},
                           {"metadata", {{"name", "web"}}},
                           {"spec",
                            {{"replicas", 2},
                             {"selector", {{"matchLabels", {{"app", "web"}}}}},
                             {"template", webPod({{"app", "web"}})}}}};
    CMD_OK(engine_.kubectl({"apply", "-f", "-"}, QByteArray::fromStdString(deployment.dump())));
    QTRY_COMPARE_WITH_TIMEOUT(jsonpath({"get", "deployment", "web"}, "{.status.readyReplicas}"),
                              QString("2"), 90000);
    QStringList pods;
    QTRY_VERIFY_WITH_TIMEOUT((pods = podsOf("app=web")).size() == 2 &&
                                 pods[0].split(' ').size() == 4 && pods[1].split(' ').size() == 4,
                             30000);
    const QStringList a = pods[0].split(' '), b = pods[1].split(' ');
    QCOMPARE(a[0], QString::fromStdString(kProfile + "-m01"));
    QCOMPARE(b[0], QString::fromStdString(kProfile + "-m02"));
    QVERIFY(a[2] != b[2]);
    for (const auto& p : {a, b}) {
      const QString cidr = jsonpath({"get", "node", p[0]}, "{.spec.podCIDR}");
      KD_VERIFY2(p[2].startsWith(cidr.section('.', 0, 2) + "."), qPrintable(p[2] + " " + cidr));
    }
    QVERIFY(engine_.kubectl({"get", "pods", "-o", "wide"}).out.contains(b[2]));
    QTRY_COMPARE_WITH_TIMEOUT(fetchFromPod(1, a[3], b[2]), b[1], 20000);
    QTRY_COMPARE_WITH_TIMEOUT(fetchFromPod(2, b[3], a[2]), a[1], 20000);

    // A second server on port 80 on the same node: each pod has its own network.
    kd::json extra = webPod({{"role", "extra"}});
    extra["apiVersion"] = "v1";
    extra["kind"] = "Pod";
    extra["metadata"]["name"] = "extra";
    extra["spec"].erase("affinity");
    extra["spec"]["nodeName"] = kProfile + "-m01";
    CMD_OK(engine_.kubectl({"apply", "-f", "-"}, QByteArray::fromStdString(extra.dump())));
    QTRY_COMPARE_WITH_TIMEOUT(jsonpath({"get", "pod", "extra"}, "{.status.phase}"),
                              QString("Running"), 60000);
    QString extraIp;
    KD_TRY_VERIFY(!(extraIp = jsonpath({"get", "pod", "extra"}, "{.status.podIP}")).isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(fetchFromPod(2, b[3], extraIp), QString("extra"), 20000);
    QTRY_COMPARE_WITH_TIMEOUT(fetchFromPod(1, a[3], a[2]), a[1], 20000);

    // Agents restart: the pods come back with the same IPs and still reach each other.
    QVERIFY(kd::vm::stopLocalNodes(profileDir(), kProfile).isOk());
    QVERIFY(kd::vm::startLocalNodes(options(2)).ok());
    QTRY_COMPARE_WITH_TIMEOUT(runcContainers(profileDir() / "nodes" / "m01"), 2, 60000);
    QTRY_COMPARE_WITH_TIMEOUT(fetchFromPod(1, a[3], b[2]), b[1], 60000);
    QCOMPARE(podsOf("app=web"), pods);

    CMD_OK(engine_.kubectl({"delete", "deployment", "web"}));
    CMD_OK(engine_.kubectl({"delete", "pod", "extra", "--grace-period=1"}, {}, "/usr/bin/kubectl",
                           60000));
    QVERIFY(kd::vm::deleteLocalNodes(profileDir(), kProfile).isOk());
    QVERIFY(!QString::fromStdString(run({"ip", "netns", "list"})).contains("kd-localtest"));
    QVERIFY(!QString::fromStdString(run({"ip", "link", "show"})).contains("kd-localtest"));
  }

  void nodeIndexFromName_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<int>("index");
    QTest::newRow("first") << "localtest-m01" << 1;
    QTest::newRow("twelfth") << "localtest-m12" << 12;
    QTest::newRow("three digits") << "localtest-m100" << 100;
    QTest::newRow("short spelling") << "localtest-m2" << 0;
    QTest::newRow("long spelling") << "localtest-m002" << 0;
    QTest::newRow("zero") << "localtest-m00" << 0;
    QTest::newRow("other profile") << "other-m01" << 0;
    QTest::newRow("not a number") << "localtest-mxx" << 0;
    QTest::newRow("bare") << "m01" << 0;
  }

  void nodeIndexFromName() {
    QFETCH(QString, name);
    QFETCH(int, index);
    QCOMPARE(kd::vm::localNodeIndex(kProfile, name.toStdString()), index);
  }

  void deleteOneNodeKeepsTheOthers() {
    auto started = kd::vm::startLocalNodes(options(2));
    KD_VERIFY2(started.ok(), started.status().message().c_str());
    const int keptPid = (*started)[0].pid;
    QVERIFY(kd::vm::deleteLocalNode(profileDir(), kProfile, 2).isOk());
    const auto left = kd::vm::localNodes(profileDir(), kProfile);
    QCOMPARE(indicesOf(left), QList<int>{1});
    QCOMPARE(left[0].pid, keptPid);  // untouched
    const QString netns = QString::fromStdString(run({"ip", "netns", "list"}));
    QVERIFY(!netns.contains("kd-localtest-m02") && netns.contains("kd-localtest-m01"));
    QVERIFY(!std::filesystem::exists(profileDir() / "nodes" / "m02"));
    QVERIFY(kd::vm::deleteLocalNode(profileDir(), kProfile, 2).isOk());  // idempotent

    // A gap: m01 and m03.
    auto gap = kd::vm::startLocalNodes(options(std::vector<int>{1, 3}));
    KD_VERIFY2(gap.ok(), gap.status().message().c_str());
    QCOMPARE((*gap)[0].pid, keptPid);
    QCOMPARE(indicesOf(kd::vm::localNodes(profileDir(), kProfile)), (QList<int>{1, 3}));
    QTRY_COMPARE_WITH_TIMEOUT(jsonpath({"get", "node", "localtest-m03"},
                                       "{.status.conditions[?(@.type==\"Ready\")].status}"),
                              QString("True"), 30000);
    QVERIFY(kd::vm::stopLocalNodes(profileDir(), kProfile).isOk());
    for (const auto& n : kd::vm::localNodes(profileDir(), kProfile)) QCOMPARE(n.pid, 0);
    QVERIFY(kd::vm::deleteLocalNodes(profileDir(), kProfile).isOk());
    QVERIFY(kd::vm::localNodes(profileDir(), kProfile).empty());
    QVERIFY(!QString::fromStdString(run({"ip", "netns", "list"})).contains("kd-localtest"));
    QVERIFY(!QString::fromStdString(run({"ip", "link", "show"})).contains("kd-localtest"));
  }
};

QTEST_GUILESS_MAIN(LocalNodesTest)
#include "local_nodes_test.moc"

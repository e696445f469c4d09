// Pod networking on one node with the real kernel: a node network namespace the test makes,
// pod sandboxes attached to its bridge, real busybox httpd servers in the pods. Needs root.

#include "engine/node/network.h"

#include <unistd.h>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <fstream>

#include "engine/node/process.h"
#include "engine/node/sandbox.h"
#include "tests/support/settle.h"

namespace fs = std::filesystem;
using kd::node::PodSandbox;

namespace {

const std::string kPodCidr = "10.244.7.0/24";

std::string run(const std::vector<std::string>& argv) {
  auto r = kd::node::runProcess(argv);
  return r.ok() && r->exitCode == 0 ? r->output : "";
}

bool succeeds(const std::vector<std::string>& argv) {
  auto r = kd::node::runProcess(argv);
  return r.ok() && r->exitCode == 0;
}

}  // namespace

class PodNetworkTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::string netns_ = "kdt-podnet-" + std::to_string(::getpid());
  std::vector<QProcess*> servers_;

  fs::path stateDir() const { return fs::path(dir_.path().toStdString()) / "state"; }
  fs::path podDir(const std::string& uid) const { return stateDir() / "pods" / uid; }
  std::string podNetns(const std::string& uid) const {
    return (podDir(uid) / "ns" / "net").string();
  }

  // A pod sandbox with its network; returns the pod IP ("" on failure).
  std::string makePod(const std::string& uid) {
    auto sandbox = PodSandbox::ensure(podDir(uid), uid, false);
    if (!sandbox.ok()) qWarning("sandbox: %s", sandbox.status().message().c_str());
    return kd::node::podIp(stateDir(), uid);
  }

  // busybox httpd on port 80 inside the pod, serving `page`.
  void serve(const std::string& uid, const std::string& page) {
    const fs::path www = podDir(uid) / "www";
    fs::create_directories(www);
    std::ofstream(www / "index.html") << page;
    auto* p = new QProcess(this);
    p->start("nsenter", {QString::fromStdString("--net=" + podNetns(uid)), "busybox", "httpd", "-f",
                         "-p", "80", "-h", QString::fromStdString(www.string())});
    QVERIFY(p->waitForStarted());
    servers_.push_back(p);
  }

  QString fetch(const std::string& fromUid, const std::string& ip) {
    return QString::fromStdString(run({"timeout", "5", "nsenter", "--net=" + podNetns(fromUid),
                                       "busybox", "wget", "-q", "-O-", "http://" + ip + "/"}));
  }

 private slots:
  void initTestCase() {
    if (::geteuid() != 0) QSKIP("pod networking needs root");
    QVERIFY(succeeds({"ip", "netns", "add", netns_}));
    fs::create_directories(stateDir() / "network");
    std::ofstream(stateDir() / "network" / "node.json") << "{\"netns\":\"" << netns_ << "\"}\n";
    const kd::Status s = kd::node::setUpBridge(stateDir(), kPodCidr);
    QVERIFY2(s.isOk(), s.message().c_str());
    QVERIFY(kd::node::setUpBridge(stateDir(), kPodCidr).isOk());  // idempotent
  }

  void cleanupTestCase() {
    for (auto* p : servers_) {
      p->kill();
      p->waitForFinished();
    }
    if (::geteuid() != 0) return;
    for (const char* uid : {"aaaa1111", "bbbb2222", "cccc3333"}) PodSandbox::destroy(podDir(uid));
    run({"ip", "netns", "del", netns_});
  }

  void bridgeHoldsTheGateway() {
    QVERIFY(run({"ip", "-n", netns_, "-4", "-o", "addr", "show", "kd0"}).find("10.244.7.1/24") !=
            std::string::npos);
    QCOMPARE(run({"ip", "netns", "exec", netns_, "cat", "/proc/sys/net/ipv4/ip_forward"}),
             std::string("1\n"));
  }

  void podsGetDistinctIpsAndReachEachOtherOnPort80() {
    QCOMPARE(makePod("aaaa1111"), std::string("10.244.7.2"));
    QCOMPARE(makePod("bbbb2222"), std::string("10.244.7.3"));
    QVERIFY(
        run({"nsenter", "--net=" + podNetns("aaaa1111"), "ip", "-4", "-o", "addr", "show", "eth0"})
            .find("10.244.7.2/24") != std::string::npos);
    QVERIFY(run({"nsenter", "--net=" + podNetns("aaaa1111"), "ip", "route"})
                .find("default via 10.244.7.1") != std::string::npos);
    serve("aaaa1111", "page of a\n");
    serve("bbbb2222", "page of b\n");  // the same port in another pod: no conflict
    KD_TRY_COMPARE(fetch("aaaa1111", "10.244.7.3"), QString("page of b\n"));
    KD_TRY_COMPARE(fetch("bbbb2222", "10.244.7.2"), QString("page of a\n"));
  }

  void ipsStayWithTheirPodAndAreNotHandedOutAgainAtOnce() {
    // An adopted sandbox (agent restart) keeps its IP.
    QCOMPARE(makePod("aaaa1111"), std::string("10.244.7.2"));
    QVERIFY(PodSandbox::destroy(podDir("aaaa1111")).isOk());
    QCOMPARE(kd::node::podIp(stateDir(), "aaaa1111"), std::string());
    QVERIFY(!succeeds({"ip", "-n", netns_, "link", "show", "kdvaaaa1111"}));
    QCOMPARE(makePod("cccc3333"), std::string("10.244.7.4"));
  }

  void hostNetworkPodsJoinTheNodeNamespace() {
    auto sandbox = PodSandbox::ensure(podDir("dddd4444"), "host", true);
    QVERIFY(sandbox.ok());
    QCOMPARE(sandbox->networkNamespace(), "/run/netns/" + netns_);
    QCOMPARE(kd::node::podIp(stateDir(), "dddd4444"), std::string());
    QVERIFY(PodSandbox::destroy(podDir("dddd4444")).isOk());
  }

  // Without the driver's node.json the agent leaves the host's network alone.
  void offUnlessTheDriverAsks() {
    const fs::path bare = fs::path(dir_.path().toStdString()) / "bare";
    auto sandbox = PodSandbox::ensure(bare / "pods" / "eeee5555", "bare", false);
    QVERIFY(sandbox.ok());
    QCOMPARE(kd::node::podIp(bare, "eeee5555"), std::string());
    QVERIFY(!fs::exists(bare / "network"));
    QVERIFY(PodSandbox::destroy(bare / "pods" / "eeee5555").isOk());
  }

  void routesFollowTheOtherNodes() {
    for (const auto& argv : std::vector<std::vector<std::string>>{
             {"ip", "-n", netns_, "link", "add", "rt0", "type", "veth", "peer", "name", "rt1"},
             {"ip", "-n", netns_, "addr", "add", "192.0.2.1/24", "dev", "rt0"},
             {"ip", "-n", netns_, "link", "set", "rt0", "up"},
             {"ip", "-n", netns_, "link", "set", "rt1", "up"},
             {"ip", "-n", netns_, "route", "add", "10.99.0.0/24", "via", "192.0.2.9"}}) {
      QVERIFY(succeeds(argv));
    }
    const auto routes = [this] {
      return QString::fromStdString(run({"ip", "-n", netns_, "route", "show", "proto", "77"}))
          .split('\n', Qt::SkipEmptyParts);
    };
    QVERIFY(kd::node::syncPodRoutes(
                stateDir(), {{"10.244.8.0/24", "192.0.2.2"}, {"10.244.9.0/24", "192.0.2.3"}})
                .isOk());
    QCOMPARE(routes().size(), 2);
    QVERIFY(routes()[0].startsWith("10.244.8.0/24 via 192.0.2.2"));
    QVERIFY(kd::node::syncPodRoutes(stateDir(), {{"10.244.8.0/24", "192.0.2.4"}}).isOk());
    QCOMPARE(routes().size(), 1);
    QVERIFY(routes()[0].startsWith("10.244.8.0/24 via 192.0.2.4"));
    // A route someone else made is left alone.
    QVERIFY(run({"ip", "-n", netns_, "route"}).find("10.99.0.0/24 via 192.0.2.9") !=
            std::string::npos);
  }
};

QTEST_GUILESS_MAIN(PodNetworkTest)
#include "pod_network_test.moc"

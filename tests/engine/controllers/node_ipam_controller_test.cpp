#include "engine/controllers/node_ipam_controller.h"

#include <QtTest>
#include <set>

#include "engine/controllers/controller_manager.h"
#include "tests/engine/controllers/test_cluster.h"
#include "tests/support/settle.h"

using kd::json;
using kd::controllers::ControllerManager;
using kd::controllers::NodeIpamController;
using kd::controllers::NodeIpamOptions;
using kd::testing::TestCluster;

namespace {

const auto& nodes() {
  return TestCluster::kind("nodes");
}

json node(const std::string& name, const std::string& podCidr = "") {
  json n = {{"metadata", {{"name", name}}}};
  if (!podCidr.empty()) n["spec"] = {{"podCIDR", podCidr}, {"podCIDRs", {podCidr}}};
  return n;
}

std::string podCidrOf(TestCluster& c, const std::string& name) {
  const json n = c.get(nodes(), "", name);
  return n.is_object() ? n.value("spec", json::object()).value("podCIDR", "") : "";
}

struct Running {
  TestCluster c;
  ControllerManager manager{c.objects()};
  explicit Running(NodeIpamOptions o) {
    c.createNamespace("default");
    manager.add(std::make_unique<NodeIpamController>(c.objects(), std::move(o)));
  }
};

}  // namespace

class NodeIpamControllerTest : public QObject {
  Q_OBJECT

 private slots:
  // Nodes created in order (some with a podCIDR of their own) and the podCIDR each ends up with.
  void allocates_data() {
    QTest::addColumn<QStringList>("given");     // "name" or "name=cidr"
    QTest::addColumn<QStringList>("expected");  // cidr per node, in order
    QTest::newRow("first /24s in order")
        << QStringList{"a", "b", "c"}
        << QStringList{"10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"};
    QTest::newRow("a preset subnet is kept and skipped")
        << QStringList{"a=10.244.0.0/24", "b", "c=10.244.2.0/24", "d"}
        << QStringList{"10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"};
  }
  void allocates() {
    QFETCH(QStringList, given);
    QFETCH(QStringList, expected);
    Running r(NodeIpamOptions{});
    QVERIFY(r.manager.start().isOk());
    for (const auto& g : given) {
      const auto parts = g.split('=');
      r.c.create(nodes(), "", node(parts[0].toStdString(), parts.value(1).toStdString()));
    }
    for (int i = 0; i < given.size(); ++i) {
      const std::string name = given[i].split('=')[0].toStdString();
      KD_TRY_COMPARE(QString::fromStdString(podCidrOf(r.c, name)), expected[i]);
      const json n = r.c.get(nodes(), "", name);
      QCOMPARE(n["spec"]["podCIDRs"], json::array({expected[i].toStdString()}));
    }
  }

  // Nodes registering at once never share a subnet, although the informer lags behind writes.
  void manyNodesAtOnceGetDistinctSubnets() {
    Running r(NodeIpamOptions{});
    QVERIFY(r.manager.start().isOk());
    constexpr int kNodes = 40;
    for (int i = 0; i < kNodes; ++i) r.c.create(nodes(), "", node("n" + std::to_string(i)));
    std::set<std::string> seen;
    for (int i = 0; i < kNodes; ++i) {
      const std::string name = "n" + std::to_string(i);
      KD_TRY_VERIFY(!podCidrOf(r.c, name).empty());
      QVERIFY2(seen.insert(podCidrOf(r.c, name)).second, name.c_str());
    }
  }

  // A full cluster CIDR leaves the next node without a subnet (and says so in an event) until
  // a node goes away.
  void exhaustedUntilANodeIsDeleted() {
    Running r(NodeIpamOptions{.clusterCidr = "10.250.0.0/23", .nodeMaskSize = 24});
    QVERIFY(r.manager.start().isOk());
    r.c.create(nodes(), "", node("a"));
    r.c.create(nodes(), "", node("b"));
    KD_TRY_COMPARE(podCidrOf(r.c, "b"), std::string("10.250.1.0/24"));
    QCOMPARE(podCidrOf(r.c, "a"), std::string("10.250.0.0/24"));
    r.c.create(nodes(), "", node("c"));
    const auto& events = TestCluster::kind("events");
    auto cidrEvents = [&] {
      auto list = r.c.objects().list(events, "default", {});
      int n = 0;
      if (!list.ok()) return n;
      for (const auto& e : list->items) n += e->parse().value("reason", "") == "CIDRNotAvailable";
      return n;
    };
    KD_TRY_VERIFY(cidrEvents() > 0);
    QCOMPARE(podCidrOf(r.c, "c"), std::string());
    QVERIFY(r.c.objects().remove(nodes(), "", "a", {}).ok());
    KD_TRY_COMPARE(podCidrOf(r.c, "c"), std::string("10.250.0.0/24"));
  }
};

QTEST_GUILESS_MAIN(NodeIpamControllerTest)
#include "node_ipam_controller_test.moc"

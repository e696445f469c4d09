#include "engine/controllers/namespace_controller.h"

#include <QtTest>

#include "engine/controllers/controller_manager.h"
#include "engine/controllers/garbage_collector.h"
#include "tests/engine/controllers/test_cluster.h"
#include "tests/support/settle.h"

using kd::json;
using kd::controllers::ControllerManager;
using kd::controllers::NamespaceController;
using kd::testing::TestCluster;

class NamespaceControllerTest : public QObject {
  Q_OBJECT

  static json deployment(const std::string& name) {
    json labels = {{"app", name}};
    return {{"metadata", {{"name", name}}},
            {"spec",
             {{"selector", {{"matchLabels", labels}}},
              {"template",
               {{"metadata", {{"labels", labels}}},
                {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}}}}}};
  }

 private slots:
  void deletingANamespaceRemovesItsContentThenItself() {
    TestCluster c;
    const auto& nsKind = TestCluster::kind("namespaces");
    const auto& cms = TestCluster::kind("configmaps");
    const auto& secrets = TestCluster::kind("secrets");
    const auto& deploys = TestCluster::kind("deployments", "apps");
    for (const char* ns : {"doomed", "kept"}) {
      c.createNamespace(ns);
      c.configMap(ns, "cm");
      c.create(secrets, ns, {{"metadata", {{"name", "s"}}}, {"stringData", {{"a", "b"}}}});
      QVERIFY(!c.create(deploys, ns, deployment("web")).is_null());
    }
    ControllerManager manager(c.objects());
    manager.add(std::make_unique<NamespaceController>(c.objects()));
    QVERIFY(manager.start().isOk());

    auto marked = c.objects().remove(nsKind, "", "doomed", {});
    QVERIFY(marked.ok());
    QVERIFY(!marked->deletedNow);  // held by the "kubernetes" finalizer until emptied
    KD_TRY_VERIFY(!c.exists(nsKind, "", "doomed"));
    QVERIFY(!c.exists(cms, "doomed", "cm"));
    QVERIFY(!c.exists(secrets, "doomed", "s"));
    QVERIFY(!c.exists(deploys, "doomed", "web"));
    QVERIFY(c.exists(nsKind, "", "kept"));
    QVERIFY(c.exists(cms, "kept", "cm"));
    QVERIFY(c.exists(secrets, "kept", "s"));
    QVERIFY(c.exists(deploys, "kept", "web"));
  }

  void namespaceWaitsForContentHeldByAFinalizer() {
    TestCluster c;
    const auto& nsKind = TestCluster::kind("namespaces");
    const auto& cms = TestCluster::kind("configmaps");
    c.createNamespace("slow");
    c.create(cms, "slow", {{"metadata", {{"name", "held"}, {"finalizers", {"example.com/hold"}}}}});
    ControllerManager manager(c.objects());
    manager.add(std::make_unique<NamespaceController>(c.objects()));
    QVERIFY(manager.start().isOk());
    QVERIFY(c.objects().remove(nsKind, "", "slow", {}).ok());

    KD_TRY_VERIFY(c.get(cms, "slow", "held")["metadata"].contains("deletionTimestamp"));
    // The namespace stays, Terminating, and says what it waits for.
    KD_TRY_VERIFY(c.get(nsKind, "", "slow")["status"].contains("conditions"));
    json ns = c.get(nsKind, "", "slow");
    QCOMPARE(ns["status"]["phase"], json("Terminating"));
    bool remaining = false;
    for (const auto& cond : ns["status"]["conditions"]) {
      if (cond["type"] == "NamespaceContentRemaining") remaining = cond["status"] == "True";
    }
    QVERIFY(remaining);

    json held = c.get(cms, "slow", "held");
    held["metadata"]["finalizers"] = json::array();
    QVERIFY(c.objects().update(cms, "slow", "held", held, {}).ok());
    KD_TRY_VERIFY(!c.exists(nsKind, "", "slow"));
  }

  void finalizeSubresourceWritesOnlySpecFinalizers() {
    TestCluster c;
    const auto& nsKind = TestCluster::kind("namespaces");
    json ns = c.createNamespace("plain");
    ns["metadata"]["labels"]["sneaky"] = "yes";
    ns["spec"]["finalizers"] = json::array({"example.com/other"});
    kd::server::WriteOptions finalize;
    finalize.subresource = "finalize";
    QVERIFY(c.objects().update(nsKind, "", "plain", ns, finalize).ok());
    json now = c.get(nsKind, "", "plain");
    QCOMPARE(now["spec"]["finalizers"], json::array({"example.com/other"}));
    QVERIFY(!now["metadata"]["labels"].contains("sneaky"));
  }
};

QTEST_GUILESS_MAIN(NamespaceControllerTest)
#include "namespace_controller_test.moc"

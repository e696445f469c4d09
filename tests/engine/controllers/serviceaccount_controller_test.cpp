// The serviceaccount controller keeps a `default` account in every live namespace; the
// ServiceAccount admission (ObjectService's pod strategy) runs pods as it or as the account they
// name, and copies the account's imagePullSecrets.

#include "engine/controllers/serviceaccount_controller.h"

#include <QtTest>

#include "engine/controllers/controller_manager.h"
#include "engine/controllers/namespace_controller.h"
#include "tests/engine/controllers/test_cluster.h"
#include "tests/support/settle.h"

using kd::json;
using kd::controllers::ControllerManager;
using kd::controllers::NamespaceController;
using kd::controllers::ServiceAccountController;
using kd::testing::TestCluster;

namespace {

json pod(const std::string& name, const std::string& account = "", json pullSecrets = nullptr) {
  json spec = {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}};
  if (!account.empty()) spec["serviceAccountName"] = account;
  if (!pullSecrets.is_null()) spec["imagePullSecrets"] = std::move(pullSecrets);
  return {{"metadata", {{"name", name}}}, {"spec", spec}};
}

}  // namespace

class ServiceAccountControllerTest : public QObject {
  Q_OBJECT

 private slots:
  void everyLiveNamespaceKeepsADefaultAccount() {
    TestCluster c;
    const auto& accounts = TestCluster::kind("serviceaccounts");
    const auto& namespaces = TestCluster::kind("namespaces");
    c.createNamespace("before");
    ControllerManager manager(c.objects());
    manager.add(std::make_unique<NamespaceController>(c.objects()));
    manager.add(std::make_unique<ServiceAccountController>(c.objects()));
    QVERIFY(manager.start().isOk());
    c.createNamespace("after");
    KD_TRY_VERIFY(c.exists(accounts, "before", "default"));
    KD_TRY_VERIFY(c.exists(accounts, "after", "default"));

    QVERIFY(c.objects().remove(accounts, "after", "default", {}).ok());
    KD_TRY_VERIFY(c.exists(accounts, "after", "default"));  // put back

    // A terminating namespace gets no account back: it goes, with its content.
    QVERIFY(c.objects().remove(namespaces, "", "before", {}).ok());
    KD_TRY_VERIFY(!c.exists(namespaces, "", "before"));
    QVERIFY(!c.exists(accounts, "before", "default"));
  }

  void podsRunAsTheirAccountAndGetItsPullSecrets() {
    TestCluster c;
    const auto& pods = TestCluster::kind("pods");
    const auto& accounts = TestCluster::kind("serviceaccounts");
    c.createNamespace("apps");
    c.create(accounts, "apps", {{"metadata", {{"name", "default"}}}});
    c.create(accounts, "apps",
             {{"metadata", {{"name", "puller"}}},
              {"imagePullSecrets", {{{"name", "regcred"}}, {{"name", "other"}}}}});

    const json plain = c.create(pods, "apps", pod("plain"));
    QCOMPARE(plain["spec"].value("serviceAccountName", ""), std::string("default"));
    QCOMPARE(plain["spec"].value("serviceAccount", ""), std::string("default"));
    QVERIFY(!plain["spec"].contains("imagePullSecrets"));

    const json pulling = c.create(pods, "apps", pod("pulling", "puller"));
    QCOMPARE(pulling["spec"].value("serviceAccountName", ""), std::string("puller"));
    QCOMPARE(pulling["spec"]["imagePullSecrets"],
             json::parse(R"([{"name":"regcred"},{"name":"other"}])"));

    // The pod's own secrets win; the account's are not added to them.
    const json own = c.create(pods, "apps", pod("own", "puller", {{{"name", "mine"}}}));
    QCOMPARE(own["spec"]["imagePullSecrets"], json::parse(R"([{"name":"mine"}])"));

    // The deprecated serviceAccount field names the account when serviceAccountName does not.
    json legacy = pod("legacy");
    legacy["spec"]["serviceAccount"] = "puller";
    QCOMPARE(c.create(pods, "apps", legacy)["spec"].value("serviceAccountName", ""),
             std::string("puller"));
  }

  void aMissingAccountIsForbidden() {
    TestCluster c;
    c.createNamespace("apps");
    auto refused = c.objects().create(TestCluster::kind("pods"), "apps", pod("p", "ghost"), {});
    QVERIFY(!refused.ok());
    QCOMPARE(refused.status().code(), 403);
    QCOMPARE(refused.status().message(),
             std::string("pods \"p\" is forbidden: error looking up service account apps/ghost: "
                         "serviceaccount \"ghost\" not found"));
    // `default` before its controller made it: let through (Kubernetes would refuse).
    QVERIFY(c.objects().create(TestCluster::kind("pods"), "apps", pod("early"), {}).ok());
  }
};

QTEST_GUILESS_MAIN(ServiceAccountControllerTest)
#include "serviceaccount_controller_test.moc"

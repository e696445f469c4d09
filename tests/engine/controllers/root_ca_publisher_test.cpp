// The root-ca-cert-publisher keeps kube-root-ca.crt, holding the engine's CA, in every live
// namespace: created with the namespace, put back when deleted, reset when edited.

#include "engine/controllers/root_ca_publisher.h"

#include <QtTest>

#include "engine/controllers/controller_manager.h"
#include "engine/controllers/namespace_controller.h"
#include "tests/engine/controllers/test_cluster.h"
#include "tests/support/settle.h"

using kd::json;
using kd::controllers::ControllerManager;
using kd::controllers::NamespaceController;
using kd::controllers::RootCaPublisher;
using kd::testing::TestCluster;

namespace {

const char* const kCa = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

}  // namespace

class RootCaPublisherTest : public QObject {
  Q_OBJECT

 private slots:
  void everyLiveNamespaceHoldsTheCa() {
    TestCluster c;
    const auto& maps = TestCluster::kind("configmaps");
    const auto& namespaces = TestCluster::kind("namespaces");
    c.createNamespace("before");
    ControllerManager manager(c.objects());
    manager.add(std::make_unique<NamespaceController>(c.objects()));
    manager.add(std::make_unique<RootCaPublisher>(c.objects(), kCa));
    QVERIFY(manager.start().isOk());
    c.createNamespace("after");
    auto caIn = [&](const std::string& ns) {
      const json map = c.get(maps, ns, "kube-root-ca.crt");  // null while missing
      return map.is_object() ? map.value("data", json::object()).value("ca.crt", "") : "";
    };
    KD_TRY_VERIFY(caIn("before") == kCa);
    KD_TRY_VERIFY(caIn("after") == kCa);
    QVERIFY(!c.get(maps, "after", "kube-root-ca.crt")["metadata"]["annotations"]
                 .value("kubernetes.io/description", "")
                 .empty());

    QVERIFY(c.objects().remove(maps, "after", "kube-root-ca.crt", {}).ok());
    KD_TRY_VERIFY(caIn("after") == kCa);  // put back

    json edited = c.get(maps, "before", "kube-root-ca.crt");
    edited["data"] = {{"ca.crt", "forged"}, {"extra", "x"}};
    QVERIFY(c.objects().update(maps, "before", "kube-root-ca.crt", edited, {}).ok());
    KD_TRY_VERIFY(c.get(maps, "before", "kube-root-ca.crt")["data"] == json({{"ca.crt", kCa}}));

    // A terminating namespace gets nothing back: it goes, with its content.
    QVERIFY(c.objects().remove(namespaces, "", "before", {}).ok());
    KD_TRY_VERIFY(!c.exists(namespaces, "", "before"));
    QVERIFY(!c.exists(maps, "before", "kube-root-ca.crt"));
  }
};

QTEST_GUILESS_MAIN(RootCaPublisherTest)
#include "root_ca_publisher_test.moc"

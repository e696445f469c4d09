// The ServiceAccount admission's token volume, as a pod created through the ObjectService gets
// it: kube-apiserver's exact volume and mounts, which containers get a mount, and the
// automountServiceAccountToken switches on the pod and its account.

#include "engine/server/token_volume.h"

#include <QRegularExpression>
#include <QtTest>

#include "tests/engine/controllers/test_cluster.h"

using kd::json;
using kd::testing::TestCluster;

namespace {

// kube-apiserver's volume, as `kubectl get pod -o json` shows it (name aside).
const char* const kVolume =
    "{\"projected\":{\"defaultMode\":420,\"sources\":["
    "{\"serviceAccountToken\":{\"expirationSeconds\":3607,\"path\":\"token\"}},"
    "{\"configMap\":{\"items\":[{\"key\":\"ca.crt\",\"path\":\"ca.crt\"}],"
    "\"name\":\"kube-root-ca.crt\"}},"
    "{\"downwardAPI\":{\"items\":[{\"fieldRef\":{\"apiVersion\":\"v1\","
    "\"fieldPath\":\"metadata.namespace\"},\"path\":\"namespace\"}]}}]}}";

const char* const kMountPath = "/var/run/secrets/kubernetes.io/serviceaccount";

json container(const std::string& name, json mounts = nullptr) {
  json c = {{"name", name}, {"image", "busybox"}};
  if (!mounts.is_null()) c["volumeMounts"] = std::move(mounts);
  return c;
}

class Cluster : public TestCluster {
 public:
  Cluster() {
    createNamespace("apps");
    create(kind("serviceaccounts"), "apps", {{"metadata", {{"name", "default"}}}});
    create(kind("serviceaccounts"), "apps",
           {{"metadata", {{"name", "quiet"}}}, {"automountServiceAccountToken", false}});
  }
  json pod(json spec) {
    static int serial = 0;
    return create(kind("pods"), "apps",
                  {{"metadata", {{"name", "p" + std::to_string(++serial)}}}, {"spec", spec}});
  }
};

}  // namespace

class TokenVolumeTest : public QObject {
  Q_OBJECT

 private slots:
  void podGetsKubeApiServersVolumeAndMounts() {
    Cluster c;
    const json pod = c.pod({{"initContainers", {container("init")}},
                            {"containers", {container("a"), container("b")}}});
    const json volumes = pod["spec"]["volumes"];
    QCOMPARE(volumes.size(), size_t{1});
    const std::string name = volumes[0]["name"];
    QVERIFY2(QRegularExpression("^kube-api-access-[a-z0-9]{5}$")
                 .match(QString::fromStdString(name))
                 .hasMatch(),
             name.c_str());
    json shape = volumes[0];
    shape.erase("name");
    QCOMPARE(shape, json::parse(kVolume));
    const json mount = {{"mountPath", kMountPath}, {"name", name}, {"readOnly", true}};
    for (const char* list : {"initContainers", "containers"}) {
      for (const auto& c : pod["spec"][list]) QCOMPARE(c["volumeMounts"], json::array({mount}));
    }
  }

  void containerWithItsOwnMountThereIsLeftAlone() {
    Cluster c;
    const json own = {{"mountPath", kMountPath}, {"name", "mine"}};
    const json pod = c.pod({{"volumes", {{{"name", "mine"}, {"emptyDir", json::object()}}}},
                            {"containers", {container("a", {own}), container("b")}}});
    QCOMPARE(pod["spec"]["containers"][0]["volumeMounts"], json::array({own}));
    QCOMPARE(pod["spec"]["containers"][1]["volumeMounts"].size(), size_t{1});
    QCOMPARE(pod["spec"]["volumes"].size(), size_t{2});

    // Nobody needs the token: no volume at all.
    const json all = c.pod({{"volumes", {{{"name", "mine"}, {"emptyDir", json::object()}}}},
                            {"containers", {container("a", {own})}}});
    QCOMPARE(all["spec"]["volumes"].size(), size_t{1});
  }

  void automount_data() {
    QTest::addColumn<QString>("account");
    QTest::addColumn<QString>("podSays");  // "" = unset
    QTest::addColumn<bool>("mounted");
    QTest::newRow("default account") << "default"
                                     << "" << true;
    QTest::newRow("pod says false") << "default"
                                    << "false" << false;
    QTest::newRow("account says false") << "quiet"
                                        << "" << false;
    QTest::newRow("pod overrides its account") << "quiet"
                                               << "true" << true;
  }

  // Invalid volumes stay as sent, for validation to report; nothing is mounted.
  void invalidVolumesAreLeftForValidation() {
    json pod = {{"spec", {{"volumes", "oops"}, {"containers", {container("a")}}}}};
    kd::server::mountServiceAccountToken(pod, nullptr);
    QCOMPARE(pod["spec"]["volumes"], json("oops"));
    QVERIFY(!pod["spec"]["containers"][0].contains("volumeMounts"));
  }

  void automount() {
    QFETCH(QString, account);
    QFETCH(QString, podSays);
    QFETCH(bool, mounted);
    Cluster c;
    json spec = {{"serviceAccountName", account.toStdString()}, {"containers", {container("a")}}};
    if (!podSays.isEmpty()) spec["automountServiceAccountToken"] = podSays == "true";
    const json pod = c.pod(spec);
    QCOMPARE(pod["spec"].contains("volumes"), mounted);
    QCOMPARE(pod["spec"]["containers"][0].contains("volumeMounts"), mounted);
  }
};

QTEST_GUILESS_MAIN(TokenVolumeTest)
#include "token_volume_test.moc"

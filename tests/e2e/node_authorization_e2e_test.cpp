// End to end: node agents' bearer tokens and the node authorizer, driven by the real kubectl
// holding a node's token (as the agents hold it), against a real engine. No agent runs: the
// objects a node may or may not reach are made by the admin.

#include <QFile>
#include <QtTest>

#include "engine/client/node_credentials.h"
#include "engine_process.h"

namespace {

// n1 runs `web` (secret `used`, configmap `settings`, claim `data`); n2 runs `other`, which
// uses the secret `elsewhere`.
const char* const kObjects =
    "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n---\n"
    "apiVersion: v1\nkind: Node\nmetadata: {name: n2}\n---\n"
    "apiVersion: v1\nkind: Secret\nmetadata: {name: used}\nstringData: {k: v}\n---\n"
    "apiVersion: v1\nkind: Secret\nmetadata: {name: elsewhere}\nstringData: {k: v}\n---\n"
    "apiVersion: v1\nkind: Secret\nmetadata: {name: unused}\nstringData: {k: v}\n---\n"
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {k: v}\n---\n"
    "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\n"
    "spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Mi}}}\n---\n"
    "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  nodeName: n1\n"
    "  volumes:\n  - {name: s, secret: {secretName: used}}\n"
    "  - {name: d, persistentVolumeClaim: {claimName: data}}\n"
    "  containers:\n  - name: main\n    image: busybox\n"
    "    env:\n    - name: K\n      valueFrom: {configMapKeyRef: {name: settings, key: k}}\n---\n"
    "apiVersion: v1\nkind: Pod\nmetadata: {name: other}\nspec:\n  nodeName: n2\n"
    "  volumes:\n  - {name: s, secret: {secretName: elsewhere}}\n"
    "  containers:\n  - {name: main, image: busybox}\n";

const char* const kLease =
    "apiVersion: coordination.k8s.io/v1\nkind: Lease\n"
    "metadata: {name: %1, namespace: kube-node-lease}\nspec: {holderIdentity: %1}\n";

}  // namespace

class NodeAuthorizationE2eTest : public QObject {
  Q_OBJECT
  EngineProcess engine_;
  QTemporaryDir tmp_;
  QString n1Kubeconfig_;

  CommandResult asNode(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(QStringList{"--kubeconfig", n1Kubeconfig_} + args, input);
  }

 private slots:
  void initTestCase() {
    KD_VERIFY2(engine_.start(), qPrintable(engine_.log()));
    auto made = engine_.kubectl({"apply", "-f", "-"}, kObjects);
    KD_VERIFY2(made.exitCode == 0, qPrintable(made.err + made.out));
    n1Kubeconfig_ = tmp_.filePath("n1.kubeconfig");
    kd::Status s = kd::client::writeNodeKubeconfig(engine_.kubeconfig().toStdString(), "n1",
                                                   n1Kubeconfig_.toStdString());
    KD_VERIFY2(s.isOk(), s.message().c_str());
  }

  void nodeKubeconfigHoldsATokenAndNoCertificate() {
    QFile f(n1Kubeconfig_);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(int(f.permissions() & (QFile::ReadGroup | QFile::ReadOther)), 0);
    const QByteArray text = f.readAll();
    KD_VERIFY2(text.contains("token: kdn.n1."), text.constData());
    QVERIFY(!text.contains("client-key-data"));
  }

  void nodeRequests_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("expected");  // "" = allowed; else a piece of the error
    const QString noRelation = "no relationship found between node 'n1' and this object";
    QTest::newRow("list nodes") << QStringList{"get", "nodes"} << "";
    QTest::newRow("list pods in all namespaces") << QStringList{"get", "pods", "-A"} << "";
    QTest::newRow("list services") << QStringList{"get", "services", "-A"} << "";
    QTest::newRow("get a secret its pod mounts") << QStringList{"get", "secret", "used"} << "";
    QTest::newRow("get a configmap its pod's env uses")
        << QStringList{"get", "configmap", "settings"} << "";
    QTest::newRow("get a claim its pod mounts") << QStringList{"get", "pvc", "data"} << "";
    QTest::newRow("get another node's secret")
        << QStringList{"get", "secret", "elsewhere"}
        << "Error from server (Forbidden): secrets \"elsewhere\" is forbidden: User "
           "\"system:node:n1\" cannot get resource \"secrets\" in API group \"\" in the "
           "namespace \"default\": " +
               noRelation;
    QTest::newRow("get an unused secret") << QStringList{"get", "secret", "unused"} << noRelation;
    QTest::newRow("list secrets")
        << QStringList{"get", "secrets"}
        << "User \"system:node:n1\" cannot list resource \"secrets\" in API group \"\"";
    // As kube-apiserver: a list or watch of one referenced object, named by its fieldSelector
    // (the agent's ConfigMap/Secret cache watches them so).
    QTest::newRow("list one secret its pod mounts, by name")
        << QStringList{"get", "secrets", "--field-selector", "metadata.name=used"} << "";
    QTest::newRow("watch one configmap its pod uses, by name")
        << QStringList{"get", "--raw",
                       "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1&"
                       "fieldSelector=metadata.name%3Dsettings"}
        << "";
    QTest::newRow("watch an unused secret by name")
        << QStringList{"get", "--raw",
                       "/api/v1/namespaces/default/secrets?watch=1&timeoutSeconds=1&"
                       "fieldSelector=metadata.name%3Dunused"}
        << "forbidden";
    QTest::newRow("list an unused secret by name")
        << QStringList{"get", "secrets", "--field-selector", "metadata.name=unused"}
        << "cannot list resource \"secrets\" in API group \"\" in the namespace \"default\": " +
               noRelation;
    QTest::newRow("list secrets selected by another field")
        << QStringList{"get", "secrets", "--field-selector", "type=Opaque"}
        << "cannot list resource \"secrets\"";
    QTest::newRow("list deployments")
        << QStringList{"get", "deployments"}
        << "cannot list resource \"deployments\" in API group \"apps\" in the namespace";
    QTest::newRow("label its own node") << QStringList{"label", "node", "n1", "seen=yes"} << "";
    QTest::newRow("label another node")
        << QStringList{"label", "node", "n2", "seen=yes"}
        << "nodes \"n2\" is forbidden: User \"system:node:n1\" cannot patch resource \"nodes\" "
           "in API group \"\" at the cluster scope: node 'n1' cannot modify node 'n2'";
    QTest::newRow("label a pod (only status is the node's)")
        << QStringList{"label", "pod", "web", "seen=yes"}
        << "cannot patch resource \"pods\" in API group \"\"";
    QTest::newRow("delete another node's pod")
        << QStringList{"delete", "pod", "other", "--wait=false"}
        << "node 'n1' can only modify pods bound to it";
    QTest::newRow("reach its own node's agent through nodes/proxy")
        << QStringList{"get", "--raw", "/api/v1/nodes/n1/proxy/images"}
        << "cannot get resource \"nodes/proxy\" in API group \"\" at the cluster scope";
    QTest::newRow("mint a node token")
        << QStringList{"create", "--raw", "/kubedesk/v1/nodes/n1/token", "-f", "-"}
        << "cannot post path \"/kubedesk/v1/nodes/n1/token\"";
  }

  void nodeRequests() {
    QFETCH(QStringList, args);
    QFETCH(QString, expected);
    auto r = asNode(args, "{}");
    if (expected.isEmpty()) {
      KD_VERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
    } else {
      KD_VERIFY2(r.exitCode != 0, qPrintable("allowed: " + r.out));
      KD_VERIFY2(r.err.contains(expected), qPrintable(r.err));
    }
  }

  void leasesOnlyUnderItsOwnName() {
    auto own = asNode({"create", "-f", "-"}, QString(kLease).arg("n1").toUtf8());
    KD_VERIFY2(own.exitCode == 0, qPrintable(own.err + own.out));
    auto other = asNode({"create", "-f", "-"}, QString(kLease).arg("n2").toUtf8());
    KD_VERIFY2(other.exitCode != 0, qPrintable(other.out));
    KD_VERIFY2(other.err.contains("can only access node lease with the same name as the node"),
               qPrintable(other.err));
  }

  void deletingItsOwnPodWorks() {
    auto r = asNode({"delete", "pod", "web", "--grace-period=0", "--force"});
    KD_VERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
  }

  void aTokenFromAnotherEngineIsRejected() {
    EngineProcess stranger;
    KD_VERIFY2(stranger.start(), qPrintable(stranger.log()));
    const QString foreign = tmp_.filePath("foreign.kubeconfig");
    kd::Status s = kd::client::writeNodeKubeconfig(stranger.kubeconfig().toStdString(), "n1",
                                                   foreign.toStdString());
    KD_VERIFY2(s.isOk(), s.message().c_str());
    QFile f(foreign);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray text = f.readAll();
    const qsizetype at = text.indexOf("token: ");
    QVERIFY(at >= 0);
    const QString token =
        QString::fromUtf8(text.mid(at + 7, text.indexOf('\n', at) - at - 7)).trimmed();
    auto r = engine_.kubectl({"--kubeconfig", n1Kubeconfig_, "--token", token, "get", "nodes"});
    KD_VERIFY2(r.exitCode != 0, qPrintable(r.out));
    KD_VERIFY2(r.err.contains("You must be logged in to the server"), qPrintable(r.err));
    auto forged = engine_.kubectl({"--kubeconfig", n1Kubeconfig_, "--token",
                                   token.left(token.lastIndexOf('.')) + ".00", "get", "nodes"});
    KD_VERIFY2(forged.err.contains("You must be logged in to the server"), qPrintable(forged.err));
  }
};

QTEST_GUILESS_MAIN(NodeAuthorizationE2eTest)
#include "node_authorization_e2e_test.moc"

// End to end: service account tokens as Kubernetes mounts them. A busybox pod on a real
// kubedesk-node (runc) gets kube-apiserver's kube-api-access volume; its container reads the
// token, the engine's CA and its namespace; the token read from the pod with `kubectl exec`
// authenticates the real kubectl as system:serviceaccount:default:default (which, with no
// RBAC in the engine, may do what Kubernetes lets an unbound account do: discovery, and is
// refused the rest), until its pod is gone. `kubectl create token` issues tokens (posted as
// protobuf by kubectl 1.32); a node may ask only for tokens bound to its own pods. Needs root.

#include <unistd.h>

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QtTest>

#include "engine/client/node_credentials.h"
#include "node_agent_process.h"

namespace {

const char* const kMountPath = "/var/run/secrets/kubernetes.io/serviceaccount";
const char* const kForbiddenAsDefault =
    "pods is forbidden: User \"system:serviceaccount:default:default\" cannot list resource "
    "\"pods\" in API group \"\" in the namespace \"default\"";

const char* const kQuietPod =
    "apiVersion: v1\nkind: Pod\nmetadata: {name: quiet}\n"
    "spec:\n  nodeName: n1\n  automountServiceAccountToken: false\n"
    "  containers:\n  - {name: main, image: busybox, command: [sleep, '3600']}\n";

// The claims of a JWT, read without checking it.
QJsonObject claimsOf(const QString& token) {
  const QStringList parts = token.split('.');
  if (parts.size() != 3) return {};
  return QJsonDocument::fromJson(
             QByteArray::fromBase64(parts[1].toLatin1(), QByteArray::Base64UrlEncoding))
      .object();
}

}  // namespace

class ServiceAccountTokenE2eTest : public QObject {
  Q_OBJECT
  EngineProcess engine_;
  NodeAgentProcess agent_{engine_, "n1"};
  QTemporaryDir tmp_;
  QString podToken_;

  CommandResult k(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input);
  }
  // The real kubectl holding nothing but `token` (and the CA to trust the engine).
  CommandResult withToken(const QString& token, const QStringList& args) {
    const QString empty = tmp_.filePath("empty.kubeconfig");
    QFile(empty).open(QIODevice::WriteOnly);
    return runProgram(
        "/usr/bin/kubectl",
        QStringList{"--kubeconfig", empty, "--server", engine_.url(), "--certificate-authority",
                    engine_.dataDir() + "/pki/ca.crt", "--token", token} +
            args);
  }
  QString jsonpath(const QString& pod, const QString& path) {
    return k({"get", "pod", pod, "-o", "jsonpath={" + path + "}"}).out;
  }

 private slots:
  void initTestCase() {
    if (::geteuid() != 0) QSKIP("kubedesk-node needs root");
    KD_VERIFY2(engine_.start(), qPrintable(engine_.log()));
    KD_VERIFY2(agent_.start(), qPrintable(agent_.log()));
    CMD_OK(k({"apply", "-f", "-"}, busyboxPod("box", "n1", "Always", {"sleep", "3600"})));
    KD_VERIFY2(waitFor([&] { return jsonpath("box", ".status.phase") == "Running"; }, 60000),
               qPrintable(k({"describe", "pod", "box"}).out + agent_.log()));
  }

  void podGetsKubeApiServersVolume() {
    const QString volume = jsonpath("box", ".spec.volumes[0].name");
    KD_VERIFY2(QRegularExpression("^kube-api-access-[a-z0-9]{5}$").match(volume).hasMatch(),
               qPrintable(volume));
    QCOMPARE(jsonpath("box", ".spec.volumes[0].projected.sources[0].serviceAccountToken"),
             QString("{\"expirationSeconds\":3607,\"path\":\"token\"}"));
    QCOMPARE(jsonpath("box", ".spec.containers[0].volumeMounts[0]"),
             QString("{\"mountPath\":\"%1\",\"name\":\"%2\",\"readOnly\":true}")
                 .arg(kMountPath, volume));
    QCOMPARE(jsonpath("box", ".spec.serviceAccountName"), QString("default"));
  }

  void containerReadsTokenCaAndNamespace() {
    auto cat = [&](const QString& file) {
      return k({"exec", "box", "--", "cat", QString(kMountPath) + "/" + file});
    };
    const auto ca = cat("ca.crt");
    CMD_OK(ca);
    QFile caFile(engine_.dataDir() + "/pki/ca.crt");
    QVERIFY(caFile.open(QIODevice::ReadOnly));
    QCOMPARE(ca.out, QString::fromUtf8(caFile.readAll()));
    const auto ns = cat("namespace");
    CMD_OK(ns);
    QCOMPARE(ns.out, QString("default"));
    const auto token = cat("token");
    CMD_OK(token);
    podToken_ = token.out;
    const QJsonObject claims = claimsOf(podToken_);
    QCOMPARE(claims["sub"].toString(), QString("system:serviceaccount:default:default"));
    QCOMPARE(claims["kubernetes.io"].toObject()["pod"].toObject()["name"].toString(),
             QString("box"));
    QCOMPARE(claims["exp"].toInteger() - claims["iat"].toInteger(), qint64(3607));
  }

  void podTokenAuthenticatesKubectl() {
    QVERIFY(!podToken_.isEmpty());
    const auto pods = withToken(podToken_, {"get", "pods"});
    QCOMPARE(pods.exitCode, 1);
    KD_VERIFY2(pods.err.contains(kForbiddenAsDefault), qPrintable(pods.err));
    const auto discovery = withToken(podToken_, {"api-resources", "--api-group="});
    CMD_OK(discovery);
    QVERIFY(discovery.out.contains("serviceaccounts"));
    const auto forged = withToken(podToken_.left(podToken_.size() - 2) + "xx", {"get", "pods"});
    QCOMPARE(forged.exitCode, 1);
    KD_VERIFY2(forged.err.contains("Unauthorized"), qPrintable(forged.err));
  }

  void kubectlCreateToken() {
    const auto made = k({"create", "token", "default"});
    CMD_OK(made);
    const QString token = made.out.trimmed();
    const auto pods = withToken(token, {"get", "pods"});
    KD_VERIFY2(pods.err.contains(kForbiddenAsDefault), qPrintable(pods.err));

    const auto twenty = k({"create", "token", "default", "--duration", "20m", "--audience", "vault",
                           "--bound-object-kind", "Pod", "--bound-object-name", "box"});
    CMD_OK(twenty);
    const QJsonObject claims = claimsOf(twenty.out.trimmed());
    QCOMPARE(claims["exp"].toInteger() - claims["iat"].toInteger(), qint64(1200));
    QCOMPARE(claims["aud"].toArray().first().toString(), QString("vault"));
    QCOMPARE(claims["kubernetes.io"].toObject()["pod"].toObject()["name"].toString(),
             QString("box"));

    const auto missing = k({"create", "token", "nobody"});
    QCOMPARE(missing.exitCode, 1);
    KD_VERIFY2(missing.err.contains("serviceaccounts \"nobody\" not found"),
               qPrintable(missing.err));
  }

  void nodeAsksOnlyForItsOwnPods() {
    const QString n2 = tmp_.filePath("n2.kubeconfig");
    kd::Status s =
        kd::client::writeNodeKubeconfig(engine_.kubeconfig().toStdString(), "n2", n2.toStdString());
    KD_VERIFY2(s.isOk(), s.message().c_str());
    const auto other = k({"--kubeconfig", n2, "create", "token", "default", "--bound-object-kind",
                          "Pod", "--bound-object-name", "box"});
    QCOMPARE(other.exitCode, 1);
    KD_VERIFY2(
        other.err.contains("node requested token bound to a pod scheduled on a different node"),
        qPrintable(other.err));
    const auto unbound = k({"--kubeconfig", n2, "create", "token", "default"});
    QCOMPARE(unbound.exitCode, 1);
    KD_VERIFY2(unbound.err.contains("node requested token not bound to a pod"),
               qPrintable(unbound.err));
  }

  void automountFalseGivesNoVolume() {
    CMD_OK(k({"apply", "-f", "-"}, kQuietPod));
    QCOMPARE(jsonpath("quiet", ".spec.volumes"), QString());
    QCOMPARE(jsonpath("quiet", ".spec.containers[0].volumeMounts"), QString());
    CMD_OK(k({"delete", "pod", "quiet", "--wait=false"}));
  }

  void podTokenDiesWithItsPod() {
    QVERIFY(!podToken_.isEmpty());
    CMD_OK(k({"delete", "pod", "box", "--timeout=60s"}));
    const auto pods = withToken(podToken_, {"get", "pods"});
    QCOMPARE(pods.exitCode, 1);
    KD_VERIFY2(pods.err.contains("Unauthorized"), qPrintable(pods.err));
  }

  void cleanupTestCase() {
    agent_.stop();
    agent_.cleanUp();
  }
};

QTEST_GUILESS_MAIN(ServiceAccountTokenE2eTest)
#include "service_account_token_e2e_test.moc"

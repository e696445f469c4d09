// rollout status wording per kind and state, history tables and revision templates.

#include <QtTest>

#include "engine/api/kinds.h"
#include "engine/client/cli/rollout.h"

using kd::json;
using namespace kd::cli;

namespace {

const kd::api::KindInfo& kind(const std::string& resource) {
  return *kd::api::KindsRegistry::builtin().resolve(resource);
}

json object(const std::string& spec, const std::string& status) {
  return {{"metadata", {{"name", "web"}, {"generation", 2}, {"uid", "owner"}}},
          {"spec", json::parse(spec)},
          {"status", json::parse(status)}};
}

json owned(int revision, const std::string& image, const std::string& cause) {
  json annotations = {{"deployment.kubernetes.io/revision", std::to_string(revision)}};
  if (!cause.empty()) annotations["kubernetes.io/change-cause"] = cause;
  return {{"metadata",
           {{"name", "web-" + std::to_string(revision)},
            {"annotations", annotations},
            {"ownerReferences", json::array({{{"uid", "owner"}, {"controller", true}}})}}},
          {"spec",
           {{"template",
             {{"metadata", {{"labels", {{"app", "web"}}}}},
              {"spec", {{"containers", json::array({{{"name", "c"}, {"image", image}}})}}}}}}}};
}

}  // namespace

class RolloutTest : public QObject {
  Q_OBJECT

 private slots:
  void status_data() {
    QTest::addColumn<QString>("resource");
    QTest::addColumn<QString>("spec");
    QTest::addColumn<QString>("status");
    QTest::addColumn<QString>("message");
    QTest::addColumn<bool>("done");
    QTest::newRow("deployment not observed")
        << "deployments"
        << "{\"replicas\":3}"
        << "{\"observedGeneration\":1}"
        << "Waiting for deployment spec update to be observed...\n"
        << false;
    QTest::newRow("deployment updating")
        << "deployments"
        << "{\"replicas\":3}"
        << "{\"observedGeneration\":2,\"updatedReplicas\":1,\"replicas\":3}"
        << "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been "
           "updated...\n"
        << false;
    QTest::newRow("deployment old pending")
        << "deployments"
        << "{\"replicas\":3}"
        << "{\"observedGeneration\":2,\"updatedReplicas\":3,\"replicas\":4}"
        << "Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending "
           "termination...\n"
        << false;
    QTest::newRow("deployment available")
        << "deployments"
        << "{\"replicas\":3}"
        << "{\"observedGeneration\":2,\"updatedReplicas\":3,\"replicas\":3,\"availableReplicas\":1}"
        << "Waiting for deployment \"web\" rollout to finish: 1 of 3 updated replicas are "
           "available...\n"
        << false;
    QTest::newRow("deployment done")
        << "deployments"
        << "{\"replicas\":3}"
        << "{\"observedGeneration\":2,\"updatedReplicas\":3,\"replicas\":3,\"availableReplicas\":3}"
        << "deployment \"web\" successfully rolled out\n"
        << true;
    QTest::newRow("daemon set updating")
        << "daemonsets"
        << "{\"updateStrategy\":{\"type\":\"RollingUpdate\"}}"
        << "{\"observedGeneration\":2,\"desiredNumberScheduled\":2,\"updatedNumberScheduled\":1}"
        << "Waiting for daemon set \"web\" rollout to finish: 1 out of 2 new pods have been "
           "updated...\n"
        << false;
    QTest::newRow("daemon set done")
        << "daemonsets"
        << "{\"updateStrategy\":{\"type\":\"RollingUpdate\"}}"
        << "{\"observedGeneration\":2,\"desiredNumberScheduled\":2,\"updatedNumberScheduled\":2,"
           "\"numberAvailable\":2}"
        << "daemon set \"web\" successfully rolled out\n"
        << true;
    QTest::newRow("stateful set not ready")
        << "statefulsets"
        << "{\"replicas\":3,\"updateStrategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":"
           "{\"partition\":0}}}"
        << "{\"observedGeneration\":2,\"readyReplicas\":1}"
        << "Waiting for 2 pods to be ready...\n"
        << false;
    QTest::newRow("stateful set done")
        << "statefulsets"
        << "{\"replicas\":3,\"updateStrategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":"
           "{\"partition\":0}}}"
        << "{\"observedGeneration\":2,\"readyReplicas\":3,\"updatedReplicas\":3}"
        << "partitioned roll out complete: 3 new pods have been updated...\n"
        << true;
  }
  void status() {
    QFETCH(QString, resource);
    QFETCH(QString, spec);
    QFETCH(QString, status);
    QFETCH(QString, message);
    QFETCH(bool, done);
    const auto s = rolloutStatus(kind(resource.toStdString()),
                                 object(spec.toStdString(), status.toStdString()));
    QVERIFY(s.error.isOk());
    QCOMPARE(QString::fromStdString(s.message), message);
    QCOMPARE(s.done, done);
  }

  void onDeleteStrategyIsAnError() {
    const auto s = rolloutStatus(kind("daemonsets"),
                                 object("{\"updateStrategy\":{\"type\":\"OnDelete\"}}", "{}"));
    QCOMPARE(QString::fromStdString(s.error.message()),
             QString("rollout status is only available for RollingUpdate strategy type"));
  }

  void historyTable() {
    const json sets =
        json::array({owned(2, "b", "set image"), owned(1, "a", ""), owned(10, "c", "")});
    json stranger = owned(3, "x", "");
    stranger["metadata"]["ownerReferences"][0]["uid"] = "other";
    json all = sets;
    all.push_back(stranger);
    const auto history = revisionHistory(kind("deployments"), object("{}", "{}"), all);
    QCOMPARE(history.size(), size_t(3));
    QCOMPARE(QString::fromStdString(*historyText(history, 0)),
             QString("REVISION  CHANGE-CAUSE\n1         <none>\n2         set image\n"
                     "10        <none>\n"));
    const QString revision2 = QString::fromStdString(*historyText(history, 2));
    QVERIFY2(revision2.startsWith("Pod Template:\n  Labels:\tapp=web\n  Annotations:\t"
                                  "kubernetes.io/change-cause: set image\n"),
             qPrintable(revision2));
    QCOMPARE(QString::fromStdString(historyText(history, 7).status().message()),
             QString("unable to find the specified revision"));
    QCOMPARE(QString::fromStdString(*historyText({}, 0)), QString("No rollout history found."));
  }
};

QTEST_GUILESS_MAIN(RolloutTest)
#include "rollout_test.moc"

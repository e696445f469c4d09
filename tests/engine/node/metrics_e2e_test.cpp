// End to end: `kubectl top` over the engine's metrics.k8s.io, fed by a real kubedesk-node
// reading real cgroups of busybox containers under the real runc. Needs root.

#include <unistd.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QtTest>

#include "../../e2e/node_agent_process.h"

namespace {

// kubectl top's CPU column ("523m") in millicores, -1 when absent.
int millicores(const QString& topOutput, const QString& name) {
  const QRegularExpression row("^" + name + "\\s+(\\d+)m\\s", QRegularExpression::MultilineOption);
  const auto m = row.match(topOutput);
  return m.hasMatch() ? m.captured(1).toInt() : -1;
}

QByteArray labelled(const QByteArray& manifest, const QString& app) {
  QJsonObject pod = QJsonDocument::fromJson(manifest).object();
  QJsonObject meta = pod["metadata"].toObject();
  meta["labels"] = QJsonObject{{"app", app}};
  pod["metadata"] = meta;
  return QJsonDocument(pod).toJson();
}

}  // namespace

class MetricsE2eTest : public QObject {
  Q_OBJECT
  EngineProcess engine_;
  NodeAgentProcess agent_{engine_, "n1", {"--metrics-interval", "1s"}};

  CommandResult k(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input);
  }
  QString phase(const QString& pod) {
    return k({"get", "pod", pod, "-o", "jsonpath={.status.phase}"}).out.trimmed();
  }
  int historyLength(const QString& query) {
    auto r = k({"get", "--raw", "/kubedesk/v1/metrics/history?" + query});
    return QJsonDocument::fromJson(r.out.toUtf8()).object()["points"].toArray().size();
  }

 private slots:
  void initTestCase() {
    if (::geteuid() != 0) QSKIP("kubedesk-node needs root");
    KD_VERIFY2(engine_.start(), qPrintable(engine_.log()));
    QVERIFY(agent_.start());
    const QList<QPair<QString, QStringList>> pods = {{"busy", {"sh", "-c", "while :; do :; done"}},
                                                     {"idle", {"sleep", "3600"}}};
    for (const auto& [name, command] : pods) {
      CMD_OK(k({"apply", "-f", "-"}, labelled(busyboxPod(name, "n1", "Never", command), name)));
    }
    for (const auto& [name, command] : pods) {
      KD_VERIFY2(waitFor([&] { return phase(name) == "Running"; }, 60000),
                 qPrintable(k({"get", "pod", name, "-o", "yaml"}).out + agent_.log()));
    }
  }

  void metricsApiIsDiscovered() {
    auto r = k({"api-resources", "--api-group=metrics.k8s.io", "--no-headers"});
    CMD_OK(r);
    KD_VERIFY2(QRegularExpression("^nodes\\s+metrics.k8s.io/v1beta1\\s+false\\s+NodeMetrics",
                                  QRegularExpression::MultilineOption)
                   .match(r.out)
                   .hasMatch(),
               qPrintable(r.out));
    KD_VERIFY2(QRegularExpression("^pods\\s+metrics.k8s.io/v1beta1\\s+true\\s+PodMetrics",
                                  QRegularExpression::MultilineOption)
                   .match(r.out)
                   .hasMatch(),
               qPrintable(r.out));
  }

  void topPodsShowsTheBusyPodBusy() {
    CommandResult r;
    // A rate needs two readings, and the busy loop a moment to be measured.
    KD_VERIFY2(waitFor(
                   [&] {
                     r = k({"top", "pods", "--no-headers"});
                     return millicores(r.out, "busy") > 200 && millicores(r.out, "idle") >= 0;
                   },
                   30000),
               qPrintable(r.out + r.err + agent_.log()));
    qInfo().noquote() << "kubectl top pods:\n" + r.out;
    KD_VERIFY2(millicores(r.out, "idle") < 50, qPrintable(r.out));
    KD_VERIFY2(
        QRegularExpression("^busy\\s+\\d+m\\s+\\d+Mi\\s*$", QRegularExpression::MultilineOption)
            .match(r.out)
            .hasMatch(),
        qPrintable(r.out));
    // Memory as metrics-server reports it: a working set in Ki, above zero.
    auto raw = k({"get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/idle"});
    CMD_OK(raw);
    const QJsonObject metrics = QJsonDocument::fromJson(raw.out.toUtf8()).object();
    QCOMPARE(metrics["kind"].toString(), QString("PodMetrics"));
    const QJsonObject usage = metrics["containers"].toArray()[0].toObject()["usage"].toObject();
    KD_VERIFY2(QRegularExpression("^[1-9]\\d*Ki$").match(usage["memory"].toString()).hasMatch(),
               qPrintable(raw.out));
    KD_VERIFY2(QRegularExpression("^\\d+[num]?$").match(usage["cpu"].toString()).hasMatch(),
               qPrintable(raw.out));
    QCOMPARE(metrics["metadata"].toObject()["labels"].toObject()["app"].toString(),
             QString("idle"));
  }

  void topPodSelectsByLabel() {
    auto r = k({"top", "pod", "-l", "app=idle"});
    CMD_OK(r);
    KD_VERIFY2(r.out.startsWith("NAME"), qPrintable(r.out));
    KD_VERIFY2(r.out.contains(QRegularExpression("^idle\\s", QRegularExpression::MultilineOption)),
               qPrintable(r.out));
    KD_VERIFY2(!r.out.contains("busy"), qPrintable(r.out));
  }

  void topNodesShowsUsageAndPercentages() {
    CommandResult r;
    KD_VERIFY2(waitFor(
                   [&] {
                     r = k({"top", "nodes"});
                     return r.exitCode == 0;
                   },
                   10000),
               qPrintable(r.out + r.err));
    KD_VERIFY2(
        QRegularExpression(
            "^NAME\\s+CPU\\(cores\\)\\s+CPU\\(?%\\)?\\s+MEMORY\\(bytes\\)\\s+MEMORY\\(?%\\)?")
            .match(r.out)
            .hasMatch(),
        qPrintable(r.out));
    qInfo().noquote() << "kubectl top nodes:\n" + r.out;
    const auto row = QRegularExpression("^n1\\s+(\\d+)m\\s+(\\d+)%\\s+(\\d+)Mi\\s+(\\d+)%\\s*$",
                                        QRegularExpression::MultilineOption)
                         .match(r.out);
    KD_VERIFY2(row.hasMatch(), qPrintable(r.out));
    KD_VERIFY2(row.captured(1).toInt() > 200, qPrintable(r.out));  // the busy pod runs here
  }

  void unknownNamesAreNotFound_data() {
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("message");
    // A pod that exists but runs nowhere has no metrics: metrics-server's own wording.
    QTest::newRow("pod without metrics")
        << "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/elsewhere"
        << "pods.metrics.k8s.io \"default/elsewhere\" not found";
    QTest::newRow("pod") << "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope"
                         << "pod \"nope\" not found";
    QTest::newRow("node") << "/apis/metrics.k8s.io/v1beta1/nodes/nope"
                          << "node \"nope\" not found";
  }
  void unknownNamesAreNotFound() {
    QFETCH(QString, path);
    if (k({"get", "pod", "elsewhere"}).exitCode != 0) {
      CMD_OK(k({"apply", "-f", "-"}, busyboxPod("elsewhere", "n9", "Never", {"true"})));
    }
    QFETCH(QString, message);
    auto r = k({"get", "--raw", path});
    QVERIFY(r.exitCode != 0);
    KD_VERIFY2(r.err.contains("NotFound") && r.err.contains(message), qPrintable(r.err));
  }

  void historyGrows_data() {
    QTest::addColumn<QString>("query");
    QTest::newRow("node") << "node=n1";
    QTest::newRow("pod") << "namespace=default&pod=busy";
  }
  void historyGrows() {
    QFETCH(QString, query);
    const int before = historyLength(query);
    KD_VERIFY2(before > 0,
               qPrintable(k({"get", "--raw", "/kubedesk/v1/metrics/history?" + query}).err));
    QVERIFY(waitFor([&] { return historyLength(query) >= before + 2; }, 10000));
    auto r = k({"get", "--raw", "/kubedesk/v1/metrics/history?" + query});
    const QJsonArray points = QJsonDocument::fromJson(r.out.toUtf8()).object()["points"].toArray();
    const QJsonObject last = points.last().toObject();
    QVERIFY(last["memoryBytes"].toDouble() > 0);
    QVERIFY(last["timestamp"].toString() > points.first().toObject()["timestamp"].toString());
  }

  void cleanupTestCase() {
    if (engine_.url().isEmpty()) return;
    k({"delete", "pods", "--all", "--grace-period=1", "--timeout=30s"});
    const QStringList left = agent_.cleanUp();
    KD_VERIFY2(left.isEmpty(), qPrintable(left.join(',')));
  }
};

QTEST_GUILESS_MAIN(MetricsE2eTest)
#include "metrics_e2e_test.moc"

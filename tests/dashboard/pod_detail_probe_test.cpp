// Probe status in the pod detail: the model (ProbeHistory) on crafted annotations and events,
// then the real thing — a real kubedesk-engine and kubedesk-node running busybox under runc,
// fed to the pod detail by the real MainWindow — where a readiness probe turns from Success to
// Failure once its file is removed. The node part needs root.

#include <unistd.h>

#include <QApplication>
#include <QStandardPaths>
#include <QTreeWidget>
#include <QtTest>

#include "dashboard/cluster_session.h"
#include "dashboard/main_window.h"
#include "dashboard/pod_detail_view.h"
#include "dashboard/probe_timeline.h"
#include "tests/dashboard/node_session.h"
#include "tests/e2e/node_agent_process.h"

using kd::json;
using kd::dashboard::ClusterSession;
using kd::dashboard::MainWindow;
using kd::dashboard::PodDetailView;
using kd::dashboard::ProbeHistory;
using kd::dashboard::ProbeId;
using kd::dashboard::ProbeResult;
using kd::dashboard::ProbeSegment;

namespace {

// Readiness follows /tmp/ok, liveness /tmp/alive; both files exist from the start.
const char* const kProbedPod =
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: probed, namespace: default}\n"
    "spec:\n"
    "  nodeName: n1\n"
    "  terminationGracePeriodSeconds: 1\n"
    "  containers:\n"
    "  - name: app\n"
    "    image: busybox\n"
    "    command: [sh, -c, 'touch /tmp/ok /tmp/alive; sleep 3600']\n"
    "    readinessProbe:\n"
    "      exec: {command: [cat, /tmp/ok]}\n"
    "      initialDelaySeconds: 1\n"
    "      periodSeconds: 1\n"
    "      failureThreshold: 2\n"
    "    livenessProbe:\n"
    "      exec: {command: [cat, /tmp/alive]}\n"
    "      initialDelaySeconds: 1\n"
    "      periodSeconds: 1\n";

const char* const kNotObject = "{\"app\": 5}";
const char* const kWrongTypes =
    "{\"app\": {\"readiness\": {\"result\": 1, \"consecutiveFailures\": \"x\", "
    "\"lastTransitionTime\": 7, \"lastProbeTime\": \"yesterday\"}}}";

const QDateTime kT0 = QDateTime::fromString("2026-01-01T10:00:00Z", Qt::ISODate);
const ProbeId kReadiness{"app", "readiness"};
const ProbeId kLiveness{"app", "liveness"};

std::string rfc3339(const QDateTime& t) {
  return t.toUTC().toString(Qt::ISODate).toStdString();
}

json statusEntry(const char* result, const QDateTime& transition, int failures = 0,
                 const char* message = "") {
  return {{"result", result},
          {"consecutiveFailures", failures},
          {"lastFailureMessage", message},
          {"lastTransitionTime", rfc3339(transition)},
          {"lastProbeTime", rfc3339(transition)}};
}

// A pod "p" (uid `uid`) whose container "app" has a readiness probe every 2 s and a liveness
// probe, with `annotation` as its probe-status annotation (a JSON value is dumped; a string
// is used as is, to test malformed ones).
json crafted(const json& annotation, const std::string& uid = "uid-1") {
  const json exec = {{"exec", {{"command", {"true"}}}}};
  json readiness = exec;
  readiness["periodSeconds"] = 2;
  json container = {{"name", "app"}, {"readinessProbe", readiness}, {"livenessProbe", exec}};
  json pod = {{"kind", "Pod"},
              {"metadata", {{"name", "p"}, {"namespace", "default"}, {"uid", uid}}},
              {"spec", {{"containers", json::array({container})}}}};
  if (!annotation.is_null()) {
    pod["metadata"]["annotations"] = {{"kubedesk.io/probe-status", annotation.is_string()
                                                                       ? annotation
                                                                       : json(annotation.dump())}};
  }
  return pod;
}

kd::api::CachedObject unhealthy(const QDateTime& at, const std::string& message,
                                const std::string& uid = "uid-1") {
  return std::make_shared<const json>(json{{"kind", "Event"},
                                           {"reason", "Unhealthy"},
                                           {"message", message},
                                           {"involvedObject",
                                            {{"kind", "Pod"},
                                             {"name", "p"},
                                             {"namespace", "default"},
                                             {"uid", uid},
                                             {"fieldPath", "spec.containers{app}"}}},
                                           {"firstTimestamp", rfc3339(at)},
                                           {"lastTimestamp", rfc3339(at)},
                                           {"count", 1}});
}

QString describe(const std::vector<ProbeSegment>& segments) {
  QStringList out;
  for (const auto& s : segments) {
    out << QString("%1[%2,%3)")
               .arg(kd::dashboard::probeResultName(s.result))
               .arg(kT0.secsTo(s.start))
               .arg(kT0.secsTo(s.end));
  }
  return out.join(' ');
}

bool hasFailureSince(const std::vector<ProbeSegment>& segments, const QDateTime& since) {
  return std::any_of(segments.begin(), segments.end(), [&](const ProbeSegment& s) {
    return s.result == ProbeResult::Failure && s.end > since;
  });
}

}  // namespace

class PodDetailProbeTest : public QObject {
  Q_OBJECT
  std::unique_ptr<EngineProcess> engine_;
  std::unique_ptr<NodeAgentProcess> agent_;
  std::unique_ptr<ClusterSession> session_;

  CommandResult k(const QStringList& args, const QByteArray& input = {}) {
    return engine_->kubectl(args, input);
  }
  static QTreeWidgetItem* probeRow(PodDetailView* view, const QString& title) {
    QTreeWidget* tree = view->tree("probes");
    for (int i = 0; i < tree->topLevelItemCount(); ++i) {
      if (tree->topLevelItem(i)->text(1) == title) return tree->topLevelItem(i);
    }
    return nullptr;
  }
  static QString cell(PodDetailView* view, const QString& title, int column) {
    QTreeWidgetItem* row = probeRow(view, title);
    return row ? row->text(column) : QString("<no %1 row>").arg(title);
  }

 private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    if (::geteuid() != 0) return;  // the model tests still run
    engine_ = std::make_unique<EngineProcess>();
    agent_ = std::make_unique<NodeAgentProcess>(*engine_);
    QString why;
    session_ = startNodeSession(*engine_, *agent_, &why);
    KD_VERIFY2(session_, qPrintable(why));
  }

  void cleanupTestCase() {
    session_.reset();
    if (!engine_ || engine_->url().isEmpty()) return;
    k({"delete", "pods", "--all", "--grace-period=1", "--timeout=30s"});
    const QStringList left = agent_->cleanUp();
    KD_VERIFY2(left.isEmpty(), qPrintable(left.join(',')));
  }

  // Transitions are remembered across updates; a failed check reported by an event is red for
  // one period even while the result stays Success.
  void segmentsFollowTransitionsAndFailedChecks() {
    ProbeHistory h;
    h.update(crafted({{"app", {{"readiness", statusEntry("Success", kT0)}}}}), {});
    const json failing = {
        {"app", {{"readiness", statusEntry("Failure", kT0.addSecs(60), 2, "no file")}}}};
    h.update(crafted(failing), {unhealthy(kT0.addSecs(30), "Readiness probe failed: blip"),
                                unhealthy(kT0.addSecs(58), "Readiness probe failed: no file"),
                                unhealthy(kT0.addSecs(60), "Readiness probe failed: no file")});
    QCOMPARE(h.probes().size(), size_t(2));
    QCOMPARE(describe(h.segments(kReadiness, kT0.addSecs(-10), kT0.addSecs(100))),
             QString("Unknown[-10,0) Success[0,30) Failure[30,32) Success[32,58) "
                     "Failure[58,100)"));
    // The liveness probe has no status and no failures: unknown throughout.
    QCOMPARE(describe(h.segments(kLiveness, kT0, kT0.addSecs(100))), QString("Unknown[0,100)"));
    QVERIFY(h.segments(kReadiness, kT0, kT0).empty());
  }

  // The annotation was written at the transition; failed checks since then bring the count,
  // the time and the message forward.
  void statusCombinesAnnotationAndLaterFailures() {
    ProbeHistory h;
    const json failing = {
        {"app", {{"readiness", statusEntry("Failure", kT0, 2, "cat: can't open")}}}};
    h.update(crafted(failing), {unhealthy(kT0.addSecs(-2), "Readiness probe failed: earlier"),
                                unhealthy(kT0, "Readiness probe failed: cat: can't open"),
                                unhealthy(kT0.addSecs(2), "Readiness probe failed: still"),
                                unhealthy(kT0.addSecs(4), "Readiness probe failed: again")});
    const auto s = h.status(kReadiness);
    QVERIFY(s.published);
    QCOMPARE(s.result, ProbeResult::Failure);
    QCOMPARE(s.consecutiveFailures, 4);
    QCOMPARE(s.lastFailureMessage, QString("again"));
    QCOMPARE(s.lastTransition, kT0);
    QCOMPARE(s.lastProbe, kT0.addSecs(4));
    QVERIFY(!h.status(kLiveness).published);
  }

  void historyIsBounded() {
    ProbeHistory h;
    const int updates = ProbeHistory::kMaxTransitions * 3;
    for (int i = 0; i < updates; ++i) {
      h.update(
          crafted({{"app",
                    {{"readiness", statusEntry(i % 2 ? "Failure" : "Success", kT0.addSecs(i))}}}}),
          {});
    }
    const auto all = h.segments(kReadiness, kT0.addSecs(-1), kT0.addSecs(updates));
    QCOMPARE(all.size(), size_t(ProbeHistory::kMaxTransitions) + 1);  // + the Unknown before
    QCOMPARE(all.front().result, ProbeResult::Unknown);
    QCOMPARE(all.back().start, kT0.addSecs(updates - 1));
  }

  void malformedInputLeavesGaps_data() {
    QTest::addColumn<QString>("annotation");
    QTest::newRow("not json") << "{not json";
    QTest::newRow("array") << "[1,2]";
    QTest::newRow("container not object") << kNotObject;
    QTest::newRow("wrong types") << kWrongTypes;
  }
  void malformedInputLeavesGaps() {
    QFETCH(QString, annotation);
    ProbeHistory h;
    const json odd = {{"kind", "Event"}, {"reason", "Unhealthy"}, {"message", 5}};
    json noPath = *unhealthy(kT0, "Readiness probe failed: x");
    noPath["involvedObject"].erase("fieldPath");
    h.update(crafted(json(annotation.toStdString())),
             {std::make_shared<const json>(odd), std::make_shared<const json>(noPath), nullptr,
              unhealthy(kT0, "Readiness probe failed: other pod", "uid-2"),
              unhealthy(kT0, "Nonsense probe failed: x")});
    const auto s = h.status(kReadiness);
    QCOMPARE(s.result, ProbeResult::Unknown);
    QVERIFY(s.lastFailureMessage.isEmpty());
    QCOMPARE(describe(h.segments(kReadiness, kT0, kT0.addSecs(10))), QString("Unknown[0,10)"));
  }

  // The view keeps each pod's history while it shows others, up to kMaxPods pods.
  void viewRemembersRecentPods() {
    PodDetailView view;
    auto show = [&](const std::string& uid, const json& annotation) {
      view.setPod(std::make_shared<const json>(crafted(annotation, uid)), {});
    };
    const json before = {{"app", {{"readiness", statusEntry("Success", kT0)}}}};
    const json after = {{"app", {{"readiness", statusEntry("Failure", kT0.addSecs(5))}}}};
    show("a", before);
    for (int i = 0; i < PodDetailView::kMaxPods - 1; ++i) show("other" + std::to_string(i), {});
    show("a", after);
    QCOMPARE(cell(&view, "Readiness", PodDetailView::kResultColumn), QString("Failure"));
    // A span reaching back to a minute before kT0.
    view.timeline()->setSpan(
        std::chrono::seconds(kT0.secsTo(QDateTime::currentDateTimeUtc()) + 60));
    QCOMPARE(describe(view.timeline()->segments(kReadiness)).section(' ', 1, 1),
             QString("Success[0,5)"));
    for (int i = 0; i < PodDetailView::kMaxPods; ++i) show("more" + std::to_string(i), {});
    show("a", after);  // forgotten: only the latest transition is known
    QVERIFY(describe(view.timeline()->segments(kReadiness))
                .section(' ', 1, 1)
                .startsWith("Failure[5,"));
  }

  void readinessFailureShowsInDetail() {
    if (!engine_) QSKIP("kubedesk-node needs root");
    CMD_OK(k({"apply", "-f", "-"}, kProbedPod));
    KD_VERIFY2(
        waitFor(
            [&] {
              return k({"get", "pod", "probed", "-o", "jsonpath={.status.phase}"}).out.trimmed() ==
                     "Running";
            },
            60000),
        qPrintable(agent_->log()));
    MainWindow window(session_.get());
    window.resize(1400, 900);
    window.show();
    QVERIFY(window.showSection("pods"));
    QTRY_VERIFY_WITH_TIMEOUT(window.selectKey("default/probed"), 20000);
    PodDetailView* detail = window.podDetail();
    QVERIFY(detail->isVisible());
    QTRY_COMPARE_WITH_TIMEOUT(cell(detail, "Readiness", PodDetailView::kResultColumn),
                              QString("Success"), 30000);
    QCOMPARE(cell(detail, "Liveness", PodDetailView::kResultColumn), QString("Success"));
    QCOMPARE(probeRow(detail, "Readiness")->foreground(PodDetailView::kResultColumn).color(),
             kd::dashboard::healthColor(kd::dashboard::Health::Good));
    const auto ready = detail->timeline()->segments(kReadiness);
    QVERIFY(!ready.empty());
    QCOMPARE(ready.back().result, ProbeResult::Success);

    // Event and annotation times have whole seconds.
    const QDateTime removed = QDateTime::currentDateTimeUtc().addSecs(-1);
    CMD_OK(k({"exec", "probed", "--", "rm", "/tmp/ok"}));
    QTRY_COMPARE_WITH_TIMEOUT(cell(detail, "Readiness", PodDetailView::kResultColumn),
                              QString("Failure"), 30000);
    QCOMPARE(probeRow(detail, "Readiness")->foreground(PodDetailView::kResultColumn).color(),
             kd::dashboard::healthColor(kd::dashboard::Health::Bad));
    QVERIFY(cell(detail, "Readiness", PodDetailView::kConsecutiveFailuresColumn).toInt() >= 2);
    KD_VERIFY2(cell(detail, "Readiness", PodDetailView::kLastFailureColumn).contains("/tmp/ok"),
               qPrintable(cell(detail, "Readiness", PodDetailView::kLastFailureColumn)));
    const QDateTime transition = QDateTime::fromString(
        cell(detail, "Readiness", PodDetailView::kLastTransitionColumn), Qt::ISODate);
    KD_VERIFY2(transition >= removed, qPrintable(transition.toString(Qt::ISODate)));
    const auto failing = detail->timeline()->segments(kReadiness);
    QVERIFY(hasFailureSince(failing, removed));
    QCOMPARE(failing.back().result, ProbeResult::Failure);
    // Later failed checks reach the view through the events alone (the agent does not rewrite
    // the annotation while the result stays): the count keeps rising.
    const int failures =
        cell(detail, "Readiness", PodDetailView::kConsecutiveFailuresColumn).toInt();
    QTRY_VERIFY_WITH_TIMEOUT(
        cell(detail, "Readiness", PodDetailView::kConsecutiveFailuresColumn).toInt() > failures,
        20000);
    QVERIFY(cell(detail, "Readiness", PodDetailView::kLastProbeColumn) >
            cell(detail, "Readiness", PodDetailView::kLastTransitionColumn));
    // The liveness probe, on a file that stays, keeps passing: its row and its timeline.
    QCOMPARE(cell(detail, "Liveness", PodDetailView::kResultColumn), QString("Success"));
    QVERIFY(!hasFailureSince(detail->timeline()->segments(kLiveness), removed));
    // The Unhealthy events are on the Events tab.
    QTreeWidget* events = detail->tree("events");
    bool unhealthyShown = false;
    for (int i = 0; i < events->topLevelItemCount(); ++i) {
      const QTreeWidgetItem* e = events->topLevelItem(i);
      unhealthyShown |= e->text(1) == "Unhealthy" &&
                        e->text(5).startsWith("Readiness probe failed: ") &&
                        e->text(5).contains("/tmp/ok");
    }
    QVERIFY(unhealthyShown);
  }
};

QTEST_MAIN(PodDetailProbeTest)
#include "pod_detail_probe_test.moc"

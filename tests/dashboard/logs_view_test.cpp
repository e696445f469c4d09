// The logs viewer against a real kubedesk-engine and a real kubedesk-node agent running
// busybox under runc, on the offscreen platform: following, search, timestamps, the previous
// instance's error, a Deployment's pods interleaved with prefixes, saving, and the "Logs"
// action of the main window. Simulated nodes serve no logs, so this needs root.

#include <unistd.h>

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollBar>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

#include "dashboard/cluster_session.h"
#include "dashboard/logs_view.h"
#include "dashboard/main_window.h"
#include "dashboard/pod_detail_view.h"
#include "tests/dashboard/node_session.h"
#include "tests/e2e/node_agent_process.h"

using kd::dashboard::ClusterSession;
using kd::dashboard::LogsView;
using kd::dashboard::MainWindow;

namespace {

// Numbered lines, one every 100 ms.
const QStringList kCounter = {"sh", "-c",
                              "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.1; done"};

const char* const kDeployment =
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata: {name: web, namespace: default}\n"
    "spec:\n"
    "  replicas: 2\n"
    "  selector: {matchLabels: {app: web}}\n"
    "  template:\n"
    "    metadata: {labels: {app: web}}\n"
    "    spec:\n"
    "      nodeName: n1\n"
    "      terminationGracePeriodSeconds: 1\n"
    "      containers:\n"
    "      - name: app\n"
    "        image: busybox\n"
    "        command: [sh, -c, 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; "
    "done']\n";

const kd::api::KindInfo& kind(const char* resource) {
  return *kd::api::KindsRegistry::builtin().resolve(resource);
}

QStringList linesOf(const LogsView& view) {
  return view.text().split('\n', Qt::SkipEmptyParts);
}

}  // namespace

class LogsViewTest : public QObject {
  Q_OBJECT
  EngineProcess engine_;
  NodeAgentProcess agent_{engine_};
  std::unique_ptr<ClusterSession> session_;

  CommandResult k(const QStringList& args, const QByteArray& input = {}) {
    return engine_.kubectl(args, input);
  }
  QString jsonpath(const QStringList& args, const QString& path) {
    return k(args + QStringList{"-o", "jsonpath=" + path}).out.trimmed();
  }
  kd::json object(const char* resource, const QString& name) {
    auto r = session_->client().get(kind(resource), "default", name.toStdString());
    if (!r.ok())
      qWarning("get %s %s: %s", resource, qPrintable(name), r.status().message().c_str());
    return r.ok() ? *r : kd::json();
  }
  // A view following the counter pod, with its first lines shown.
  std::unique_ptr<LogsView> counterView() {
    auto view = std::make_unique<LogsView>(session_->clientPtr());
    view->resize(900, 500);
    view->show();
    view->showPod(object("pods", "counter"));
    return view;
  }

 private slots:
  void initTestCase() {
    if (::geteuid() != 0) QSKIP("kubedesk-node needs root");
    QStandardPaths::setTestModeEnabled(true);
    QString why;
    session_ = startNodeSession(engine_, agent_, &why);
    KD_VERIFY2(session_, qPrintable(why));
    CMD_OK(k({"apply", "-f", "-"}, busyboxPod("counter", "n1", "Always", kCounter)));
    CMD_OK(k({"apply", "-f", "-"}, kDeployment));
    KD_VERIFY2(waitFor(
                   [&] {
                     return jsonpath({"get", "pod", "counter"}, "{.status.phase}") == "Running";
                   },
                   60000),
               qPrintable(agent_.log()));
    KD_VERIFY2(waitFor(
                   [&] {
                     return jsonpath({"get", "deploy", "web"}, "{.status.readyReplicas}") == "2";
                   },
                   60000),
               qPrintable(agent_.log()));
  }

  void cleanupTestCase() {
    session_.reset();
    if (engine_.url().isEmpty()) return;
    k({"delete", "deploy", "--all", "--timeout=30s"});
    k({"delete", "pods", "--all", "--grace-period=1", "--timeout=30s"});
    const QStringList left = agent_.cleanUp();
    KD_VERIFY2(left.isEmpty(), qPrintable(left.join(',')));
  }

  void followShowsNewLines() {
    auto view = counterView();
    QCOMPARE(view->target(), QString("pod/counter"));
    QCOMPARE(view->containerPicker()->currentData().toString(), QString("main"));
    QTRY_VERIFY_WITH_TIMEOUT(linesOf(*view).size() >= 3, 20000);
    QCOMPARE(linesOf(*view).first(), QString("line 1"));  // one stream: no prefix
    const int seen = linesOf(*view).last().section(' ', 1).toInt();
    QVERIFY(seen > 0);
    // New lines keep arriving while following, in order and without gaps.
    QTRY_VERIFY_WITH_TIMEOUT(linesOf(*view).last().section(' ', 1).toInt() >= seen + 10, 20000);
    const QStringList lines = linesOf(*view);
    for (int i = 0; i < lines.size(); ++i) QCOMPARE(lines[i], QString("line %1").arg(i + 1));
    QCOMPARE(view->openStreams(), 1);
    QVERIFY(view->statusLabel()->text().startsWith("Following"));
  }

  void searchHighlightsMatches() {
    auto view = counterView();
    QTRY_VERIFY_WITH_TIMEOUT(linesOf(*view).size() >= 30, 20000);
    view->searchField()->setText("LINE 2");  // case-insensitive: line 2, 20..29, 200..
    QVERIFY(view->matchCount() >= 11);
    QCOMPARE(view->textView()->extraSelections().size(), view->matchCount());
    view->findNext();
    QCOMPARE(view->textView()->textCursor().selectedText(), QString("line 2"));
    QCOMPARE(view->textView()->textCursor().blockNumber(), 1);
    view->findNext();
    QCOMPARE(view->textView()->textCursor().blockNumber(), 19);  // "line 20"
    view->findPrevious();
    QCOMPARE(view->textView()->textCursor().blockNumber(), 1);
    // Lines that arrive later are marked too: one in ten lines or more holds a "5".
    view->searchField()->setText("5");
    const int before = view->matchCount();
    QVERIFY(before > 0);
    QTRY_VERIFY_WITH_TIMEOUT(view->matchCount() > before + 2, 20000);
    QCOMPARE(view->textView()->extraSelections().size(), view->matchCount());
    view->searchField()->setText("no such text");
    QCOMPARE(view->matchCount(), 0);
    QVERIFY(view->textView()->extraSelections().isEmpty());
  }

  void timestampsToggleChangesOutput() {
    auto view = counterView();
    QTRY_VERIFY_WITH_TIMEOUT(!linesOf(*view).isEmpty(), 20000);
    QCOMPARE(linesOf(*view).first(), QString("line 1"));
    view->timestampsBox()->setChecked(true);
    const QRegularExpression stamped(
        "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z line 1$");
    QTRY_VERIFY_WITH_TIMEOUT(!linesOf(*view).isEmpty(), 20000);
    KD_VERIFY2(stamped.match(linesOf(*view).first()).hasMatch(),
               qPrintable(linesOf(*view).first()));
    view->timestampsBox()->setChecked(false);
    QTRY_VERIFY_WITH_TIMEOUT(!linesOf(*view).isEmpty(), 20000);
    QCOMPARE(linesOf(*view).first(), QString("line 1"));
  }

  void previousWithoutRestartShowsApiError() {
    // What the API says, as kubectl prints it.
    const CommandResult kubectl = k({"logs", "counter", "--previous"});
    QVERIFY(kubectl.exitCode != 0);
    QRegularExpression message("previous terminated container .* not found");
    const QString expected = message.match(kubectl.err).captured(0);
    KD_VERIFY2(!expected.isEmpty(), qPrintable(kubectl.err));
    auto view = counterView();
    QTRY_VERIFY_WITH_TIMEOUT(!linesOf(*view).isEmpty(), 20000);
    view->previousBox()->setChecked(true);
    QTRY_VERIFY_WITH_TIMEOUT(view->statusLabel()->text().contains(expected), 20000);
    QCOMPARE(view->openStreams(), 0);
    QVERIFY(view->text().isEmpty());
    view->previousBox()->setChecked(false);
    QTRY_VERIFY_WITH_TIMEOUT(!linesOf(*view).isEmpty(), 20000);
    QVERIFY(!view->statusLabel()->text().contains(expected));
  }

  void deploymentInterleavesItsPods() {
    const QStringList pods =
        jsonpath({"get", "pods", "-l", "app=web"}, "{.items[*].metadata.name}").split(' ');
    QCOMPARE(pods.size(), 2);
    LogsView view(session_->clientPtr());
    view.show();
    view.showPodsOf(kind("deployments"), object("deployments", "web"));
    QCOMPARE(view.target(), QString("deployment/web"));
    const QString a = "[pod/" + pods[0] + "/app] ", b = "[pod/" + pods[1] + "/app] ";
    // Both pods' lines arrive in one document, every line saying whose it is, and the lines
    // of the two alternate as they arrive rather than one pod after the other.
    auto switches = [&] {
      int n = 0;
      QString last;
      for (const auto& line : linesOf(view)) {
        const QString who = line.startsWith(a) ? a : line.startsWith(b) ? b : QString();
        if (who.isEmpty()) return -1;
        if (!last.isEmpty() && who != last) ++n;
        last = who;
      }
      return n;
    };
    // On failure: what the view shows, to tell a stalled stream from a stray line.
    auto shown = [&] {
      const QStringList lines = linesOf(view);
      return QString("switches %1, %2 open, status \"%3\", last lines:\n%4")
          .arg(switches())
          .arg(view.openStreams())
          .arg(view.statusLabel()->text())
          .arg(lines.mid(std::max<qsizetype>(0, lines.size() - 12)).join('\n'));
    };
    QTRY_VERIFY2_WITH_TIMEOUT(switches() >= 4, qPrintable(shown()), 60000);
    QCOMPARE(view.openStreams(), 2);
    QVERIFY(view.text().contains(a + "tick 1\n") && view.text().contains(b + "tick 1\n"));
  }

  void saveWritesWhatIsShown() {
    auto view = counterView();
    QTRY_VERIFY_WITH_TIMEOUT(linesOf(*view).size() >= 5, 20000);
    view->followBox()->setChecked(false);  // stops reading, keeps the text
    QCOMPARE(view->openStreams(), 0);
    const QString shown = view->text();
    QTemporaryDir dir;
    const QString path = dir.filePath("counter.log");
    QString error;
    KD_VERIFY2(view->saveTo(path, &error), qPrintable(error));
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(QString::fromUtf8(file.readAll()), shown + "\n");
    QVERIFY(!view->saveTo(dir.filePath("missing/dir/x.log"), &error));
    QVERIFY(!error.isEmpty());
  }

  void wrapToggle() {
    auto view = counterView();
    QCOMPARE(view->textView()->lineWrapMode(), QPlainTextEdit::NoWrap);
    view->wrapBox()->setChecked(true);
    QCOMPARE(view->textView()->lineWrapMode(), QPlainTextEdit::WidgetWidth);
  }

  void documentKeepsNewestLinesAndScrollOnlyAtBottom() {
    // 30,000 lines, a pause, 30,000 more: the view holds the newest kMaxLines.
    const QStringList flood = {"sh", "-c", "seq 1 30000; sleep 15; seq 30001 60000; sleep 3600"};
    CMD_OK(k({"apply", "-f", "-"}, busyboxPod("flood", "n1", "Always", flood)));
    QTRY_COMPARE_WITH_TIMEOUT(jsonpath({"get", "pod", "flood"}, "{.status.phase}"),
                              QString("Running"), 30000);
    // The longest the event loop went without turning while the lines came in.
    QElapsedTimer sinceTick;
    qint64 longestStall = 0;
    QTimer ticker;
    ticker.setInterval(5);
    connect(&ticker, &QTimer::timeout,
            [&] { longestStall = std::max(longestStall, sinceTick.restart()); });
    LogsView view(session_->clientPtr());
    view.resize(900, 500);
    view.show();
    sinceTick.start();
    ticker.start();
    view.showPod(object("pods", "flood"));
    QTRY_COMPARE_WITH_TIMEOUT(view.textView()->blockCount(), 30000, 10000);
    QScrollBar* bar = view.textView()->verticalScrollBar();
    QVERIFY(bar->maximum() > 0);
    QCOMPARE(bar->value(), bar->maximum());  // followed the end while the reader was there
    bar->setValue(0);                        // the reader scrolls up...
    QTRY_VERIFY_WITH_TIMEOUT(view.text().endsWith("\n60000"), 30000);
    QCOMPARE(view.textView()->blockCount(), LogsView::kMaxLines);
    QVERIFY(view.text().startsWith("10001\n"));
    QVERIFY(bar->value() < bar->maximum());  // ...and is not pulled back down
    qInfo("longest GUI stall while 60,000 lines arrived: %lld ms", longestStall);
    CMD_OK(k({"delete", "pod", "flood", "--grace-period=1"}));
  }

  void mainWindowOpensLogsOfSelection() {
    MainWindow window(session_.get());
    window.resize(1200, 800);
    window.show();
    QVERIFY(window.showSection("deployments"));
    QTRY_VERIFY_WITH_TIMEOUT(window.selectKey("default/web"), 20000);
    LogsView* logs = window.openLogs();
    QVERIFY(logs);
    QCOMPARE(logs->target(), QString("deployment/web"));
    QTRY_VERIFY_WITH_TIMEOUT(logs->text().contains("/app] tick"), 30000);
    QVERIFY(window.showSection("pods"));
    QTRY_VERIFY_WITH_TIMEOUT(window.selectKey("default/counter"), 20000);
    logs = window.openLogs();
    QVERIFY(logs);
    QCOMPARE(logs->target(), QString("pod/counter"));
    QTRY_VERIFY_WITH_TIMEOUT(logs->text().startsWith("line 1\n"), 30000);
    // The pod detail's "Logs" button opens another tab for the pod.
    auto* button = window.podDetail()->findChild<QPushButton*>("logs");
    QVERIFY(button && button->isEnabled());
    const int tabs = window.findChildren<LogsView*>().size();
    button->click();
    QCOMPARE(window.findChildren<LogsView*>().size(), tabs + 1);
    // ConfigMaps have no logs.
    QVERIFY(window.showSection("configmaps"));
    QVERIFY(!window.openLogs());
  }
};

QTEST_MAIN(LogsViewTest)
#include "logs_view_test.moc"

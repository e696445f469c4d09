// The README's pictures, taken for real: the dashboard on a real X server (Xvfb, started here)
// against a real kubedesk-engine with a real kubedesk-node running busybox under runc beside
// two simulated nodes. Each main view is shown with live content — the pods table with a
// pod's probe status, the cluster page with the node's CPU and memory charts, a Deployment's
// logs, a shell, and the manifest editor's diff — checked through its widgets, then grabbed
// into <build>/screenshots/*.png (`make screenshots` copies them to docs/screenshots/). A
// picture must also look like one: a window-sized image of many colours. Needs root.

#include <unistd.h>

#include <QApplication>
#include <QChartView>
#include <QDir>
#include <QLineSeries>
#include <QProcess>
#include <QStandardItemModel>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableView>
#include <QTreeWidget>
#include <QtTest>
#include <set>

#include "dashboard/cluster_page.h"
#include "dashboard/cluster_session.h"
#include "dashboard/logs_view.h"
#include "dashboard/main_window.h"
#include "dashboard/manifest_editor.h"
#include "dashboard/pod_detail_view.h"
#include "dashboard/terminal_view.h"
#include "tests/dashboard/node_session.h"
#include "tests/e2e/node_agent_process.h"

using kd::dashboard::ClusterSession;
using kd::dashboard::MainWindow;

namespace {

const char* const kShop =
    "apiVersion: v1\n"
    "kind: Namespace\n"
    "metadata: {name: shop}\n"
    "---\n"
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata: {name: web, namespace: shop}\n"
    "spec:\n"
    "  replicas: 2\n"
    "  selector: {matchLabels: {app: web}}\n"
    "  template:\n"
    "    metadata: {labels: {app: web}}\n"
    "    spec:\n"
    "      nodeName: n1\n"
    "      terminationGracePeriodSeconds: 1\n"
    "      containers:\n"
    "      - name: httpd\n"
    "        image: busybox\n"
    "        command: [sh, -c, 'mkdir -p /www && echo ok > /www/index.html && httpd -p 8080 -h "
    "/www && i=0; while true; do i=$((i+1)); echo \"GET / 200 request $i\"; sleep 0.5; "
    "done']\n"
    "        ports: [{containerPort: 8080}]\n"
    "        resources: {requests: {cpu: 50m, memory: 32Mi}, limits: {memory: 64Mi}}\n"
    "        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 2}\n"
    "        livenessProbe: {exec: {command: [cat, /www/index.html]}, periodSeconds: 3}\n"
    "---\n"
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata: {name: api, namespace: shop}\n"
    "spec:\n"
    "  replicas: 4\n"
    "  selector: {matchLabels: {app: api}}\n"
    "  template:\n"
    "    metadata: {labels: {app: api}}\n"
    "    spec:\n"
    "      nodeSelector: {node.kubernetes.io/instance-type: simulated}\n"
    "      containers: [{name: api, image: 'registry.local/api:1.4'}]\n"
    "---\n"
    "apiVersion: batch/v1\n"
    "kind: CronJob\n"
    "metadata: {name: report, namespace: shop}\n"
    "spec:\n"
    "  schedule: '*/5 * * * *'\n"
    "  jobTemplate:\n"
    "    spec:\n"
    "      template:\n"
    "        spec:\n"
    "          restartPolicy: OnFailure\n"
    "          containers: [{name: report, image: busybox, command: [date]}]\n";

// A window-sized picture with enough colours to be a rendered view, not a blank surface.
bool looksRendered(const QImage& image, const QSize& size, QString* why) {
  if (image.size() != size) {
    *why = QString("picture is %1x%2, the window %3x%4")
               .arg(image.width())
               .arg(image.height())
               .arg(size.width())
               .arg(size.height());
    return false;
  }
  std::set<QRgb> colours;
  for (int y = 0; y < image.height(); y += 3) {
    for (int x = 0; x < image.width(); x += 3) colours.insert(image.pixel(x, y));
  }
  if (colours.size() < 40) {
    *why = QString("only %1 colours").arg(colours.size());
    return false;
  }
  return true;
}

}  // namespace

class ScreenshotsTest : public QObject {
  Q_OBJECT
  EngineProcess engine_{QString(), {"--simulated-nodes", "2"}};
  NodeAgentProcess agent_{engine_, "n1", {"--metrics-interval", "1s"}};
  std::unique_ptr<ClusterSession> session_;
  std::unique_ptr<MainWindow> window_;
  QDir out_{QString(KD_BINARY_DIR) + "/screenshots"};

  QString jsonpath(const QStringList& args, const QString& path) {
    return engine_.kubectl(args + QStringList{"-o", "jsonpath=" + path}).out.trimmed();
  }
  void save(const QString& name) {
    QApplication::processEvents();
    QTest::qWait(300);  // a last repaint of what just changed
    const QImage picture = window_->grab().toImage();
    QString why;
    KD_VERIFY2(looksRendered(picture, window_->size(), &why), qPrintable(name + ": " + why));
    QVERIFY(picture.save(out_.filePath(name + ".png")));
  }

 private slots:
  void initTestCase() {
    if (::geteuid() != 0) QSKIP("kubedesk-node needs root");
    QVERIFY(out_.mkpath("."));
    QStandardPaths::setTestModeEnabled(true);
    QString why;
    session_ = startNodeSession(engine_, agent_, &why);
    KD_VERIFY2(session_, qPrintable(why));
    CMD_OK(engine_.kubectl({"apply", "-f", "-"}, kShop));
    KD_VERIFY2(waitFor(
                   [&] {
                     return jsonpath({"-n", "shop", "get", "deploy", "web"},
                                     "{.status.readyReplicas}") == "2";
                   },
                   60000),
               qPrintable(agent_.log()));
    window_ = std::make_unique<MainWindow>(session_.get());
    window_->resize(1280, 800);
    window_->show();
    QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
  }

  void cleanupTestCase() {
    window_.reset();
    session_.reset();
    if (engine_.url().isEmpty()) return;
    engine_.kubectl({"delete", "ns", "shop", "--timeout=60s"});
    const QStringList left = agent_.cleanUp();
    KD_VERIFY2(left.isEmpty(), qPrintable(left.join(',')));
  }

  void pods() {
    QVERIFY(window_->showSection("pods"));
    const QString pod =
        jsonpath({"-n", "shop", "get", "pods", "-l", "app=web"}, "{.items[0].metadata.name}");
    QTRY_VERIFY_WITH_TIMEOUT(window_->selectKey("shop/" + pod), 15000);
    // The detail shows the probes' live results.
    auto* probes = window_->podDetail()->tree("probes");
    QTRY_VERIFY_WITH_TIMEOUT(
        probes->topLevelItemCount() == 2 &&
            probes->topLevelItem(0)->text(kd::dashboard::PodDetailView::kResultColumn) ==
                "Success" &&
            probes->topLevelItem(1)->text(kd::dashboard::PodDetailView::kResultColumn) == "Success",
        30000);
    save("pods");
  }

  void cluster() {
    QVERIFY(window_->showSection(""));
    auto* page = window_->clusterPage();
    QTRY_VERIFY_WITH_TIMEOUT(page->nodes()->rowCount() == 3, 15000);
    // The real node's charts fill from the agent's reports (every second here).
    for (int row = 0; row < page->nodes()->rowCount(); ++row) {
      if (page->nodes()->index(row, 0).data().toString() == "n1")
        page->nodesTable()->selectRow(row);
    }
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
          page->refreshMetrics();
          QTest::qWait(500);
          return page->cpuSeries()->count() >= 3 && page->memorySeries()->count() >= 3;
        }(),
        60000);
    save("cluster");
  }

  void logs() {
    QVERIFY(window_->showSection("deployments"));
    QTRY_VERIFY_WITH_TIMEOUT(window_->selectKey("shop/web"), 15000);
    kd::dashboard::LogsView* logs = window_->openLogs();
    QVERIFY(logs);
    QTRY_VERIFY_WITH_TIMEOUT(logs->text().count("GET / 200 request") >= 10, 30000);
    save("logs");
  }

  void shell() {
    QVERIFY(window_->showSection("pods"));
    const QString pod =
        jsonpath({"-n", "shop", "get", "pods", "-l", "app=web"}, "{.items[0].metadata.name}");
    QTRY_VERIFY_WITH_TIMEOUT(window_->selectKey("shop/" + pod), 15000);
    kd::dashboard::TerminalView* shell = window_->openShell();
    QVERIFY(shell);
    QTest::keyClicks(shell->display(), "ls -l /www; ps");
    QTest::keyClick(shell->display(), Qt::Key_Return);
    QTRY_VERIFY_WITH_TIMEOUT(
        shell->screenText().contains("index.html") && shell->screenText().contains("httpd"), 20000);
    save("shell");
  }

  void editor() {
    kd::dashboard::ManifestEditor* editor = window_->editor();
    auto* tabs = window_->findChild<QTabWidget*>();
    tabs->setCurrentWidget(editor);
    QVERIFY(editor->loadTemplate("Deployment"));
    editor->setText(editor->text()
                        .replace("namespace: default", "namespace: shop")
                        .replace("replicas: 2", "replicas: 3"));
    QSignalSpy diffed(editor, &kd::dashboard::ManifestEditor::diffed);
    editor->diff();
    QTRY_COMPARE_WITH_TIMEOUT(diffed.count(), 1, 15000);
    QVERIFY(editor->diffText().contains("+  replicas: 3"));
    save("editor");
  }
};

int main(int argc, char** argv) {
  // A display of our own: Xvfb picks a free number and says which on the given descriptor.
  QProcess xvfb;
  xvfb.start("Xvfb", {"-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"});
  if (!xvfb.waitForStarted(5000) || !xvfb.waitForReadyRead(10000)) {
    qCritical("could not start Xvfb (package xvfb)");
    return 1;
  }
  qputenv("DISPLAY", ":" + xvfb.readLine().trimmed());
  qputenv("QT_QPA_PLATFORM", "xcb");
  int rc = 0;
  {
    QApplication app(argc, argv);
    QApplication::setOrganizationName("KubeDeskTest");
    ScreenshotsTest test;
    rc = QTest::qExec(&test, argc, argv);
  }
  xvfb.terminate();
  xvfb.waitForFinished(5000);
  return rc;
}

#include "screenshots_test.moc"

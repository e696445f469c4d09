// kubedesk: connects to a kubeconfig context — the one given, else the one shown last, else
// "kubedesk" — starting a KubeDesk profile's engine first when it is not running (through
// kdctl's own `start`, dashboard/contexts.h), and opens the dashboard with its tray icon. On
// the first run (no settings, no "kubedesk" context yet) that starts the default cluster.

#include <QApplication>
#include <QCommandLineParser>
#include <QEventLoop>
#include <QFutureWatcher>
#include <QLabel>
#include <QMessageBox>
#include <QStatusBar>
#include <QTimer>
#include <QtConcurrent/QtConcurrentRun>
#include <sstream>

#include "dashboard/cluster_session.h"
#include "dashboard/contexts.h"
#include "dashboard/heap_trimmer.h"
#include "dashboard/main_window.h"
#include "dashboard/tray_icon.h"
#include "engine/client/cli/cli.h"

namespace {

using kd::Result;
using kd::dashboard::ContextTarget;

struct Options {
  ContextTarget target;
  bool contextGiven = false;
  bool keepRunning = false;
  QString section;
  QString screenshot;
};

Options parseOptions(const QApplication& app) {
  QCommandLineParser parser;
  parser.setApplicationDescription("KubeDesk: a local Kubernetes cluster and its dashboard");
  parser.addHelpOption();
  parser.addOptions({
      {"context", "The kubeconfig context to use (default: the last one shown, else kubedesk).",
       "name"},
      {"kubeconfig", "The kubeconfig file (default $KUBECONFIG, ~/.kube/config).", "file"},
      {"profile", "The KubeDesk profile started when its context is chosen.", "name", "kubedesk"},
      {"no-start", "Never start an engine; only connect."},
      {"keep-running", "Leave an engine this app started running when it quits."},
      {"section", "The section shown first (pods, deployments, ...).", "resource"},
      {"screenshot", "Save a picture of the window once it has filled, then quit.", "file"},
  });
  parser.process(app);
  Options o;
  if (parser.isSet("kubeconfig")) o.target.kubeconfig = parser.value("kubeconfig").toStdString();
  o.target.defaultProfile = parser.value("profile").toStdString();
  o.contextGiven = parser.isSet("context");
  QString context = parser.value("context");
  if (!o.contextGiven) context = kd::dashboard::lastContext();
  if (context.isEmpty()) context = parser.value("profile");
  o.target.context = context.toStdString();
  o.target.autoStart = !parser.isSet("no-start");
  o.keepRunning = parser.isSet("keep-running");
  o.section = parser.value("section");
  o.screenshot = parser.value("screenshot");
  return o;
}

// Runs connectContext on a worker while the GUI shows what it is doing.
Result<std::unique_ptr<kd::client::ApiClient>> connectWithProgress(const ContextTarget& target,
                                                                   bool& started) {
  QLabel splash(QObject::tr("Connecting to \"%1\"…\n(starting the cluster if it is not running)")
                    .arg(QString::fromStdString(target.context)));
  splash.setWindowFlag(Qt::SplashScreen);
  splash.setMargin(24);
  splash.show();
  using Shared = std::shared_ptr<Result<std::unique_ptr<kd::client::ApiClient>>>;
  QFutureWatcher<Shared> watcher;
  QEventLoop loop;
  QObject::connect(&watcher, &QFutureWatcher<Shared>::finished, &loop, &QEventLoop::quit);
  watcher.setFuture(QtConcurrent::run([target, &started] {
    return std::make_shared<Result<std::unique_ptr<kd::client::ApiClient>>>(
        kd::dashboard::connectContext(target, &started));
  }));
  loop.exec();
  return std::move(*watcher.result());
}

// The remembered context may be gone or down; then the default profile's is tried, and the
// window says why.
Result<std::unique_ptr<kd::client::ApiClient>> connectAtStart(Options& o, bool& started,
                                                              QString& notice) {
  auto client = connectWithProgress(o.target, started);
  if (client.ok() || o.contextGiven || o.target.context == o.target.defaultProfile) return client;
  notice = QObject::tr("Could not reach \"%1\" (%2); showing \"%3\"")
               .arg(QString::fromStdString(o.target.context),
                    QString::fromStdString(client.status().message()),
                    QString::fromStdString(o.target.defaultProfile));
  o.target.context = o.target.defaultProfile;
  return connectWithProgress(o.target, started);
}

void stopStartedClusters(const std::set<std::string>& profiles) {
  for (const auto& profile : profiles) {
    std::istringstream in;
    std::ostringstream out, err;
    kd::cli::runKdctl({"stop", "--profile", profile}, in, out, err);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // The Cluster page runs kdctl in this process, and for VM profiles that hosts libvirt's event
  // loop, which Qt's GLib dispatcher would starve (vm/libvirt/libvirt_connection.h).
  qputenv("QT_NO_GLIB", "1");
  kd::dashboard::limitMallocArenas();  // before any thread allocates
  QApplication app(argc, argv);
  kd::dashboard::HeapTrimmer heapTrimmer;
  QApplication::setOrganizationName("KubeDesk");
  QApplication::setApplicationName("kubedesk");
  QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/kubedesk.svg")));
  Options options = parseOptions(app);
  const bool firstRun = kd::dashboard::firstRun();

  bool started = false;
  QString notice;
  auto client = connectAtStart(options, started, notice);
  if (!client.ok()) {
    QMessageBox::critical(nullptr, QObject::tr("KubeDesk"),
                          QString::fromStdString(client.status().message()));
    return 1;
  }
  kd::dashboard::ContextSwitcher switcher(options.target);
  const QString context = QString::fromStdString((*client)->access().contextName);
  switcher.adopt(std::make_unique<kd::dashboard::ClusterSession>(std::move(*client)), context,
                 started);
  int rc = 0;
  {
    kd::dashboard::MainWindow window(switcher.session());
    window.setContextSwitcher(&switcher);
    kd::dashboard::ClusterTray tray(&window);
    if (firstRun) {
      window.showSection({});  // the new cluster's nodes
      notice = started ? QObject::tr(
                             "Welcome to KubeDesk: the \"%1\" cluster was started for "
                             "you; Cluster ▸ Switch context reaches your other clusters")
                             .arg(context)
                       : QObject::tr("Welcome to KubeDesk: connected to \"%1\"").arg(context);
    }
    if (!options.section.isEmpty()) window.showSection(options.section);
    if (!notice.isEmpty()) window.statusBar()->showMessage(notice);
    window.show();
    if (!options.screenshot.isEmpty()) {
      QTimer::singleShot(3000, &window, [&window, file = options.screenshot] {
        if (!window.grab().save(file)) qWarning("could not write %s", qPrintable(file));
        QApplication::quit();
      });
    }
    rc = app.exec();
  }
  // Like a terminal session, the clusters this app started go with it unless asked to stay.
  if (!options.keepRunning) stopStartedClusters(switcher.startedProfiles());
  return rc;
}

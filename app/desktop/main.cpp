// kubedesk: connects to a kubeconfig context (default "kubedesk"), starting the KubeDesk
// profile's engine first when that context's engine is not running — through kdctl's own
// `start` — and opens the dashboard.

#include <QApplication>
#include <QCommandLineParser>
#include <QEventLoop>
#include <QFutureWatcher>
#include <QLabel>
#include <QMessageBox>
#include <QTimer>
#include <QtConcurrent/QtConcurrentRun>
#include <sstream>

#include "dashboard/cluster_session.h"
#include "dashboard/main_window.h"
#include "engine/client/cli/cli.h"

namespace {

using namespace std::chrono_literals;
using kd::Result;
using kd::Status;

struct Options {
  std::optional<std::filesystem::path> kubeconfig;
  std::string context;
  std::string profile;
  bool autoStart = true;
  bool keepRunning = false;
  QString section;
  QString screenshot;
};

Options parseOptions(const QApplication& app) {
  QCommandLineParser parser;
  parser.setApplicationDescription("KubeDesk: a local Kubernetes cluster and its dashboard");
  parser.addHelpOption();
  parser.addOptions({
      {"context", "The kubeconfig context to use.", "name", "kubedesk"},
      {"kubeconfig", "The kubeconfig file (default $KUBECONFIG, ~/.kube/config).", "file"},
      {"profile", "The KubeDesk profile started when its context is chosen.", "name", "kubedesk"},
      {"no-start", "Never start an engine; only connect."},
      {"keep-running", "Leave an engine this app started running when it quits."},
      {"section", "The section shown first (pods, deployments, ...).", "resource"},
      {"screenshot", "Save a picture of the window once it has filled, then quit.", "file"},
  });
  parser.process(app);
  Options o;
  if (parser.isSet("kubeconfig")) o.kubeconfig = parser.value("kubeconfig").toStdString();
  o.context = parser.value("context").toStdString();
  o.profile = parser.value("profile").toStdString();
  o.autoStart = !parser.isSet("no-start");
  o.keepRunning = parser.isSet("keep-running");
  o.section = parser.value("section");
  o.screenshot = parser.value("screenshot");
  return o;
}

Result<std::unique_ptr<kd::client::ApiClient>> connectTo(const Options& o,
                                                         std::chrono::milliseconds timeout) {
  auto access = kd::client::loadClusterAccess(o.kubeconfig, o.context);
  if (!access.ok()) return access.status();
  kd::client::ClientOptions options;
  options.connectTimeout = timeout;
  options.userAgent = "kubedesk";
  auto client = kd::client::ApiClient::create(*access, options);
  if (!client.ok()) return client.status();
  auto health = (*client)->request("GET", "/healthz");
  if (!health.ok()) return health.status();
  if (!health->ok()) return kd::client::statusFromResponse(health->status, health->body);
  return client;
}

// The profile's engine is started only for its own context; another context (a real
// cluster) is only connected to.
Result<std::unique_ptr<kd::client::ApiClient>> connectOrStart(const Options& o, bool& started) {
  auto client = connectTo(o, 2000ms);
  if (client.ok() || !o.autoStart || o.context != o.profile) return client;
  std::vector<std::string> argv = {"start", "--profile", o.profile};
  if (o.kubeconfig) argv.insert(argv.end(), {"--kubeconfig", o.kubeconfig->string()});
  std::istringstream in;
  std::ostringstream out, err;
  if (kd::cli::runKdctl(argv, in, out, err) != 0) {
    return Status::serviceUnavailable("could not start the \"" + o.profile +
                                      "\" cluster: " + err.str());
  }
  started = true;
  return connectTo(o, 10000ms);
}

// Runs connectOrStart on a worker while the GUI shows what it is doing.
Result<std::unique_ptr<kd::client::ApiClient>> connectWithProgress(const Options& o,
                                                                   bool& started) {
  QLabel splash(QObject::tr("Connecting to \"%1\"…\n(starting the cluster if it is not running)")
                    .arg(QString::fromStdString(o.context)));
  splash.setWindowFlag(Qt::SplashScreen);
  splash.setMargin(24);
  splash.show();
  using Shared = std::shared_ptr<Result<std::unique_ptr<kd::client::ApiClient>>>;
  QFutureWatcher<Shared> watcher;
  QEventLoop loop;
  QObject::connect(&watcher, &QFutureWatcher<Shared>::finished, &loop, &QEventLoop::quit);
  watcher.setFuture(QtConcurrent::run([o, &started] {
    return std::make_shared<Result<std::unique_ptr<kd::client::ApiClient>>>(
        connectOrStart(o, started));
  }));
  loop.exec();
  return std::move(*watcher.result());
}

}  // namespace

int main(int argc, char** argv) {
  // The Cluster page runs kdctl in this process, and for VM profiles that hosts libvirt's event
  // loop, which Qt's GLib dispatcher would starve (vm/libvirt/libvirt_connection.h).
  qputenv("QT_NO_GLIB", "1");
  QApplication app(argc, argv);
  QApplication::setOrganizationName("KubeDesk");
  QApplication::setApplicationName("kubedesk");
  QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/kubedesk.svg")));
  const Options options = parseOptions(app);

  bool started = false;
  auto client = connectWithProgress(options, started);
  if (!client.ok()) {
    QMessageBox::critical(nullptr, QObject::tr("KubeDesk"),
                          QString::fromStdString(client.status().message()));
    return 1;
  }
  kd::dashboard::ClusterSession session(std::move(*client));
  kd::dashboard::MainWindow window(&session);
  if (!options.section.isEmpty()) window.showSection(options.section);
  window.show();
  if (!options.screenshot.isEmpty()) {
    QTimer::singleShot(3000, &window, [&window, file = options.screenshot] {
      if (!window.grab().save(file)) qWarning("could not write %s", qPrintable(file));
      QApplication::quit();
    });
  }
  const int rc = app.exec();
  // Like a terminal session, the cluster this app started goes with it unless asked to stay.
  if (started && !options.keepRunning) {
    std::istringstream in;
    std::ostringstream out, err;
    kd::cli::runKdctl({"stop", "--profile", options.profile}, in, out, err);
  }
  return rc;
}

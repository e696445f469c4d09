// The desktop shell around the dashboard, on the offscreen platform, against two real
// kubedesk-engines (simulated nodes) in one kubeconfig and a KubeDesk profile kdctl starts in
// this process: switching contexts from the toolbar and the Cluster menu (and starting a
// stopped profile on the way), an unreachable context, the tray's cluster state, the light and
// dark themes with readable status colours, remembered settings and the shortcut list.

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QMenu>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardItemModel>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QtTest>
#include <filesystem>
#include <sstream>

#include "dashboard/cluster_page.h"
#include "dashboard/cluster_session.h"
#include "dashboard/contexts.h"
#include "dashboard/main_window.h"
#include "dashboard/status_style.h"
#include "dashboard/theme.h"
#include "dashboard/tray_icon.h"
#include "engine/client/cli/cli.h"
#include "engine/client/kubeconfig.h"
#include "tests/e2e/engine_process.h"
#include "tests/support/settle.h"

using kd::dashboard::ClusterSession;
using kd::dashboard::ClusterTray;
using kd::dashboard::ContextSwitcher;
using kd::dashboard::ContextTarget;
using kd::dashboard::MainWindow;
using kd::dashboard::Theme;
using kd::dashboard::TrayState;
namespace fs = std::filesystem;

namespace {

const char* const kProfile = "gamma";
// A node that never reports: no Ready condition, so kubectl and the tray count it not Ready.
const char* const kSilentNode = "apiVersion: v1\nkind: Node\nmetadata: {name: silent}\n";

const kd::api::KindInfo& kind(const char* resource) {
  return *kd::api::KindsRegistry::builtin().resolve(resource);
}

}  // namespace

class DesktopShellTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void cleanupTestCase();
  void firstRunAndStartableProfiles();
  void contextsAreListedCurrentChecked();
  void switchingShowsTheOtherEnginesObjectsAndBack();
  void unreachableContextShowsErrorAndWindowKeepsWorking();
  void switchingToStoppedProfileStartsIt();
  void themeChoiceSetsPaletteAndStatusColoursKeepContrast_data();
  void themeChoiceSetsPaletteAndStatusColoursKeepContrast();
  void settingsRestoreGeometrySectionContextAndTheme();
  void shortcutsAreListed();
  void trayFollowsReadyNodesAndTurnsRedWhenEngineDies();

 private:
  // Adds `engine`'s admin access to the test kubeconfig as `context`.
  void addContext(const EngineProcess& engine, const char* context) {
    auto access = kd::client::loadClusterAccess(engine.kubeconfig().toStdString(), "");
    KD_VERIFY2(access.ok(), access.status().message().c_str());
    access->contextName = context;
    QVERIFY(kd::client::mergeIntoKubeconfig(kubeconfig_, *access, false).isOk());
  }
  int kdctl(const std::vector<std::string>& argv) {
    std::istringstream in;
    std::ostringstream out, err;
    const int rc = kd::cli::runKdctl(argv, in, out, err);
    if (rc != 0) qWarning("kdctl failed: %s%s", out.str().c_str(), err.str().c_str());
    return rc;
  }
  void newWindow() {
    window_ = std::make_unique<MainWindow>(switcher_->session());
    window_->setContextSwitcher(switcher_.get());
    window_->show();
  }
  // Picks `context` in the Cluster ▸ Switch context menu.
  QAction* menuAction(const QString& context) {
    emit window_->contextMenu()->aboutToShow();
    for (QAction* a : window_->contextMenu()->actions()) {
      if (a->text() == context) return a;
    }
    return nullptr;
  }
  bool switchTo(const QString& context) {
    QSignalSpy switched(switcher_.get(), &ContextSwitcher::switched);
    QAction* action = menuAction(context);
    if (!action) return false;
    action->trigger();
    return switched.wait(60000) && window_->contextName() == context;
  }
  bool shows(const char* resource, const QString& key) {
    return window_->session()->model(kind(resource))->rowOfKey(key.toStdString()) >= 0;
  }

  QTemporaryDir tmp_;
  fs::path kubeconfig_;
  std::unique_ptr<EngineProcess> alpha_, beta_;
  std::unique_ptr<ContextSwitcher> switcher_;
  std::unique_ptr<MainWindow> window_;
};

void DesktopShellTest::initTestCase() {
  QStandardPaths::setTestModeEnabled(true);  // QSettings stay out of the user's config
  QSettings().clear();
  QVERIFY(tmp_.isValid());
  qputenv("XDG_DATA_HOME", tmp_.filePath("data").toUtf8());  // kdctl's profiles
  kubeconfig_ = tmp_.filePath("kubeconfig").toStdString();
  alpha_ = std::make_unique<EngineProcess>(QString(), QStringList{"--simulated-nodes", "2"});
  beta_ = std::make_unique<EngineProcess>(QString(), QStringList{"--simulated-nodes", "3"});
  KD_VERIFY2(alpha_->start(), qPrintable(alpha_->log()));
  KD_VERIFY2(beta_->start(), qPrintable(beta_->log()));
  addContext(*alpha_, "alpha");
  addContext(*beta_, "beta");
  // A server nobody listens on.
  kd::client::ClusterAccess nowhere;
  nowhere.contextName = "nowhere";
  nowhere.server = "https://127.0.0.1:1";
  nowhere.insecureSkipTlsVerify = true;
  QVERIFY(kd::client::mergeIntoKubeconfig(kubeconfig_, nowhere, false).isOk());
  QCOMPARE(alpha_->kubectl({"create", "namespace", "alpha-only"}).exitCode, 0);
  QCOMPARE(beta_->kubectl({"create", "namespace", "beta-only"}).exitCode, 0);
  QCOMPARE(beta_
               ->kubectl(
                   {"create", "configmap", "only-in-beta", "-n", "beta-only", "--from-literal=a=b"})
               .exitCode,
           0);

  ContextTarget target;
  target.kubeconfig = kubeconfig_;
  target.context = "alpha";
  switcher_ = std::make_unique<ContextSwitcher>(target);
  auto client = kd::dashboard::connectContext(target, nullptr);
  KD_VERIFY2(client.ok(), client.status().message().c_str());
  switcher_->adopt(std::make_unique<ClusterSession>(std::move(*client)), "alpha", false);
  newWindow();
}

void DesktopShellTest::cleanupTestCase() {
  window_.reset();
  switcher_.reset();
  kdctl({"delete", "--profile", kProfile});
}

void DesktopShellTest::firstRunAndStartableProfiles() {
  QVERIFY(kd::dashboard::firstRun());
  ContextTarget target;
  target.context = "kubedesk";  // the default profile, before its directory exists
  QCOMPARE(kd::dashboard::startableProfile(target), std::string("kubedesk"));
  target.context = "alpha";  // a foreign context is only connected to
  QCOMPARE(kd::dashboard::startableProfile(target), std::string());
  window_->saveSettings();
  QVERIFY(!kd::dashboard::firstRun());
}

void DesktopShellTest::contextsAreListedCurrentChecked() {
  QComboBox* combo = window_->contextSelector();
  QVERIFY(combo->isEnabled());
  for (const char* name : {"alpha", "beta", "nowhere"}) QVERIFY(combo->findText(name) >= 0);
  QCOMPARE(combo->currentText(), QString("alpha"));
  QCOMPARE(window_->windowTitle(), QString("KubeDesk — alpha"));
  QVERIFY(menuAction("alpha")->isChecked());
  QVERIFY(!menuAction("beta")->isChecked());
}

void DesktopShellTest::switchingShowsTheOtherEnginesObjectsAndBack() {
  QVERIFY(window_->showSection("configmaps"));
  KD_TRY_VERIFY(shows("namespaces", "alpha-only"));
  QVERIFY(!shows("namespaces", "beta-only"));

  QVERIFY(switchTo("beta"));
  QCOMPARE(window_->windowTitle(), QString("KubeDesk — beta"));
  QCOMPARE(window_->contextSelector()->currentText(), QString("beta"));
  QCOMPARE(window_->currentSection(), QString("configmaps"));
  KD_TRY_VERIFY(window_->selectKey("beta-only/only-in-beta"));
  KD_TRY_VERIFY(window_->namespaceSelector()->findText("beta-only") >= 0);
  QVERIFY(window_->namespaceSelector()->findText("alpha-only") < 0);
  KD_TRY_COMPARE(window_->clusterPage()->nodes()->rowCount(), 3);

  // Back through the toolbar's selector.
  QSignalSpy switched(switcher_.get(), &ContextSwitcher::switched);
  QComboBox* combo = window_->contextSelector();
  emit combo->activated(combo->findText("alpha"));
  QVERIFY(switched.wait(60000));
  QCOMPARE(window_->contextName(), QString("alpha"));
  KD_TRY_VERIFY(shows("namespaces", "alpha-only"));
  QVERIFY(!window_->selectKey("beta-only/only-in-beta"));
  KD_TRY_COMPARE(window_->clusterPage()->nodes()->rowCount(), 2);
}

void DesktopShellTest::unreachableContextShowsErrorAndWindowKeepsWorking() {
  QSignalSpy failed(switcher_.get(), &ContextSwitcher::failed);
  menuAction("nowhere")->trigger();
  QVERIFY(failed.wait(60000));
  const QString message = window_->statusBar()->currentMessage();
  KD_VERIFY2(message.contains("nowhere") && message.contains("127.0.0.1:1"), qPrintable(message));
  QCOMPARE(window_->contextName(), QString("alpha"));
  QCOMPARE(window_->contextSelector()->currentText(), QString("alpha"));
  // Still live: a new object of the current cluster shows up.
  QVERIFY(window_->showSection("namespaces"));
  QCOMPARE(alpha_->kubectl({"create", "namespace", "after-failure"}).exitCode, 0);
  KD_TRY_VERIFY(window_->selectKey("after-failure"));
  QVERIFY(switchTo("beta"));
  QVERIFY(switchTo("alpha"));
}

void DesktopShellTest::switchingToStoppedProfileStartsIt() {
  QCOMPARE(kdctl({"start", "--profile", kProfile, "--driver=simulated", "--nodes=1", "--kubeconfig",
                  kubeconfig_.string()}),
           0);
  QCOMPARE(kdctl({"stop", "--profile", kProfile}), 0);
  QSignalSpy switching(switcher_.get(), &ContextSwitcher::switching);
  QVERIFY(switchTo(kProfile));
  QVERIFY(switching.front().at(1).toBool());  // announced as possibly starting
  QVERIFY(switcher_->startedProfiles().count(kProfile));
  QVERIFY(window_->clusterPage()->profile().isKubeDesk());
  KD_TRY_COMPARE(window_->clusterPage()->nodes()->rowCount(), 1);
  QVERIFY(switchTo("alpha"));
}

void DesktopShellTest::themeChoiceSetsPaletteAndStatusColoursKeepContrast_data() {
  QTest::addColumn<Theme>("theme");
  QTest::addColumn<bool>("dark");
  QTest::newRow("dark") << Theme::Dark << true;
  QTest::newRow("light") << Theme::Light << false;
}

void DesktopShellTest::themeChoiceSetsPaletteAndStatusColoursKeepContrast() {
  QFETCH(Theme, theme);
  QFETCH(bool, dark);
  window_->setTheme(theme);
  QCOMPARE(kd::dashboard::isDark(QApplication::palette()), dark);
  QCOMPARE(window_->theme()->dark(), dark);
  KD_TRY_COMPARE(kd::dashboard::isDark(window_->palette()), dark);
  const QColor base = QApplication::palette().color(QPalette::Base);
  using kd::dashboard::Health;
  for (Health h : {Health::Good, Health::Progressing, Health::Done, Health::Bad}) {
    const double ratio = kd::dashboard::contrastRatio(kd::dashboard::healthColor(h), base);
    KD_VERIFY2(ratio >= 3.0, qPrintable(QString("health %1: %2").arg(int(h)).arg(ratio)));
  }
  // The tables draw the status in the colour of the theme in use.
  QVERIFY(window_->showSection("nodes"));
  auto* nodes = window_->session()->model(kind("nodes"));
  KD_TRY_VERIFY(nodes->rowCount() > 0);
  const QModelIndex status = nodes->index(0, nodes->columnNamed("Status"));
  QCOMPARE(status.data(Qt::ForegroundRole).value<QColor>(),
           kd::dashboard::healthColor(Health::Good));
  window_->setTheme(Theme::System);
}

void DesktopShellTest::settingsRestoreGeometrySectionContextAndTheme() {
  QVERIFY(switchTo("beta"));
  QVERIFY(window_->showSection("configmaps"));
  window_->setTheme(Theme::Dark);
  window_->resize(910, 630);
  QVERIFY(window_->close());
  window_.reset();
  QCOMPARE(kd::dashboard::lastContext(), QString("beta"));

  // What main does at start: the remembered context.
  ContextTarget target;
  target.kubeconfig = kubeconfig_;
  target.context = kd::dashboard::lastContext().toStdString();
  auto client = kd::dashboard::connectContext(target, nullptr);
  KD_VERIFY2(client.ok(), client.status().message().c_str());
  switcher_->adopt(std::make_unique<ClusterSession>(std::move(*client)), "beta", false);
  newWindow();
  QCOMPARE(window_->contextName(), QString("beta"));
  QCOMPARE(window_->currentSection(), QString("configmaps"));
  QCOMPARE(window_->size(), QSize(910, 630));
  QCOMPARE(window_->theme()->choice(), Theme::Dark);
  QVERIFY(kd::dashboard::isDark(QApplication::palette()));
  window_->setTheme(Theme::System);
}

void DesktopShellTest::shortcutsAreListed() {
  const QStringList lines = window_->shortcutList();
  for (const char* expected :
       {"Ctrl+F\tFilter the table", "Ctrl+K\tChoose a context", "Ctrl+E\tEdit", "Ctrl+L\tLogs",
        "Ctrl+Q\tQuit", "Del\tDelete", "F1\tKeyboard shortcuts"}) {
    KD_VERIFY2(lines.contains(expected), qPrintable(lines.join(" | ")));
  }
}

void DesktopShellTest::trayFollowsReadyNodesAndTurnsRedWhenEngineDies() {
  ClusterTray tray(window_.get());
  QCOMPARE(tray.state().context, QString("beta"));
  KD_TRY_COMPARE(tray.state().total, 3);
  KD_TRY_COMPARE(tray.state().ready, 3);
  KD_TRY_VERIFY(tray.state().reachable);
  QCOMPARE(tray.state().level(), TrayState::Level::Green);
  KD_VERIFY2(tray.state().toolTip().contains("Nodes Ready 3/3"),
             qPrintable(tray.state().toolTip()));

  QCOMPARE(beta_->kubectl({"apply", "-f", "-"}, kSilentNode).exitCode, 0);
  KD_TRY_COMPARE(tray.state().total, 4);
  QCOMPARE(tray.state().ready, 3);
  QCOMPARE(tray.state().level(), TrayState::Level::Amber);
  QVERIFY(tray.state().toolTip().contains("Nodes Ready 3/4"));

  // Following the window to another context.
  QVERIFY(switchTo("alpha"));
  QCOMPARE(tray.state().context, QString("alpha"));
  KD_TRY_COMPARE(tray.state().total, 2);
  KD_TRY_VERIFY(tray.state().reachable);
  QCOMPARE(tray.state().level(), TrayState::Level::Green);

  alpha_->kill9();
  tray.probe();
  KD_TRY_VERIFY(!tray.state().reachable);
  QCOMPARE(tray.state().level(), TrayState::Level::Red);
  KD_VERIFY2(tray.state().toolTip().contains("Unreachable"), qPrintable(tray.state().toolTip()));
  QCOMPARE(tray.icon().pixmap(32, 32).toImage().pixelColor(16, 16), TrayState().color());
}

QTEST_MAIN(DesktopShellTest)
#include "desktop_shell_test.moc"

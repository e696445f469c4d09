// The dashboard's Cluster page against a real KubeDesk profile that kdctl (in this process, as
// the page itself does) starts with two simulated nodes in a temporary data root: the header,
// the live nodes table (its pod counts followed change by change, also while hidden), the charts
// from the engine's real metrics history (simulated nodes report none, so the test POSTs agent
// reports as an admin may) on the page and in the pod detail's Metrics tab, the console pane of a
// VM node, a foreign context, and the Stop, Start and Delete controls with their progress.

#include <QLabel>
#include <QLineSeries>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QStandardItemModel>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "dashboard/cluster_page.h"
#include "dashboard/cluster_session.h"
#include "dashboard/main_window.h"
#include "dashboard/pod_detail_view.h"
#include "engine/client/cli/cli.h"
#include "engine/client/cli/profile_state.h"
#include "tests/support/settle.h"

using kd::dashboard::ClusterPage;
using kd::dashboard::ClusterSession;
using kd::dashboard::MainWindow;
namespace fs = std::filesystem;

namespace {

const char* const kProfile = "cpt";
const char* const kVmProfile = "cptvm";
const char* const kConsoleText =
    "SeaBIOS\nLinux version 6.1\nkubedesk-node: registered cptvm-m01\n";

const kd::api::KindInfo& kind(const char* resource) {
  return *kd::api::KindsRegistry::builtin().resolve(resource);
}

kd::json usage(double cpuMillis, double memoryMiB) {
  return {{"cpuNanoCores", int64_t(cpuMillis * 1e6)},
          {"memoryBytes", int64_t(memoryMiB * 1024 * 1024)}};
}

// One agent report (metrics_store.h) with the node's usage and `pods`.
std::string report(double cpuMillis, double memoryMiB, kd::json pods = kd::json::array()) {
  return kd::json{
      {"windowSeconds", 10}, {"node", usage(cpuMillis, memoryMiB)}, {"pods", std::move(pods)}}
      .dump();
}

// A report's entry for pod default/web with two containers sharing the usage equally.
kd::json webPod(double cpuMillis, double memoryMiB) {
  kd::json half = usage(cpuMillis / 2, memoryMiB / 2);
  kd::json a = half, b = half;
  a["name"] = "a";
  b["name"] = "b";
  return kd::json::array({{{"namespace", "default"},
                           {"name", "web"},
                           {"uid", "u-web"},
                           {"containers", kd::json::array({a, b})}}});
}

}  // namespace

class ClusterPageTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void cleanupTestCase();
  void headerShowsProfileDriverAndVersion();
  void nodesTableFillsAndFollows();
  void podCountsFollowChangesWhileHidden();
  void chartsShowTheNodesMetricsHistory();
  void podDetailChartsShowThePodsMetricsHistory();
  void consoleShowsVmNodeLog();
  void foreignContextHasNoControls();
  void stopThenStartStreamProgress();
  void deleteAsksThenRemovesProfile();

 private:
  ClusterPage* page() const { return window_->clusterPage(); }
  QString cell(ClusterPage* p, const QString& node, int column) const {
    const auto found = p->nodes()->findItems(node, Qt::MatchExactly, ClusterPage::kName);
    return found.isEmpty() ? QString() : p->nodes()->item(found.front()->row(), column)->text();
  }
  std::unique_ptr<kd::client::ApiClient> client(const std::string& context) const {
    auto access = kd::client::loadClusterAccess(kubeconfig_, kProfile);
    if (!access.ok()) qFatal("%s", access.status().message().c_str());
    access->contextName = context;
    auto created = kd::client::ApiClient::create(*access);
    if (!created.ok()) qFatal("%s", created.status().message().c_str());
    return std::move(*created);
  }
  int kdctl(const std::vector<std::string>& argv) {
    std::istringstream in;
    std::ostringstream out, err;
    const int rc = kd::cli::runKdctl(argv, in, out, err);
    if (rc != 0) qWarning("kdctl failed: %s%s", out.str().c_str(), err.str().c_str());
    return rc;
  }
  // Clicks `button` and waits until its command ends; its exit code.
  int run(QPushButton* button) {
    QSignalSpy finished(page(), &ClusterPage::commandFinished);
    button->click();
    if (!finished.wait(120000)) return -1;
    return finished.front().at(1).toInt();
  }
  QString gitVersion() const { return QString::fromStdString(version_); }

  QTemporaryDir tmp_;
  fs::path kubeconfig_;
  std::shared_ptr<kd::client::ApiClient> admin_;
  std::string version_;
  std::unique_ptr<ClusterSession> session_;
  std::unique_ptr<MainWindow> window_;
  QStringList questions_;
  bool answer_ = false;
};

void ClusterPageTest::initTestCase() {
  QStandardPaths::setTestModeEnabled(true);
  QVERIFY(tmp_.isValid());
  kubeconfig_ = fs::path(tmp_.filePath("kubeconfig").toStdString());
  qputenv("XDG_DATA_HOME", tmp_.filePath("data").toUtf8());
  qputenv("KUBECONFIG", QByteArray::fromStdString(kubeconfig_.string()));
  QCOMPARE(kdctl({"start", "--profile", kProfile, "--driver=simulated", "--nodes=2"}), 0);
  admin_ = client(kProfile);
  auto v = admin_->serverVersion();
  QVERIFY2(v.ok(), v.status().message().c_str());
  version_ = v->value("gitVersion", "");
  QVERIFY(!version_.empty());
  session_ = std::make_unique<ClusterSession>(client(kProfile));
  window_ = std::make_unique<MainWindow>(session_.get());
  auto prompts = kd::dashboard::Prompts::dialogs();
  prompts.confirm = [this](QWidget*, const QString& q) {
    questions_ << q;
    return answer_;
  };
  window_->setPrompts(prompts);
  window_->resize(1200, 900);
  window_->show();
  QVERIFY(window_->showSection(""));
  QVERIFY(page()->isVisible());
}

void ClusterPageTest::cleanupTestCase() {
  window_.reset();
  session_.reset();
  // The engine must not outlive a failed test.
  if (fs::exists(kd::cli::dataRoot() / kProfile)) kdctl({"delete", "--profile", kProfile});
}

void ClusterPageTest::headerShowsProfileDriverAndVersion() {
  KD_TRY_VERIFY(page()->header()->text().contains(gitVersion()));
  const QString header = page()->header()->text();
  QVERIFY2(header.contains(">cpt<") && header.contains("simulated"), qPrintable(header));
  QVERIFY(header.contains(QString::fromStdString(admin_->access().server)));
  QCOMPARE(page()->profile().driver, std::string("simulated"));
  QVERIFY(page()->controls()->isVisibleTo(page()));
  QVERIFY(page()->startButton()->isEnabled());
  // Simulated nodes live inside the engine: kdctl cannot add one.
  QVERIFY(!page()->addNodeButton()->isEnabled());
  QVERIFY(page()->panes()->isTabVisible(0));
  QVERIFY(!page()->panes()->isTabVisible(1));  // no console: not VM nodes
  QVERIFY(page()->nodesTable()->isColumnHidden(ClusterPage::kVm));
}

void ClusterPageTest::nodesTableFillsAndFollows() {
  KD_TRY_COMPARE(page()->nodes()->rowCount(), 2);
  QCOMPARE(cell(page(), "cpt-m01", ClusterPage::kReady), QString("Ready"));
  QCOMPARE(cell(page(), "cpt-m01", ClusterPage::kRoles), QString("control-plane"));
  QCOMPARE(cell(page(), "cpt-m02", ClusterPage::kRoles), QString("<none>"));
  QCOMPARE(cell(page(), "cpt-m01", ClusterPage::kCpus), QString("4"));
  QCOMPARE(cell(page(), "cpt-m01", ClusterPage::kMemory), QString("8Gi"));
  QCOMPARE(cell(page(), "cpt-m02", ClusterPage::kPods), QString("0"));
  QVERIFY(page()->selectNode("cpt-m02"));

  auto cordon = admin_->patch(kind("nodes"), "", "cpt-m02", kd::client::PatchType::Merge,
                              R"({"spec":{"unschedulable":true}})");
  QVERIFY2(cordon.ok(), cordon.status().message().c_str());
  KD_TRY_COMPARE(cell(page(), "cpt-m02", ClusterPage::kReady), QString("Ready,SchedulingDisabled"));
  const kd::json pod = {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"name", "pinned"}, {"namespace", "default"}}},
      {"spec",
       {{"nodeName", "cpt-m02"}, {"containers", {{{"name", "app"}, {"image", "busybox"}}}}}}};
  auto created = admin_->create(kind("pods"), "default", pod);
  QVERIFY2(created.ok(), created.status().message().c_str());
  KD_TRY_COMPARE(cell(page(), "cpt-m02", ClusterPage::kPods), QString("1"));

  // A node that registers (as an agent would) gets its row in name order; the selection stays.
  const kd::json node = {{"apiVersion", "v1"},
                         {"kind", "Node"},
                         {"metadata", {{"name", "cpt-a-late"}}},
                         {"status", {{"capacity", {{"cpu", "2"}, {"memory", "1Gi"}}}}}};
  QVERIFY(admin_->create(kind("nodes"), "", node).ok());
  KD_TRY_COMPARE(page()->nodes()->rowCount(), 3);
  QCOMPARE(page()->nodes()->item(0, ClusterPage::kName)->text(), QString("cpt-a-late"));
  QCOMPARE(cell(page(), "cpt-a-late", ClusterPage::kCpus), QString("2"));
  QCOMPARE(page()->selectedNode(), QString("cpt-m02"));
  QVERIFY(admin_->remove(kind("nodes"), "", "cpt-a-late").ok());
  KD_TRY_COMPARE(page()->nodes()->rowCount(), 2);
  QCOMPARE(page()->selectedNode(), QString("cpt-m02"));
  QVERIFY(admin_
              ->patch(kind("nodes"), "", "cpt-m02", kd::client::PatchType::Merge,
                      R"({"spec":{"unschedulable":null}})")
              .ok());
  KD_TRY_COMPARE(cell(page(), "cpt-m02", ClusterPage::kReady), QString("Ready"));
}

// The Pods column is kept from the pods' changes, not recounted: while another section is on
// screen it follows creates, deletes, a pod name that comes back on another node and a pod that
// ends, and always equals a count of the API server's own list.
void ClusterPageTest::podCountsFollowChangesWhileHidden() {
  QVERIFY(window_->showSection("pods"));
  auto showCluster = qScopeGuard([this] { window_->showSection(""); });
  QVERIFY(!page()->isVisible());
  auto podOn = [](const std::string& name, const std::string& node) {
    return kd::json{
        {"apiVersion", "v1"},
        {"kind", "Pod"},
        {"metadata", {{"name", name}, {"namespace", "default"}}},
        {"spec", {{"nodeName", node}, {"containers", {{{"name", "app"}, {"image", "busybox"}}}}}}};
  };
  // What the page must show: the server's pods per node, Succeeded and Failed ones left out.
  auto serverCounts = [this] {
    std::map<QString, int> count{{"cpt-m01", 0}, {"cpt-m02", 0}};
    auto list = admin_->list(kind("pods"), "");
    if (!list.ok()) return count;
    for (const kd::json& pod : (*list)["items"]) {
      const std::string phase = pod["status"].value("phase", "");
      if (phase == "Succeeded" || phase == "Failed") continue;
      const std::string node = pod["spec"].value("nodeName", "");
      if (!node.empty()) ++count[QString::fromStdString(node)];
    }
    return count;
  };
  auto pageCounts = [this] {
    std::map<QString, int> count;
    for (const char* node : {"cpt-m01", "cpt-m02"})
      count[node] = cell(page(), node, ClusterPage::kPods).toInt();
    return count;
  };
  KD_TRY_VERIFY(pageCounts() == serverCounts());
  const int m01 = pageCounts()["cpt-m01"], m02 = pageCounts()["cpt-m02"];
  // Whether the page settles on m01 + onM01 and m02 + onM02 pods, as the server counts them.
  auto settles = [&](int onM01, int onM02) {
    const std::map<QString, int> want{{"cpt-m01", m01 + onM01}, {"cpt-m02", m02 + onM02}};
    return QTest::qWaitFor([&] { return pageCounts() == want && serverCounts() == want; },
                           kd::testing::kSettleMs);
  };
  kd::client::DeleteOptions now;
  now.gracePeriodSeconds = 0;
  auto cleanup = qScopeGuard([&] {
    for (const char* name : {"count-a", "count-b", "count-c"})
      admin_->remove(kind("pods"), "default", name, now);
  });

  for (const char* name : {"count-a", "count-b", "count-c"}) {
    auto created = admin_->create(kind("pods"), "default", podOn(name, "cpt-m01"));
    QVERIFY2(created.ok(), created.status().message().c_str());
  }
  QVERIFY(settles(3, 0));
  QVERIFY(admin_->remove(kind("pods"), "default", "count-b", now).ok());
  QVERIFY(settles(2, 0));
  // The same name comes back on the other node (one change of that key when both land in
  // the same batch, a delete and an add otherwise).
  QVERIFY(admin_->remove(kind("pods"), "default", "count-c", now).ok());
  QVERIFY(admin_->create(kind("pods"), "default", podOn("count-c", "cpt-m02")).ok());
  QVERIFY(settles(1, 1));
  // A pod that ends holds no resources of its node any more.
  kd::client::WriteOptions status;
  status.subresource = "status";
  auto ended = admin_->patch(kind("pods"), "default", "count-a", kd::client::PatchType::Merge,
                             R"({"status":{"phase":"Succeeded"}})", status);
  QVERIFY2(ended.ok(), ended.status().message().c_str());
  QVERIFY(settles(0, 1));
  QVERIFY(admin_->remove(kind("pods"), "default", "count-c", now).ok());
  QVERIFY(settles(0, 0));
  QVERIFY(!page()->isVisible());
}

void ClusterPageTest::chartsShowTheNodesMetricsHistory() {
  QVERIFY(page()->selectNode("cpt-m01"));
  for (auto [cpu, memory] : {std::pair{100.0, 64.0}, {250.0, 96.0}, {400.0, 128.0}}) {
    auto r = admin_->request("POST", "/kubedesk/v1/nodes/cpt-m01/metrics", report(cpu, memory),
                             "application/json");
    QVERIFY2(r.ok() && r->ok(), r.ok() ? r->body.c_str() : r.status().message().c_str());
  }
  page()->refreshMetrics();
  KD_TRY_COMPARE(page()->cpuSeries()->count(), 3);
  QCOMPARE(page()->cpuSeries()->at(2).y(), 400.0);
  QCOMPARE(page()->memorySeries()->at(2).y(), 128.0);
  QCOMPARE(page()->memorySeries()->at(0).y(), 64.0);
  QVERIFY(page()->cpuSeries()->at(0).x() <= page()->cpuSeries()->at(2).x());
  QVERIFY(page()->cpuSeries()->at(2).x() > 0);

  // A node that never reported says so, and its charts are empty.
  QSignalSpy updated(page(), &ClusterPage::metricsUpdated);
  QVERIFY(page()->selectNode("cpt-m02"));
  KD_TRY_VERIFY(!updated.isEmpty() && updated.back().at(0).toInt() == -1);
  QCOMPARE(page()->cpuSeries()->count(), 0);
  QVERIFY2(page()->metricsNote()->text().contains("no metrics known for node cpt-m02"),
           qPrintable(page()->metricsNote()->text()));
}

void ClusterPageTest::podDetailChartsShowThePodsMetricsHistory() {
  for (auto [cpu, memory] : {std::pair{30.0, 20.0}, {50.0, 24.0}}) {
    auto r = admin_->request("POST", "/kubedesk/v1/nodes/cpt-m01/metrics",
                             report(100, 64, webPod(cpu, memory)), "application/json");
    QVERIFY2(r.ok() && r->ok(), r.ok() ? r->body.c_str() : r.status().message().c_str());
  }
  kd::dashboard::PodDetailView detail;
  detail.showMetrics(admin_);
  const kd::json pod = {{"apiVersion", "v1"},
                        {"kind", "Pod"},
                        {"metadata", {{"namespace", "default"}, {"name", "web"}}}};
  detail.setPod(std::make_shared<const kd::json>(pod), {});
  detail.show();
  // The containers' usage summed, per sample.
  KD_TRY_COMPARE(detail.metrics()->cpuSeries()->count(), 2);
  QCOMPARE(detail.metrics()->cpuSeries()->at(1).y(), 50.0);
  QCOMPARE(detail.metrics()->memorySeries()->at(0).y(), 20.0);
  QVERIFY2(detail.metrics()->note()->text().startsWith("default/web: the last 2 samples"),
           qPrintable(detail.metrics()->note()->text()));
  // A pod nothing reported about says so.
  kd::json other = pod;
  other["metadata"]["name"] = "quiet";
  QSignalSpy updated(detail.metrics(), &kd::dashboard::UsageCharts::updated);
  detail.setPod(std::make_shared<const kd::json>(other), {});
  KD_TRY_VERIFY(!updated.isEmpty() && updated.back().at(0).toInt() == -1);
  QCOMPARE(detail.metrics()->cpuSeries()->count(), 0);
  QVERIFY2(detail.metrics()->note()->text().contains("quiet"),
           qPrintable(detail.metrics()->note()->text()));
}

// A VM profile's files as kdctl lays them out (no VM boots here): the page finds the selected
// node's console log under <profile>/nodes/mNN/.
void ClusterPageTest::consoleShowsVmNodeLog() {
  const fs::path dir = kd::cli::dataRoot() / kVmProfile;
  fs::create_directories(dir / "nodes" / "m01");
  fs::copy_file(kd::cli::dataRoot() / kProfile / "kubeconfig", dir / "kubeconfig");
  kd::cli::writeClusterRecord(dir, {"vm", {1}, 1, 512});
  std::ofstream(dir / "nodes" / "m01" / "console.log") << kConsoleText;
  const kd::json node = {
      {"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", "cptvm-m01"}}}};
  QVERIFY(admin_->create(kind("nodes"), "", node).ok());

  ClusterSession session(client(kVmProfile));
  ClusterPage vm(&session, [](QWidget*, const QString&) { return false; });
  QCOMPARE(vm.profile().driver, std::string("vm"));
  QVERIFY(vm.panes()->isTabVisible(1));
  QVERIFY(!vm.nodesTable()->isColumnHidden(ClusterPage::kVm));
  QVERIFY(vm.addNodeButton()->isEnabled());
  KD_TRY_VERIFY(!cell(&vm, "cptvm-m01", ClusterPage::kName).isEmpty());
  // No agent posts its status: its VM column says what the Ready condition does not know.
  QCOMPARE(cell(&vm, "cptvm-m01", ClusterPage::kVm), QString("Unknown"));

  QSignalSpy console(&vm, &ClusterPage::consoleUpdated);
  QVERIFY(vm.selectNode("cptvm-m01"));
  KD_TRY_VERIFY(vm.console()->toPlainText() == QString(kConsoleText));
  std::ofstream(dir / "nodes" / "m01" / "console.log", std::ios::app) << "login: \n";
  vm.refreshConsole();
  KD_TRY_VERIFY(vm.console()->toPlainText().endsWith("login: \n"));
  QVERIFY(vm.selectNode("cpt-m01"));
  KD_TRY_VERIFY(vm.console()->toPlainText().contains("is not a VM node of profile"));
  QVERIFY(admin_->remove(kind("nodes"), "", "cptvm-m01").ok());
  fs::remove_all(dir);
}

void ClusterPageTest::foreignContextHasNoControls() {
  ClusterSession session(client("elsewhere"));
  ClusterPage foreign(&session, [](QWidget*, const QString&) { return true; });
  foreign.show();
  QVERIFY(!foreign.profile().isKubeDesk());
  KD_TRY_VERIFY(foreign.header()->text().contains(gitVersion()));
  QVERIFY(foreign.header()->text().contains(QString::fromStdString(admin_->access().server)));
  QVERIFY(!foreign.header()->text().contains("Profile"));
  QVERIFY(!foreign.controls()->isVisible());
  QVERIFY(!foreign.panes()->isVisible());
  KD_TRY_COMPARE(foreign.nodes()->rowCount(), 2);
  foreign.deleteCluster();  // no profile: nothing to run
  QVERIFY(!foreign.commandRunning());
}

void ClusterPageTest::stopThenStartStreamProgress() {
  const fs::path dir = kd::cli::dataRoot() / kProfile;
  // What the pane held while the command still ran: kdctl's steps arrive as it goes.
  QStringList whileRunning;
  const auto watching = connect(page()->progress(), &QPlainTextEdit::textChanged, this, [&] {
    if (page()->commandRunning()) whileRunning << page()->progress()->toPlainText();
  });
  const auto stopWatching = qScopeGuard([&] { disconnect(watching); });

  QSignalSpy finished(page(), &ClusterPage::commandFinished);
  page()->stopButton()->click();
  QVERIFY(page()->commandRunning());
  QVERIFY(!page()->startButton()->isEnabled());
  QVERIFY(!page()->stopButton()->isEnabled());
  QVERIFY(!page()->deleteButton()->isEnabled());
  QVERIFY(finished.wait(120000));
  QCOMPARE(finished.front().at(1).toInt(), 0);
  QVERIFY(page()->startButton()->isEnabled());
  QVERIFY(!kd::cli::running(dir));
  QString text = page()->progress()->toPlainText();
  QVERIFY2(text.contains("$ kdctl stop --profile cpt") && text.contains("Stopping \"cpt\"") &&
               text.contains("stopped.") && text.contains("kdctl stop finished"),
           qPrintable(text));
  QVERIFY(!whileRunning.isEmpty());
  QVERIFY(whileRunning.back().contains("Stopping") &&
          !whileRunning.back().contains("kdctl stop finished"));
  KD_TRY_VERIFY(page()->header()->text().contains("unreachable"));

  whileRunning.clear();
  QCOMPARE(run(page()->startButton()), 0);
  QVERIFY(kd::cli::running(dir));
  text = page()->progress()->toPlainText();
  QVERIFY2(text.contains("Starting control plane \"cpt\"") && text.contains("Done!"),
           qPrintable(text));
  // Several steps reached the pane before the command ended.
  QVERIFY(whileRunning.size() >= 3);
  QVERIFY(!whileRunning.front().contains("Done!"));
  KD_TRY_VERIFY(page()->header()->text().contains(gitVersion()));
  // The informers found the restarted engine: the table still follows the cluster.
  QVERIFY(admin_
              ->patch(kind("nodes"), "", "cpt-m01", kd::client::PatchType::Merge,
                      R"({"spec":{"unschedulable":true}})")
              .ok());
  KD_TRY_COMPARE(cell(page(), "cpt-m01", ClusterPage::kReady), QString("Ready,SchedulingDisabled"));
}

void ClusterPageTest::deleteAsksThenRemovesProfile() {
  const fs::path dir = kd::cli::dataRoot() / kProfile;
  const QString before = page()->progress()->toPlainText();
  answer_ = false;
  page()->deleteButton()->click();
  QCOMPARE(questions_.size(), 1);
  QVERIFY(questions_.front().contains("\"cpt\""));
  QVERIFY(!page()->commandRunning());
  QCOMPARE(page()->progress()->toPlainText(), before);
  QVERIFY(fs::exists(dir));

  answer_ = true;
  QCOMPARE(run(page()->deleteButton()), 0);
  QCOMPARE(questions_.size(), 2);
  QVERIFY(page()->progress()->toPlainText().contains("Removed all traces of the \"cpt\" cluster"));
  QVERIFY(!fs::exists(dir));
}

QTEST_MAIN(ClusterPageTest)
#include "cluster_page_test.moc"

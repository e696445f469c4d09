// The dashboard against a real kubedesk-engine with three simulated nodes, on the offscreen
// platform: live tables, filters, the pod detail pane, sidebar counts, hidden Secret values
// and the delete, scale, rollout and CronJob actions.

#include <QApplication>
#include <QComboBox>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTableView>
#include <QTemporaryDir>
#include <QThreadPool>
#include <QTreeWidget>
#include <QtTest>
#include <atomic>
#include <thread>

#include "dashboard/cluster_session.h"
#include "dashboard/main_window.h"
#include "dashboard/manifest_editor.h"
#include "dashboard/object_detail_view.h"
#include "dashboard/pod_detail_view.h"
#include "dashboard/resource_filter_model.h"
#include "engine/api/table.h"
#include "tests/e2e/engine_process.h"
#include "tests/support/settle.h"

using kd::dashboard::ClusterSession;
using kd::dashboard::MainWindow;
using kd::dashboard::ResourceTableModel;
using namespace std::chrono_literals;

namespace {

const char* const kProbedPod =
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: probed, namespace: dash-a, labels: {app: probed}}\n"
    "spec:\n"
    "  containers:\n"
    "  - name: app\n"
    "    image: busybox\n"
    "    command: [sleep, '3600']\n"
    "    ports: [{containerPort: 8080}]\n"
    "    resources: {requests: {cpu: 100m, memory: 32Mi}, limits: {memory: 64Mi}}\n"
    "    readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 7}\n"
    "    livenessProbe: {exec: {command: [cat, /tmp/ok]}, failureThreshold: 4}\n";

}  // namespace

class DashboardTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void cleanupTestCase();
  void init();
  void podsTableFills();
  void deploymentPodsAppearAndRunLive();
  void ageUpdatesLive();
  void filters_data();
  void filters();
  void sortsNumerically();
  void podDetailShowsContainersProbesConditions();
  void emptyDetailAsksNoLayoutAsPodsChange();
  void podsCacheIsCompactDetailIsFull();
  void sidebarCountsFollowTables();
  void secretValuesHiddenUntilRevealed();
  void scaleReachesApi();
  void deleteAsksThenReachesApi();
  void scaleErrorShowsStatusMessage();
  void deletingDeploymentRemovesItsPods();
  void rolloutActionsReachApi();
  void cronJobActionsReachApi();
  void editorMarksInvalidFieldOnItsLine_data();
  void editorMarksInvalidFieldOnItsLine();
  void editorAppliesValidManifest();
  void editorTemplatesValidateAndApply_data();
  void editorTemplatesValidateAndApply();
  void editorDiffsAgainstLiveObject();
  void editorOpensAndSavesFiles();
  void largeBatchAppliesInSlices();
  void hiddenSectionsWaitForTheShownOne();
  void editOpensTheLiveObject();
  void closedSessionLeavesRunningCallsTheirClient();

 private:
  void kubectlOk(const QStringList& args, const QByteArray& input = {}) {
    auto r = engine_->kubectl(args, input);
    KD_VERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
  }
  ResourceTableModel* pods() { return session_->model(kind("pods")); }
  kd::Status act(kd::dashboard::ObjectAction action);
  static const kd::api::KindInfo& kind(const char* resource) {
    return *kd::api::KindsRegistry::builtin().resolve(resource);
  }
  // Keys of the rows of `model` that start with `prefix`.
  static QStringList keys(ResourceTableModel* model, const QString& prefix) {
    QStringList out;
    for (int r = 0; r < model->rowCount(); ++r) {
      QString key = model->index(r, 0).data(ResourceTableModel::KeyRole).toString();
      if (key.startsWith(prefix)) out << key;
    }
    return out;
  }
  static QString cell(ResourceTableModel* model, const QString& key, const QString& column) {
    const int row = model->rowOfKey(key.toStdString());
    return row < 0 ? QString() : model->index(row, model->columnNamed(column)).data().toString();
  }
  bool allRunning(const QString& prefix, int count) {
    const QStringList k = keys(pods(), prefix);
    if (k.size() != count) return false;
    for (const auto& key : k) {
      if (cell(pods(), key, "Status") != "Running") return false;
    }
    return true;
  }

  std::unique_ptr<EngineProcess> engine_;
  std::unique_ptr<ClusterSession> session_;
  std::unique_ptr<MainWindow> window_;
  QStringList questions_;
  bool answer_ = true;
  int replicas_ = 4;
};

void DashboardTest::initTestCase() {
  QStandardPaths::setTestModeEnabled(true);  // QSettings stay out of the user's config
  engine_ = std::make_unique<EngineProcess>(QString(), QStringList{"--simulated-nodes", "3"});
  KD_VERIFY2(engine_->start(), qPrintable(engine_->log()));
  auto client = engine_->adminClient();
  KD_VERIFY2(client.ok(), client.status().message().c_str());
  session_ = std::make_unique<ClusterSession>(std::move(*client));
  window_ = std::make_unique<MainWindow>(session_.get());
  window_->setPrompts(
      {[this](QWidget*, const QString& q) {
         questions_ << q;
         return answer_;
       },
       [this](QWidget*, const QString&, int) { return std::optional<int>(replicas_); }});
  window_->resize(1200, 800);
  window_->show();
  kubectlOk({"create", "namespace", "dash-a"});
  kubectlOk({"create", "namespace", "dash-b"});
}

void DashboardTest::cleanupTestCase() {
  window_.reset();
  session_.reset();
  engine_.reset();
}

// Every test starts from an unfiltered table.
void DashboardTest::init() {
  window_->namespaceSelector()->setCurrentIndex(0);
  window_->textFilter()->clear();
}

void DashboardTest::podsTableFills() {
  QVERIFY(window_->showSection("pods"));
  kubectlOk({"-n", "dash-a", "run", "solo", "--image=busybox", "--", "sleep", "3600"});
  QTRY_VERIFY_WITH_TIMEOUT(keys(pods(), "dash-a/solo").size() == 1, 15000);
  QTRY_COMPARE_WITH_TIMEOUT(cell(pods(), "dash-a/solo", "Status"), QString("Running"), 30000);
  const int row = pods()->rowOfKey("dash-a/solo");
  QCOMPARE(pods()->healthAt(row), kd::dashboard::Health::Good);
  const QModelIndex status = pods()->index(row, pods()->columnNamed("Status"));
  QVERIFY(status.data(Qt::ForegroundRole).value<QColor>().isValid());
  QVERIFY(!status.data(Qt::DecorationRole).value<QIcon>().isNull());
  // What the table shows is what kubectl prints.
  auto r = engine_->kubectl({"-n", "dash-a", "get", "pod", "solo", "--no-headers"});
  QVERIFY(r.out.simplified().startsWith("solo 1/1 Running 0"));
  QCOMPARE(cell(pods(), "dash-a/solo", "Ready"), QString("1/1"));
  QCOMPARE(window_->table()->model()->rowCount(), window_->filter()->rowCount());
}

void DashboardTest::deploymentPodsAppearAndRunLive() {
  kubectlOk({"-n", "dash-a", "create", "deployment", "web", "--image=busybox", "--replicas=3"});
  QTRY_VERIFY_WITH_TIMEOUT(keys(pods(), "dash-a/web-").size() == 3, 30000);
  QTRY_VERIFY_WITH_TIMEOUT(allRunning("dash-a/web-", 3), 30000);
  kubectlOk({"-n", "dash-b", "create", "deployment", "api", "--image=busybox", "--replicas=2"});
  QTRY_VERIFY_WITH_TIMEOUT(allRunning("dash-b/api-", 2), 30000);
}

void DashboardTest::ageUpdatesLive() {
  const QString before = cell(pods(), "dash-a/solo", "Age");
  QVERIFY(before.endsWith('s') || before.endsWith('m'));
  KD_TRY_VERIFY(cell(pods(), "dash-a/solo", "Age") != before);
}

void DashboardTest::filters_data() {
  QTest::addColumn<QString>("ns");
  QTest::addColumn<QString>("text");
  QTest::addColumn<QString>("expectPrefix");
  QTest::addColumn<int>("count");
  QTest::newRow("namespace dash-b") << "dash-b"
                                    << ""
                                    << "dash-b/api-" << 2;
  QTest::newRow("text web, all namespaces") << ""
                                            << "web-"
                                            << "dash-a/web-" << 3;
  QTest::newRow("namespace and text") << "dash-a"
                                      << "solo"
                                      << "dash-a/solo" << 1;
  QTest::newRow("text matches nothing") << "dash-b"
                                        << "web-"
                                        << "" << 0;
}

void DashboardTest::filters() {
  QFETCH(QString, ns);
  QFETCH(QString, text);
  QFETCH(QString, expectPrefix);
  QFETCH(int, count);
  QVERIFY(window_->showSection("pods"));
  QComboBox* box = window_->namespaceSelector();
  KD_TRY_VERIFY(box->findData("dash-b") >= 0);
  box->setCurrentIndex(box->findData(ns));
  window_->textFilter()->setText(text);
  QAbstractItemModel* view = window_->table()->model();
  QCOMPARE(view->rowCount(), count);
  for (int r = 0; r < view->rowCount(); ++r) {
    QVERIFY(
        view->index(r, 0).data(ResourceTableModel::KeyRole).toString().startsWith(expectPrefix));
  }
  box->setCurrentIndex(0);
  window_->textFilter()->clear();
  QCOMPARE(view->rowCount(), pods()->rowCount());
}

// Names and numbers sort the way people read them: sort-9 before sort-10.
void DashboardTest::sortsNumerically() {
  for (const char* name : {"sort-10", "sort-9", "sort-100"})
    kubectlOk({"-n", "dash-b", "create", "configmap", name});
  QVERIFY(window_->showSection("configmaps"));
  window_->textFilter()->setText("sort-");
  QAbstractItemModel* view = window_->table()->model();
  KD_TRY_COMPARE(view->rowCount(), 3);
  ResourceTableModel* configMaps = session_->model(kind("configmaps"));
  const int name = configMaps->columnNamed("Name");
  auto names = [&] {
    QStringList out;
    for (int r = 0; r < view->rowCount(); ++r) out << view->index(r, name).data().toString();
    return out;
  };
  window_->table()->sortByColumn(name, Qt::AscendingOrder);
  QCOMPARE(names(), (QStringList{"sort-9", "sort-10", "sort-100"}));
  window_->table()->sortByColumn(name, Qt::DescendingOrder);
  QCOMPARE(names(), (QStringList{"sort-100", "sort-10", "sort-9"}));
}

void DashboardTest::podDetailShowsContainersProbesConditions() {
  kubectlOk({"apply", "-f", "-"}, kProbedPod);
  QVERIFY(window_->showSection("pods"));
  QTRY_VERIFY_WITH_TIMEOUT(window_->selectKey("dash-a/probed"), 15000);
  auto* detail = window_->podDetail();
  QVERIFY(detail->isVisible());
  QTreeWidget* containers = detail->tree("containers");
  // The detail shows the full pod, which it GETs once selected (the cache keeps compact pods).
  QTRY_COMPARE_WITH_TIMEOUT(containers->topLevelItemCount(), 1, 15000);
  QTreeWidgetItem* c = containers->topLevelItem(0);
  QCOMPARE(c->text(0), QString("app"));
  QCOMPARE(c->text(4), QString("busybox"));
  QCOMPARE(c->text(5), QString("8080/TCP"));
  QCOMPARE(c->text(6), QString("cpu=100m, memory=32Mi"));
  QCOMPARE(c->text(7), QString("memory=64Mi"));
  // Live: the pod turns Running on its simulated node while it is shown.
  QTRY_COMPARE_WITH_TIMEOUT(detail->tree("containers")->topLevelItem(0)->text(1),
                            QString("Running"), 30000);
  QTreeWidget* probes = detail->tree("probes");
  QCOMPARE(probes->topLevelItemCount(), 2);
  QCOMPARE(probes->topLevelItem(0)->text(1), QString("Liveness"));
  QCOMPARE(probes->topLevelItem(0)->text(2), QString("exec cat /tmp/ok"));
  QCOMPARE(probes->topLevelItem(0)->text(7), QString("4"));
  QCOMPARE(probes->topLevelItem(1)->text(1), QString("Readiness"));
  QCOMPARE(probes->topLevelItem(1)->text(2), QString("httpGet :8080/ready"));
  QCOMPARE(probes->topLevelItem(1)->text(4), QString("7s"));
  QStringList conditions;
  QTreeWidget* conds = detail->tree("conditions");
  for (int i = 0; i < conds->topLevelItemCount(); ++i)
    conditions << conds->topLevelItem(i)->text(0);
  KD_VERIFY2(conditions.contains("PodScheduled"), qPrintable(conditions.join(',')));
  KD_VERIFY2(conditions.contains("Ready"), qPrintable(conditions.join(',')));
  // The scheduler's event about this pod reaches the Events tab.
  QTRY_VERIFY_WITH_TIMEOUT(detail->tree("events")->topLevelItemCount() > 0, 15000);
}

// With no pod selected, the pods' batches leave the empty pod detail alone: clearing it again
// would ask for a new layout of the window on every batch of a busy cluster.
void DashboardTest::emptyDetailAsksNoLayoutAsPodsChange() {
  QVERIFY(window_->showSection("pods"));
  window_->table()->selectionModel()->clear();
  auto* detail = window_->podDetail();
  KD_TRY_VERIFY(detail->isVisible() && !detail->pod());
  QTest::qWait(100);  // the detail refresh of the cleared selection
  class LayoutRequests : public QObject {
   public:
    int count = 0;
    bool eventFilter(QObject*, QEvent* e) override {
      count += e->type() == QEvent::LayoutRequest;
      return false;
    }
  } layouts;
  detail->installEventFilter(&layouts);
  QSignalSpy batches(pods(), &ResourceTableModel::batchApplied);
  for (int n = 1; n <= 2; ++n) {  // one after the other: a batch each
    kubectlOk({"-n", "dash-a", "run", n == 1 ? "idle-a" : "idle-b", "--image=busybox", "--",
               "sleep", "3600"});
    QTRY_VERIFY_WITH_TIMEOUT(allRunning("dash-a/idle-", n), 30000);
  }
  QTest::qWait(100);
  KD_VERIFY2(batches.count() >= 2, qPrintable(QString::number(batches.count())));
  QCOMPARE(layouts.count, 0);
  // The probe sees layouts: showing a pod and clearing it again asks for them.
  QVERIFY(window_->selectKey("dash-a/idle-a"));
  KD_TRY_VERIFY(detail->pod());  // its full object has come
  window_->table()->selectionModel()->clear();
  KD_TRY_VERIFY(!detail->pod());
  KD_TRY_VERIFY(layouts.count > 0);
  kubectlOk({"-n", "dash-a", "delete", "pod", "idle-a", "idle-b", "--wait=false"});
}

// The pods informer caches compact pods (what the table and the Cluster page read), printed
// exactly as the full pod is; the selected pod's detail shows the full pod, probes included.
void DashboardTest::podsCacheIsCompactDetailIsFull() {
  kubectlOk({"apply", "-f", "-"}, kProbedPod);
  QVERIFY(window_->showSection("pods"));
  QTRY_VERIFY_WITH_TIMEOUT(window_->selectKey("dash-a/probed"), 15000);
  auto* detail = window_->podDetail();
  const kd::client::RemoteInformer& informer = session_->bridge(kind("pods"))->informer();
  // Once the detail holds the same version of the pod as the cache (both move while it starts).
  auto version = [](const kd::api::CachedObject& o) {
    return o ? std::string(kd::api::stringAt(*o, "metadata", "resourceVersion")) : std::string();
  };
  KD_TRY_VERIFY(detail->pod() &&
                version(detail->pod()) == version(informer.get("dash-a", "probed")) &&
                detail->tree("containers")->topLevelItem(0)->text(1) == "Running");
  const kd::api::CachedObject full = detail->pod();
  const kd::api::CachedObject compact = informer.get("dash-a", "probed");
  QVERIFY(compact && version(compact) == version(full));
  const kd::json& cached = compact->at("spec").at("containers").at(0);
  QCOMPARE(cached.value("name", ""), std::string("app"));
  QVERIFY(cached.contains("ports"));
  for (const char* dropped : {"image", "readinessProbe", "livenessProbe", "resources"})
    KD_VERIFY2(!cached.contains(dropped), dropped);
  QVERIFY(!compact->at("metadata").contains("managedFields"));
  QVERIFY(compact->dump().size() < full->dump().size() / 2);
  const kd::json& shown = full->at("spec").at("containers").at(0);
  QVERIFY(shown.contains("readinessProbe") && shown.contains("image"));
  QCOMPARE(detail->tree("probes")->topLevelItemCount(), 2);
  QCOMPARE(detail->tree("containers")->topLevelItem(0)->text(4), QString("busybox"));
  // Every column of the pod printer (the hidden ones too) and the row's conditions are the
  // same for the compact and the full pod.
  const auto now = std::chrono::system_clock::now();
  auto printed = [&](const kd::api::CachedObject& pod) {
    return kd::api::buildTable(kind("pods"), {pod.get()}, kd::json::object(),
                               kd::api::TableObjects::None, now)["rows"];
  };
  QCOMPARE(printed(compact).dump(), printed(full).dump());
}

void DashboardTest::sidebarCountsFollowTables() {
  KD_TRY_COMPARE(window_->sidebarText("pods"), QString("Pods (%1)").arg(pods()->rowCount()));
  KD_TRY_COMPARE(window_->sidebarText("nodes"), QString("Nodes (3)"));
  KD_TRY_COMPARE(window_->sidebarText("deployments"), QString("Deployments (2)"));
}

void DashboardTest::secretValuesHiddenUntilRevealed() {
  kubectlOk(
      {"-n", "dash-a", "create", "secret", "generic", "creds", "--from-literal=password=hunter2"});
  QVERIFY(window_->showSection("secrets"));
  KD_TRY_VERIFY(window_->selectKey("dash-a/creds"));
  auto* detail = window_->objectDetail();
  QVERIFY(detail->isVisible());
  QVERIFY(detail->yamlText().contains("password"));
  QVERIFY(!detail->yamlText().contains("hunter2"));
  QVERIFY(!detail->yamlText().contains("aHVudGVyMg"));  // base64 of the value
  detail->setRevealed(true);
  QVERIFY(detail->yamlText().contains("hunter2"));
}

void DashboardTest::scaleReachesApi() {
  QVERIFY(window_->showSection("deployments"));
  KD_TRY_VERIFY(window_->selectKey("dash-a/web"));
  QSignalSpy done(window_.get(), &MainWindow::actionFinished);
  window_->scaleSelected();
  QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 15000);
  QVERIFY(done.at(0).at(1).value<kd::Status>().isOk());
  auto r =
      engine_->kubectl({"-n", "dash-a", "get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"});
  QCOMPARE(r.out, QString("4"));
  QTRY_VERIFY_WITH_TIMEOUT(allRunning("dash-a/web-", 4), 30000);
}

void DashboardTest::deleteAsksThenReachesApi() {
  QVERIFY(window_->showSection("pods"));
  KD_TRY_VERIFY(window_->selectKey("dash-a/solo"));
  QSignalSpy done(window_.get(), &MainWindow::actionFinished);
  answer_ = false;
  window_->deleteSelected();
  QCOMPARE(questions_.size(), 1);
  QVERIFY(questions_.last().contains("solo"));
  QTest::qWait(300);
  QCOMPARE(done.count(), 0);  // declined: no call
  answer_ = true;
  window_->deleteSelected();
  QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 15000);
  KD_VERIFY2(done.at(0).at(1).value<kd::Status>().isOk(),
             done.at(0).at(1).value<kd::Status>().message().c_str());
  QTRY_VERIFY_WITH_TIMEOUT(keys(pods(), "dash-a/solo").isEmpty(), 30000);
  auto r = engine_->kubectl({"-n", "dash-a", "get", "pod", "solo"});
  QVERIFY(r.err.contains("NotFound"));
}

void DashboardTest::scaleErrorShowsStatusMessage() {
  QVERIFY(window_->showSection("deployments"));
  KD_TRY_VERIFY(window_->selectKey("dash-a/web"));
  replicas_ = -1;
  QSignalSpy done(window_.get(), &MainWindow::actionFinished);
  window_->scaleSelected();
  replicas_ = 4;
  QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 15000);
  const auto status = done.at(0).at(1).value<kd::Status>();
  QCOMPARE(status.code(), 422);
  const QString shown = window_->statusBar()->currentMessage();
  KD_VERIFY2(shown.contains(QString::fromStdString(status.message())), qPrintable(shown));
  KD_VERIFY2(shown.contains("greater than or equal to 0"), qPrintable(shown));
}

void DashboardTest::deletingDeploymentRemovesItsPods() {
  QVERIFY(!keys(pods(), "dash-b/api-").isEmpty());
  kubectlOk({"-n", "dash-b", "delete", "deployment", "api"});
  QTRY_VERIFY_WITH_TIMEOUT(keys(pods(), "dash-b/api-").isEmpty(), 30000);
}

// Runs `action` on the selected object and waits for its outcome.
kd::Status DashboardTest::act(kd::dashboard::ObjectAction action) {
  QSignalSpy done(window_.get(), &MainWindow::actionFinished);
  window_->runObjectAction(action);
  if (!done.wait(15000) && done.isEmpty()) return kd::Status::timeout("no outcome");
  return done.at(0).at(1).value<kd::Status>();
}

void DashboardTest::rolloutActionsReachApi() {
  using kd::dashboard::ObjectAction;
  kubectlOk({"-n", "dash-b", "create", "deployment", "roll", "--image=busybox:1"});
  QVERIFY(window_->showSection("deployments"));
  KD_TRY_VERIFY(window_->selectKey("dash-b/roll"));
  auto get = [this](const char* path) {
    return engine_
        ->kubectl(
            {"-n", "dash-b", "get", "deploy", "roll", "-o", QString("jsonpath={%1}").arg(path)})
        .out;
  };
  QVERIFY(act(ObjectAction::RestartRollout).isOk());
  QVERIFY(
      !get(".spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt").isEmpty());
  QVERIFY(act(ObjectAction::PauseRollout).isOk());
  QCOMPARE(get(".spec.paused"), QString("true"));
  // The table's copy follows the watch: then the window offers Resume, and a restart of a
  // paused deployment is refused with kubectl's words.
  QTRY_VERIFY_WITH_TIMEOUT(
      (kd::dashboard::actionsFor(kind("deployments"), *window_->selectedObject()).back() ==
       ObjectAction::ResumeRollout),
      15000);
  const kd::Status refused = act(ObjectAction::RestartRollout);
  KD_VERIFY2(refused.message().find("can't restart paused deployment") != std::string::npos,
             refused.message().c_str());
  KD_VERIFY2(window_->statusBar()->currentMessage().contains("can't restart paused deployment"),
             qPrintable(window_->statusBar()->currentMessage()));
  QVERIFY(act(ObjectAction::ResumeRollout).isOk());
  QCOMPARE(get(".spec.paused"), QString());
  kubectlOk({"-n", "dash-b", "set", "image", "deploy/roll", "busybox=busybox:2"});
  QTRY_VERIFY_WITH_TIMEOUT(
      get(".metadata.annotations.deployment\\.kubernetes\\.io/revision") == "3", 15000);
  QTRY_VERIFY_WITH_TIMEOUT(
      window_->selectedObject()->value("/spec/template/spec/containers/0/image"_json_pointer, "") ==
          "busybox:2",
      15000);
  QVERIFY(act(ObjectAction::UndoRollout).isOk());
  QCOMPARE(get(".spec.template.spec.containers[0].image"), QString("busybox:1"));
}

void DashboardTest::cronJobActionsReachApi() {
  using kd::dashboard::ObjectAction;
  kubectlOk({"-n", "dash-b", "create", "cronjob", "nightly", "--image=busybox",
             "--schedule=0 3 * * *", "--", "true"});
  QVERIFY(window_->showSection("cronjobs"));
  KD_TRY_VERIFY(window_->selectKey("dash-b/nightly"));
  QVERIFY(act(ObjectAction::TriggerCronJob).isOk());
  auto jobs = engine_->kubectl({"-n", "dash-b", "get", "jobs", "-o",
                                "jsonpath={range .items[*]}{.metadata.name} "
                                "{.metadata.ownerReferences[0].name} "
                                "{.metadata.annotations.cronjob\\.kubernetes\\.io/instantiate}"
                                "{end}"});
  KD_VERIFY2(
      QRegularExpression("^nightly-manual-[a-z0-9]{5} nightly manual$").match(jobs.out).hasMatch(),
      qPrintable(jobs.out));
  QVERIFY(act(ObjectAction::SuspendCronJob).isOk());
  QCOMPARE(
      engine_
          ->kubectl({"-n", "dash-b", "get", "cronjob", "nightly", "-o", "jsonpath={.spec.suspend}"})
          .out,
      QString("true"));
}

void DashboardTest::editorMarksInvalidFieldOnItsLine_data() {
  QTest::addColumn<QString>("yaml");
  QTest::addColumn<int>("line");  // 0-based
  QTest::addColumn<QString>("field");
  QTest::newRow("negative replicas")
      << "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\n  namespace: dash-a\n"
         "spec:\n  replicas: -2\n  selector: {matchLabels: {app: bad}}\n"
         "  template:\n    metadata: {labels: {app: bad}}\n"
         "    spec: {containers: [{name: c, image: busybox}]}\n"
      << 6 << "spec.replicas";
  QTest::newRow("second document, missing image")
      << "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine, namespace: dash-a}\n---\n"
         "apiVersion: v1\nkind: Pod\nmetadata:\n  name: noimage\n  namespace: dash-a\n"
         "spec:\n  containers:\n  - name: c\n    command: [sleep]\n"
      << 11 << "spec.containers[0].image";
}

void DashboardTest::editorMarksInvalidFieldOnItsLine() {
  QFETCH(QString, yaml);
  QFETCH(int, line);
  QFETCH(QString, field);
  kd::dashboard::ManifestEditor* editor = window_->editor();
  QSignalSpy validated(editor, &kd::dashboard::ManifestEditor::validated);
  editor->setText(yaml);  // live validation follows the edit
  KD_TRY_VERIFY(validated.count() >= 1);
  const auto status = validated.last().at(0).value<kd::Status>();
  QCOMPARE(status.code(), 422);
  QVERIFY(!editor->problems().empty());
  const auto& problem = editor->problems().front();
  KD_VERIFY2(problem.message.startsWith(field), qPrintable(problem.message));
  QCOMPARE(problem.line, line);
  QCOMPARE(int(editor->editor()->extraSelections().size()), 1);
  QCOMPARE(editor->editor()->extraSelections().front().cursor.blockNumber(), line);
  // A dry run writes nothing.
  auto r = engine_->kubectl({"-n", "dash-a", "get", "configmap", "fine"});
  QVERIFY(r.exitCode != 0);
}

void DashboardTest::editorAppliesValidManifest() {
  kd::dashboard::ManifestEditor* editor = window_->editor();
  QSignalSpy applied(editor, &kd::dashboard::ManifestEditor::applied);
  editor->setText(
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: edited, namespace: dash-a}\n"
      "data: {color: blue}\n");
  editor->apply();
  KD_TRY_COMPARE(applied.count(), 1);
  QVERIFY(applied.at(0).at(0).value<kd::Status>().isOk());
  QVERIFY(editor->problems().empty());
  auto r = engine_->kubectl(
      {"-n", "dash-a", "get", "configmap", "edited", "-o", "jsonpath={.data.color}"});
  QCOMPARE(r.out, QString("blue"));
  // Applying again merges into the live object.
  editor->setText(
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: edited, namespace: dash-a}\n"
      "data: {color: green}\n");
  editor->apply();
  KD_TRY_COMPARE(applied.count(), 2);
  QVERIFY(applied.at(1).at(0).value<kd::Status>().isOk());
  r = engine_->kubectl(
      {"-n", "dash-a", "get", "configmap", "edited", "-o", "jsonpath={.data.color}"});
  QCOMPARE(r.out, QString("green"));
}

void DashboardTest::editorTemplatesValidateAndApply_data() {
  QTest::addColumn<QString>("name");
  for (const QString& name : kd::dashboard::ManifestEditor::templateNames()) {
    QTest::newRow(qPrintable(name)) << name;
  }
}

// Every bundled template passes the server's strict validation and applies as it is.
void DashboardTest::editorTemplatesValidateAndApply() {
  QFETCH(QString, name);
  kd::dashboard::ManifestEditor* editor = window_->editor();
  QVERIFY(editor->loadTemplate(name));
  QVERIFY(editor->text().contains("kind: " + name + "\n"));
  QSignalSpy validated(editor, &kd::dashboard::ManifestEditor::validated);
  QSignalSpy applied(editor, &kd::dashboard::ManifestEditor::applied);
  editor->validate();
  KD_TRY_COMPARE(validated.count(), 1);
  const auto status = validated.at(0).at(0).value<kd::Status>();
  KD_VERIFY2(status.isOk(), status.message().c_str());
  editor->apply();
  KD_TRY_COMPARE(applied.count(), 1);
  KD_VERIFY2(applied.at(0).at(0).value<kd::Status>().isOk(),
             applied.at(0).at(0).value<kd::Status>().message().c_str());
}

void DashboardTest::editorDiffsAgainstLiveObject() {
  kd::dashboard::ManifestEditor* editor = window_->editor();
  QSignalSpy diffed(editor, &kd::dashboard::ManifestEditor::diffed);
  QVERIFY(editor->loadTemplate("ConfigMap"));  // applied by the test before
  editor->diff();
  KD_TRY_COMPARE(diffed.count(), 1);
  QVERIFY(diffed.at(0).at(0).value<kd::Status>().isOk());
  QCOMPARE(editor->diffText(), QString());  // nothing would change
  editor->setText(editor->text().replace("LOG_LEVEL: info", "LOG_LEVEL: debug"));
  editor->diff();
  KD_TRY_COMPARE(diffed.count(), 2);
  const QString diff = editor->diffText();
  KD_VERIFY2(diff.startsWith("--- live/configmaps/settings\n+++ merged/configmaps/settings\n"),
             qPrintable(diff));
  KD_VERIFY2(diff.contains("\n-  LOG_LEVEL: info\n+  LOG_LEVEL: debug\n"), qPrintable(diff));
  // A diff is a dry run: the live object is unchanged.
  QCOMPARE(
      engine_->kubectl({"get", "configmap", "settings", "-o", "jsonpath={.data.LOG_LEVEL}"}).out,
      QString("info"));
  // A new object diffs against nothing; an invalid one is refused with the server's Status.
  editor->setText(editor->text().replace("name: settings", "name: settings-new"));
  editor->diff();
  KD_TRY_COMPARE(diffed.count(), 3);
  QVERIFY(editor->diffText().startsWith("--- live/configmaps/settings-new\n"));
  QVERIFY(editor->diffText().contains("\n+  LOG_LEVEL: debug\n"));
  editor->setText("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad}\ndata: {a: [1]}\n");
  editor->diff();
  KD_TRY_COMPARE(diffed.count(), 4);
  QVERIFY(!diffed.at(3).at(0).value<kd::Status>().isOk());
  QVERIFY(!editor->problems().empty());
}

void DashboardTest::editorOpensAndSavesFiles() {
  kd::dashboard::ManifestEditor* editor = window_->editor();
  QTemporaryDir dir;
  const QString path = dir.filePath("app.yaml");
  QVERIFY(editor->loadTemplate("Deployment"));
  const QString text = editor->text();
  QVERIFY(editor->saveFile(path).isOk());
  editor->setText("");
  QVERIFY(editor->openFile(path).isOk());
  QCOMPARE(editor->text(), text);
  const kd::Status missing = editor->openFile(dir.filePath("missing.yaml"));
  QVERIFY(!missing.isOk());
  KD_VERIFY2(missing.message().find("missing.yaml") != std::string::npos,
             missing.message().c_str());
  QCOMPARE(editor->text(), text);  // nothing lost
  QVERIFY(!editor->saveFile(dir.filePath("no/such/dir/x.yaml")).isOk());
}

// 1,200 ConfigMaps reach the model as one batch (the bridge flushes when the list is in, and
// then only every 10 s): the model
// inserts them a slice at a time, never more than kSliceRows rows per insertion.
void DashboardTest::largeBatchAppliesInSlices() {
  kubectlOk({"create", "namespace", "dash-slices"});
  QString list = "apiVersion: v1\nkind: List\nitems:\n";
  for (int i = 0; i < 1200; ++i) {
    list += QString(
                "- {apiVersion: v1, kind: ConfigMap, metadata: {name: cm-%1, namespace: "
                "dash-slices}, data: {k: v}}\n")
                .arg(i);
  }
  kubectlOk({"create", "-f", "-"}, list.toUtf8());
  kd::client::RemoteInformerOptions options;
  options.namespaceName = "dash-slices";
  kd::dashboard::InformerBridge bridge(
      std::make_unique<kd::client::RemoteInformer>(session_->client(), kind("configmaps"), options),
      nullptr, 10000ms);
  ResourceTableModel model(kind("configmaps"));
  model.follow(&bridge);
  std::vector<int> inserted;
  connect(&model, &QAbstractItemModel::rowsInserted, this,
          [&inserted](const QModelIndex&, int first, int last) {
            inserted.push_back(last - first + 1);
          });
  QSignalSpy applied(&model, &ResourceTableModel::batchApplied);
  bridge.start();
  QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 1201, 30000);  // and kube-root-ca.crt
  QTRY_VERIFY_WITH_TIMEOUT(model.caughtUp() && applied.count() == 1, 10000);
  QCOMPARE(bridge.batchCount(), 1);
  KD_VERIFY2(inserted.size() >= 3, qPrintable(QString::number(inserted.size())));
  for (int n : inserted)
    KD_VERIFY2(n <= ResourceTableModel::kSliceRows, qPrintable(QString::number(n)));
}

// A fresh session showing pods: the other sections start listing only after the pods list is
// in; Events are then cached compact.
void DashboardTest::hiddenSectionsWaitForTheShownOne() {
  auto client = engine_->adminClient();
  KD_VERIFY2(client.ok(), client.status().message().c_str());
  ClusterSession session(std::move(*client));
  ResourceTableModel* shown = session.model(kind("pods"));
  auto* events = session.bridge(kind("events"), ClusterSession::Start::WhenIdle);
  session.model(kind("configmaps"), ClusterSession::Start::WhenIdle);
  QVERIFY(session.started(kind("pods")));
  QVERIFY(!session.started(kind("events")));
  bool eventsStartedEarly = false;
  connect(session.bridge(kind("pods")), &kd::dashboard::InformerBridge::syncedChanged, this,
          [&] { eventsStartedEarly = session.started(kind("events")); });
  QTRY_VERIFY_WITH_TIMEOUT(session.bridge(kind("pods"))->synced(), 15000);
  QVERIFY(!eventsStartedEarly);
  QTRY_VERIFY_WITH_TIMEOUT(shown->rowCount() > 0, 15000);
  QTRY_VERIFY_WITH_TIMEOUT(events->synced() && session.started(kind("configmaps")), 15000);
  const auto cached = events->informer().list();
  QVERIFY(!cached.empty());
  for (const auto& e : cached) {
    QVERIFY(!e->contains("reportingInstance"));
    QVERIFY(!kd::api::metadataOf(*e).contains("managedFields"));
    QVERIFY(e->contains("reason") && e->contains("involvedObject"));
  }
}

// The events section caches trimmed events; Edit still opens the whole object from the API.
void DashboardTest::editOpensTheLiveObject() {
  auto client = engine_->adminClient();
  KD_VERIFY2(client.ok(), client.status().message().c_str());
  const kd::json event = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"name", "edit-me"}, {"namespace", "dash-a"}}},
      {"involvedObject", {{"kind", "Pod"}, {"namespace", "dash-a"}, {"name", "solo"}}},
      {"reason", "Tested"},
      {"message", "an event to edit"},
      {"type", "Normal"},
      {"reportingComponent", "dashboard-test"},
      {"reportingInstance", "edit-instance"}};
  auto created = (*client)->create(kind("events"), "dash-a", event);
  KD_VERIFY2(created.ok(), created.status().message().c_str());
  QVERIFY(window_->showSection("events"));
  auto* events = window_->session()->bridge(kind("events"));
  KD_TRY_VERIFY(events->informer().get("dash-a/edit-me") != nullptr);
  QVERIFY(!events->informer().get("dash-a/edit-me")->contains("reportingInstance"));
  KD_TRY_VERIFY(window_->selectKey("dash-a/edit-me"));
  QSignalSpy done(window_.get(), &MainWindow::actionFinished);
  window_->editSelected();
  QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 15000);
  QVERIFY(done.at(0).at(1).value<kd::Status>().isOk());
  const QString yaml = window_->editor()->text();
  KD_VERIFY2(yaml.contains("reportingInstance: edit-instance"), qPrintable(yaml));
  QVERIFY(yaml.contains("kind: Event"));
  QVERIFY(!yaml.contains("uid:"));
}

// A window and its session closed (another context, the app quitting) while one of their calls
// still waits on Qt's pool: the call holds the client, which goes only once the call has run
// (it was freed under the call: the heap corruption two dashboard processes showed at exit).
void DashboardTest::closedSessionLeavesRunningCallsTheirClient() {
  auto client = engine_->adminClient();
  KD_VERIFY2(client.ok(), client.status().message().c_str());
  auto session = std::make_unique<ClusterSession>(std::move(*client));
  const std::weak_ptr<kd::client::ApiClient> weak = session->clientPtr();
  auto window = std::make_unique<MainWindow>(session.get());
  auto* editor = window->findChild<kd::dashboard::ManifestEditor*>();
  QVERIFY(editor);
  // One pool thread, taken by a task that waits: the editor's call is queued behind it.
  QThreadPool* pool = QThreadPool::globalInstance();
  const int threads = pool->maxThreadCount();
  pool->setMaxThreadCount(1);
  std::atomic<bool> release{false};
  pool->start([&release] {
    while (!release) std::this_thread::sleep_for(5ms);
  });
  editor->setText("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: late, namespace: dash-a}\n");
  editor->validate();
  window.reset();
  session.reset();
  QVERIFY(!weak.expired());  // the queued call holds it
  release = true;
  pool->waitForDone();
  pool->setMaxThreadCount(threads);
  QVERIFY(weak.expired());  // and lets it go once it has run
}

int main(int argc, char** argv) {
  qputenv("QT_QPA_PLATFORM", "offscreen");
  QApplication app(argc, argv);
  QApplication::setOrganizationName("KubeDeskTest");
  DashboardTest test;
  return QTest::qExec(&test, argc, argv);
}

#include "dashboard_test.moc"

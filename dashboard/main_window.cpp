#include "dashboard/main_window.h"

#include <QCloseEvent>
#include <QComboBox>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QSettings>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabBar>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>
#include <QToolBar>
#include <QTreeWidget>
#include <QTreeWidgetItemIterator>
#include <map>

#include "dashboard/async_call.h"
#include "dashboard/logs_view.h"
#include "dashboard/manifest_editor.h"
#include "dashboard/object_detail_view.h"
#include "dashboard/pod_detail_view.h"
#include "dashboard/resource_filter_model.h"
#include "dashboard/sections.h"
#include "engine/api/yaml_json.h"

namespace kd::dashboard {
namespace {

constexpr int kResourceRole = Qt::UserRole;

const api::KindInfo& builtinKind(const char* resource) {
  return *api::KindsRegistry::builtin().resolve(resource);
}

QString nameOf(const json& obj) {
  return QString::fromStdString(api::metadataOf(obj).value("name", ""));
}

QString namespaceOf(const json& obj) {
  return QString::fromStdString(api::metadataOf(obj).value("namespace", ""));
}

// A pod has logs; so has anything whose selector reaches pods (workloads, Services).
bool hasLogs(const api::KindInfo& kind, const json& obj) {
  if (kind.kind == "Pod" && kind.group.empty()) return true;
  const auto spec = obj.find("spec");
  if (spec == obj.end() || !spec->is_object()) return false;
  const auto selector = spec->find("selector");
  return selector != spec->end() && selector->is_object() && !selector->empty();
}

}  // namespace

Prompts Prompts::dialogs() {
  return {
      [](QWidget* parent, const QString& question) {
        return QMessageBox::question(parent, QObject::tr("Confirm"), question) == QMessageBox::Yes;
      },
      [](QWidget* parent, const QString& what, int current) -> std::optional<int> {
        bool ok = false;
        int n =
            QInputDialog::getInt(parent, QObject::tr("Scale"), what, current, 0, 100000, 1, &ok);
        return ok ? std::optional<int>(n) : std::nullopt;
      }};
}

MainWindow::MainWindow(ClusterSession* session, QWidget* parent)
    : QMainWindow(parent), session_(session) {
  setWindowTitle(
      tr("KubeDesk — %1").arg(QString::fromStdString(session_->client().access().contextName)));
  setWindowIcon(QIcon(QStringLiteral(":/icons/kubedesk.svg")));
  buildUi();
  startAllSections();
  restoreSettings();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildUi() {
  namespaces_ = new QComboBox;
  namespaces_->setObjectName("namespaces");
  namespaces_->setMinimumContentsLength(16);
  namespaces_->addItem(tr("All namespaces"), QString());
  text_ = new QLineEdit;
  text_->setObjectName("filter");
  text_->setPlaceholderText(tr("Filter (Ctrl+F)"));
  text_->setClearButtonEnabled(true);
  auto* bar = addToolBar(tr("Main"));
  bar->setObjectName("mainToolBar");
  bar->addWidget(namespaces_);
  bar->addWidget(text_);
  deleteAction_ = bar->addAction(tr("Delete"), this, &MainWindow::deleteSelected);
  deleteAction_->setShortcut(QKeySequence::Delete);
  scaleAction_ = bar->addAction(tr("Scale…"), this, &MainWindow::scaleSelected);
  editAction_ = bar->addAction(tr("Edit"), this, &MainWindow::editSelected);
  editAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
  logsAction_ = bar->addAction(tr("Logs"), this, &MainWindow::openLogs);
  logsAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
  auto* find = new QAction(this);
  find->setShortcut(QKeySequence::Find);
  connect(find, &QAction::triggered, text_, qOverload<>(&QWidget::setFocus));
  addAction(find);

  sidebar_ = new QTreeWidget;
  sidebar_->setObjectName("sidebar");
  sidebar_->setHeaderHidden(true);
  std::map<QString, QTreeWidgetItem*> groups;
  for (const auto& s : sidebarSections()) {
    QTreeWidgetItem* item;
    if (s.group.isEmpty()) {
      item = new QTreeWidgetItem(sidebar_, {s.title});
    } else {
      auto& g = groups[s.group];
      if (!g) g = new QTreeWidgetItem(sidebar_, {s.group});
      item = new QTreeWidgetItem(g, {s.title});
    }
    item->setData(0, kResourceRole, s.resource);
    item->setData(0, kResourceRole + 1, s.title);
  }
  sidebar_->expandAll();
  connect(sidebar_, &QTreeWidget::currentItemChanged, this,
          [this](QTreeWidgetItem* item) { onSidebar(item); });

  filter_ = new ResourceFilterModel(this);
  table_ = new QTableView;
  table_->setObjectName("table");
  table_->setModel(filter_);
  table_->setSortingEnabled(true);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->verticalHeader()->hide();
  table_->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
  table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 6);
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->setWordWrap(false);
  connect(table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
          [this] { scheduleDetailRefresh(); });
  connect(namespaces_, &QComboBox::currentIndexChanged, this,
          [this] { filter_->setNamespace(namespaces_->currentData().toString()); });
  connect(text_, &QLineEdit::textChanged, filter_, &ResourceFilterModel::setText);

  podDetail_ = new PodDetailView;
  connect(podDetail_, &PodDetailView::logsRequested, this, &MainWindow::openLogs);
  objectDetail_ = new ObjectDetailView;
  details_ = new QStackedWidget;
  details_->addWidget(objectDetail_);
  details_->addWidget(podDetail_);
  split_ = new QSplitter(Qt::Vertical);
  split_->setObjectName("tableSplit");
  split_->addWidget(table_);
  split_->addWidget(details_);

  clusterPage_ = new QLabel;
  clusterPage_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  clusterPage_->setMargin(16);
  pages_ = new QStackedWidget;
  pages_->addWidget(clusterPage_);
  pages_->addWidget(split_);

  auto* main = new QSplitter(Qt::Horizontal);
  main->setObjectName("mainSplit");
  main->addWidget(sidebar_);
  main->addWidget(pages_);
  main->setStretchFactor(1, 1);
  main->setSizes({220, 1000});
  split_->setSizes({500, 300});
  editor_ = new ManifestEditor(session_->clientPtr());
  tabs_ = new QTabWidget;
  tabs_->addTab(main, tr("Resources"));
  tabs_->addTab(editor_, tr("Editor"));
  // Only logs tabs close.
  tabs_->setTabsClosable(true);
  for (int i = 0; i < tabs_->count(); ++i) {
    tabs_->tabBar()->setTabButton(i, QTabBar::RightSide, nullptr);
    tabs_->tabBar()->setTabButton(i, QTabBar::LeftSide, nullptr);
  }
  connect(tabs_, &QTabWidget::tabCloseRequested, this, [this](int index) {
    if (auto* logs = qobject_cast<LogsView*>(tabs_->widget(index))) {
      tabs_->removeTab(index);
      logs->deleteLater();
    }
  });
  setCentralWidget(tabs_);
  statusBar();
  updateActions();
}

void MainWindow::startAllSections() {
  // Every section's informer runs from the start: the sidebar counts stay live and switching
  // sections shows a table that is already full.
  for (const auto& s : sidebarSections()) {
    const api::KindInfo* kind = kindOf(s);
    if (!kind) continue;
    session_->model(*kind);
    connect(session_->bridge(*kind), &InformerBridge::changed, this, [this, kind] {
      if (kind == kind_ || kind->resource == "events" || kind->resource == "nodes")
        scheduleDetailRefresh();
    });
  }
  connect(session_, &ClusterSession::countChanged, this, &MainWindow::updateCount);
  connect(session_->model(builtinKind("namespaces")), &ResourceTableModel::countChanged, this,
          &MainWindow::updateNamespaces);
}

bool MainWindow::showSection(const QString& resource) {
  for (QTreeWidgetItemIterator it(sidebar_); *it; ++it) {
    if ((*it)->childCount() == 0 && (*it)->data(0, kResourceRole).toString() == resource) {
      sidebar_->setCurrentItem(*it);
      return true;
    }
  }
  return false;
}

void MainWindow::onSidebar(QTreeWidgetItem* item) {
  if (!item || item->childCount() > 0) return;
  resource_ = item->data(0, kResourceRole).toString();
  kind_ = resource_.isEmpty() ? nullptr
                              : api::KindsRegistry::builtin().resolve(resource_.toStdString());
  if (!kind_) {
    model_ = nullptr;
    pages_->setCurrentWidget(clusterPage_);
    scheduleDetailRefresh();
    updateActions();
    return;
  }
  model_ = session_->model(*kind_);
  filter_->setSourceModel(model_);
  // The table's selection model survives a source change; reconnect nothing.
  table_->sortByColumn(-1, Qt::AscendingOrder);
  columnsSized_ = false;
  pages_->setCurrentWidget(split_);
  scheduleDetailRefresh();
  updateActions();
}

QString MainWindow::sidebarText(const QString& resource) const {
  for (QTreeWidgetItemIterator it(sidebar_); *it; ++it) {
    if ((*it)->childCount() == 0 && (*it)->data(0, kResourceRole).toString() == resource)
      return (*it)->text(0);
  }
  return {};
}

void MainWindow::updateCount(const QString& resource, int rows) {
  for (QTreeWidgetItemIterator it(sidebar_); *it; ++it) {
    if ((*it)->childCount() == 0 && (*it)->data(0, kResourceRole).toString() == resource) {
      (*it)->setText(
          0, QStringLiteral("%1 (%2)").arg((*it)->data(0, kResourceRole + 1).toString()).arg(rows));
    }
  }
}

void MainWindow::updateNamespaces() {
  ResourceTableModel* model = session_->model(builtinKind("namespaces"));
  QStringList names;
  for (int r = 0; r < model->rowCount(); ++r) names << nameOf(*model->objectAt(r));
  names.sort();
  const QString current = namespaces_->currentData().toString();
  QSignalBlocker block(namespaces_);
  while (namespaces_->count() > 1) namespaces_->removeItem(1);
  for (const auto& n : names) namespaces_->addItem(n, n);
  const int keep = namespaces_->findData(current);
  namespaces_->setCurrentIndex(keep < 0 ? 0 : keep);
  if (keep < 0) filter_->setNamespace({});
}

bool MainWindow::selectKey(const QString& key) {
  if (!model_) return false;
  const int row = model_->rowOfKey(key.toStdString());
  if (row < 0) return false;
  const QModelIndex index = filter_->mapFromSource(model_->index(row, 0));
  if (!index.isValid()) return false;
  table_->selectionModel()->setCurrentIndex(
      index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
  refreshDetail();
  return true;
}

api::CachedObject MainWindow::selectedObject() const {
  if (!model_) return nullptr;
  const QModelIndex current = table_->selectionModel()->currentIndex();
  if (!current.isValid()) return nullptr;
  return model_->objectAt(filter_->mapToSource(current).row());
}

// Many batches in one event-loop turn refresh the detail once.
void MainWindow::scheduleDetailRefresh() {
  if (detailQueued_) return;
  detailQueued_ = true;
  QTimer::singleShot(0, this, [this] {
    detailQueued_ = false;
    refreshDetail();
  });
}

void MainWindow::refreshDetail() {
  updateActions();
  if (!kind_) {
    const auto& access = session_->client().access();
    ResourceTableModel* nodes = session_->model(builtinKind("nodes"));
    clusterPage_->setText(tr("<h2>Cluster</h2><p>Context: <b>%1</b><br>Server: %2<br>"
                             "Nodes: %3</p>")
                              .arg(QString::fromStdString(access.contextName).toHtmlEscaped(),
                                   QString::fromStdString(access.server).toHtmlEscaped())
                              .arg(nodes->rowCount()));
    return;
  }
  // Columns fit the first rows shown, then keep the width the person gives them.
  if (!columnsSized_ && model_->rowCount() > 0) {
    table_->resizeColumnsToContents();
    columnsSized_ = true;
  }
  const api::CachedObject obj = selectedObject();
  if (kind_->resource == "pods" && kind_->group.empty()) {
    details_->setCurrentWidget(podDetail_);
    podDetail_->setPod(obj, session_->bridge(builtinKind("events"))->informer().list());
  } else {
    details_->setCurrentWidget(objectDetail_);
    objectDetail_->setObject(QString::fromStdString(kind_->kind), obj);
  }
}

void MainWindow::updateActions() {
  const api::CachedObject obj = selectedObject();
  const bool selected = obj != nullptr;
  deleteAction_->setEnabled(selected);
  scaleAction_->setEnabled(selected && kind_ && kind_->hasSubresource("scale"));
  editAction_->setEnabled(selected);
  logsAction_->setEnabled(selected && kind_ && hasLogs(*kind_, *obj));
}

void MainWindow::report(const QString& what, const Status& status) {
  if (status.isOk()) {
    statusBar()->showMessage(what + tr(": done"), 5000);
  } else {
    statusBar()->showMessage(what + ": " + QString::fromStdString(status.message()));
  }
  emit actionFinished(what, status);
}

void MainWindow::deleteSelected() {
  const api::CachedObject obj = selectedObject();
  if (!obj || !kind_) return;
  const QString ns = namespaceOf(*obj), name = nameOf(*obj);
  const QString what =
      QStringLiteral("delete %1 %2")
          .arg(QString::fromStdString(kind_->resource), ns.isEmpty() ? name : ns + "/" + name);
  if (!prompts_.confirm(this,
                        tr("Delete %1 \"%2\"?").arg(QString::fromStdString(kind_->kind), name))) {
    return;
  }
  client::ApiClient* client = session_->clientPtr();
  runAsync<json>(
      this,
      [client, kind = *kind_, ns = ns.toStdString(), name = name.toStdString()] {
        return client->remove(kind, ns, name);
      },
      [this, what](const Result<json>& r) { report(what, r.status()); });
}

void MainWindow::scaleSelected() {
  const api::CachedObject obj = selectedObject();
  if (!obj || !kind_ || !kind_->hasSubresource("scale")) return;
  const QString ns = namespaceOf(*obj), name = nameOf(*obj);
  int current = 0;
  if (auto spec = obj->find("spec"); spec != obj->end() && spec->is_object())
    current = spec->value("replicas", 1);
  const auto replicas = prompts_.replicas(
      this, tr("Replicas of %1 \"%2\":").arg(QString::fromStdString(kind_->kind), name), current);
  if (!replicas) return;
  const QString what = QStringLiteral("scale %1 %2/%3 to %4")
                           .arg(QString::fromStdString(kind_->resource), ns, name)
                           .arg(*replicas);
  client::ApiClient* client = session_->clientPtr();
  const std::string body = json{{"spec", {{"replicas", *replicas}}}}.dump();
  runAsync<json>(
      this,
      [client, kind = *kind_, ns = ns.toStdString(), name = name.toStdString(), body] {
        client::WriteOptions options;
        options.subresource = "scale";
        return client->patch(kind, ns, name, client::PatchType::Merge, body, options);
      },
      [this, what](const Result<json>& r) { report(what, r.status()); });
}

void MainWindow::editSelected() {
  api::CachedObject obj = selectedObject();
  if (!obj || !kind_) return;
  json manifest = *obj;
  manifest.erase("status");
  manifest["apiVersion"] = kind_->apiVersion();
  manifest["kind"] = kind_->kind;
  if (auto meta = manifest.find("metadata"); meta != manifest.end() && meta->is_object()) {
    for (const char* server :
         {"managedFields", "uid", "resourceVersion", "generation", "creationTimestamp"}) {
      meta->erase(server);
    }
  }
  editor_->setText(QString::fromStdString(api::toYaml(manifest)));
  tabs_->setCurrentWidget(editor_);
}

LogsView* MainWindow::openLogs() {
  const api::CachedObject obj = selectedObject();
  if (!obj || !kind_ || !hasLogs(*kind_, *obj)) return nullptr;
  auto* logs = new LogsView(session_->clientPtr());
  logs->showPodsOf(*kind_, *obj);
  tabs_->setCurrentIndex(tabs_->addTab(logs, tr("Logs: %1").arg(logs->target())));
  return logs;
}

void MainWindow::restoreSettings() {
  QSettings settings;
  if (!restoreGeometry(settings.value("window/geometry").toByteArray())) resize(1280, 800);
  restoreState(settings.value("window/state").toByteArray());
  split_->restoreState(settings.value("window/tableSplit").toByteArray());
  if (!showSection(settings.value("window/section", "pods").toString())) showSection("pods");
}

void MainWindow::saveSettings() const {
  QSettings settings;
  settings.setValue("window/geometry", saveGeometry());
  settings.setValue("window/state", saveState());
  settings.setValue("window/tableSplit", split_->saveState());
  settings.setValue("window/section", resource_);
}

void MainWindow::closeEvent(QCloseEvent* event) {
  saveSettings();
  event->accept();
}

}  // namespace kd::dashboard

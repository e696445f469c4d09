#include "dashboard/main_window.h"

#include <QActionGroup>
#include <QCloseEvent>
#include <QComboBox>
#include <QDesktopServices>
#include <QDockWidget>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
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
#include "dashboard/cluster_page.h"
#include "dashboard/contexts.h"
#include "dashboard/logs_view.h"
#include "dashboard/manifest_editor.h"
#include "dashboard/object_detail_view.h"
#include "dashboard/pod_detail_view.h"
#include "dashboard/port_forwards.h"
#include "dashboard/resource_filter_model.h"
#include "dashboard/sections.h"
#include "dashboard/terminal_view.h"
#include "dashboard/theme.h"
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

// The ports a person may forward to: a Service's ports, else the containers' ports of a pod or
// of a workload's pod template; "port/name" is offered by number.
QStringList portsOf(const json& obj) {
  QStringList ports;
  auto add = [&ports](const json& list, const char* key) {
    if (!list.is_array()) return;
    for (const auto& p : list) {
      if (p.is_object() && p.contains(key)) ports << QString::number(p.value(key, 0));
    }
  };
  const json spec = obj.value("spec", json::object());
  if (obj.value("kind", "") == "Service" || spec.contains("ports")) {
    add(spec.value("ports", json()), "port");
    return ports;
  }
  const json podSpec = spec.contains("containers")
                           ? spec
                           : obj.value("/spec/template/spec"_json_pointer, json::object());
  for (const auto& c : podSpec.value("containers", json::array())) {
    add(c.value("ports", json()), "containerPort");
  }
  return ports;
}

// A LoadBalancer Service's address for its first port, as its status.loadBalancer.ingress
// gives it (http://127.0.0.1:PORT/ from KubeDesk's proxy); empty when it has none yet or
// that port could not be had.
QUrl loadBalancerUrl(const json& obj) {
  if (obj.value("kind", "") != "Service" ||
      obj.value("/spec/type"_json_pointer, "") != "LoadBalancer") {
    return {};
  }
  const json ingress = obj.value("/status/loadBalancer/ingress"_json_pointer, json::array());
  const json ports = obj.value("/spec/ports"_json_pointer, json::array());
  if (!ingress.is_array() || ingress.empty() || !ports.is_array() || ports.empty()) return {};
  const json& first = ingress[0];
  const int port = ports[0].value("port", 0);
  for (const auto& status : first.value("ports", json::array())) {
    if (status.value("port", 0) == port && status.contains("error")) return {};
  }
  const std::string host = first.value("ip", first.value("hostname", ""));
  if (host.empty() || port <= 0) return {};
  QUrl url;
  url.setScheme("http");
  url.setHost(QString::fromStdString(host));
  url.setPort(port);
  url.setPath("/");
  return url;
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
      },
      [](QWidget* parent, const QString& what, const QStringList& ports) -> std::optional<QString> {
        bool ok = false;
        const QString port =
            QInputDialog::getItem(parent, QObject::tr("Port forward"), what, ports, 0, true, &ok);
        return ok && !port.trimmed().isEmpty() ? std::optional<QString>(port.trimmed())
                                               : std::nullopt;
      },
      [](const QUrl& url) { QDesktopServices::openUrl(url); }};
}

MainWindow::MainWindow(ClusterSession* session, QWidget* parent)
    : QMainWindow(parent), session_(session), theme_(new ThemeController(this)) {
  setWindowIcon(QIcon(QStringLiteral(":/icons/kubedesk.svg")));
  buildUi();
  buildMenus();
  attachSession();
  restoreSettings();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildUi() {
  contexts_ = new QComboBox;
  contexts_->setObjectName("contexts");
  contexts_->setToolTip(tr("Kubernetes context (Ctrl+K)"));
  contexts_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  connect(contexts_, &QComboBox::activated, this,
          [this](int index) { requestContext(contexts_->itemText(index)); });
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
  bar->addWidget(contexts_);
  bar->addWidget(namespaces_);
  bar->addWidget(text_);
  deleteAction_ = bar->addAction(tr("Delete"), this, &MainWindow::deleteSelected);
  deleteAction_->setShortcut(QKeySequence::Delete);
  scaleAction_ = bar->addAction(tr("Scale…"), this, &MainWindow::scaleSelected);
  editAction_ = bar->addAction(tr("Edit"), this, &MainWindow::editSelected);
  editAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
  logsAction_ = bar->addAction(tr("Logs"), this, &MainWindow::openLogs);
  logsAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
  shellAction_ = bar->addAction(tr("Shell"), this, &MainWindow::openShell);
  shellAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S));
  actionsAction_ = bar->addAction(tr("Actions"), this, &MainWindow::showActionsMenu);
  forwardAction_ = bar->addAction(tr("Port forward…"), this, &MainWindow::portForwardSelected);
  browserAction_ = bar->addAction(tr("Open in browser"), this, &MainWindow::openInBrowser);
  auto* find = new QAction(tr("Filter the table"), this);
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
  // Fitting columns measures only the rows on screen: Qt's default of 1,000 rows took ~100 ms.
  table_->horizontalHeader()->setResizeContentsPrecision(0);
  table_->setWordWrap(false);
  table_->setContextMenuPolicy(Qt::CustomContextMenu);
  connect(table_, &QWidget::customContextMenuRequested, this, &MainWindow::showActionsMenu);
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

  // The Cluster page (index 0) and the editor tab (index 1) belong to the session
  // (attachSession).
  pages_ = new QStackedWidget;
  pages_->addWidget(split_);

  mainSplit_ = new QSplitter(Qt::Horizontal);
  mainSplit_->setObjectName("mainSplit");
  mainSplit_->addWidget(sidebar_);
  mainSplit_->addWidget(pages_);
  mainSplit_->setStretchFactor(1, 1);
  mainSplit_->setSizes({220, 1000});
  split_->setSizes({500, 300});
  tabs_ = new QTabWidget;
  tabs_->addTab(mainSplit_, tr("Resources"));
  // Only logs and shell tabs close.
  tabs_->setTabsClosable(true);
  tabs_->tabBar()->setTabButton(0, QTabBar::RightSide, nullptr);
  tabs_->tabBar()->setTabButton(0, QTabBar::LeftSide, nullptr);
  connect(tabs_, &QTabWidget::tabCloseRequested, this, [this](int index) {
    QWidget* tab = tabs_->widget(index);
    if (qobject_cast<LogsView*>(tab) || qobject_cast<TerminalView*>(tab)) {
      tabs_->removeTab(index);
      tab->deleteLater();
    }
  });
  setCentralWidget(tabs_);
  buildPortForwardsPanel();
  statusBar();
  updateActions();
}

void MainWindow::buildMenus() {
  QMenu* cluster = menuBar()->addMenu(tr("&Cluster"));
  contextMenu_ = cluster->addMenu(tr("Switch &context"));
  contextMenu_->setObjectName("contextMenu");
  connect(contextMenu_, &QMenu::aboutToShow, this, &MainWindow::refreshContexts);
  QAction* choose = cluster->addAction(tr("Choose a context"), this, [this] {
    contexts_->setFocus();
    contexts_->showPopup();
  });
  choose->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_K));
  QAction* overview =
      cluster->addAction(tr("Show the Cluster page"), this, [this] { showSection({}); });
  overview->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_0));
  cluster->addSeparator();
  cluster->addAction(tr("&Quit"), this, &QWidget::close)
      ->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Q));

  QMenu* themes = menuBar()->addMenu(tr("&View"))->addMenu(tr("&Theme"));
  themeGroup_ = new QActionGroup(this);
  const std::pair<Theme, QString> choices[] = {
      {Theme::System, tr("&System")}, {Theme::Light, tr("&Light")}, {Theme::Dark, tr("&Dark")}};
  for (const auto& [theme, title] : choices) {
    QAction* action = themes->addAction(title, this, [this, theme] { setTheme(theme); });
    action->setCheckable(true);
    action->setData(themeName(theme));
    themeGroup_->addAction(action);
  }
  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&Keyboard shortcuts"), this, &MainWindow::showShortcuts)
      ->setShortcut(QKeySequence::HelpContents);
}

QString MainWindow::contextName() const {
  return QString::fromStdString(session_->client().access().contextName);
}

void MainWindow::setContextSwitcher(ContextSwitcher* switcher) {
  switcher_ = switcher;
  connect(switcher, &ContextSwitcher::switching, this, [this](const QString& context, bool start) {
    statusBar()->showMessage(
        (start ? tr("Connecting to \"%1\" (starting its cluster if it is not running)…")
               : tr("Connecting to \"%1\"…"))
            .arg(context));
  });
  connect(switcher, &ContextSwitcher::switched, this,
          [this](ClusterSession* session, const QString& context) {
            setSession(session);
            statusBar()->showMessage(tr("Switched to \"%1\"").arg(context), 5000);
          });
  connect(switcher, &ContextSwitcher::failed, this,
          [this](const QString& context, const Status& status) {
            refreshContexts();
            statusBar()->showMessage(tr("Could not switch to \"%1\": %2")
                                         .arg(context, QString::fromStdString(status.message())));
          });
  refreshContexts();
}

// The selector and the menu list the switcher's contexts (the kubeconfig is re-read each time),
// the current one selected and checked.
void MainWindow::refreshContexts() {
  const QString current = contextName();
  QStringList names = switcher_ ? switcher_->contexts() : QStringList();
  if (!names.contains(current)) names.prepend(current);
  {
    QSignalBlocker block(contexts_);
    contexts_->clear();
    contexts_->addItems(names);
    contexts_->setCurrentIndex(int(names.indexOf(current)));
  }
  contexts_->setEnabled(switcher_ != nullptr);
  contextMenu_->clear();
  for (const QString& name : names) {
    QAction* action = contextMenu_->addAction(name, this, [this, name] { requestContext(name); });
    action->setCheckable(true);
    action->setChecked(name == current);
    action->setEnabled(switcher_ != nullptr);
  }
}

void MainWindow::requestContext(const QString& context) {
  if (!switcher_ || context == contextName()) return;
  // The Cluster page waits for its kdctl command when it goes; the window must not.
  if (clusterPage_->commandRunning()) {
    refreshContexts();
    statusBar()->showMessage(tr("Wait for the cluster command to end before switching context"));
    return;
  }
  switcher_->switchTo(context);
}

void MainWindow::setSession(ClusterSession* session) {
  if (session == session_) return;
  const QString draft = editor_->text();
  const bool editing = tabs_->currentWidget() == editor_;
  detachSession();
  session_ = session;
  attachSession();
  editor_->setText(draft);
  if (editing) tabs_->setCurrentWidget(editor_);
  onSidebar(sidebar_->currentItem());
  emit sessionChanged(session_);
}

void MainWindow::attachSession() {
  setWindowTitle(tr("KubeDesk — %1").arg(contextName()));
  clusterPage_ = new ClusterPage(session_, [this](QWidget* parent, const QString& question) {
    return prompts_.confirm(parent, question);
  });
  pages_->insertWidget(0, clusterPage_);
  editor_ = new ManifestEditor(session_->clientPtr());
  podDetail_->showMetrics(session_->clientPtr());
  tabs_->insertTab(1, editor_, tr("Editor"));
  tabs_->tabBar()->setTabButton(1, QTabBar::RightSide, nullptr);
  tabs_->tabBar()->setTabButton(1, QTabBar::LeftSide, nullptr);
  connectPortForwards();
  startAllSections();
  updateNamespaces();
  refreshContexts();
}

// Everything that holds the session's client goes with it; the window's own widgets stay.
void MainWindow::detachSession() {
  for (int i = tabs_->count() - 1; i > 0; --i) {
    QWidget* tab = tabs_->widget(i);
    tabs_->removeTab(i);
    delete tab;  // logs, shells, the editor: their streams end before the session may go
  }
  delete portForwards_;  // stops its forwards
  opening_.clear();
  forwardsList_->clear();
  forwardsDock_->hide();
  delete clusterPage_;
  filter_->setSourceModel(nullptr);
  model_ = nullptr;
  podDetail_->setPod(nullptr, {});
  fullPod_ = nullptr;
  fullPodWanted_.clear();
  fullPodFetching_ = false;
  ++fullPodSession_;
  objectDetail_->setObject({}, nullptr);
  session_->disconnect(this);
  for (const auto& s : sidebarSections()) {
    if (const api::KindInfo* kind = kindOf(s)) {
      session_->model(*kind, ClusterSession::Start::WhenIdle)->disconnect(this);
      updateCount(s.resource, 0);
    }
  }
  session_->model(builtinKind("namespaces"), ClusterSession::Start::WhenIdle)->disconnect(this);
  QSignalBlocker block(namespaces_);
  while (namespaces_->count() > 1) namespaces_->removeItem(1);
  namespaces_->setCurrentIndex(0);
  filter_->setNamespace({});
}

void MainWindow::setTheme(Theme theme) {
  theme_->setChoice(theme);
  for (QAction* action : themeGroup_->actions())
    action->setChecked(action->data().toString() == themeName(theme));
}

QStringList MainWindow::shortcutList() const {
  QStringList lines;
  for (const QAction* action : findChildren<QAction*>()) {
    if (action->shortcut().isEmpty()) continue;
    lines << action->shortcut().toString(QKeySequence::NativeText) + '\t' +
                 action->text().remove('&');
  }
  lines.sort();
  lines.removeDuplicates();
  return lines;
}

void MainWindow::showShortcuts() {
  QString rows;
  for (const QString& line : shortcutList()) {
    const QStringList parts = line.split('\t');
    rows += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>")
                .arg(parts.front().toHtmlEscaped(), parts.back().toHtmlEscaped());
  }
  QMessageBox::information(this, tr("Keyboard shortcuts"),
                           QStringLiteral("<table cellspacing=6>%1</table>").arg(rows));
}

void MainWindow::startAllSections() {
  // Every section's informer runs: the sidebar counts stay live and switching sections shows
  // a table that is already full. The section on screen lists first (ClusterSession).
  for (const auto& s : sidebarSections()) {
    const api::KindInfo* kind = kindOf(s);
    if (!kind) continue;
    connect(session_->model(*kind, ClusterSession::Start::WhenIdle),
            &ResourceTableModel::batchApplied, this, [this, kind] {
              if (kind == kind_ || kind->resource == "events" || kind->resource == "nodes")
                scheduleDetailRefresh();
            });
  }
  connect(session_, &ClusterSession::countChanged, this, &MainWindow::updateCount);
  connect(session_->model(builtinKind("namespaces"), ClusterSession::Start::WhenIdle),
          &ResourceTableModel::countChanged, this, &MainWindow::updateNamespaces);
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
  if (!kind_) return;  // the Cluster page follows its informers itself
  // Columns fit the first rows shown, then keep the width the person gives them.
  if (!columnsSized_ && model_->rowCount() > 0) {
    table_->resizeColumnsToContents();
    columnsSized_ = true;
  }
  const api::CachedObject obj = selectedObject();
  if (kind_->resource == "pods" && kind_->group.empty()) {
    details_->setCurrentWidget(podDetail_);
    if (obj) followSelectedPod(obj);
    // Until the selected pod's full object has come, the detail stays empty.
    const bool shown = obj && fullPod_ && api::objectKey(*fullPod_) == api::objectKey(*obj);
    // Only a selected pod needs the events, which a busy cluster holds by the hundred thousand.
    podDetail_->setPod(shown ? fullPod_ : nullptr,
                       shown ? session_->bridge(builtinKind("events"))->informer().list()
                             : std::vector<api::CachedObject>());
  } else {
    details_->setCurrentWidget(objectDetail_);
    objectDetail_->setObject(QString::fromStdString(kind_->kind), obj);
  }
}

void MainWindow::followSelectedPod(const api::CachedObject& compact) {
  const std::string want = api::objectKey(*compact) + "@" +
                           std::string(api::stringAt(*compact, "metadata", "resourceVersion"));
  if (want == fullPodWanted_) return;  // asked already
  fullPodWanted_ = want;
  if (fullPodFetching_) return;  // asked again when the running GET returns
  fullPodFetching_ = true;
  std::shared_ptr<client::ApiClient> client = session_->clientPtr();
  runAsync<json>(
      this,
      [client, ns = namespaceOf(*compact).toStdString(), name = nameOf(*compact).toStdString()] {
        return client->get(builtinKind("pods"), ns, name);
      },
      [this, want, session = fullPodSession_](const Result<json>& r) {
        if (session != fullPodSession_) return;  // the session it asked went
        fullPodFetching_ = false;
        if (r.ok()) {
          fullPod_ = std::make_shared<const json>(*r);
        } else if (want == fullPodWanted_) {
          report(QStringLiteral("get pod %1").arg(QString::fromStdString(want)), r.status());
        }
        if (want != fullPodWanted_) fullPodWanted_.clear();  // it changed meanwhile: ask again
        refreshDetail();
      });
}

void MainWindow::updateActions() {
  const api::CachedObject obj = selectedObject();
  const bool selected = obj != nullptr;
  deleteAction_->setEnabled(selected);
  scaleAction_->setEnabled(selected && kind_ && kind_->hasSubresource("scale"));
  editAction_->setEnabled(selected);
  logsAction_->setEnabled(selected && kind_ && hasLogs(*kind_, *obj));
  shellAction_->setEnabled(selected && kind_ && kind_->kind == "Pod" && kind_->group.empty());
  actionsAction_->setEnabled(selected && kind_ && !actionsFor(*kind_, *obj).empty());
  const bool forwardable = selected && kind_ && hasLogs(*kind_, *obj) && !portsOf(*obj).isEmpty();
  forwardAction_->setEnabled(forwardable);
  browserAction_->setEnabled(forwardable);
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
  std::shared_ptr<client::ApiClient> client = session_->clientPtr();
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
  std::shared_ptr<client::ApiClient> client = session_->clientPtr();
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

// The editor gets the live object, as `kubectl edit` does: the section's cache may hold a
// trimmed copy (events keep only what the table shows).
void MainWindow::editSelected() {
  api::CachedObject obj = selectedObject();
  if (!obj || !kind_) return;
  const QString ns = namespaceOf(*obj), name = nameOf(*obj);
  const QString what =
      QStringLiteral("get %1 %2")
          .arg(QString::fromStdString(kind_->resource), ns.isEmpty() ? name : ns + "/" + name);
  std::shared_ptr<client::ApiClient> client = session_->clientPtr();
  runAsync<json>(
      this,
      [client, kind = *kind_, ns = ns.toStdString(), name = name.toStdString()] {
        return client->get(kind, ns, name);
      },
      [this, what, kind = *kind_](const Result<json>& r) {
        if (!r.ok()) return report(what, r.status());
        json manifest = *r;
        manifest.erase("status");
        manifest["apiVersion"] = kind.apiVersion();
        manifest["kind"] = kind.kind;
        if (auto meta = manifest.find("metadata"); meta != manifest.end() && meta->is_object()) {
          for (const char* server :
               {"managedFields", "uid", "resourceVersion", "generation", "creationTimestamp"}) {
            meta->erase(server);
          }
        }
        editor_->setText(QString::fromStdString(api::toYaml(manifest)));
        tabs_->setCurrentWidget(editor_);
        report(what, {});
      });
}

LogsView* MainWindow::openLogs() {
  const api::CachedObject obj = selectedObject();
  if (!obj || !kind_ || !hasLogs(*kind_, *obj)) return nullptr;
  auto* logs = new LogsView(session_->clientPtr());
  logs->showPodsOf(*kind_, *obj);
  tabs_->setCurrentIndex(tabs_->addTab(logs, tr("Logs: %1").arg(logs->target())));
  return logs;
}

// The selected object's rollout or CronJob actions, as a menu at the cursor (the table's
// context menu and the toolbar's Actions button both open it).
void MainWindow::showActionsMenu() {
  const api::CachedObject obj = selectedObject();
  if (!obj || !kind_) return;
  QMenu menu(this);
  for (ObjectAction action : actionsFor(*kind_, *obj)) {
    menu.addAction(actionTitle(action), this, [this, action] { runObjectAction(action); });
  }
  if (menu.isEmpty()) return;
  menu.addSeparator();
  if (forwardAction_->isEnabled()) menu.addAction(forwardAction_);
  menu.exec(QCursor::pos());
}

void MainWindow::runObjectAction(ObjectAction action) {
  const api::CachedObject obj = selectedObject();
  if (!obj || !kind_) return;
  const QString what = actionTitle(action).toLower() + " " +
                       QString::fromStdString(kind_->resource) + " " + namespaceOf(*obj) + "/" +
                       nameOf(*obj);
  std::shared_ptr<client::ApiClient> client = session_->clientPtr();
  runAsync<std::string>(
      this, [client, action, kind = *kind_, obj] { return runAction(*client, action, kind, *obj); },
      [this, what](const Result<std::string>& r) {
        if (!r.ok()) return report(what, r.status());
        statusBar()->showMessage(QString::fromStdString(*r), 5000);
        emit actionFinished(what, Status::ok());
      });
}

void MainWindow::portForwardSelected() {
  const api::CachedObject obj = selectedObject();
  if (!obj || !kind_) return;
  const auto port = prompts_.port(this,
                                  tr("Port of %1 \"%2\" to forward from 127.0.0.1:")
                                      .arg(QString::fromStdString(kind_->kind), nameOf(*obj)),
                                  portsOf(*obj));
  if (port) startForward(*port, false);
}

void MainWindow::openInBrowser() {
  const api::CachedObject obj = selectedObject();
  if (!obj) return;
  // A load balancer is reachable as it is: no port-forward needed.
  if (const QUrl url = loadBalancerUrl(*obj); url.isValid()) return prompts_.openUrl(url);
  const QStringList ports = portsOf(*obj);
  if (!ports.isEmpty()) startForward(ports.front(), true);
}

void MainWindow::startForward(const QString& remote, bool open) {
  const api::CachedObject obj = selectedObject();
  if (!obj || !kind_) return;
  const int id = portForwards_->start(*kind_, *obj, remote);
  if (open) opening_.insert(id);
  statusBar()->showMessage(tr("Forwarding to %1 port %2…").arg(nameOf(*obj), remote));
}

void MainWindow::buildPortForwardsPanel() {
  forwardsList_ = new QTreeWidget;
  forwardsList_->setObjectName("portForwards");
  forwardsList_->setHeaderLabels({tr("Target"), tr("Local address"), tr("Port")});
  forwardsList_->setRootIsDecorated(false);
  forwardsList_->setContextMenuPolicy(Qt::ActionsContextMenu);
  auto* stop = new QAction(tr("Stop forwarding"), forwardsList_);
  connect(stop, &QAction::triggered, this, [this] {
    if (auto* item = forwardsList_->currentItem())
      portForwards_->stop(item->data(0, Qt::UserRole).toInt());
  });
  forwardsList_->addAction(stop);
  connect(forwardsList_, &QTreeWidget::itemActivated, this,
          [this](QTreeWidgetItem* item) { prompts_.openUrl(QUrl(item->text(1))); });
  forwardsDock_ = new QDockWidget(tr("Port forwards"), this);
  forwardsDock_->setObjectName("portForwardsDock");
  forwardsDock_->setWidget(forwardsList_);
  addDockWidget(Qt::BottomDockWidgetArea, forwardsDock_);
  forwardsDock_->hide();
}

void MainWindow::connectPortForwards() {
  portForwards_ = new PortForwards(session_->clientPtr(), this);
  connect(portForwards_, &PortForwards::changed, this, [this] {
    forwardsList_->clear();
    for (const auto& f : portForwards_->active()) {
      auto* item = new QTreeWidgetItem(forwardsList_,
                                       {f.target, f.url().toString(), QString::number(f.remote)});
      item->setData(0, Qt::UserRole, f.id);
    }
    if (forwardsList_->topLevelItemCount() > 0) forwardsDock_->show();
  });
  connect(portForwards_, &PortForwards::started, this, [this](const PortForwards::Forward& f) {
    statusBar()->showMessage(tr("Forwarding from %1 -> %2").arg(f.url().toString()).arg(f.remote),
                             5000);
    if (opening_.erase(f.id)) prompts_.openUrl(f.url());
  });
  connect(portForwards_, &PortForwards::failed, this, [this](int id, const QString& message) {
    opening_.erase(id);
    statusBar()->showMessage(tr("Port forward: %1").arg(message));
  });
}

TerminalView* MainWindow::openShell() {
  const api::CachedObject obj = selectedObject();
  if (!obj || !kind_ || kind_->kind != "Pod" || !kind_->group.empty()) return nullptr;
  auto* shell = new TerminalView(session_->clientPtr());
  shell->execInto(*obj);
  tabs_->setCurrentIndex(tabs_->addTab(shell, tr("Shell: %1").arg(shell->target())));
  shell->display()->setFocus();
  return shell;
}

void MainWindow::restoreSettings() {
  QSettings settings;
  if (!restoreGeometry(settings.value("window/geometry").toByteArray())) resize(1280, 800);
  restoreState(settings.value("window/state").toByteArray());
  split_->restoreState(settings.value("window/tableSplit").toByteArray());
  mainSplit_->restoreState(settings.value("window/mainSplit").toByteArray());
  if (!showSection(settings.value("window/section", "pods").toString())) showSection("pods");
  setTheme(themeFromName(settings.value("view/theme").toString()));
}

void MainWindow::saveSettings() const {
  QSettings settings;
  settings.setValue("window/geometry", saveGeometry());
  settings.setValue("window/state", saveState());
  settings.setValue("window/tableSplit", split_->saveState());
  settings.setValue("window/mainSplit", mainSplit_->saveState());
  settings.setValue("window/section", resource_);
  settings.setValue("view/theme", themeName(theme_->choice()));
  rememberContext(contextName());
}

void MainWindow::closeEvent(QCloseEvent* event) {
  saveSettings();
  event->accept();
}

}  // namespace kd::dashboard

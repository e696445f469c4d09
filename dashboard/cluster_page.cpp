#include "dashboard/cluster_page.h"

#include <QDateTime>
#include <QFontDatabase>
#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QSplitter>
#include <QStandardItemModel>
#include <QTabWidget>
#include <QTableView>
#include <QUrl>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <streambuf>

#include "dashboard/async_call.h"
#include "dashboard/usage_charts.h"
#include "engine/client/cli/cli.h"
#include "engine/client/cli/profile_state.h"
#include "vm/local/local_nodes.h"

namespace kd::dashboard {
namespace {

namespace fs = std::filesystem;

constexpr std::streamoff kConsoleTailBytes = 256 * 1024;
constexpr int kRebuildIntervalMs = 250;

const api::KindInfo& builtinKind(const char* resource) {
  return *api::KindsRegistry::builtin().resolve(resource);
}

QString qs(const std::string& s) {
  return QString::fromStdString(s);
}

// kdctl's output as it writes it: whatever it has written is handed on at each end of line and
// at each flush, so a step ("⌛ Waiting ...") shows before it ends.
class ProgressBuffer : public std::streambuf {
 public:
  explicit ProgressBuffer(std::function<void(QString)> sink) : sink_(std::move(sink)) {}
  ~ProgressBuffer() override { sync(); }

 protected:
  int_type overflow(int_type c) override {
    if (c == traits_type::eof()) return traits_type::not_eof(c);
    pending_ += traits_type::to_char_type(c);
    if (c == '\n') sync();
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    pending_.append(s, static_cast<size_t>(n));
    if (std::char_traits<char>::find(s, static_cast<size_t>(n), '\n')) sync();
    return n;
  }
  int sync() override {
    if (!pending_.empty()) sink_(QString::fromUtf8(pending_.data(), qsizetype(pending_.size())));
    pending_.clear();
    return 0;
  }

 private:
  std::function<void(QString)> sink_;
  std::string pending_;
};

// The last `bytes` of a file (from a line start when cut), or why it cannot be read.
Result<std::string> fileTail(const fs::path& path, std::streamoff bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return Status::notFound("no console log at " + path.string() + " (not booted yet?)");
  const std::streamoff size = in.tellg();
  const std::streamoff from = std::max<std::streamoff>(0, size - bytes);
  in.seekg(from);
  std::string text(static_cast<size_t>(size - from), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (from > 0) text.erase(0, text.find('\n') + 1);
  return text;
}

// A VM node's health as its Ready condition tells it.
QString vmState(const json& node) {
  for (const json& c : node.value("status", json::object()).value("conditions", json::array())) {
    if (c.value("type", "") != "Ready") continue;
    const std::string s = c.value("status", "");
    if (s == "True") return QStringLiteral("Running");
    return s == "False" ? QStringLiteral("NotReady") : QStringLiteral("Unknown");
  }
  return QStringLiteral("Unknown");
}

QString capacity(const json& node, const char* resource) {
  const json status = node.value("status", json::object());
  for (const char* field : {"capacity", "allocatable"}) {
    const json values = status.value(field, json::object());
    if (values.contains(resource) && values[resource].is_string())
      return qs(values[resource].get<std::string>());
  }
  return QStringLiteral("—");
}

QPushButton* button(const QString& text, const char* name) {
  auto* b = new QPushButton(text);
  b->setObjectName(name);
  return b;
}

}  // namespace

bool PodsPerNode::apply(const std::string& key, const api::CachedObject& pod) {
  std::string_view node;
  if (pod) {
    const std::string_view phase = api::stringAt(*pod, "status", "phase");
    if (phase != "Succeeded" && phase != "Failed") node = api::stringAt(*pod, "spec", "nodeName");
  }
  const auto was = nodeOf_.find(key);
  if (was != nodeOf_.end() && was->second == node) return false;
  if (was == nodeOf_.end() && node.empty()) return false;
  if (was != nodeOf_.end()) {
    const auto it = perNode_.find(was->second);
    if (--it->second == 0) perNode_.erase(it);
    if (node.empty()) {
      nodeOf_.erase(was);
    } else {
      was->second = node;
    }
  } else {
    nodeOf_.emplace(key, node);
  }
  if (!node.empty()) {
    if (auto it = perNode_.find(node); it != perNode_.end()) {
      ++it->second;
    } else {
      perNode_.emplace(node, 1);
    }
  }
  return true;
}

int PodsPerNode::count(std::string_view node) const {
  const auto it = perNode_.find(node);
  return it == perNode_.end() ? 0 : it->second;
}

ClusterProfile ClusterProfile::of(const client::ClusterAccess& access) {
  ClusterProfile p;
  const std::string& name = access.contextName;
  // A profile is a directory name under the data root; no context name may lead elsewhere.
  if (name.empty() || name.front() == '.' || name.find('/') != std::string::npos) return p;
  const fs::path dir = cli::dataRoot() / name;
  std::error_code ec;
  if (!fs::exists(dir / "kubeconfig", ec)) return p;
  auto own = client::loadClusterAccess(dir / "kubeconfig", "");
  if (!own.ok() || own->server != access.server) return p;
  p.name = name;
  p.dir = dir;
  p.driver = cli::readClusterRecord(dir).driver;
  return p;
}

ClusterPage::ClusterPage(ClusterSession* session, Confirm confirm, QWidget* parent)
    : QWidget(parent),
      session_(session),
      confirm_(std::move(confirm)),
      profile_(ClusterProfile::of(session->client().access())) {
  commandPool_.setMaxThreadCount(1);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(buildHeader());
  layout->addWidget(buildControls());
  auto* split = new QSplitter(Qt::Vertical);
  split->setObjectName("clusterSplit");
  split->addWidget(buildNodes());
  split->addWidget(buildCharts());
  panes_ = new QTabWidget;
  panes_->setObjectName("clusterPanes");
  panes_->addTab(buildProgress(), tr("Progress"));
  panes_->addTab(buildConsole(), tr("Console log"));
  panes_->setTabVisible(0, profile_.isKubeDesk());
  panes_->setTabVisible(1, profile_.driver == "vm");
  panes_->setVisible(profile_.isKubeDesk());
  split->addWidget(panes_);
  split->setSizes({200, 240, 160});
  layout->addWidget(split, 1);

  connect(session_->model(builtinKind("nodes")), &ResourceTableModel::batchApplied, this,
          &ClusterPage::scheduleRebuild);
  // The pods are counted once from the informer's cache, then followed change by change; a
  // change the cache already held when it was read is applied again without effect.
  session_->model(builtinKind("pods"));  // starts the informer
  InformerBridge* pods = session_->bridge(builtinKind("pods"));
  connect(pods, &InformerBridge::changed, this, &ClusterPage::podsChanged);
  for (const api::CachedObject& pod : pods->informer().list()) {
    podsPerNode_.apply(api::objectKey(*pod), pod);
  }
  rebuildNodes();
  refreshHeader();
  updateButtons();
}

ClusterPage::~ClusterPage() {
  command_.waitForFinished();
}

QWidget* ClusterPage::buildHeader() {
  header_ = new QLabel;
  header_->setObjectName("clusterHeader");
  header_->setTextFormat(Qt::RichText);
  header_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  header_->setMargin(8);
  return header_;
}

QWidget* ClusterPage::buildControls() {
  controls_ = new QWidget;
  controls_->setObjectName("clusterControls");
  auto* row = new QHBoxLayout(controls_);
  row->setContentsMargins(0, 0, 0, 0);
  start_ = button(tr("Start"), "clusterStart");
  stop_ = button(tr("Stop"), "clusterStop");
  delete_ = button(tr("Delete…"), "clusterDelete");
  addNode_ = button(tr("Add node"), "clusterAddNode");
  for (QPushButton* b : {start_, stop_, delete_, addNode_}) row->addWidget(b);
  row->addStretch(1);
  connect(start_, &QPushButton::clicked, this, &ClusterPage::startCluster);
  connect(stop_, &QPushButton::clicked, this, &ClusterPage::stopCluster);
  connect(delete_, &QPushButton::clicked, this, &ClusterPage::deleteCluster);
  connect(addNode_, &QPushButton::clicked, this, &ClusterPage::addNode);
  controls_->setVisible(profile_.isKubeDesk());
  return controls_;
}

QWidget* ClusterPage::buildNodes() {
  nodes_ = new QStandardItemModel(0, kColumns, this);
  nodes_->setHorizontalHeaderLabels(
      {tr("Name"), tr("Ready"), tr("Roles"), tr("CPUs"), tr("Memory"), tr("Pods"), tr("VM")});
  nodes_->horizontalHeaderItem(kVm)->setToolTip(
      tr("The VM's health from the node's Ready condition"));
  nodesView_ = new QTableView;
  nodesView_->setObjectName("clusterNodes");
  nodesView_->setModel(nodes_);
  nodesView_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  nodesView_->setSelectionBehavior(QAbstractItemView::SelectRows);
  nodesView_->setSelectionMode(QAbstractItemView::SingleSelection);
  nodesView_->verticalHeader()->hide();
  nodesView_->horizontalHeader()->setStretchLastSection(true);
  nodesView_->setColumnHidden(kVm, profile_.driver != "vm");
  connect(nodesView_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this] {
    refreshMetrics();
    if (profile_.driver == "vm") refreshConsole();
  });
  return nodesView_;
}

QWidget* ClusterPage::buildCharts() {
  charts_ = new UsageCharts(session_->clientPtr(),
                            tr("Select a node to see its CPU and memory over time."));
  connect(charts_, &UsageCharts::updated, this, &ClusterPage::metricsUpdated);
  return charts_;
}

QWidget* ClusterPage::buildProgress() {
  progress_ = new QPlainTextEdit;
  progress_->setObjectName("clusterProgress");
  progress_->setReadOnly(true);
  progress_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  return progress_;
}

QWidget* ClusterPage::buildConsole() {
  console_ = new QPlainTextEdit;
  console_->setObjectName("nodeConsole");
  console_->setReadOnly(true);
  console_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  auto* refresh = button(tr("Refresh"), "consoleRefresh");
  connect(refresh, &QPushButton::clicked, this, &ClusterPage::refreshConsole);
  auto* box = new QWidget;
  auto* column = new QVBoxLayout(box);
  column->setContentsMargins(0, 0, 0, 0);
  column->addWidget(refresh, 0, Qt::AlignLeft);
  column->addWidget(console_, 1);
  return box;
}

// ---- header ----

void ClusterPage::refreshHeader() {
  auto show = [this] {
    const auto& access = session_->client().access();
    QString html = tr("<h2>Cluster</h2><table>"
                      "<tr><td>Context:&nbsp;</td><td><b>%1</b></td></tr>"
                      "<tr><td>API server:&nbsp;</td><td>%2 (%3)</td></tr>")
                       .arg(qs(access.contextName).toHtmlEscaped(),
                            qs(access.server).toHtmlEscaped(), version_.toHtmlEscaped());
    if (profile_.isKubeDesk()) {
      const QString driver =
          profile_.driver.empty() ? tr("unknown (not started by kdctl)") : qs(profile_.driver);
      html += tr("<tr><td>Profile:&nbsp;</td><td>%1</td></tr>"
                 "<tr><td>Driver:&nbsp;</td><td>%2</td></tr>")
                  .arg(qs(profile_.name).toHtmlEscaped(), driver.toHtmlEscaped());
    }
    header_->setText(html + "</table>");
  };
  if (version_.isEmpty()) version_ = tr("version …");
  show();
  std::shared_ptr<client::ApiClient> client = session_->clientPtr();
  runAsync<json>(
      this, [client] { return client->serverVersion(); },
      [this, show](const Result<json>& v) {
        version_ = v.ok() ? qs(v->value("gitVersion", "?"))
                          : tr("unreachable: %1").arg(qs(v.status().message()));
        show();
      });
}

// ---- nodes ----

// Batches arrive every 50 ms on a busy cluster: rows are rebuilt at most every
// kRebuildIntervalMs, each rebuild walking the nodes (the pods are counted as they change).
void ClusterPage::scheduleRebuild() {
  if (rebuildQueued_) return;
  rebuildQueued_ = true;
  QTimer::singleShot(kRebuildIntervalMs, this, &ClusterPage::rebuildNodes);
}

void ClusterPage::podsChanged(const ChangeBatch& batch) {
  bool counts = false;
  for (const ObjectChange& change : batch) counts |= podsPerNode_.apply(change.key, change.object);
  if (counts) scheduleRebuild();
}

// Rows stay sorted by name and are updated in place, so the selection survives changes.
void ClusterPage::rebuildNodes() {
  rebuildQueued_ = false;
  std::map<QString, NodeRow> wanted;
  for (NodeRow& row : currentNodes()) wanted.emplace(row.cells[kName], std::move(row));
  int r = 0;
  for (const auto& [name, row] : wanted) {
    while (r < nodes_->rowCount() && nodes_->item(r, kName)->text() < name) nodes_->removeRow(r);
    if (r == nodes_->rowCount() || nodes_->item(r, kName)->text() != name) {
      nodes_->insertRow(r);
    }
    for (int c = 0; c < kColumns; ++c) setCell(r, c, row);
    ++r;
  }
  nodes_->setRowCount(r);
  if (!nodesView_->currentIndex().isValid() && nodes_->rowCount() > 0) nodesView_->selectRow(0);
}

// The nodes as the informers know them. Ready and Roles come from the Node table's own cells:
// what `kubectl get nodes` prints, with the table's health colour and icon.
std::vector<ClusterPage::NodeRow> ClusterPage::currentNodes() const {
  ResourceTableModel* table = session_->model(builtinKind("nodes"));
  std::vector<NodeRow> rows;
  for (int r = 0; r < table->rowCount(); ++r) {
    const json& node = *table->objectAt(r);
    const std::string name = api::metadataOf(node).value("name", "");
    const QModelIndex ready = table->index(r, table->columnNamed("Status"));
    NodeRow row;
    row.cells[kName] = qs(name);
    row.cells[kReady] = ready.data().toString();
    row.cells[kRoles] = table->index(r, table->columnNamed("Roles")).data().toString();
    row.cells[kCpus] = capacity(node, "cpu");
    row.cells[kMemory] = capacity(node, "memory");
    row.cells[kPods] = QString::number(podsPerNode_.count(name));
    row.cells[kVm] = vmState(node);
    row.readyColor = ready.data(Qt::ForegroundRole);
    row.readyIcon = ready.data(Qt::DecorationRole);
    rows.push_back(std::move(row));
  }
  return rows;
}

// Only a cell whose text changed is touched: the view repaints what changed.
void ClusterPage::setCell(int row, int column, const NodeRow& node) {
  QStandardItem* item = nodes_->item(row, column);
  if (item && item->text() == node.cells[size_t(column)]) return;
  if (!item) nodes_->setItem(row, column, item = new QStandardItem);
  item->setText(node.cells[size_t(column)]);
  if (column == kReady) {
    item->setData(node.readyColor, Qt::ForegroundRole);
    item->setData(node.readyIcon, Qt::DecorationRole);
  }
}

QString ClusterPage::selectedNode() const {
  const QModelIndex current = nodesView_->currentIndex();
  return current.isValid() ? nodes_->item(current.row(), kName)->text() : QString();
}

bool ClusterPage::selectNode(const QString& name) {
  const auto found = nodes_->findItems(name, Qt::MatchExactly, kName);
  if (found.isEmpty()) return false;
  nodesView_->selectRow(found.front()->row());
  return true;
}

// ---- metrics ----

void ClusterPage::refreshMetrics() {
  const QString node = selectedNode();
  charts_->setSubject(
      node, node.isEmpty() ? std::string() : "node=" + QUrl::toPercentEncoding(node).toStdString());
}

// ---- console ----

void ClusterPage::refreshConsole() {
  const std::string node = selectedNode().toStdString();
  if (node.empty()) return;
  const std::string profile = profile_.name;
  const fs::path dir = profile_.dir;
  runAsync<std::string>(
      this,
      [node, profile, dir]() -> Result<std::string> {
        for (const vm::LocalNode& n : vm::localNodes(dir, profile)) {
          if (n.name == node) return fileTail(n.dir / "console.log", kConsoleTailBytes);
        }
        return Status::notFound("\"" + node + "\" is not a VM node of profile \"" + profile + "\"");
      },
      [this](const Result<std::string>& text) {
        console_->setPlainText(qs(text.ok() ? *text : text.status().message()));
        console_->verticalScrollBar()->setValue(console_->verticalScrollBar()->maximum());
        emit consoleUpdated();
      });
}

// ---- controls ----

void ClusterPage::startCluster() {
  runCommand("start", {"start"});
}

void ClusterPage::stopCluster() {
  runCommand("stop", {"stop"});
}

void ClusterPage::deleteCluster() {
  if (!confirm_(this, tr("Delete the \"%1\" cluster with its nodes and all its data?")
                          .arg(qs(profile_.name)))) {
    return;
  }
  runCommand("delete", {"delete"});
}

void ClusterPage::addNode() {
  runCommand("node add", {"node", "add"});
}

void ClusterPage::runCommand(const QString& title, std::vector<std::string> argv) {
  if (!profile_.isKubeDesk() || command_.isRunning()) return;
  argv.insert(argv.end(), {"--profile", profile_.name});
  QString line = "$ kdctl";
  for (const auto& a : argv) line += " " + qs(a);
  appendProgress(line + "\n");
  // The destructor waits for the command, so `this` outlives every queued call.
  auto sink = [this](QString text) {
    QMetaObject::invokeMethod(
        this, [this, text] { appendProgress(text); }, Qt::QueuedConnection);
  };
  command_ = QtConcurrent::run(&commandPool_, [argv, sink] {
    ProgressBuffer buffer(sink);
    std::ostream out(&buffer);
    std::istringstream in;
    return cli::runKdctl(argv, in, out, out);
  });
  auto* watcher = new QFutureWatcher<int>(this);
  connect(watcher, &QFutureWatcher<int>::finished, this, [this, watcher, title] {
    const int rc = watcher->result();
    watcher->deleteLater();
    appendProgress(rc == 0 ? tr("✔ kdctl %1 finished\n").arg(title)
                           : tr("✘ kdctl %1 failed (exit code %2)\n").arg(title).arg(rc));
    updateButtons();
    refreshHeader();
    emit commandFinished(title, rc);
  });
  watcher->setFuture(command_);
  updateButtons();
}

void ClusterPage::appendProgress(const QString& text) {
  progress_->moveCursor(QTextCursor::End);
  progress_->insertPlainText(text);
  progress_->verticalScrollBar()->setValue(progress_->verticalScrollBar()->maximum());
}

void ClusterPage::updateButtons() {
  const bool idle = !command_.isRunning();
  for (QPushButton* b : {start_, stop_, delete_}) b->setEnabled(idle);
  // Simulated nodes live inside the engine (--simulated-nodes): kdctl cannot add one.
  const bool addable = profile_.driver == "local" || profile_.driver == "vm";
  addNode_->setEnabled(idle && addable);
  addNode_->setToolTip(addable ? tr("Start one more node with the profile's driver and size")
                               : tr("Only profiles with the local or vm driver can add nodes"));
}

}  // namespace kd::dashboard

#include "dashboard/pod_detail_view.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QTabWidget>
#include <QTreeWidget>
#include <QUrl>
#include <QVBoxLayout>
#include <algorithm>

#include "dashboard/status_style.h"
#include "engine/api/yaml_json.h"

namespace kd::dashboard {
namespace {

using Cells = QStringList;

const json& field(const json& obj, std::initializer_list<const char*> path) {
  static const json kNull;
  const json* cur = &obj;
  for (const char* p : path) {
    if (!cur->is_object() || !cur->contains(p)) return kNull;
    cur = &(*cur)[p];
  }
  return *cur;
}

QString text(const json& v) {
  if (v.is_string()) return QString::fromStdString(v.get<std::string>());
  if (v.is_null()) return {};
  return QString::fromStdString(v.dump());
}

const json& array(const json& v) {
  static const json kEmpty = json::array();
  return v.is_array() ? v : kEmpty;
}

// "cpu=100m, memory=64Mi"
QString quantities(const json& map) {
  QStringList parts;
  if (map.is_object()) {
    for (const auto& [k, v] : map.items()) parts << QString::fromStdString(k) + "=" + text(v);
  }
  return parts.join(", ");
}

QString containerState(const json& status) {
  const json& state = field(status, {"state"});
  if (state.contains("running")) return QStringLiteral("Running");
  if (state.contains("waiting")) return text(field(state, {"waiting", "reason"}));
  if (state.contains("terminated")) {
    return text(field(state, {"terminated", "reason"})) + " (exit " +
           text(field(state, {"terminated", "exitCode"})) + ")";
  }
  return QStringLiteral("Waiting");
}

QString ports(const json& container) {
  QStringList out;
  for (const auto& p : array(field(container, {"ports"})))
    out << text(field(p, {"containerPort"})) + "/" + text(p.value("protocol", "TCP"));
  return out.join(", ");
}

// "httpGet :8080/healthz", "tcpSocket :5432", "exec cat /tmp/ok", "grpc :9000"
QString probeHandler(const json& probe) {
  if (probe.contains("httpGet"))
    return "httpGet :" + text(field(probe, {"httpGet", "port"})) +
           text(field(probe, {"httpGet", "path"}));
  if (probe.contains("tcpSocket")) return "tcpSocket :" + text(field(probe, {"tcpSocket", "port"}));
  if (probe.contains("grpc")) return "grpc :" + text(field(probe, {"grpc", "port"}));
  QStringList cmd;
  for (const auto& c : array(field(probe, {"exec", "command"}))) cmd << text(c);
  return "exec " + cmd.join(' ');
}

QTreeWidget* makeTree(const QStringList& headers) {
  auto* tree = new QTreeWidget;
  tree->setHeaderLabels(headers);
  tree->setRootIsDecorated(false);
  tree->setUniformRowHeights(true);
  tree->header()->setSectionResizeMode(QHeaderView::ResizeToContents);
  return tree;
}

void fill(QTreeWidget* tree, const std::vector<Cells>& rows) {
  tree->clear();
  for (const auto& r : rows) tree->addTopLevelItem(new QTreeWidgetItem(r));
}

std::vector<Cells> containerRows(const json& pod) {
  std::vector<Cells> rows;
  const json& statuses = array(field(pod, {"status", "containerStatuses"}));
  for (const auto& c : array(field(pod, {"spec", "containers"}))) {
    const std::string name = c.value("name", "");
    json status = json::object();
    for (const auto& s : statuses) {
      if (s.value("name", "") == name) status = s;
    }
    rows.push_back({QString::fromStdString(name), containerState(status),
                    text(status.value("ready", false)), text(status.value("restartCount", 0)),
                    text(c.value("image", "")), ports(c),
                    quantities(field(c, {"resources", "requests"})),
                    quantities(field(c, {"resources", "limits"}))});
  }
  return rows;
}

QString timeText(const QDateTime& t) {
  return t.isValid() ? t.toUTC().toString(Qt::ISODate) : QString();
}

// Result, consecutive failures, last probe, last transition, last failure message; blank while
// the node agent has published nothing about the probe (simulated nodes never do).
Cells probeStatusCells(const ProbeStatus& s) {
  return {s.published ? probeResultName(s.result) : QString(),
          s.published ? QString::number(s.consecutiveFailures) : QString(), timeText(s.lastProbe),
          timeText(s.lastTransition), s.lastFailureMessage.trimmed()};
}

std::vector<Cells> probeRows(const json& pod, const ProbeHistory& history) {
  std::vector<Cells> rows;
  for (const auto& c : array(field(pod, {"spec", "containers"}))) {
    for (const auto& k : kProbeFields) {
      const json& p = field(c, {k.specField});
      if (!p.is_object()) continue;
      const QString name = text(c.value("name", ""));
      rows.push_back(
          Cells{name, k.title, probeHandler(p), text(p.value("initialDelaySeconds", 0)) + "s",
                text(p.value("periodSeconds", 10)) + "s", text(p.value("timeoutSeconds", 1)) + "s",
                text(p.value("successThreshold", 1)), text(p.value("failureThreshold", 3))} +
          probeStatusCells(history.status({name, QString::fromLatin1(k.key)})));
    }
  }
  return rows;
}

// The result cell coloured and iconed like the pod phases in the tables.
void styleResults(QTreeWidget* tree) {
  for (int i = 0; i < tree->topLevelItemCount(); ++i) {
    QTreeWidgetItem* item = tree->topLevelItem(i);
    const Health h = probeHealth(probeResultOf(item->text(PodDetailView::kResultColumn)));
    if (h == Health::Unknown) continue;
    item->setForeground(PodDetailView::kResultColumn, healthColor(h));
    item->setIcon(PodDetailView::kResultColumn, healthIcon(h));
  }
}

std::vector<Cells> conditionRows(const json& pod) {
  std::vector<Cells> rows;
  for (const auto& c : array(field(pod, {"status", "conditions"}))) {
    rows.push_back({text(c.value("type", "")), text(c.value("status", "")),
                    text(c.value("reason", "")), text(c.value("lastTransitionTime", ""))});
  }
  return rows;
}

std::vector<Cells> eventRows(const std::vector<api::CachedObject>& events) {
  std::vector<Cells> rows;
  for (const auto& e : events) {
    rows.push_back({text(e->value("type", "")), text(e->value("reason", "")),
                    text(e->value("lastTimestamp", "")), text(e->value("count", 1)),
                    text(field(*e, {"source", "component"})), text(e->value("message", ""))});
  }
  return rows;
}

}  // namespace

std::vector<api::CachedObject> eventsAbout(const json& obj,
                                           const std::vector<api::CachedObject>& events) {
  const json& meta = api::metadataOf(obj);
  std::vector<api::CachedObject> out;
  for (const auto& e : events) {
    const json& io = field(*e, {"involvedObject"});
    if (io.is_object() && io.value("name", "") == meta.value("name", "") &&
        io.value("namespace", "") == meta.value("namespace", "") &&
        io.value("kind", "") == obj.value("kind", "Pod")) {
      out.push_back(e);
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a->value("lastTimestamp", "") < b->value("lastTimestamp", "");
  });
  return out;
}

PodDetailView::PodDetailView(QWidget* parent)
    : QWidget(parent),
      title_(new QLabel),
      logs_(new QPushButton(tr("Logs"))),
      tabs_(new QTabWidget),
      containers_(makeTree({tr("Container"), tr("State"), tr("Ready"), tr("Restarts"), tr("Image"),
                            tr("Ports"), tr("Requests"), tr("Limits")})),
      probes_(makeTree({tr("Container"), tr("Probe"), tr("Handler"), tr("Delay"), tr("Period"),
                        tr("Timeout"), tr("Success"), tr("Failure"), tr("Result"),
                        tr("Consecutive failures"), tr("Last probe"), tr("Last transition"),
                        tr("Last failure")})),
      timeline_(new ProbeTimeline),
      conditions_(makeTree({tr("Condition"), tr("Status"), tr("Reason"), tr("Last transition")})),
      events_(makeTree(
          {tr("Type"), tr("Reason"), tr("Last seen"), tr("Count"), tr("From"), tr("Message")})),
      yaml_(new QPlainTextEdit) {
  containers_->setObjectName("containers");
  probes_->setObjectName("probes");
  conditions_->setObjectName("conditions");
  events_->setObjectName("events");
  yaml_->setReadOnly(true);
  yaml_->setFont(QFont(QStringLiteral("monospace")));
  auto* overview = new QWidget;
  auto* ol = new QVBoxLayout(overview);
  for (auto [label, widget] : {std::pair<QString, QWidget*>{tr("Containers"), containers_},
                               std::pair<QString, QWidget*>{tr("Probes"), probes_},
                               std::pair<QString, QWidget*>{tr("Probe results"), timeline_},
                               std::pair<QString, QWidget*>{tr("Conditions"), conditions_}}) {
    ol->addWidget(new QLabel("<b>" + label + "</b>"));
    ol->addWidget(widget);
  }
  tabs_->addTab(overview, tr("Overview"));
  tabs_->addTab(events_, tr("Events"));
  tabs_->addTab(yaml_, tr("YAML"));
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  logs_->setObjectName("logs");
  logs_->setEnabled(false);
  connect(logs_, &QPushButton::clicked, this, &PodDetailView::logsRequested);
  auto* head = new QHBoxLayout;
  head->addWidget(title_, 1);
  head->addWidget(logs_);
  layout->addLayout(head);
  layout->addWidget(tabs_);
}

void PodDetailView::showMetrics(std::shared_ptr<client::ApiClient> client) {
  if (metrics_) {
    metrics_->setClient(client);
    if (pod_) showUsageOf(*pod_);
    return;
  }
  metrics_ = new UsageCharts(client, tr("Select a pod to see its CPU and memory over time."));
  metrics_->setObjectName("podMetrics");
  tabs_->insertTab(tabs_->indexOf(yaml_), metrics_, tr("Metrics"));
  if (pod_) showUsageOf(*pod_);
}

// The metrics tab follows the pod shown (its containers' usage summed).
void PodDetailView::showUsageOf(const json& pod) {
  if (!metrics_) return;
  const json& meta = api::metadataOf(pod);
  const std::string ns = meta.value("namespace", ""), name = meta.value("name", "");
  metrics_->setSubject(
      QString::fromStdString(ns + "/" + name),
      "namespace=" + QUrl::toPercentEncoding(QString::fromStdString(ns)).toStdString() +
          "&pod=" + QUrl::toPercentEncoding(QString::fromStdString(name)).toStdString());
}

QTreeWidget* PodDetailView::tree(const QString& name) const {
  return findChild<QTreeWidget*>(name);
}

void PodDetailView::setPod(const api::CachedObject& pod,
                           const std::vector<api::CachedObject>& events) {
  // Already empty: clearing again would still ask the window for a new layout (QLabel::clear
  // does on every call), and the main window asks for every batch of a busy cluster.
  if (!pod && !pod_) return;
  const bool samePod = pod && pod_ && api::objectKey(*pod) == api::objectKey(*pod_);
  pod_ = pod;
  logs_->setEnabled(pod != nullptr);
  if (!pod) {
    title_->clear();
    for (auto* t : {containers_, probes_, conditions_, events_}) t->clear();
    timeline_->setHistory(ProbeHistory());
    yaml_->clear();
    if (metrics_) metrics_->setSubject({}, {});
    return;
  }
  title_->setText("<b>Pod " + QString::fromStdString(api::objectKey(*pod)) + "</b>");
  if (!samePod) showUsageOf(*pod);
  const std::vector<api::CachedObject> about = eventsAbout(*pod, events);
  ProbeHistory& history = historyOf(*pod);
  history.update(*pod, about);
  timeline_->setHistory(history);
  fill(containers_, containerRows(*pod));
  fill(probes_, probeRows(*pod, history));
  styleResults(probes_);
  fill(conditions_, conditionRows(*pod));
  fill(events_, eventRows(about));
  // Keep the reader's scroll position while the same pod updates.
  const int scroll = samePod ? yaml_->verticalScrollBar()->value() : 0;
  yaml_->setPlainText(QString::fromStdString(api::toYaml(*pod)));
  yaml_->verticalScrollBar()->setValue(scroll);
}

// The history of the pod with `pod`'s uid (its key when it has none), created on first sight;
// the pod shown longest ago is forgotten when more than kMaxPods have been shown.
ProbeHistory& PodDetailView::historyOf(const json& pod) {
  std::string uid = api::metadataOf(pod).value("uid", "");
  if (uid.empty()) uid = api::objectKey(pod);
  std::erase(recent_, uid);
  recent_.push_back(uid);
  while (recent_.size() > size_t(kMaxPods)) {
    histories_.erase(recent_.front());
    recent_.pop_front();
  }
  return histories_[uid];
}

}  // namespace kd::dashboard

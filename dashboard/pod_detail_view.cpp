#include "dashboard/pod_detail_view.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QTabWidget>
#include <QTreeWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <array>

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

struct ProbeKind {
  const char* field;
  const char* title;
};
constexpr std::array kProbes = {ProbeKind{"startupProbe", "Startup"},
                                ProbeKind{"livenessProbe", "Liveness"},
                                ProbeKind{"readinessProbe", "Readiness"}};

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

std::vector<Cells> probeRows(const json& pod) {
  std::vector<Cells> rows;
  for (const auto& c : array(field(pod, {"spec", "containers"}))) {
    for (const auto& k : kProbes) {
      const json& p = field(c, {k.field});
      if (!p.is_object()) continue;
      rows.push_back({text(c.value("name", "")), k.title, probeHandler(p),
                      text(p.value("initialDelaySeconds", 0)) + "s",
                      text(p.value("periodSeconds", 10)) + "s",
                      text(p.value("timeoutSeconds", 1)) + "s",
                      text(p.value("successThreshold", 1)), text(p.value("failureThreshold", 3))});
    }
  }
  return rows;
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
                        tr("Timeout"), tr("Success"), tr("Failure")})),
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
  for (auto [label, tree] :
       {std::pair{tr("Containers"), containers_}, std::pair{tr("Probes"), probes_},
        std::pair{tr("Conditions"), conditions_}}) {
    ol->addWidget(new QLabel("<b>" + label + "</b>"));
    ol->addWidget(tree);
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

QTreeWidget* PodDetailView::tree(const QString& name) const {
  return findChild<QTreeWidget*>(name);
}

void PodDetailView::setPod(const api::CachedObject& pod,
                           const std::vector<api::CachedObject>& events) {
  const bool samePod = pod && pod_ && api::objectKey(*pod) == api::objectKey(*pod_);
  pod_ = pod;
  logs_->setEnabled(pod != nullptr);
  if (!pod) {
    title_->clear();
    for (auto* t : {containers_, probes_, conditions_, events_}) t->clear();
    yaml_->clear();
    return;
  }
  title_->setText("<b>Pod " + QString::fromStdString(api::objectKey(*pod)) + "</b>");
  fill(containers_, containerRows(*pod));
  fill(probes_, probeRows(*pod));
  fill(conditions_, conditionRows(*pod));
  fill(events_, eventRows(eventsAbout(*pod, events)));
  // Keep the reader's scroll position while the same pod updates.
  const int scroll = samePod ? yaml_->verticalScrollBar()->value() : 0;
  yaml_->setPlainText(QString::fromStdString(api::toYaml(*pod)));
  yaml_->verticalScrollBar()->setValue(scroll);
}

}  // namespace kd::dashboard

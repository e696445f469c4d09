#include "dashboard/usage_charts.h"

#include <QChart>
#include <QChartView>
#include <QDateTime>
#include <QDateTimeAxis>
#include <QHBoxLayout>
#include <QLineSeries>
#include <QVBoxLayout>
#include <QValueAxis>
#include <algorithm>

#include "dashboard/async_call.h"

namespace kd::dashboard {

namespace {

QChartView* chartView(const QString& title, QLineSeries* series, const QString& unit) {
  auto* chart = new QChart;
  chart->setTitle(title);
  chart->legend()->hide();
  chart->addSeries(series);
  auto* time = new QDateTimeAxis;
  time->setFormat("HH:mm:ss");
  time->setTickCount(4);
  auto* value = new QValueAxis;
  value->setTitleText(unit);
  value->setLabelFormat("%.0f");
  chart->addAxis(time, Qt::AlignBottom);
  chart->addAxis(value, Qt::AlignLeft);
  series->attachAxis(time);
  series->attachAxis(value);
  auto* view = new QChartView(chart);
  view->setRenderHint(QPainter::Antialiasing);
  view->setMinimumHeight(180);
  return view;
}

// Fits a chart's axes to its points: the time span (a minute around a lone point) and 0 to
// a fifth above the highest value.
void fitAxes(QLineSeries* series) {
  const auto points = series->points();
  if (points.isEmpty()) return;
  qreal minX = points.front().x(), maxX = points.back().x(), maxY = 0;
  for (const QPointF& p : points) maxY = std::max(maxY, p.y());
  if (maxX - minX < 60'000) minX = maxX - 60'000;
  for (QAbstractAxis* axis : series->attachedAxes()) {
    if (auto* time = qobject_cast<QDateTimeAxis*>(axis)) {
      time->setRange(QDateTime::fromMSecsSinceEpoch(qint64(minX)),
                     QDateTime::fromMSecsSinceEpoch(qint64(maxX)));
    } else if (auto* value = qobject_cast<QValueAxis*>(axis)) {
      value->setRange(0, std::max<qreal>(1, maxY * 1.2));
    }
  }
}

Result<json> fetchHistory(client::ApiClient& client, const std::string& query) {
  auto r = client.request("GET", "/kubedesk/v1/metrics/history?" + query);
  if (!r.ok()) return r.status();
  if (!r->ok()) return client::statusFromResponse(r->status, r->body);
  json body = json::parse(r->body, nullptr, false);
  if (body.is_discarded()) return Status::internal("the metrics history is not JSON");
  return body;
}

}  // namespace

UsageCharts::UsageCharts(std::shared_ptr<client::ApiClient> client, const QString& idleNote,
                         QWidget* parent)
    : QWidget(parent), client_(std::move(client)), idleNote_(idleNote) {
  cpu_ = new QLineSeries;
  memory_ = new QLineSeries;
  cpuView_ = chartView(tr("CPU"), cpu_, tr("millicores"));
  memoryView_ = chartView(tr("Memory"), memory_, tr("MiB"));
  note_ = new QLabel(idleNote_);
  note_->setObjectName("metricsNote");
  auto* column = new QVBoxLayout(this);
  column->setContentsMargins(0, 0, 0, 0);
  column->addWidget(note_);
  auto* charts = new QHBoxLayout;
  charts->addWidget(cpuView_);
  charts->addWidget(memoryView_);
  column->addLayout(charts, 1);
  timer_.setInterval(kIntervalMs);
  connect(&timer_, &QTimer::timeout, this, &UsageCharts::refresh);
}

void UsageCharts::setClient(std::shared_ptr<client::ApiClient> client) {
  client_ = std::move(client);
  setSubject({}, {});
}

void UsageCharts::setSubject(const QString& label, const std::string& query) {
  label_ = label;
  query_ = query;
  cpu_->clear();
  memory_->clear();
  note_->setText(query_.empty() ? idleNote_ : tr("%1: reading its metrics…").arg(label_));
  refresh();
}

void UsageCharts::refresh() {
  if (query_.empty()) return;
  std::shared_ptr<client::ApiClient> client = client_;
  const std::string query = query_;
  runAsync<json>(
      this, [client, query] { return fetchHistory(*client, query); },
      [this, query](const Result<json>& history) { showHistory(query, history); });
}

void UsageCharts::showHistory(const std::string& query, const Result<json>& history) {
  if (query != query_) return;  // an answer for a subject no longer shown
  QList<QPointF> cpu, memory;
  if (history.ok()) {
    for (const json& p : history->value("points", json::array())) {
      const qreal t =
          QDateTime::fromString(QString::fromStdString(p.value("timestamp", "")), Qt::ISODateWithMs)
              .toMSecsSinceEpoch();
      cpu << QPointF(t, p.value("cpuNanoCores", 0.0) / 1e6);
      memory << QPointF(t, p.value("memoryBytes", 0.0) / (1024.0 * 1024.0));
    }
  }
  cpu_->replace(cpu);
  memory_->replace(memory);
  fitAxes(cpu_);
  fitAxes(memory_);
  note_->setText(
      history.ok() ? tr("%1: the last %2 samples (refreshed every %3 s)")
                         .arg(label_)
                         .arg(cpu.size())
                         .arg(kIntervalMs / 1000)
                   : tr("%1: %2").arg(label_, QString::fromStdString(history.status().message())));
  emit updated(history.ok() ? int(cpu.size()) : -1);
}

void UsageCharts::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  timer_.start();
  refresh();
}

void UsageCharts::hideEvent(QHideEvent* event) {
  timer_.stop();
  QWidget::hideEvent(event);
}

}  // namespace kd::dashboard

#pragma once
// UsageCharts: CPU (millicores) and memory (MiB) over time for one node or one pod, from the
// engine's metrics history (GET /kubedesk/v1/metrics/history?node=N or ?namespace=NS&pod=P,
// engine/server/metrics_api.h). Metrics have no watch, so the history is fetched off the GUI
// thread when the subject changes and every kIntervalMs while the charts are visible. A
// note above the charts says whose samples are shown, or the server's Status message.
// GUI thread only.

#include <QLabel>
#include <QTimer>
#include <QWidget>
#include <memory>
#include <string>

#include "engine/api/status.h"
#include "engine/client/api_client.h"

class QChartView;
class QLineSeries;

namespace kd::dashboard {

class UsageCharts : public QWidget {
  Q_OBJECT

 public:
  static constexpr int kIntervalMs = 10'000;

  // `client`: ClusterSession::clientPtr(), which the charts' calls hold; `idleNote` is shown
  // while there is no subject.
  UsageCharts(std::shared_ptr<client::ApiClient> client, const QString& idleNote,
              QWidget* parent = nullptr);

  // Reads through `client` from now on (another cluster's session); the charts go idle.
  void setClient(std::shared_ptr<client::ApiClient> client);
  // Shows the history the query `query` ("node=N", "namespace=NS&pod=P", percent-encoded)
  // selects, labelled `label` in the note; fetches it now. An empty query clears the charts.
  void setSubject(const QString& label, const std::string& query);

  QLineSeries* cpuSeries() const { return cpu_; }
  QLineSeries* memorySeries() const { return memory_; }
  QLabel* note() const { return note_; }

 public slots:
  // Fetches the subject's history now (the timer does so while visible).
  void refresh();

 signals:
  // After a history answer was shown: its point count, or -1 with the error in note().
  void updated(int points);

 protected:
  void showEvent(QShowEvent* event) override;
  void hideEvent(QHideEvent* event) override;

 private:
  void showHistory(const std::string& query, const Result<json>& history);

  std::shared_ptr<client::ApiClient> client_;
  QString idleNote_;
  QString label_;
  std::string query_;
  QTimer timer_;
  QLabel* note_;
  QLineSeries* cpu_;
  QLineSeries* memory_;
  QChartView* cpuView_;
  QChartView* memoryView_;
};

}  // namespace kd::dashboard

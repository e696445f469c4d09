#pragma once
// PodDetailView: everything about one pod on tabs — Overview (containers with state,
// restarts, image, ports and resources; probe settings and status per container with a
// timeline of their results; conditions), Events (the pod's events, live), Metrics (CPU and
// memory over time, once given a client: UsageCharts) and YAML. Apart from the metrics it only
// displays what it is given; the main window feeds it the full pod (GOT from the server whenever
// its compact entry in the pods cache changes) and the events from the live
// table. Probe transitions it has seen are remembered per pod uid (for
// the kMaxPods pods shown last) while the view lives, so the timeline outlasts a reselection.
// Its "Logs" button asks the main window to open the pod's logs.

#include <QWidget>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dashboard/probe_timeline.h"
#include "dashboard/usage_charts.h"
#include "engine/api/object_key.h"

class QLabel;
class QPlainTextEdit;
class QPushButton;
class QTabWidget;
class QTreeWidget;

namespace kd::dashboard {

class PodDetailView : public QWidget {
  Q_OBJECT

 public:
  static constexpr int kMaxPods = 32;  // pods whose probe history is kept
  // Columns of the "probes" tree after the settings: the probe's status.
  enum ProbeColumn {
    kResultColumn = 8,
    kConsecutiveFailuresColumn,
    kLastProbeColumn,
    kLastTransitionColumn,
    kLastFailureColumn
  };

  explicit PodDetailView(QWidget* parent = nullptr);

  // Adds the Metrics tab, which reads the pod's usage history through `client`
  // (ClusterSession::clientPtr()). Called again, it reads through the new client.
  void showMetrics(std::shared_ptr<client::ApiClient> client);
  UsageCharts* metrics() const { return metrics_; }

  // Shows `pod` (null clears; clearing an empty view touches no widget) with the events that
  // concern it, taken from `events`.
  void setPod(const api::CachedObject& pod, const std::vector<api::CachedObject>& events);
  api::CachedObject pod() const { return pod_; }

  // For tests and accessibility: the trees by name ("containers", "probes", "conditions",
  // "events").
  QTreeWidget* tree(const QString& name) const;
  ProbeTimeline* timeline() const { return timeline_; }

 signals:
  // The person asked for the logs of the pod shown.
  void logsRequested();

 private:
  ProbeHistory& historyOf(const json& pod);
  void showUsageOf(const json& pod);

  api::CachedObject pod_;
  std::map<std::string, ProbeHistory> histories_;  // by pod uid
  std::deque<std::string> recent_;                 // uids, least recently shown first
  QLabel* title_;
  QPushButton* logs_;
  QTabWidget* tabs_;
  QTreeWidget* containers_;
  QTreeWidget* probes_;
  ProbeTimeline* timeline_;
  QTreeWidget* conditions_;
  QTreeWidget* events_;
  UsageCharts* metrics_ = nullptr;
  QPlainTextEdit* yaml_;
};

// The events (core/v1) whose involvedObject is `obj` (same kind, namespace and name), oldest
// first by lastTimestamp.
std::vector<api::CachedObject> eventsAbout(const json& obj,
                                           const std::vector<api::CachedObject>& events);

}  // namespace kd::dashboard

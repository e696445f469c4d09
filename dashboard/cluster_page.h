#pragma once
// ClusterPage: the dashboard's "Cluster" section.
//
// - A header: context, API server and its version; for a KubeDesk profile also the profile and
//   its driver (cluster.json, engine/client/cli/profile_state.h). The session is a profile's
//   when its context names a profile directory whose own kubeconfig reaches the same server
//   (kdctl names a profile's context after the profile); any other context is foreign.
// - The nodes, live from the session's Node and Pod informers: name, Ready (as `kubectl get
//   nodes` prints it), roles, CPU and memory capacity, pods bound to it, and for vm-driver
//   profiles a VM column. That column is the node's Ready condition read as VM health
//   (Running / NotReady / Unknown), not libvirt's domain state: asking libvirt needs its event
//   loop in this process, which Qt's GLib dispatcher starves (vm/libvirt/libvirt_connection.h).
//   The pods per node are counted as the pods' changes arrive (PodsPerNode), also while the
//   page is hidden, so rebuilding the rows walks the nodes, never the pods.
// - CPU and memory charts of the selected node from GET /kubedesk/v1/metrics/history, fetched
//   off the GUI thread every 10 s while the page is visible (metrics have no watch).
// - For vm-driver profiles, the selected node's serial console log
//   (<profile>/nodes/mNN/console.log, vm/libvirt/libvirt_nodes.h), read when asked.
// - For KubeDesk profiles only: Start, Stop, Delete (after confirmation) and Add node, each the
//   real kdctl command run in this process on a worker thread; its output reaches the progress
//   pane as kdctl flushes it, and the buttons stay disabled until it ends.
//
// GUI thread only. The destructor waits for a running command: a half-done stop or delete is
// not abandoned.

#include <QFuture>
#include <QThreadPool>
#include <QTimer>
#include <QVariant>
#include <QWidget>
#include <array>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "dashboard/cluster_session.h"
#include "dashboard/usage_charts.h"

class QLabel;
class QLineSeries;
class QPlainTextEdit;
class QPushButton;
class QTabWidget;
class QStandardItemModel;
class QTableView;

namespace kd::dashboard {

// Which KubeDesk profile a session talks to; `name` empty for a foreign context.
struct ClusterProfile {
  std::string name;
  std::filesystem::path dir;
  std::string driver;  // "vm", "local", "simulated"; "" when never recorded
  bool isKubeDesk() const { return !name.empty(); }
  // Reads the profile behind `access` from kdctl's data root; foreign when none matches.
  static ClusterProfile of(const client::ClusterAccess& access);
};

// Pods bound to each node that still hold its resources (phase neither Succeeded nor Failed),
// kept from the pods' changes: each change costs O(1), whatever the number of pods.
class PodsPerNode {
 public:
  // `key` ("ns/name") now looks like `pod`, or is gone (null). True when a count changed.
  // Idempotent: applying a pod's current state again changes nothing.
  bool apply(const std::string& key, const api::CachedObject& pod);
  int count(std::string_view node) const;

 private:
  std::unordered_map<std::string, std::string> nodeOf_;  // counted pod key -> its node
  std::map<std::string, int, std::less<>> perNode_;      // node -> counted pods (> 0)
};

class ClusterPage : public QWidget {
  Q_OBJECT

 public:
  using Confirm = std::function<bool(QWidget* parent, const QString& question)>;
  // Node table columns.
  enum Column { kName, kReady, kRoles, kCpus, kMemory, kPods, kVm, kColumns };

  // `session` must outlive the page; `confirm` asks before Delete.
  ClusterPage(ClusterSession* session, Confirm confirm, QWidget* parent = nullptr);
  ~ClusterPage() override;

  const ClusterProfile& profile() const { return profile_; }
  QLabel* header() const { return header_; }
  QTableView* nodesTable() const { return nodesView_; }
  QStandardItemModel* nodes() const { return nodes_; }
  QLineSeries* cpuSeries() const { return charts_->cpuSeries(); }
  QLineSeries* memorySeries() const { return charts_->memorySeries(); }
  QLabel* metricsNote() const { return charts_->note(); }
  QPlainTextEdit* console() const { return console_; }
  QPlainTextEdit* progress() const { return progress_; }
  QTabWidget* panes() const { return panes_; }
  QWidget* controls() const { return controls_; }
  QPushButton* startButton() const { return start_; }
  QPushButton* stopButton() const { return stop_; }
  QPushButton* deleteButton() const { return delete_; }
  QPushButton* addNodeButton() const { return addNode_; }
  bool commandRunning() const { return command_.isRunning(); }
  // The selected node's name, "" when none.
  QString selectedNode() const;
  bool selectNode(const QString& name);

 public slots:
  // Shows the selected node's history, fetched now (and every 10 s while visible).
  void refreshMetrics();
  // Reads the selected VM node's console log now.
  void refreshConsole();
  void startCluster();
  void stopCluster();
  void deleteCluster();
  void addNode();

 signals:
  // After a history answer was shown: its point count, or -1 with the error in metricsNote().
  void metricsUpdated(int points);
  void consoleUpdated();
  // A kdctl command ended with exit code `rc`.
  void commandFinished(const QString& command, int rc);

 private:
  struct NodeRow {
    std::array<QString, kColumns> cells;
    QVariant readyColor, readyIcon;  // the Node table's health style of Ready
  };

  QWidget* buildHeader();
  QWidget* buildNodes();
  QWidget* buildCharts();
  QWidget* buildProgress();
  QWidget* buildConsole();
  QWidget* buildControls();
  void scheduleRebuild();
  void podsChanged(const ChangeBatch& batch);
  void rebuildNodes();
  std::vector<NodeRow> currentNodes() const;
  void setCell(int row, int column, const NodeRow& node);
  void refreshHeader();
  void runCommand(const QString& title, std::vector<std::string> argv);
  void appendProgress(const QString& text);
  void updateButtons();

  ClusterSession* session_;
  Confirm confirm_;
  ClusterProfile profile_;
  QString version_;
  bool rebuildQueued_ = false;
  PodsPerNode podsPerNode_;
  QThreadPool commandPool_;  // kdctl commands, one at a time, off Qt's global pool
  QFuture<int> command_;

  QLabel* header_;
  QStandardItemModel* nodes_;
  QTableView* nodesView_;
  UsageCharts* charts_;
  QTabWidget* panes_;  // progress and console
  QPlainTextEdit* console_;
  QWidget* controls_;
  QPushButton* start_;
  QPushButton* stop_;
  QPushButton* delete_;
  QPushButton* addNode_;
  QPlainTextEdit* progress_;
};

}  // namespace kd::dashboard

#pragma once
// MainWindow: the dashboard. A sidebar of sections (sections.h) with live counts, the live
// table of the chosen kind (namespace selector, text filter, sortable columns) and, below it,
// the details of the selected object (PodDetailView for pods, YAML for everything else).
// Actions: delete (after confirmation), scale and edit, run off the GUI thread; a failure
// shows the Status message the server sent. "Logs" opens a LogsView tab for the selected pod
// or for every pod of the selected workload. A second tab holds the manifest editor. Window
// geometry, splitters and the last section are remembered in QSettings.

#include <QMainWindow>
#include <functional>
#include <optional>

#include "dashboard/cluster_session.h"
#include "engine/api/status.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QSplitter;
class QStackedWidget;
class QTabWidget;
class QTableView;
class QTreeWidget;
class QTreeWidgetItem;

namespace kd::dashboard {

class LogsView;
class ManifestEditor;
class ObjectDetailView;
class PodDetailView;
class ResourceFilterModel;

// How the window asks the person something; replaceable so tests answer without dialogs.
struct Prompts {
  std::function<bool(QWidget* parent, const QString& question)> confirm;
  // The new replica count, or nullopt when cancelled.
  std::function<std::optional<int>(QWidget* parent, const QString& what, int current)> replicas;
  static Prompts dialogs();
};

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  // `session` must outlive the window.
  explicit MainWindow(ClusterSession* session, QWidget* parent = nullptr);
  ~MainWindow() override;

  void setPrompts(Prompts prompts) { prompts_ = std::move(prompts); }
  // Shows the table of `resource` ("pods"); "" shows the Cluster page. False if unknown.
  bool showSection(const QString& resource);
  QString currentSection() const { return resource_; }
  // Selects the row of `key` ("ns/name") in the current table; false when it is not shown.
  bool selectKey(const QString& key);

  QTableView* table() const { return table_; }
  ResourceFilterModel* filter() const { return filter_; }
  QComboBox* namespaceSelector() const { return namespaces_; }
  QLineEdit* textFilter() const { return text_; }
  PodDetailView* podDetail() const { return podDetail_; }
  ObjectDetailView* objectDetail() const { return objectDetail_; }
  ManifestEditor* editor() const { return editor_; }
  // The sidebar label of a section, e.g. "Pods (12)".
  QString sidebarText(const QString& resource) const;

 public slots:
  void deleteSelected();
  void scaleSelected();
  // Opens the selected object's YAML (without status) in the manifest editor.
  void editSelected();
  // Opens a closable tab with the logs of the selected pod, or of every pod the selected
  // object's selector reaches (Deployment, Job, ...); null when the selection has no logs.
  LogsView* openLogs();

 signals:
  // After an action's API call returned: `what` is e.g. "delete pods default/web-1".
  void actionFinished(const QString& what, const kd::Status& status);

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void buildUi();
  void startAllSections();
  void onSidebar(QTreeWidgetItem* item);
  void updateCount(const QString& resource, int rows);
  void updateNamespaces();
  void scheduleDetailRefresh();
  void refreshDetail();
  void updateActions();
  api::CachedObject selectedObject() const;
  void report(const QString& what, const Status& status);
  void restoreSettings();
  void saveSettings() const;

  ClusterSession* session_;
  Prompts prompts_ = Prompts::dialogs();
  QString resource_;
  const api::KindInfo* kind_ = nullptr;
  ResourceTableModel* model_ = nullptr;
  bool detailQueued_ = false;
  bool columnsSized_ = false;

  QTreeWidget* sidebar_;
  QStackedWidget* pages_;
  QLabel* clusterPage_;
  QSplitter* split_;
  QTableView* table_;
  ResourceFilterModel* filter_;
  QComboBox* namespaces_;
  QLineEdit* text_;
  QStackedWidget* details_;
  PodDetailView* podDetail_;
  ObjectDetailView* objectDetail_;
  QAction* deleteAction_;
  QAction* scaleAction_;
  QAction* editAction_;
  QAction* logsAction_;
  QTabWidget* tabs_;
  ManifestEditor* editor_;
};

}  // namespace kd::dashboard

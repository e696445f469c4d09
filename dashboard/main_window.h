#pragma once
// MainWindow: the dashboard. A sidebar of sections (sections.h) with live counts, the live
// table of the chosen kind (namespace selector, text filter, sortable columns) and, below it,
// the details of the selected object (PodDetailView for pods, YAML for everything else).
// Actions: delete (after confirmation), scale, edit, rollout restart/undo/pause/resume, CronJob
// trigger/suspend, port-forward and open in browser, run off the GUI thread; a failure shows
// the Status message the server sent. Port-forwards are listed in a dock panel. "Logs" opens a
// LogsView tab for the selected pod or for every pod of the selected workload. A second tab holds
// the manifest editor. Window geometry, splitters and the last section are remembered in QSettings.
// Desktop shell: Cluster ▸ Switch context and a toolbar selector move the window to another
// context through a ContextSwitcher (contexts.h), closing the logs and shell tabs and the
// port-forwards of the old session; View ▸ Theme picks System/Light/Dark (theme.h); Help ▸
// Keyboard shortcuts lists every action's shortcut. Last context and theme are remembered too.

#include <QMainWindow>
#include <functional>
#include <optional>
#include <set>

#include "dashboard/cluster_session.h"
#include "dashboard/object_actions.h"
#include "engine/api/status.h"

class QActionGroup;
class QComboBox;
class QDockWidget;
class QLabel;
class QMenu;
class QLineEdit;
class QSplitter;
class QStackedWidget;
class QTabWidget;
class QTableView;
class QTreeWidget;
class QTreeWidgetItem;

namespace kd::dashboard {

class ClusterPage;
class ContextSwitcher;
class LogsView;
class ManifestEditor;
class ObjectDetailView;
class PodDetailView;
class PortForwards;
class ResourceFilterModel;
class TerminalView;
class ThemeController;
enum class Theme;

// How the window asks the person something; replaceable so tests answer without dialogs.
struct Prompts {
  std::function<bool(QWidget* parent, const QString& question)> confirm;
  // The new replica count, or nullopt when cancelled.
  std::function<std::optional<int>(QWidget* parent, const QString& what, int current)> replicas;
  // The port to forward to, from the object's ports (may be edited), or nullopt when cancelled.
  std::function<std::optional<QString>(QWidget* parent, const QString& what,
                                       const QStringList& ports)>
      port;
  // Shows `url` in the person's browser.
  std::function<void(const QUrl& url)> openUrl;
  static Prompts dialogs();
};

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  // `session` must outlive the window (or its replacement by setSession).
  explicit MainWindow(ClusterSession* session, QWidget* parent = nullptr);
  ~MainWindow() override;

  // Moves the window to `session` (which must outlive it or the next call): the logs and shell
  // tabs and the port-forwards of the old session close, its tables are let go, and the
  // current section shows the new cluster. The editor keeps its text.
  void setSession(ClusterSession* session);
  ClusterSession* session() const { return session_; }
  // The context the window shows (the session's kubeconfig context).
  QString contextName() const;
  // Offers `switcher`'s contexts in the toolbar and the Cluster menu and follows its switches;
  // it must outlive the window.
  void setContextSwitcher(ContextSwitcher* switcher);
  QComboBox* contextSelector() const { return contexts_; }
  QMenu* contextMenu() const { return contextMenu_; }
  ThemeController* theme() const { return theme_; }
  void setTheme(Theme theme);
  // One "shortcut<TAB>what it does" line per action that has a shortcut, sorted.
  QStringList shortcutList() const;
  // Geometry, dock and splitter state, section, context and theme to QSettings (closing the
  // window does this too; the next window restores all but the context, which main reads).
  void saveSettings() const;

  void setPrompts(Prompts prompts) { prompts_ = std::move(prompts); }
  // Shows the table of `resource` ("pods"); "" shows the Cluster page. False if unknown.
  bool showSection(const QString& resource);
  QString currentSection() const { return resource_; }
  // Selects the row of `key` ("ns/name") in the current table; false when it is not shown.
  bool selectKey(const QString& key);
  // The selected row's object as the live table holds it; null when nothing is selected.
  api::CachedObject selectedObject() const;

  QTableView* table() const { return table_; }
  ResourceFilterModel* filter() const { return filter_; }
  QComboBox* namespaceSelector() const { return namespaces_; }
  QLineEdit* textFilter() const { return text_; }
  PodDetailView* podDetail() const { return podDetail_; }
  ObjectDetailView* objectDetail() const { return objectDetail_; }
  ClusterPage* clusterPage() const { return clusterPage_; }
  ManifestEditor* editor() const { return editor_; }
  PortForwards* portForwards() const { return portForwards_; }
  // The sidebar label of a section, e.g. "Pods (12)".
  QString sidebarText(const QString& resource) const;

 public slots:
  void deleteSelected();
  void scaleSelected();
  // Opens the selected object's YAML (without status), read live from the API, in the manifest
  // editor (actionFinished once it is there).
  void editSelected();
  // Opens a closable tab with the logs of the selected pod, or of every pod the selected
  // object's selector reaches (Deployment, Job, ...); null when the selection has no logs.
  LogsView* openLogs();
  // Opens a closable tab with a shell in the selected pod (its default container); null when
  // the selection is not a pod.
  TerminalView* openShell();
  // A rollout or CronJob action (object_actions.h) on the selected object, off the GUI thread;
  // its outcome goes to the status bar and actionFinished().
  void runObjectAction(kd::dashboard::ObjectAction action);
  // Forwards a local port to a port (asked for) of the selected pod, or of the pod behind the
  // selected workload or Service; listed in the Port forwards panel.
  void portForwardSelected();
  // Forwards a free local port to the selected Service's or pod's first port and opens it in
  // the browser once it listens.
  void openInBrowser();

 signals:
  // After an action's API call returned: `what` is e.g. "delete pods default/web-1".
  void actionFinished(const QString& what, const kd::Status& status);
  // setSession moved the window to another session.
  void sessionChanged(kd::dashboard::ClusterSession* session);

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
  // The pods cache holds compact pods (ClusterSession); the pod detail shows the full pod of
  // the selected row, GOT off the GUI thread whenever its cached entry changes.
  void followSelectedPod(const api::CachedObject& compact);
  void updateActions();
  void report(const QString& what, const Status& status);
  void restoreSettings();
  void buildMenus();
  void attachSession();
  void detachSession();
  void refreshContexts();
  void requestContext(const QString& context);
  void showShortcuts();
  void buildPortForwardsPanel();
  void connectPortForwards();
  void startForward(const QString& remote, bool open);
  void showActionsMenu();

  ClusterSession* session_;
  Prompts prompts_ = Prompts::dialogs();
  QString resource_;
  const api::KindInfo* kind_ = nullptr;
  ResourceTableModel* model_ = nullptr;
  bool detailQueued_ = false;
  api::CachedObject fullPod_;  // the selected pod as last GOT, or null
  std::string fullPodWanted_;  // "key@resourceVersion" of the cache entry last asked for
  bool fullPodFetching_ = false;
  int fullPodSession_ = 0;  // counts detached sessions: a late answer from one is dropped
  bool columnsSized_ = false;

  ContextSwitcher* switcher_ = nullptr;
  ThemeController* theme_;
  QComboBox* contexts_;
  QMenu* contextMenu_;
  QActionGroup* themeGroup_;
  QTreeWidget* sidebar_;
  QSplitter* mainSplit_;
  QStackedWidget* pages_;
  ClusterPage* clusterPage_;
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
  QAction* shellAction_;
  QAction* actionsAction_;
  QAction* forwardAction_;
  QAction* browserAction_;
  PortForwards* portForwards_;
  QTreeWidget* forwardsList_;
  QDockWidget* forwardsDock_;
  std::set<int> opening_;  // forwards to open in the browser once started
  QTabWidget* tabs_;
  ManifestEditor* editor_;
};

}  // namespace kd::dashboard

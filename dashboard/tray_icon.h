#pragma once
// ClusterTray: the cluster's state in the system tray. It follows the window's session: its
// context, its nodes Ready x/y (live from the session's Node table) and whether its API server
// answers (GET /healthz off the GUI thread, every few seconds). The icon is green when every
// node is Ready, amber when some are, red when none are, there are none or the server does not
// answer. Its menu shows or hides the window, starts or stops a KubeDesk profile's cluster (the
// Cluster page's own commands) and quits. The state is kept, and testable, whether or not the
// desktop has a system tray; the QSystemTrayIcon exists only when it has.

#include <QColor>
#include <QIcon>
#include <QObject>
#include <QString>
#include <QTimer>

class QAction;
class QMenu;
class QSystemTrayIcon;

namespace kd::dashboard {

class ClusterSession;
class MainWindow;

struct TrayState {
  enum class Level { Red, Amber, Green };
  QString context;
  bool reachable = false;
  QString error;  // why the server did not answer
  int ready = 0;
  int total = 0;

  Level level() const;
  QColor color() const;
  QString toolTip() const;
};

class ClusterTray : public QObject {
  Q_OBJECT

 public:
  // `window` must outlive the tray.
  explicit ClusterTray(MainWindow* window, QObject* parent = nullptr);
  ~ClusterTray() override;

  const TrayState& state() const { return state_; }
  QIcon icon() const;
  QMenu* menu() const { return menu_; }
  QSystemTrayIcon* trayIcon() const { return tray_; }  // null without a system tray

 public slots:
  // Asks the API server now whether it answers (the timer does so every few seconds).
  void probe();
  void toggleWindow();

 signals:
  void stateChanged();

 private:
  void follow(ClusterSession* session);
  void countNodes();
  void update();
  void updateMenu();

  MainWindow* window_;
  ClusterSession* session_ = nullptr;
  int generation_ = 0;  // answers of a probe to an earlier session are dropped
  bool probing_ = false;
  TrayState state_;
  QTimer probeTimer_;
  QMenu* menu_;
  QAction* showHide_;
  QAction* start_;
  QAction* stop_;
  QSystemTrayIcon* tray_ = nullptr;
};

}  // namespace kd::dashboard

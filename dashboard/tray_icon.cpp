#include "dashboard/tray_icon.h"

#include <QApplication>
#include <QMenu>
#include <QPainter>
#include <QPixmap>
#include <QSystemTrayIcon>

#include "dashboard/async_call.h"
#include "dashboard/cluster_page.h"
#include "dashboard/cluster_session.h"
#include "dashboard/main_window.h"

namespace kd::dashboard {
namespace {

constexpr int kProbeIntervalMs = 5000;

const api::KindInfo& nodesKind() {
  return *api::KindsRegistry::builtin().resolve("nodes");
}

}  // namespace

TrayState::Level TrayState::level() const {
  if (!reachable || total == 0 || ready == 0) return Level::Red;
  return ready == total ? Level::Green : Level::Amber;
}

QColor TrayState::color() const {
  switch (level()) {
    case Level::Green:
      return QColor(0x2e, 0x9d, 0x4f);
    case Level::Amber:
      return QColor(0xe0, 0x9a, 0x10);
    case Level::Red:
      break;
  }
  return QColor(0xd0, 0x31, 0x2d);
}

QString TrayState::toolTip() const {
  const QString head = QObject::tr("KubeDesk — %1").arg(context);
  if (!reachable) {
    return head + "\n" +
           (error.isEmpty() ? QObject::tr("Connecting…")
                            : QObject::tr("Unreachable: %1").arg(error));
  }
  return head + "\n" + QObject::tr("Nodes Ready %1/%2").arg(ready).arg(total);
}

ClusterTray::ClusterTray(MainWindow* window, QObject* parent)
    : QObject(parent), window_(window), menu_(new QMenu) {
  showHide_ = menu_->addAction(tr("Hide window"), this, &ClusterTray::toggleWindow);
  menu_->addSeparator();
  start_ = menu_->addAction(tr("Start cluster"), this,
                            [this] { window_->clusterPage()->startCluster(); });
  stop_ =
      menu_->addAction(tr("Stop cluster"), this, [this] { window_->clusterPage()->stopCluster(); });
  menu_->addSeparator();
  menu_->addAction(tr("Quit"), this, [this] {
    window_->close();  // saves the window's settings
    QApplication::quit();
  });
  connect(menu_, &QMenu::aboutToShow, this, &ClusterTray::updateMenu);
  if (QSystemTrayIcon::isSystemTrayAvailable()) {
    tray_ = new QSystemTrayIcon(this);
    tray_->setContextMenu(menu_);
    connect(tray_, &QSystemTrayIcon::activated, this, [this](QSystemTrayIcon::ActivationReason r) {
      if (r == QSystemTrayIcon::Trigger) toggleWindow();
    });
    tray_->show();
  }
  probeTimer_.setInterval(kProbeIntervalMs);
  connect(&probeTimer_, &QTimer::timeout, this, &ClusterTray::probe);
  probeTimer_.start();
  connect(window_, &MainWindow::sessionChanged, this, &ClusterTray::follow);
  follow(window_->session());
}

ClusterTray::~ClusterTray() {
  delete menu_;
}

QIcon ClusterTray::icon() const {
  QPixmap dot(32, 32);
  dot.fill(Qt::transparent);
  QPainter p(&dot);
  p.setRenderHint(QPainter::Antialiasing);
  p.setPen(QPen(state_.color().darker(140), 2));
  p.setBrush(state_.color());
  p.drawEllipse(QRectF(3, 3, 26, 26));
  return QIcon(dot);
}

void ClusterTray::follow(ClusterSession* session) {
  if (session_) session_->model(nodesKind())->disconnect(this);
  session_ = session;
  ++generation_;
  probing_ = false;
  state_ = TrayState{window_->contextName()};
  connect(session_->model(nodesKind()), &ResourceTableModel::batchApplied, this,
          &ClusterTray::countNodes);
  countNodes();
  probe();
}

// Ready as the Node table's STATUS cell says it ("Ready", "Ready,SchedulingDisabled").
void ClusterTray::countNodes() {
  ResourceTableModel* nodes = session_->model(nodesKind());
  const int status = nodes->columnNamed("Status");
  state_.total = nodes->rowCount();
  state_.ready = 0;
  for (int r = 0; r < state_.total; ++r) {
    if (nodes->index(r, status).data().toString().split(',').front() == "Ready") ++state_.ready;
  }
  update();
}

void ClusterTray::probe() {
  if (probing_) return;
  probing_ = true;
  std::shared_ptr<client::ApiClient> client = session_->clientPtr();
  runAsync<bool>(
      this,
      [client]() -> Result<bool> {
        auto r = client->request("GET", "/healthz");
        if (!r.ok()) return r.status();
        if (!r->ok()) return client::statusFromResponse(r->status, r->body);
        return true;
      },
      [this, generation = generation_](const Result<bool>& r) {
        if (generation != generation_) return;
        probing_ = false;
        state_.reachable = r.ok();
        state_.error = r.ok() ? QString() : QString::fromStdString(r.status().message());
        update();
      });
}

void ClusterTray::update() {
  if (tray_) {
    tray_->setIcon(icon());
    tray_->setToolTip(state_.toolTip());
  }
  emit stateChanged();
}

void ClusterTray::updateMenu() {
  showHide_->setText(window_->isVisible() ? tr("Hide window") : tr("Show window"));
  ClusterPage* page = window_->clusterPage();
  const bool own = page->profile().isKubeDesk() && !page->commandRunning();
  start_->setVisible(page->profile().isKubeDesk());
  stop_->setVisible(page->profile().isKubeDesk());
  start_->setEnabled(own && !state_.reachable);
  stop_->setEnabled(own && state_.reachable);
}

void ClusterTray::toggleWindow() {
  if (window_->isVisible()) {
    window_->hide();
    return;
  }
  window_->showNormal();
  window_->raise();
  window_->activateWindow();
}

}  // namespace kd::dashboard

#include "dashboard/status_style.h"

#include <QGuiApplication>
#include <QPainter>
#include <QPalette>
#include <QPixmap>
#include <array>
#include <utility>

#include "dashboard/theme.h"

// Resources of a static library must be registered by hand (Q_INIT_RESOURCE is global-only).
static void initDashboardResources() {
  Q_INIT_RESOURCE(kubedesk);
}

namespace kd::dashboard {
namespace {

struct StatusWord {
  const char* word;
  Health health;
};

// Exact words kubectl prints in STATUS columns (pods, nodes, PVCs, namespaces, jobs).
constexpr std::array kWords = {
    StatusWord{"Running", Health::Good},
    StatusWord{"Ready", Health::Good},
    StatusWord{"Active", Health::Good},
    StatusWord{"Bound", Health::Good},
    StatusWord{"Complete", Health::Done},
    StatusWord{"Completed", Health::Done},
    StatusWord{"Succeeded", Health::Done},
    StatusWord{"Pending", Health::Progressing},
    StatusWord{"ContainerCreating", Health::Progressing},
    StatusWord{"PodInitializing", Health::Progressing},
    StatusWord{"Terminating", Health::Progressing},
    StatusWord{"Failed", Health::Bad},
    StatusWord{"Error", Health::Bad},
    StatusWord{"CrashLoopBackOff", Health::Bad},
    StatusWord{"ImagePullBackOff", Health::Bad},
    StatusWord{"ErrImagePull", Health::Bad},
    StatusWord{"NotReady", Health::Bad},
    StatusWord{"OOMKilled", Health::Bad},
    StatusWord{"Lost", Health::Bad},
};

constexpr std::array<const char*, 5> kIconFiles = {
    nullptr, ":/icons/status-running.svg", ":/icons/status-pending.svg",
    ":/icons/status-completed.svg", ":/icons/status-failed.svg"};

// The SVG when Qt can render it (the qt6-svg plugin is optional), else a painted dot.
QIcon iconFor(Health h) {
  initDashboardResources();
  const char* file = kIconFiles[static_cast<int>(h)];
  QIcon svg(QString::fromLatin1(file));
  if (!svg.pixmap(16, 16).isNull()) return svg;
  QPixmap dot(16, 16);
  dot.fill(Qt::transparent);
  QPainter p(&dot);
  p.setRenderHint(QPainter::Antialiasing);
  p.setPen(Qt::NoPen);
  p.setBrush(healthColor(h));
  p.drawEllipse(QRectF(2, 2, 12, 12));
  return QIcon(dot);
}

}  // namespace

Health healthOf(const QString& status) {
  for (const auto& w : kWords) {
    if (status == QLatin1String(w.word)) return w.health;
  }
  if (status.startsWith(QLatin1String("Init:"))) return Health::Progressing;
  if (status.contains(QLatin1String("BackOff")) || status.contains(QLatin1String("Err")))
    return Health::Bad;
  return Health::Unknown;
}

QColor healthColor(Health h) {
  return healthColorOn(h, QGuiApplication::palette().color(QPalette::Base));
}

QColor healthColorOn(Health h, const QColor& background) {
  const bool dark = isDarkColor(background);
  switch (h) {
    case Health::Good:
      return dark ? QColor(0x4f, 0xd1, 0x7a) : QColor(0x2e, 0x9d, 0x4f);
    case Health::Progressing:
      return dark ? QColor(0xf2, 0xb3, 0x3d) : QColor(0xb0, 0x6f, 0x00);
    case Health::Done:
      return dark ? QColor(0xa3, 0xb4, 0xd6) : QColor(0x5b, 0x6b, 0x8c);
    case Health::Bad:
      return dark ? QColor(0xff, 0x7a, 0x73) : QColor(0xd0, 0x31, 0x2d);
    case Health::Unknown:
      break;
  }
  return {};
}

QIcon healthIcon(Health h) {
  static const QIcon kIcons[] = {QIcon(), iconFor(Health::Good), iconFor(Health::Progressing),
                                 iconFor(Health::Done), iconFor(Health::Bad)};
  return kIcons[static_cast<int>(h)];
}

}  // namespace kd::dashboard

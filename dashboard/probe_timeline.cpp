#include "dashboard/probe_timeline.h"

#include <QHelpEvent>
#include <QPainter>
#include <QTimer>
#include <QToolTip>
#include <algorithm>

namespace kd::dashboard {
namespace {

constexpr const char* kProbeStatusAnnotation = "kubedesk.io/probe-status";
const QColor kUnknownColor(0xb0, 0xb0, 0xb0);
constexpr int kRepaintMs = 2000;  // the window slides; a pixel is ~1 s at the default span

// Typed reads that never throw: a field of the wrong type reads as absent.
QString stringAt(const json& obj, const std::string& key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? QString::fromStdString(it->get<std::string>())
                                            : QString();
}

int intAt(const json& obj, const std::string& key, int fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<int>() : fallback;
}

const json& objectAt(const json& obj, const std::string& key) {
  static const json kEmpty = json::object();
  if (!obj.is_object()) return kEmpty;
  auto it = obj.find(key);
  return it != obj.end() && it->is_object() ? *it : kEmpty;
}

const json& arrayAt(const json& obj, const std::string& key) {
  static const json kEmpty = json::array();
  if (!obj.is_object()) return kEmpty;
  auto it = obj.find(key);
  return it != obj.end() && it->is_array() ? *it : kEmpty;
}

QDateTime timeAt(const json& obj, const std::string& key) {
  return QDateTime::fromString(stringAt(obj, key), Qt::ISODateWithMs);
}

// "spec.containers{web}" → "web".
QString containerOf(const QString& fieldPath) {
  const qsizetype open = fieldPath.indexOf('{');
  if (open < 0 || !fieldPath.endsWith('}')) return {};
  return fieldPath.mid(open + 1, fieldPath.size() - open - 2);
}

// "Readiness probe failed: <why>" → {"readiness", "<why>"}; empty key when it is no probe's.
std::pair<QString, QString> probeFailure(const QString& message) {
  for (const auto& f : kProbeFields) {
    const QString prefix = QString::fromLatin1(f.title) + " probe failed: ";
    if (message.startsWith(prefix)) return {QString::fromLatin1(f.key), message.mid(prefix.size())};
  }
  return {};
}

int rowHeight(const QFontMetrics& fm) {
  return fm.height() + 6;
}
QString rowLabel(const ProbeId& id) {
  return id.container + "  " + id.probe;
}
// Seconds between axis ticks: a round step giving at most about six ticks.
qint64 axisStep(qint64 spanSeconds) {
  qint64 step = 10;
  for (const qint64 s : {10, 30, 60, 120, 300, 600, 1800, 3600}) {
    step = s;
    if (spanSeconds / s <= 6) return s;
  }
  while (spanSeconds / step > 6) step *= 2;
  return step;
}
QString agoLabel(qint64 ago) {
  if (ago == 0) return ProbeTimeline::tr("now");
  if (ago < 60) return QString("-%1s").arg(ago);
  if (ago % 3600 == 0) return QString("-%1h").arg(ago / 3600);
  return QString("-%1m").arg(ago / 60);
}

template <typename T>
bool earlier(const T& a, const QDateTime& t) {
  return a.at < t;
}

}  // namespace

ProbeResult probeResultOf(const QString& word) {
  if (word == QLatin1String("Success")) return ProbeResult::Success;
  if (word == QLatin1String("Failure")) return ProbeResult::Failure;
  return ProbeResult::Unknown;
}

QString probeResultName(ProbeResult result) {
  switch (result) {
    case ProbeResult::Success:
      return QStringLiteral("Success");
    case ProbeResult::Failure:
      return QStringLiteral("Failure");
    case ProbeResult::Unknown:
      break;
  }
  return QStringLiteral("Unknown");
}

Health probeHealth(ProbeResult result) {
  return result == ProbeResult::Success   ? Health::Good
         : result == ProbeResult::Failure ? Health::Bad
                                          : Health::Unknown;
}

// --- ProbeHistory ---------------------------------------------------------------------------

void ProbeHistory::update(const json& pod, const std::vector<api::CachedObject>& events) {
  probes_.clear();
  for (const auto& c : arrayAt(objectAt(pod, "spec"), "containers")) {
    for (const auto& f : kProbeFields) {
      const json& probe = objectAt(c, f.specField);
      if (probe.empty()) continue;  // not declared (a probe needs a handler)
      ProbeId id{stringAt(c, "name"), QString::fromLatin1(f.key)};
      probes_.push_back(id);
      tracks_[id].periodSeconds = std::max(1, intAt(probe, "periodSeconds", 10));
    }
  }
  readAnnotation(pod);
  readEvents(pod, events);
}

void ProbeHistory::readAnnotation(const json& pod) {
  const QString text =
      stringAt(objectAt(api::metadataOf(pod), "annotations"), kProbeStatusAnnotation);
  const json parsed = json::parse(text.toStdString(), nullptr, false);
  for (const auto& id : probes_) {
    const json& entry =
        objectAt(objectAt(parsed, id.container.toStdString()), id.probe.toStdString());
    if (entry.empty()) continue;
    ProbeStatus s;
    s.published = true;
    s.result = probeResultOf(stringAt(entry, "result"));
    s.consecutiveFailures = intAt(entry, "consecutiveFailures", 0);
    s.lastFailureMessage = stringAt(entry, "lastFailureMessage");
    s.lastTransition = timeAt(entry, "lastTransitionTime");
    s.lastProbe = timeAt(entry, "lastProbeTime");
    Track& track = tracks_[id];
    track.published = s;
    if (s.lastTransition.isValid()) addTransition(track, {s.lastTransition, s.result});
  }
}

void ProbeHistory::readEvents(const json& pod, const std::vector<api::CachedObject>& events) {
  const QString uid = stringAt(api::metadataOf(pod), "uid");
  for (auto& [id, track] : tracks_) track.failures.clear();
  for (const auto& e : events) {
    if (!e || stringAt(*e, "reason") != QLatin1String("Unhealthy")) continue;
    const json& involved = objectAt(*e, "involvedObject");
    const QString eventUid = stringAt(involved, "uid");
    if (!uid.isEmpty() && !eventUid.isEmpty() && eventUid != uid) continue;
    const auto [key, why] = probeFailure(stringAt(*e, "message"));
    auto track = tracks_.find({containerOf(stringAt(involved, "fieldPath")), key});
    if (key.isEmpty() || track == tracks_.end()) continue;
    // An aggregated event (count > 1) tells when its first and last failures were.
    QDateTime last = timeAt(*e, "lastTimestamp");
    if (!last.isValid()) last = timeAt(*e, "eventTime");
    const QDateTime first = timeAt(*e, "firstTimestamp");
    if (intAt(*e, "count", 1) > 1 && first.isValid() && first != last)
      track->second.failures.push_back({first, why});
    if (last.isValid()) track->second.failures.push_back({last, why});
  }
  for (auto& [id, track] : tracks_) {
    auto& f = track.failures;
    std::stable_sort(f.begin(), f.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
    if (f.size() > size_t(kMaxFailures)) f.erase(f.begin(), f.end() - kMaxFailures);
  }
}

void ProbeHistory::addTransition(Track& track, Transition t) {
  auto& list = track.transitions;
  auto pos = std::lower_bound(list.begin(), list.end(), t.at, earlier<Transition>);
  if (pos != list.end() && pos->at == t.at && pos->result == t.result) return;  // seen
  list.insert(pos, t);
  if (list.size() > size_t(kMaxTransitions)) list.pop_front();
}

ProbeStatus ProbeHistory::status(const ProbeId& id) const {
  auto it = tracks_.find(id);
  if (it == tracks_.end()) return {};
  ProbeStatus s = it->second.published;
  // Checks that failed after the agent last wrote the annotation: the agent does not rewrite
  // it while the result stays, so the events are the fresher word.
  for (const auto& f : it->second.failures) {
    if (s.lastProbe.isValid() && f.at <= s.lastProbe) continue;
    s.lastProbe = f.at;
    s.lastFailureMessage = f.message;
    if (s.result == ProbeResult::Failure) ++s.consecutiveFailures;
  }
  return s;
}

std::vector<ProbeSegment> ProbeHistory::segments(const ProbeId& id, const QDateTime& from,
                                                 const QDateTime& to) const {
  static const Track kNone;
  auto it = tracks_.find(id);
  const Track& track = it == tracks_.end() ? kNone : it->second;
  if (!(from < to)) return {};
  const qint64 periodMs = qint64(track.periodSeconds) * 1000;
  // The result is constant between consecutive cuts: every transition, and the start and end
  // of every failed check's period.
  std::vector<QDateTime> cuts = {from, to};
  auto cutAt = [&](const QDateTime& t) {
    if (from < t && t < to) cuts.push_back(t);
  };
  for (const auto& t : track.transitions) cutAt(t.at);
  for (const auto& f : track.failures) {
    cutAt(f.at);
    cutAt(f.at.addMSecs(periodMs));
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  auto resultAt = [&](const QDateTime& t) {
    // All failed checks last one period, so the latest one at or before t decides.
    auto f = std::upper_bound(track.failures.begin(), track.failures.end(), t,
                              [](const QDateTime& at, const FailedCheck& c) { return at < c.at; });
    if (f != track.failures.begin() && std::prev(f)->at.addMSecs(periodMs) > t)
      return ProbeResult::Failure;
    auto s = std::upper_bound(track.transitions.begin(), track.transitions.end(), t,
                              [](const QDateTime& at, const Transition& c) { return at < c.at; });
    return s == track.transitions.begin() ? ProbeResult::Unknown : std::prev(s)->result;
  };
  std::vector<ProbeSegment> out;
  for (size_t i = 0; i + 1 < cuts.size(); ++i) {
    const ProbeResult r = resultAt(cuts[i]);
    if (!out.empty() && out.back().result == r)
      out.back().end = cuts[i + 1];
    else
      out.push_back({cuts[i], cuts[i + 1], r});
  }
  return out;
}

// --- ProbeTimeline --------------------------------------------------------------------------

ProbeTimeline::ProbeTimeline(QWidget* parent) : QWidget(parent) {
  setObjectName("probeTimeline");
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
  auto* timer = new QTimer(this);
  connect(timer, &QTimer::timeout, this, [this] {
    if (isVisible() && !probes().empty()) update();
  });
  timer->start(kRepaintMs);
}

void ProbeTimeline::setHistory(const ProbeHistory& history) {
  const bool resized = history.probes().size() != history_.probes().size();
  history_ = history;
  if (resized) updateGeometry();
  update();
}

void ProbeTimeline::setSpan(std::chrono::seconds span) {
  span_ = std::max(span, std::chrono::seconds(10));
  update();
}

std::vector<ProbeSegment> ProbeTimeline::segments(const ProbeId& id) const {
  const QDateTime now = QDateTime::currentDateTimeUtc();
  return history_.segments(id, now.addSecs(-span_.count()), now);
}

int ProbeTimeline::labelWidth() const {
  int w = 0;
  for (const auto& id : probes()) w = std::max(w, fontMetrics().horizontalAdvance(rowLabel(id)));
  return w + 12;
}

QRect ProbeTimeline::barRect(int row) const {
  const int h = rowHeight(fontMetrics());
  const int left = labelWidth();
  return QRect(left, 4 + row * h, std::max(1, width() - left - 8), h - 4);
}

QSize ProbeTimeline::sizeHint() const {
  const int rows = std::max<int>(1, int(probes().size()));
  return QSize(480, 8 + rows * rowHeight(fontMetrics()) + fontMetrics().height() + 4);
}

void ProbeTimeline::paintEvent(QPaintEvent*) {
  QPainter p(this);
  if (probes().empty()) {
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(rect(), Qt::AlignCenter, tr("No probes"));
    return;
  }
  const QDateTime now = QDateTime::currentDateTimeUtc();
  const QDateTime from = now.addSecs(-span_.count());
  const double msPerPixel = double(span_.count()) * 1000 / barRect(0).width();
  for (int row = 0; row < int(probes().size()); ++row) {
    const ProbeId& id = probes()[size_t(row)];
    const QRect bar = barRect(row);
    p.setPen(palette().color(QPalette::WindowText));
    p.drawText(QRect(0, bar.top(), bar.left() - 6, bar.height()), Qt::AlignVCenter | Qt::AlignLeft,
               rowLabel(id));
    for (const auto& s : history_.segments(id, from, now)) {
      const int x0 = bar.left() + int(from.msecsTo(s.start) / msPerPixel);
      const int x1 = bar.left() + int(from.msecsTo(s.end) / msPerPixel);
      const Health h = probeHealth(s.result);
      // At least a pixel, so a one-second failure on a long span stays visible.
      p.fillRect(QRect(x0, bar.top(), std::max(1, x1 - x0), bar.height()),
                 h == Health::Unknown ? kUnknownColor : healthColor(h));
    }
  }
  // The time axis: about six ticks, "now" at the right.
  const QRect last = barRect(int(probes().size()) - 1);
  const qint64 step = axisStep(span_.count());
  p.setPen(palette().color(QPalette::WindowText));
  for (qint64 ago = 0; ago <= span_.count(); ago += step) {
    const int x = last.right() - int(double(ago) * 1000 / msPerPixel);
    p.drawLine(x, last.bottom() + 2, x, last.bottom() + 5);
    const QString label = agoLabel(ago);
    const int w = fontMetrics().horizontalAdvance(label);
    p.drawText(std::clamp(x - w / 2, last.left(), width() - w),
               last.bottom() + 6 + fontMetrics().ascent(), label);
  }
}

// A tooltip names the probe, result and time range under the pointer.
bool ProbeTimeline::event(QEvent* e) {
  if (e->type() != QEvent::ToolTip) return QWidget::event(e);
  const QPoint pos = static_cast<QHelpEvent*>(e)->pos();
  const QDateTime now = QDateTime::currentDateTimeUtc();
  for (int row = 0; row < int(probes().size()); ++row) {
    const QRect bar = barRect(row);
    if (!bar.contains(pos)) continue;
    const QDateTime at = now.addMSecs(
        -qint64(double(bar.right() - pos.x()) / bar.width() * double(span_.count()) * 1000));
    const ProbeId& id = probes()[size_t(row)];
    for (const auto& s : history_.segments(id, now.addSecs(-span_.count()), now)) {
      if (s.start <= at && at <= s.end) {
        QToolTip::showText(static_cast<QHelpEvent*>(e)->globalPos(),
                           QString("%1 %2: %3, %4 to %5")
                               .arg(id.container, id.probe, probeResultName(s.result),
                                    s.start.toLocalTime().toString("HH:mm:ss"),
                                    s.end.toLocalTime().toString("HH:mm:ss")),
                           this);
        return true;
      }
    }
  }
  QToolTip::hideText();
  e->ignore();
  return true;
}

}  // namespace kd::dashboard

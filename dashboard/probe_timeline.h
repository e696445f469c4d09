#pragma once
// The probes of one pod over time: what the dashboard knows about each container probe's
// results, and a small chart of them.
//
// ProbeHistory is the model, free of widgets. It reads two things the node agent publishes:
// the pod annotation `kubedesk.io/probe-status` (each probe's result since its
// lastTransitionTime, rewritten only when some result changes) and the `Unhealthy` events
// ("Readiness probe failed: <why>", one per failed check, or aggregated with count and
// first/lastTimestamp). Transitions seen in the annotation are kept across updates, so the
// history grows while the pod is watched; it is bounded (kMaxTransitions, kMaxFailures per
// probe). segments() turns it into the result over a time window: the annotation's results
// as steps, with every failed check painted Failure for one period.
//
// ProbeTimeline paints one row per probe with QPainter: a few rectangles per row cost nothing,
// where QtCharts would build a graphics scene and has no categorical timeline series.

#include <QDateTime>
#include <QWidget>
#include <chrono>
#include <deque>
#include <map>
#include <tuple>
#include <vector>

#include "dashboard/status_style.h"
#include "engine/api/object_key.h"

namespace kd::dashboard {

// The three probes of a container: its spec field, the annotation's key and the title the
// kubelet's messages use ("Readiness probe failed: ..."), in the order the kubelet runs them.
struct ProbeField {
  const char* specField;
  const char* key;
  const char* title;
};
inline constexpr ProbeField kProbeFields[] = {{"startupProbe", "startup", "Startup"},
                                              {"livenessProbe", "liveness", "Liveness"},
                                              {"readinessProbe", "readiness", "Readiness"}};

enum class ProbeResult { Unknown, Success, Failure };

// "Success" and "Failure" as the agent writes them; anything else is Unknown.
ProbeResult probeResultOf(const QString& word);
QString probeResultName(ProbeResult result);
// Success is Good, Failure Bad, as status_style.h colours them.
Health probeHealth(ProbeResult result);

struct ProbeId {
  QString container;
  QString probe;  // "startup", "liveness" or "readiness", the annotation's keys
  bool operator==(const ProbeId&) const = default;
  bool operator<(const ProbeId& o) const {
    return std::tie(container, probe) < std::tie(o.container, o.probe);
  }
};

struct ProbeSegment {
  QDateTime start, end;
  ProbeResult result = ProbeResult::Unknown;
};

// One probe's latest state. consecutiveFailures and lastProbe are the annotation's (written at
// the last transition) brought forward by the failed checks the events report since then.
struct ProbeStatus {
  ProbeResult result = ProbeResult::Unknown;
  bool published = false;  // false: the agent has said nothing about this probe yet
  int consecutiveFailures = 0;
  QString lastFailureMessage;
  QDateTime lastTransition, lastProbe;
};

class ProbeHistory {
 public:
  static constexpr int kMaxTransitions = 64;
  static constexpr int kMaxFailures = 256;

  // Takes the probes declared in `pod`'s spec, its probe-status annotation (adding the
  // transitions not seen before) and the failed checks among `events` (the pod's events; ones
  // about another pod of the same name are skipped by uid). Malformed annotations and events
  // are ignored: they only leave gaps.
  void update(const json& pod, const std::vector<api::CachedObject>& events);

  // The probes the spec declares, in spec order (startup, liveness, readiness per container).
  const std::vector<ProbeId>& probes() const { return probes_; }
  ProbeStatus status(const ProbeId& id) const;
  // The results covering [from, to], in order, adjacent segments of one result merged. Before
  // the first known transition the result is Unknown.
  std::vector<ProbeSegment> segments(const ProbeId& id, const QDateTime& from,
                                     const QDateTime& to) const;

 private:
  struct Transition {
    QDateTime at;
    ProbeResult result;
  };
  struct FailedCheck {
    QDateTime at;
    QString message;
  };
  struct Track {
    int periodSeconds = 10;
    ProbeStatus published;
    std::deque<Transition> transitions;  // oldest first
    std::vector<FailedCheck> failures;   // oldest first, from the events given last
  };

  void readAnnotation(const json& pod);
  void readEvents(const json& pod, const std::vector<api::CachedObject>& events);
  static void addTransition(Track& track, Transition t);

  std::vector<ProbeId> probes_;
  std::map<ProbeId, Track> tracks_;
};

class ProbeTimeline : public QWidget {
  Q_OBJECT

 public:
  explicit ProbeTimeline(QWidget* parent = nullptr);

  void setHistory(const ProbeHistory& history);
  // How far back the chart reaches (default five minutes).
  void setSpan(std::chrono::seconds span);
  std::chrono::seconds span() const { return span_; }

  // What the chart shows: the probes, and each one's segments over [now - span, now].
  const std::vector<ProbeId>& probes() const { return history_.probes(); }
  std::vector<ProbeSegment> segments(const ProbeId& id) const;

  QSize sizeHint() const override;

 protected:
  void paintEvent(QPaintEvent* event) override;
  bool event(QEvent* event) override;

 private:
  QRect barRect(int row) const;
  int labelWidth() const;

  ProbeHistory history_;
  std::chrono::seconds span_{std::chrono::minutes(5)};
};

}  // namespace kd::dashboard

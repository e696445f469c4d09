#pragma once
// PodDetailView: everything about one pod on tabs — Overview (containers with state,
// restarts, image, ports and resources; probe settings per container; conditions), Events
// (the pod's events, live) and YAML. It only displays what it is given; the main window feeds
// it the pod and the events from the live tables whenever they change. Its "Logs" button asks
// the main window to open the pod's logs.

#include <QWidget>
#include <vector>

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
  explicit PodDetailView(QWidget* parent = nullptr);

  // Shows `pod` (null clears) with the events that concern it, taken from `events`.
  void setPod(const api::CachedObject& pod, const std::vector<api::CachedObject>& events);
  api::CachedObject pod() const { return pod_; }

  // For tests and accessibility: the trees by name ("containers", "probes", "conditions",
  // "events").
  QTreeWidget* tree(const QString& name) const;

 signals:
  // The person asked for the logs of the pod shown.
  void logsRequested();

 private:
  api::CachedObject pod_;
  QLabel* title_;
  QPushButton* logs_;
  QTabWidget* tabs_;
  QTreeWidget* containers_;
  QTreeWidget* probes_;
  QTreeWidget* conditions_;
  QTreeWidget* events_;
  QPlainTextEdit* yaml_;
};

// The events (core/v1) whose involvedObject is `obj` (same kind, namespace and name), oldest
// first by lastTimestamp.
std::vector<api::CachedObject> eventsAbout(const json& obj,
                                           const std::vector<api::CachedObject>& events);

}  // namespace kd::dashboard

#include "dashboard/cluster_session.h"

#include <QTimer>

namespace kd::dashboard {
namespace {

using api::JsonProjection;

// What the dashboard reads of an Event: the Events table (the printer's columns), the pod
// detail's events and the probe timeline.
JsonProjection compactEvent() {
  return JsonProjection::only({"apiVersion", "kind", "metadata", "involvedObject", "reason",
                               "message", "type", "count", "deprecatedCount", "series",
                               "firstTimestamp", "lastTimestamp", "eventTime", "source",
                               "reportingController", "reportingComponent"})
      .with("metadata", JsonProjection::only(
                            {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"}))
      .with("involvedObject",
            JsonProjection::only({"kind", "namespace", "name", "uid", "fieldPath"}));
}

// What the dashboard reads of a pod in the pods cache: the Pods table (every field the pod
// printer reads, engine/api/table.cpp: READY, STATUS, RESTARTS, IP, NODE, NOMINATED NODE,
// READINESS GATES, the row's Completed condition), the Cluster page's pods per node, the logs,
// shell and port-forward actions (container names and ports, the default-container
// annotation) and the selectors of the Logs view. The pod detail and the editor GET the full
// pod of the one selected (MainWindow::followSelectedPod, editSelected).
JsonProjection compactPod() {
  const JsonProjection containerStatus =
      JsonProjection::only({"name", "restartCount", "state", "lastState", "ready", "started"});
  return JsonProjection::only({"apiVersion", "kind", "metadata", "spec", "status"})
      .with(
          "metadata",
          JsonProjection::only({"name", "namespace", "uid", "resourceVersion", "creationTimestamp",
                                "deletionTimestamp", "labels", "annotations", "ownerReferences"})
              .with("annotations",
                    JsonProjection::allBut({"kubectl.kubernetes.io/last-applied-configuration"})))
      .with("spec",
            JsonProjection::only({"nodeName", "containers", "initContainers", "readinessGates"})
                .with("containers", JsonProjection::only({"name", "ports"}))
                .with("initContainers", JsonProjection::only({"name", "restartPolicy", "ports"})))
      .with("status", JsonProjection::only({"phase", "reason", "conditions", "podIP", "podIPs",
                                            "nominatedNodeName", "containerStatuses",
                                            "initContainerStatuses"})
                          .with("conditions", JsonProjection::only({"type", "status", "reason"}))
                          .with("containerStatuses", containerStatus)
                          .with("initContainerStatuses", containerStatus));
}

client::RemoteInformerOptions informerOptions(const api::KindInfo& kind) {
  client::RemoteInformerOptions o;
  o.listPageSize = ClusterSession::kListPageSize;
  if (kind.kind == "Event") {
    static const auto events = std::make_shared<const JsonProjection>(compactEvent());
    o.projection = events;
    o.maxObjects = ClusterSession::kRecentEvents;
  } else if (kind.kind == "Pod" && kind.group.empty()) {
    static const auto pods = std::make_shared<const JsonProjection>(compactPod());
    o.projection = pods;
  }
  return o;
}

}  // namespace

ClusterSession::ClusterSession(std::unique_ptr<client::ApiClient> client, QObject* parent)
    : QObject(parent), client_(std::move(client)) {}

ClusterSession::~ClusterSession() {
  live_.clear();  // stops the informers while the client is still there
}

ClusterSession::Live& ClusterSession::live(const api::KindInfo& kind, Start start) {
  auto [it, added] = live_.try_emplace(kind.qualifiedResource());
  Live& l = it->second;
  if (added) {
    l.bridge = std::make_unique<InformerBridge>(
        std::make_unique<client::RemoteInformer>(*client_, kind, informerOptions(kind)));
    l.model = std::make_unique<ResourceTableModel>(kind);
    l.model->follow(l.bridge.get());
    const QString resource = QString::fromStdString(kind.resource);
    connect(l.model.get(), &ResourceTableModel::countChanged, this,
            [this, resource](int rows) { emit countChanged(resource, rows); });
    // An empty list changes no row but is still a count to show.
    connect(l.bridge.get(), &InformerBridge::syncedChanged, this,
            [this, resource, model = l.model.get()] {
              emit countChanged(resource, model->rowCount());
              startWaitingWhenIdle();
            });
    connect(l.model.get(), &ResourceTableModel::batchApplied, this,
            &ClusterSession::startWaitingWhenIdle);
  }
  if (start == Start::Now) {
    startNow(l);
  } else if (!l.started) {
    startWaitingWhenIdle();
    if (!deadlineSet_) {
      deadlineSet_ = true;
      QTimer::singleShot(kMaxIdleWait, this, [this] {
        for (auto& [resource, waiting] : live_) startNow(waiting);
      });
    }
  }
  return l;
}

void ClusterSession::startNow(Live& l) {
  if (l.started) return;
  l.started = true;
  l.bridge->start();
}

void ClusterSession::startWaitingWhenIdle() {
  // Checked from the event loop, so that a section shown right after the window was built
  // starts first.
  if (idleCheckQueued_) return;
  idleCheckQueued_ = true;
  QTimer::singleShot(0, this, [this] {
    idleCheckQueued_ = false;
    for (auto& [resource, l] : live_) {
      if (l.started && (!l.bridge->synced() || !l.model->caughtUp())) return;
    }
    for (auto& [resource, l] : live_) startNow(l);
  });
}

bool ClusterSession::started(const api::KindInfo& kind) const {
  auto it = live_.find(kind.qualifiedResource());
  return it != live_.end() && it->second.started;
}

ResourceTableModel* ClusterSession::model(const api::KindInfo& kind, Start start) {
  return live(kind, start).model.get();
}

InformerBridge* ClusterSession::bridge(const api::KindInfo& kind, Start start) {
  return live(kind, start).bridge.get();
}

}  // namespace kd::dashboard

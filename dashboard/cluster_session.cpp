#include "dashboard/cluster_session.h"

#include <QTimer>

namespace kd::dashboard {
namespace {

// Keeps the members of `obj` named in `keep`.
void keepOnly(json& obj, std::initializer_list<const char*> keep) {
  if (!obj.is_object()) return;
  json kept = json::object();
  for (const char* name : keep) {
    if (auto it = obj.find(name); it != obj.end()) kept[name] = std::move(*it);
  }
  obj = std::move(kept);
}

// What the dashboard reads of an Event: the Events table (the printer's columns), the pod
// detail's events and the probe timeline.
void compactEvent(json& event) {
  keepOnly(event, {"apiVersion", "kind", "metadata", "involvedObject", "reason", "message", "type",
                   "count", "deprecatedCount", "series", "firstTimestamp", "lastTimestamp",
                   "eventTime", "source", "reportingController", "reportingComponent"});
  if (auto meta = event.find("metadata"); meta != event.end())
    keepOnly(*meta, {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"});
  if (auto io = event.find("involvedObject"); io != event.end())
    keepOnly(*io, {"kind", "namespace", "name", "uid", "fieldPath"});
}

client::RemoteInformerOptions informerOptions(const api::KindInfo& kind) {
  client::RemoteInformerOptions o;
  o.listPageSize = ClusterSession::kListPageSize;
  if (kind.kind == "Event") {
    o.transform = compactEvent;
    o.maxObjects = ClusterSession::kRecentEvents;
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

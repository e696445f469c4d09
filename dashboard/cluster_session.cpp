#include "dashboard/cluster_session.h"

namespace kd::dashboard {

ClusterSession::ClusterSession(std::unique_ptr<client::ApiClient> client, QObject* parent)
    : QObject(parent), client_(std::move(client)) {}

ClusterSession::~ClusterSession() {
  live_.clear();  // stops the informers while the client is still there
}

ClusterSession::Live& ClusterSession::live(const api::KindInfo& kind) {
  auto [it, added] = live_.try_emplace(kind.qualifiedResource());
  Live& l = it->second;
  if (!added) return l;
  l.bridge =
      std::make_unique<InformerBridge>(std::make_unique<client::RemoteInformer>(*client_, kind));
  l.model = std::make_unique<ResourceTableModel>(kind);
  l.model->follow(l.bridge.get());
  const QString resource = QString::fromStdString(kind.resource);
  connect(l.model.get(), &ResourceTableModel::countChanged, this,
          [this, resource](int rows) { emit countChanged(resource, rows); });
  // An empty list changes no row but is still a count to show.
  connect(
      l.bridge.get(), &InformerBridge::syncedChanged, this,
      [this, resource, model = l.model.get()] { emit countChanged(resource, model->rowCount()); });
  l.bridge->start();
  return l;
}

ResourceTableModel* ClusterSession::model(const api::KindInfo& kind) {
  return live(kind).model.get();
}

InformerBridge* ClusterSession::bridge(const api::KindInfo& kind) {
  return live(kind).bridge.get();
}

}  // namespace kd::dashboard

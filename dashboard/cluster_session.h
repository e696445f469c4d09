#pragma once
// ClusterSession: one connection to one API server (a kubeconfig context) and the live tables
// the dashboard shows for it. Each kind gets, on first use, a RemoteInformer (all namespaces),
// an InformerBridge and a ResourceTableModel, which then stay live until the session ends.
// GUI thread only. Destroying the session stops every informer before the client goes.

#include <QObject>
#include <map>
#include <memory>
#include <string>

#include "dashboard/informer_bridge.h"
#include "dashboard/resource_table_model.h"
#include "engine/client/api_client.h"

namespace kd::dashboard {

class ClusterSession : public QObject {
  Q_OBJECT

 public:
  explicit ClusterSession(std::unique_ptr<client::ApiClient> client, QObject* parent = nullptr);
  ~ClusterSession() override;

  client::ApiClient& client() { return *client_; }
  // Shared with worker threads for calls made through runAsync; lives as long as the session.
  client::ApiClient* clientPtr() { return client_.get(); }

  // The live table of `kind`, created and started on first use.
  ResourceTableModel* model(const api::KindInfo& kind);
  InformerBridge* bridge(const api::KindInfo& kind);

 signals:
  // A kind's row count changed (sidebar counts).
  void countChanged(const QString& resource, int rows);

 private:
  struct Live {
    std::unique_ptr<InformerBridge> bridge;
    std::unique_ptr<ResourceTableModel> model;
  };
  Live& live(const api::KindInfo& kind);

  std::unique_ptr<client::ApiClient> client_;
  std::map<std::string, Live> live_;  // by resource; destroyed before client_
};

}  // namespace kd::dashboard

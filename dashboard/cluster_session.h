#pragma once
// ClusterSession: one connection to one API server (a kubeconfig context) and the live tables
// the dashboard shows for it. Each kind gets, on first use, a RemoteInformer (all namespaces),
// an InformerBridge and a ResourceTableModel, which then stay live until the session ends.
// GUI thread only. Destroying the session stops every informer before the client goes.
//
// Informers list in pages. Events are kept compact (the fields the dashboard shows) and only
// the kRecentEvents most recent ones: a busy cluster writes several per pod, and the API
// server keeps them an hour. Pods are kept compact too (what the Pods table, the Cluster page
// and the pod actions read; not probes, images, resources or volumes): whoever needs a whole
// pod GETs it, as the pod detail does for the selected one.
//
// A table asked for with Start::WhenIdle starts listing only once every started informer has
// synced and its table caught up, so the section on screen is not slowed down by the fifteen
// others (the events list alone can be larger than the pods list); at the latest after
// kMaxIdleWait, on a cluster too busy to ever look idle.

#include <QObject>
#include <chrono>
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
  static constexpr size_t kRecentEvents = 5000;
  static constexpr int64_t kListPageSize = 500;  // client-go's reflector pages by 500 too
  static constexpr std::chrono::milliseconds kMaxIdleWait{5000};
  enum class Start { Now, WhenIdle };

  explicit ClusterSession(std::unique_ptr<client::ApiClient> client, QObject* parent = nullptr);
  ~ClusterSession() override;

  client::ApiClient& client() { return *client_; }
  // For calls that run off the GUI thread (runAsync, log and exec streams, port-forwards):
  // each holds the client, which so outlives the session for as long as one still runs (a
  // session closed, a window or the app exiting while a call is in flight).
  std::shared_ptr<client::ApiClient> clientPtr() { return client_; }

  // The live table of `kind`, created on first use and started as `start` says (Now also
  // starts a table that was waiting).
  ResourceTableModel* model(const api::KindInfo& kind, Start start = Start::Now);
  InformerBridge* bridge(const api::KindInfo& kind, Start start = Start::Now);
  // Whether the informer of `kind` has been started (false for a kind never asked for).
  bool started(const api::KindInfo& kind) const;

 signals:
  // A kind's row count changed (sidebar counts).
  void countChanged(const QString& resource, int rows);

 private:
  struct Live {
    std::unique_ptr<InformerBridge> bridge;
    std::unique_ptr<ResourceTableModel> model;
    bool started = false;
  };
  Live& live(const api::KindInfo& kind, Start start);
  void startNow(Live& l);
  // Starts the waiting tables when no started one is still listing or catching up.
  void startWaitingWhenIdle();

  std::shared_ptr<client::ApiClient> client_;
  std::map<std::string, Live> live_;  // by resource; destroyed before client_
  bool idleCheckQueued_ = false;
  bool deadlineSet_ = false;
};

}  // namespace kd::dashboard

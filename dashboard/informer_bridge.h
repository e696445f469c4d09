#pragma once
// InformerBridge carries a RemoteInformer's events onto the GUI thread in batches.
// Handlers on the informer thread only record "key now looks like X" (or "key is gone") in a
// pending map, so many events for one key coalesce into one change; the GUI thread is woken
// at most once per flush interval (default 50 ms) and receives everything pending as one
// `changed` signal. With 10,000 pods arriving at once the GUI thread sees a few large
// batches, never 10,000 queued calls.
//
// Threading: construct, connect and destroy on the GUI thread. The bridge owns the informer
// and stops it before it is destroyed, so no handler touches a dead bridge.

#include <QObject>
#include <QString>
#include <QTimer>
#include <chrono>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "engine/client/remote_informer.h"

namespace kd::dashboard {

// One coalesced change: the object's latest state, or null when it was deleted.
struct ObjectChange {
  std::string key;
  api::CachedObject object;
};
using ChangeBatch = std::vector<ObjectChange>;

class InformerBridge : public QObject {
  Q_OBJECT

 public:
  InformerBridge(std::unique_ptr<client::RemoteInformer> informer, QObject* parent = nullptr,
                 std::chrono::milliseconds flushInterval = std::chrono::milliseconds(50));
  ~InformerBridge() override;

  const api::KindInfo& kind() const { return informer_->kind(); }
  client::RemoteInformer& informer() { return *informer_; }
  // Starts the informer; batches follow.
  void start();
  bool synced() const { return synced_; }
  // Batches delivered so far (for tests and benchmarks).
  int batchCount() const { return batches_; }

 signals:
  // On the GUI thread. The first batch after the initial list also sets synced().
  void changed(const kd::dashboard::ChangeBatch& batch);
  void syncedChanged();

 private:
  void record(const api::CachedObject& obj, bool deleted);
  void flush();

  std::unique_ptr<client::RemoteInformer> informer_;
  const std::chrono::milliseconds interval_;
  QTimer timer_;  // GUI thread: the next flush
  std::mutex mu_;
  std::unordered_map<std::string, api::CachedObject> pending_;  // null = deleted
  std::vector<std::string> order_;  // first-seen order of pending keys, so rows keep arrival order
  bool wakeQueued_ = false;
  bool synced_ = false;
  int batches_ = 0;
};

}  // namespace kd::dashboard

Q_DECLARE_METATYPE(kd::dashboard::ChangeBatch)

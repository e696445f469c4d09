#include "dashboard/informer_bridge.h"

namespace kd::dashboard {

InformerBridge::InformerBridge(std::unique_ptr<client::RemoteInformer> informer, QObject* parent,
                               std::chrono::milliseconds flushInterval)
    : QObject(parent), informer_(std::move(informer)), interval_(flushInterval) {
  qRegisterMetaType<ChangeBatch>();
  timer_.setSingleShot(true);
  connect(&timer_, &QTimer::timeout, this, &InformerBridge::flush);
  informer_->addHandlers(
      {[this](const api::CachedObject& o) { record(o, false); },
       [this](const api::CachedObject&, const api::CachedObject& o) { record(o, false); },
       [this](const api::CachedObject& o) { record(o, true); }});
}

InformerBridge::~InformerBridge() {
  informer_->stop();
}

void InformerBridge::start() {
  informer_->start();
  // An empty list produces no event; still report the sync.
  QTimer::singleShot(0, this, [this] {
    auto* poll = new QTimer(this);
    connect(poll, &QTimer::timeout, this, [this, poll] {
      if (!informer_->hasSynced()) return;
      poll->deleteLater();
      flush();
    });
    poll->start(20);
  });
}

void InformerBridge::record(const api::CachedObject& obj, bool deleted) {
  std::string key = api::objectKey(*obj);
  std::lock_guard lock(mu_);
  auto [it, added] = pending_.insert_or_assign(key, deleted ? nullptr : obj);
  if (added) order_.push_back(std::move(key));
  if (wakeQueued_) return;
  wakeQueued_ = true;
  // Ask the GUI thread to schedule a flush; the timer there enforces the interval.
  QMetaObject::invokeMethod(
      this,
      [this] {
        if (!timer_.isActive()) timer_.start(interval_);
      },
      Qt::QueuedConnection);
}

void InformerBridge::flush() {
  ChangeBatch batch;
  {
    std::lock_guard lock(mu_);
    wakeQueued_ = false;
    batch.reserve(order_.size());
    for (auto& key : order_) {
      auto it = pending_.find(key);
      batch.push_back({std::move(key), std::move(it->second)});
    }
    pending_.clear();
    order_.clear();
  }
  if (!batch.empty()) {
    ++batches_;
    emit changed(batch);
  }
  if (!synced_ && informer_->hasSynced()) {
    synced_ = true;
    emit syncedChanged();
  }
}

}  // namespace kd::dashboard

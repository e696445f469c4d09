#include "engine/controllers/controller_manager.h"

#include <iostream>

namespace kd::controllers {

ControllerManager::ControllerManager(server::ObjectService& objects,
                                     ControllerManagerOptions options)
    : objects_(objects), options_(std::move(options)) {}

ControllerManager::~ControllerManager() {
  stop();
}

Informer& ControllerManager::informer(const api::KindInfo& kind) {
  return sharedInformer(kind, InformerView::Full);
}

Informer& ControllerManager::metadataInformer(const api::KindInfo& kind) {
  return sharedInformer(kind, InformerView::Metadata);
}

Informer& ControllerManager::sharedInformer(const api::KindInfo& kind, InformerView view) {
  std::lock_guard lock(mu_);
  for (auto& inf : informers_) {
    const bool sameKind = &inf->kind() == &kind || (inf->kind().group == kind.group &&
                                                    inf->kind().resource == kind.resource);
    if (sameKind && inf->view() == view) return *inf;
  }
  informers_.push_back(std::make_unique<Informer>(objects_, kind, options_.watchTimeout, view));
  return *informers_.back();
}

void ControllerManager::add(std::unique_ptr<Controller> controller) {
  auto r = std::make_unique<Running>();
  r->controller = std::move(controller);
  r->queue = std::make_unique<WorkQueue>(options_.queue);
  controllers_.push_back(std::move(r));
}

Status ControllerManager::start() {
  if (started_) return {};
  for (auto& r : controllers_) r->controller->setup(*this, *r->queue);
  for (auto& inf : informers_) inf->start();
  started_ = true;
  const auto deadline = std::chrono::steady_clock::now() + options_.syncTimeout;
  for (auto& inf : informers_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!inf->waitForSync(std::max(left, std::chrono::milliseconds(0)))) {
      stop();
      return Status::serviceUnavailable("controllers: the " + inf->kind().qualifiedResource() +
                                        " informer did not sync");
    }
  }
  for (auto& r : controllers_) {
    for (int i = 0; i < std::max(1, r->controller->workers()); ++i) {
      r->workers.emplace_back([this, rp = r.get()] { work(*rp); });
    }
  }
  return {};
}

void ControllerManager::work(Running& r) {
  while (auto key = r.queue->get()) {
    Status st;
    try {
      st = r.controller->sync(*key);
    } catch (const std::exception& e) {
      // A bug in one sync costs that key a retry, never the engine (Kubernetes' controllers
      // recover from panics the same way); the message says where to look.
      st = Status::internal("sync threw: " + std::string(e.what()));
    }
    if (st.isOk()) {
      r.queue->forget(*key);
    } else {
      if (r.queue->numRequeues(*key) == 0) {  // once per failing streak, not per retry
        std::cerr << "controller " << r.controller->name() << ": " << *key << ": " << st.message()
                  << "\n";
      }
      r.queue->addRateLimited(*key);
    }
    r.queue->done(*key);
  }
}

void ControllerManager::stop() {
  for (auto& r : controllers_) r->queue->shutDown();
  for (auto& r : controllers_) {
    for (auto& t : r->workers) t.join();
    r->workers.clear();
  }
  for (auto& inf : informers_) inf->stop();
  started_ = false;
}

}  // namespace kd::controllers

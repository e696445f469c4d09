#pragma once
// Runs controllers in the engine process: owns the shared informers (one per resource, shared
// by every controller that asks), one work queue per controller and the worker threads.
//
// Lifecycle: add() controllers, start() (setup, start informers, wait until every informer
// has listed, then start workers), stop() (shut queues, join workers, stop informers). No
// thread survives stop() or the destructor. add()/informer() before start(); a manager is
// started once.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/controllers/controller.h"
#include "engine/controllers/informer.h"
#include "engine/controllers/work_queue.h"
#include "engine/server/object_service.h"

namespace kd::controllers {

struct ControllerManagerOptions {
  std::chrono::milliseconds syncTimeout = std::chrono::seconds(30);
  std::chrono::milliseconds watchTimeout = std::chrono::minutes(5);  // see Informer
  WorkQueue::Options queue;  // back-off and clock for every controller's queue
};

class ControllerManager {
 public:
  explicit ControllerManager(server::ObjectService& objects, ControllerManagerOptions options = {});
  ~ControllerManager();
  ControllerManager(const ControllerManager&) = delete;
  ControllerManager& operator=(const ControllerManager&) = delete;

  server::ObjectService& objects() { return objects_; }

  // The shared informer of `kind`, created on first request. Valid until the manager dies.
  Informer& informer(const api::KindInfo& kind);
  // The shared metadata-only informer of `kind` (InformerView::Metadata), created on first
  // request; separate from informer(kind). Valid until the manager dies.
  Informer& metadataInformer(const api::KindInfo& kind);

  void add(std::unique_ptr<Controller> controller);

  // Fails (and leaves nothing running) when an informer cannot list within syncTimeout.
  Status start();
  void stop();

 private:
  struct Running {
    std::unique_ptr<Controller> controller;
    std::unique_ptr<WorkQueue> queue;
    std::vector<std::thread> workers;
  };
  void work(Running& r);
  Informer& sharedInformer(const api::KindInfo& kind, InformerView view);

  server::ObjectService& objects_;
  ControllerManagerOptions options_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Informer>> informers_;
  std::vector<std::unique_ptr<Running>> controllers_;
  bool started_ = false;
};

}  // namespace kd::controllers

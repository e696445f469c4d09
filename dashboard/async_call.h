#pragma once
// runAsync: the one way dashboard code makes a blocking API call. `work` runs on Qt's global
// thread pool; `done` runs afterwards on `context`'s thread (the GUI thread), and never if
// `context` was destroyed first. The GUI thread never waits on the network.

#include <QFutureWatcher>
#include <QObject>
#include <QtConcurrent/QtConcurrentRun>
#include <functional>
#include <memory>

#include "engine/api/status.h"

namespace kd::dashboard {

template <class T>
void runAsync(QObject* context, std::function<Result<T>()> work,
              std::function<void(const Result<T>&)> done) {
  using Shared = std::shared_ptr<Result<T>>;
  auto* watcher = new QFutureWatcher<Shared>(context);
  QObject::connect(watcher, &QFutureWatcher<Shared>::finished, context,
                   [watcher, done = std::move(done)] {
                     const Shared result = watcher->result();
                     watcher->deleteLater();
                     if (done) done(*result);
                   });
  watcher->setFuture(
      QtConcurrent::run([work = std::move(work)] { return std::make_shared<Result<T>>(work()); }));
}

}  // namespace kd::dashboard

// ControllerManager: a controller's sync that throws costs that key a retry with back-off,
// never the engine; the other keys and controllers keep working.

#include <QtTest>
#include <atomic>
#include <stdexcept>

#include "engine/controllers/controller_manager.h"
#include "test_cluster.h"
#include "tests/support/settle.h"

using namespace kd;
using namespace kd::controllers;

namespace {

// Throws on the first two syncs of "bad", counts every sync.
class ThrowingController : public Controller {
 public:
  std::atomic<int> badSyncs{0};
  std::atomic<int> goodSyncs{0};

  std::string name() const override { return "throwing"; }
  void setup(ControllerManager&, WorkQueue& queue) override { queue_ = &queue; }
  Status sync(const std::string& key) override {
    if (key == "bad" && ++badSyncs <= 2) throw std::out_of_range("key 'spec' not found");
    if (key == "good") ++goodSyncs;
    return {};
  }
  WorkQueue* queue_ = nullptr;
};

}  // namespace

class ControllerManagerTest : public QObject {
  Q_OBJECT

 private slots:
  void aThrowingSyncIsRetriedAndOtherKeysGoOn() {
    testing::TestCluster cluster;
    ControllerManager manager(cluster.objects());
    auto owned = std::make_unique<ThrowingController>();
    ThrowingController* controller = owned.get();
    manager.add(std::move(owned));
    QVERIFY(manager.start().isOk());

    controller->queue_->add("bad");
    controller->queue_->add("good");
    KD_TRY_COMPARE(controller->goodSyncs.load(), 1);
    KD_TRY_COMPARE(controller->badSyncs.load(), 3);  // two throws, then success: no more retries
    QTest::qWait(200);
    QCOMPARE(controller->badSyncs.load(), 3);
    manager.stop();
  }
};

QTEST_GUILESS_MAIN(ControllerManagerTest)
#include "controller_manager_test.moc"

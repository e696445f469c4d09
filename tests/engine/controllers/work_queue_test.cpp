#include "engine/controllers/work_queue.h"
#include "tests/support/settle.h"

#include <QtTest>
#include <atomic>
#include <thread>

using kd::controllers::ItemBackoff;
using kd::controllers::SteadyTime;
using kd::controllers::WorkQueue;
using namespace std::chrono_literals;

namespace {

// A clock that moves only when the test says so.
struct FakeClock {
  std::shared_ptr<std::atomic<int64_t>> ns = std::make_shared<std::atomic<int64_t>>(0);
  kd::controllers::SteadyClock fn() const {
    auto p = ns;
    return [p] { return SteadyTime(std::chrono::nanoseconds(p->load())); };
  }
  void advance(std::chrono::nanoseconds d) { *ns += d.count(); }
};

}  // namespace

class WorkQueueTest : public QObject {
  Q_OBJECT

 private slots:
  void keyQueuedTwiceIsProcessedOnce() {
    WorkQueue q;
    q.add("a");
    q.add("b");
    q.add("a");
    QCOMPARE(q.length(), size_t(2));
    QCOMPARE(*q.get(), std::string("a"));
    QCOMPARE(*q.get(), std::string("b"));
    QCOMPARE(q.length(), size_t(0));
  }

  void keyAddedWhileProcessingComesBackAfterDone() {
    WorkQueue q;
    q.add("a");
    auto key = q.get();
    q.add("a");
    q.add("a");
    QCOMPARE(q.length(), size_t(0));  // not handed to a second worker meanwhile
    q.done(*key);
    QCOMPARE(q.length(), size_t(1));
    QCOMPARE(*q.get(), std::string("a"));
    q.done("a");
    QCOMPARE(q.length(), size_t(0));
  }

  void backoffDoublesFromFiveMillisecondsToTheCap_data() {
    QTest::addColumn<int>("failures");
    QTest::addColumn<qint64>("expectedMs");
    QTest::newRow("first") << 0 << qint64(5);
    QTest::newRow("second") << 1 << qint64(10);
    QTest::newRow("fifth") << 4 << qint64(80);
    QTest::newRow("capped") << 30 << qint64(1000000);
    QTest::newRow("far past the cap") << 100 << qint64(1000000);
  }
  void backoffDoublesFromFiveMillisecondsToTheCap() {
    QFETCH(int, failures);
    QFETCH(qint64, expectedMs);
    ItemBackoff b;
    for (int i = 0; i < failures; ++i) b.when("k");
    QCOMPARE(std::chrono::duration_cast<std::chrono::milliseconds>(b.when("k")).count(),
             expectedMs);
    QCOMPARE(b.when("other"), kd::controllers::Duration(5ms));
  }

  void rateLimitedKeyWaitsForItsBackoffOnTheClock() {
    FakeClock clock;
    WorkQueue q({clock.fn()});
    q.addRateLimited("a");
    QCOMPARE(q.numRequeues("a"), 1);
    QCOMPARE(q.length(), size_t(0));
    QCOMPARE(q.delayedLength(), size_t(1));
    clock.advance(4ms);
    q.tick();
    QCOMPARE(q.length(), size_t(0));
    clock.advance(1ms);
    q.tick();
    QCOMPARE(q.length(), size_t(1));
    q.done(*q.get());

    q.addRateLimited("a");  // second failure: 10 ms
    clock.advance(9ms);
    q.tick();
    QCOMPARE(q.length(), size_t(0));
    clock.advance(1ms);
    q.tick();
    QCOMPARE(q.length(), size_t(1));
    q.done(*q.get());

    q.forget("a");  // success resets the back-off
    QCOMPARE(q.numRequeues("a"), 0);
    q.addRateLimited("a");
    clock.advance(5ms);
    q.tick();
    QCOMPARE(q.length(), size_t(1));
  }

  void blockedWorkerWakesWhenTheClockReachesTheDelay() {
    FakeClock clock;
    WorkQueue q({clock.fn()});
    q.addAfter("late", 1h);
    std::atomic<bool> got = false;
    std::thread worker([&] {
      if (q.get()) got = true;
    });
    QTest::qWait(20);
    QVERIFY(!got);
    clock.advance(1h);
    q.tick();
    KD_TRY_VERIFY(got);
    worker.join();
  }

  void shutDownReleasesEveryWorker() {
    WorkQueue q;
    std::atomic<int> ended = 0;
    std::vector<std::thread> workers;
    for (int i = 0; i < 3; ++i) {
      workers.emplace_back([&] {
        while (auto k = q.get()) q.done(*k);
        ++ended;
      });
    }
    q.add("x");
    q.shutDown();
    for (auto& t : workers) t.join();
    QCOMPARE(ended.load(), 3);
    q.add("y");
    QVERIFY(!q.get().has_value());
  }

  void manyWorkersNeverShareAKey() {
    WorkQueue q;
    std::atomic<int> inFlight = 0, maxInFlight = 0, processed = 0;
    std::vector<std::thread> workers;
    for (int i = 0; i < 4; ++i) {
      workers.emplace_back([&] {
        while (auto k = q.get()) {
          int now = ++inFlight;
          int seen = maxInFlight.load();
          while (now > seen && !maxInFlight.compare_exchange_weak(seen, now)) {
          }
          std::this_thread::sleep_for(1ms);
          --inFlight;
          ++processed;
          q.done(*k);
        }
      });
    }
    for (int i = 0; i < 50; ++i) q.add("same");
    KD_TRY_VERIFY(processed >= 1 && q.length() == 0);
    q.shutDown();
    for (auto& t : workers) t.join();
    QCOMPARE(maxInFlight.load(), 1);
  }
};

QTEST_GUILESS_MAIN(WorkQueueTest)
#include "work_queue_test.moc"

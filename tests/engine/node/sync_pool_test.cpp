#include "engine/node/sync_pool.h"

#include <QtTest>
#include <atomic>
#include <future>

#include "tests/support/settle.h"

using kd::node::SyncPool;
using namespace std::chrono_literals;

class SyncPoolTest : public QObject {
  Q_OBJECT

 private slots:
  void stepsRepeatUntilFinished() {
    SyncPool pool;
    std::atomic<int> runs{0};
    pool.add([&]() -> std::optional<SyncPool::Duration> {
      if (++runs == 3) return std::nullopt;
      return 10ms;
    });
    KD_TRY_COMPARE(runs.load(), 3);
    QTest::qWait(100);
    QCOMPARE(runs.load(), 3);  // a finished task is not stepped again, nor woken
  }

  void wakeRunsAtOnceAndCoalesces() {
    SyncPool pool;
    std::atomic<int> runs{0};
    const auto id = pool.add([&]() -> std::optional<SyncPool::Duration> {
      ++runs;
      return std::chrono::hours(1);
    });
    KD_TRY_COMPARE(runs.load(), 1);
    pool.wake(id);
    KD_TRY_COMPARE(runs.load(), 2);
    QTest::qWait(100);
    QCOMPARE(runs.load(), 2);
  }

  // A wake while the step runs is one more step right after, never a second step beside it.
  void neverTwoStepsOfOneTaskAtOnce() {
    SyncPool pool;
    std::atomic<int> inside{0}, most{0}, runs{0};
    const auto id = pool.add([&]() -> std::optional<SyncPool::Duration> {
      most = std::max(most.load(), ++inside);
      std::this_thread::sleep_for(20ms);
      --inside;
      ++runs;
      return std::chrono::hours(1);
    });
    for (int i = 0; i < 20; ++i) {
      pool.wake(id);
      std::this_thread::sleep_for(5ms);
    }
    KD_TRY_VERIFY(runs.load() >= 2);
    QCOMPARE(most.load(), 1);
  }

  // Blocked steps take their threads with them; the others keep their period, and the pool
  // shrinks back once the blocked ones return.
  void blockedStepsDoNotDelayOthers() {
    SyncPool::Options options;
    options.minThreads = 2;
    options.idleExit = 200ms;
    SyncPool pool(options);
    std::promise<void> release;
    std::shared_future<void> gate = release.get_future().share();
    std::atomic<int> blocked{0};
    for (int i = 0; i < 6; ++i) {
      pool.add([&, gate]() -> std::optional<SyncPool::Duration> {
        ++blocked;
        gate.wait();
        return std::nullopt;
      });
    }
    KD_TRY_COMPARE(blocked.load(), 6);
    std::atomic<int> ticks{0};
    pool.add([&]() -> std::optional<SyncPool::Duration> {
      ++ticks;
      return 10ms;
    });
    KD_TRY_VERIFY(ticks.load() >= 5);
    QVERIFY(pool.threads() >= 7);
    release.set_value();
    KD_TRY_COMPARE(pool.threads(), 2);
    const int before = ticks.load();
    KD_TRY_VERIFY(ticks.load() > before + 3);  // still stepping on what is left
  }

  // Past steadyThreads a burst of short steps waits for running ones instead of adding threads;
  // steps that stay blocked past stallGrace let the pool grow, so the others still run.
  void aBurstRunsOnSteadyThreadsAndBlockedStepsStillGrow() {
    SyncPool::Options options;
    options.minThreads = 1;
    options.steadyThreads = 2;
    options.stallGrace = 300ms;
    SyncPool pool(options);
    std::atomic<int> done{0}, most{0}, now{0};
    for (int i = 0; i < 40; ++i) {
      pool.add([&]() -> std::optional<SyncPool::Duration> {
        const int running = ++now;
        for (int m = most.load(); running > m && !most.compare_exchange_weak(m, running);) {
        }
        std::this_thread::sleep_for(5ms);
        --now;
        ++done;
        return std::nullopt;
      });
    }
    KD_TRY_COMPARE(done.load(), 40);
    // Each returns within 5 ms, far inside the grace: never more than the steady two at once
    // (a third only if the machine stalled a step past 300 ms).
    QVERIFY2(most.load() <= 3, qPrintable(QString::number(most.load())));

    std::promise<void> release;
    std::shared_future<void> gate = release.get_future().share();
    std::atomic<int> blocked{0};
    for (int i = 0; i < 3; ++i) {
      pool.add([&, gate]() -> std::optional<SyncPool::Duration> {
        ++blocked;
        gate.wait();
        return std::nullopt;
      });
    }
    KD_TRY_COMPARE(blocked.load(), 3);  // the third started once the first two stayed blocked
    std::atomic<int> ticks{0};
    pool.add([&]() -> std::optional<SyncPool::Duration> {
      ++ticks;
      return std::nullopt;
    });
    KD_TRY_COMPARE(ticks.load(), 1);
    release.set_value();
  }

  void removeWaitsForTheRunningStep() {
    SyncPool pool;
    std::atomic<bool> entered{false}, left{false};
    const auto id = pool.add([&]() -> std::optional<SyncPool::Duration> {
      entered = true;
      std::this_thread::sleep_for(100ms);
      left = true;
      return 1ms;
    });
    KD_TRY_VERIFY(entered.load());
    pool.remove(id);
    QVERIFY(left.load());
    left = false;
    QTest::qWait(50);
    QVERIFY(!left.load());  // removed: no further step
  }

  void aThrowingStepIsRetried() {
    SyncPool pool;
    std::atomic<int> runs{0};
    pool.add([&]() -> std::optional<SyncPool::Duration> {
      if (++runs == 1) throw std::runtime_error("bad pod");
      return std::nullopt;
    });
    KD_TRY_COMPARE(runs.load(), 2);
  }
};

QTEST_GUILESS_MAIN(SyncPoolTest)
#include "sync_pool_test.moc"

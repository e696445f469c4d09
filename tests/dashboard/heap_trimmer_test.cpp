// The dashboard process's heap settings (dashboard/heap_trimmer.h), as the desktop app's main
// applies them: the malloc arena cap, and the trimmer returning freed heap to the system.

#include <QSignalSpy>
#include <QtTest>
#include <cstdlib>
#include <cstring>
#include <latch>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dashboard/heap_trimmer.h"

using kd::dashboard::HeapTrimmer;

namespace {

HeapTrimmer::Check nextCheck(QSignalSpy& spy) {
  if (spy.isEmpty() && !spy.wait(10000)) return {};
  return spy.takeFirst().at(0).value<HeapTrimmer::Check>();
}

}  // namespace

class HeapTrimmerTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() { kd::dashboard::limitMallocArenas(); }

  // Eight threads allocating at the same time: glibc's default would give each its own arena
  // (up to 8 per core); capped, they share kMallocArenas.
  void concurrentThreadsShareTheCappedArenas() {
    constexpr int kThreads = 8;
    std::latch allocated(kThreads), release(1);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&] {
        std::vector<std::string> held(100, std::string(1000, 'x'));
        allocated.count_down();
        release.wait();
      });
    }
    allocated.wait();
    const int arenas = kd::dashboard::mallocArenas();
    release.count_down();
    for (auto& t : threads) t.join();
    QVERIFY(arenas >= 1);
    QVERIFY2(arenas <= kd::dashboard::kMallocArenas, qPrintable(QString::number(arenas)));
  }

  // Half of 64 MB freed in holes between live blocks (no top of the heap to shrink): the
  // check trims, and at least half of those 32 MB leave the resident set (free() alone returns
  // none of it); a second check, with nothing grown since, does not trim.
  void trimsFreedHeapOnlyWhenItGrew() {
    HeapTrimmer trimmer(nullptr, std::chrono::hours(1), size_t{16} << 20);
    QSignalSpy spy(&trimmer, &HeapTrimmer::checked);
    constexpr size_t kBlock = 64 << 10, kBlocks = 1024;
    std::vector<char*> blocks;
    for (size_t i = 0; i < kBlocks; ++i) {
      blocks.push_back(static_cast<char*>(std::malloc(kBlock)));
      std::memset(blocks.back(), 1, kBlock);  // resident
    }
    for (size_t i = 0; i < kBlocks; i += 2) std::free(std::exchange(blocks[i], nullptr));

    trimmer.checkNow();
    const HeapTrimmer::Check first = nextCheck(spy);
    QVERIFY(first.trimmed);
    QVERIFY2(first.keptAfterBytes + (kBlock * kBlocks / 4) <= first.keptBytes,
             qPrintable(QStringLiteral("%1 -> %2").arg(first.keptBytes).arg(first.keptAfterBytes)));
    QCOMPARE(trimmer.trims(), 1);

    trimmer.checkNow();
    const HeapTrimmer::Check second = nextCheck(spy);
    QVERIFY(!second.trimmed);
    QCOMPARE(second.keptAfterBytes, second.keptBytes);
    QCOMPARE(trimmer.trims(), 1);
    for (char* b : blocks) std::free(b);
  }

  // Without being asked, the trimmer checks every period.
  void checksEveryPeriod() {
    HeapTrimmer trimmer(nullptr, std::chrono::milliseconds(20));
    QSignalSpy spy(&trimmer, &HeapTrimmer::checked);
    QVERIFY(spy.wait(10000));
    QVERIFY(spy.wait(10000));
  }
};

QTEST_GUILESS_MAIN(HeapTrimmerTest)
#include "heap_trimmer_test.moc"

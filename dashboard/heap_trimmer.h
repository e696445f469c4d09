#pragma once
// The dashboard process's heap. glibc's malloc keeps what the informer and row-building threads
// free (a list's pages, a closed session's caches) in up to 16 arenas and rarely gives it back:
// with 10,000 pods and three sessions opened one after the other, ~110 MB of live heap came with
// 90–190 MB of freed heap still resident (docs/benchmarks.md, the dashboard's part). The
// desktop app's main (and dashboard_bench, which measures it) calls limitMallocArenas() first
// thing and keeps a HeapTrimmer for the life of the application.

#include <QObject>
#include <QTimer>
#include <chrono>
#include <cstddef>

namespace kd::dashboard {

// glibc arenas the process may use (its default is 8 per core). Fewer arenas means the heap
// one thread frees is reused by the next, not kept aside in another thread's arena. Not fewer
// than 4: the GUI thread always allocates in glibc's main arena, and with 2 about half of the
// informer and row-building threads shared it, so the GUI thread waited for its lock (5,143
// waits over three fills and a 1,000-pod rollout, against ~430 with 4; docs/benchmarks.md).
inline constexpr int kMallocArenas = 4;

// Caps the process's malloc arenas at `arenas` (dashboard_bench tries others). Call before
// starting threads: arenas made before the call stay.
void limitMallocArenas(int arenas = kMallocArenas);
// The malloc arenas the process has made so far (for benchmarks and tests).
int mallocArenas();

// Freed resident heap that makes HeapTrimmer trim. 16 MB: with 4 arenas the churn's freed heap
// crept up ~1 MB/min and 32 MB was not reached in a 10-minute run; a trim holds each arena's
// lock for 2-18 ms, under the GUI's 50 ms budget (docs/benchmarks.md, session 15).
inline constexpr size_t kTrimThreshold = size_t{16} << 20;

// Every `period` looks, off the GUI thread, at how much of the process's anonymous resident
// memory is not heap in use (free heap the allocator keeps, plus thread stacks and the free
// parts of partly used pages, which no trim returns). When that has grown by `threshold` since
// the last trim left it, asks glibc to give the free pages back (malloc_trim). May be destroyed
// while a check runs: the check finishes on Qt's thread pool and reports to nobody.
class HeapTrimmer : public QObject {
  Q_OBJECT
 public:
  struct Check {
    size_t keptBytes = 0;       // anonymous resident memory not heap in use, before
    size_t keptAfterBytes = 0;  // the same after the trim (keptBytes when none)
    bool trimmed = false;
    double trimMs = 0;  // how long malloc_trim took
  };

  explicit HeapTrimmer(QObject* parent = nullptr,
                       std::chrono::milliseconds period = std::chrono::seconds(5),
                       size_t threshold = kTrimThreshold);

  // Starts one check now (unless one is running); `checked` follows.
  void checkNow();
  int trims() const { return m_trims; }
  double longestTrimMs() const { return m_longestTrimMs; }

 signals:
  void checked(const kd::dashboard::HeapTrimmer::Check& check);

 private:
  QTimer m_timer;
  size_t m_threshold;
  size_t m_keptAfterTrim = 0;  // what the last trim could not return, or less since
  bool m_running = false;
  int m_trims = 0;
  double m_longestTrimMs = 0;
};

}  // namespace kd::dashboard

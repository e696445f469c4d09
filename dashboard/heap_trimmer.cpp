#include "dashboard/heap_trimmer.h"

#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "dashboard/async_call.h"

namespace kd::dashboard {
namespace {

// RssAnon from /proc/self/status, in bytes (0 when unreadable).
size_t anonymousResidentBytes() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("RssAnon:")) return std::stoul(line.substr(8)) * 1024;
  }
  return 0;
}

// Anonymous resident memory that is not heap in use.
size_t keptBytes() {
  const struct mallinfo2 m = mallinfo2();
  const size_t resident = anonymousResidentBytes();
  const size_t inUse = m.uordblks + m.hblkhd;
  return resident > inUse ? resident - inUse : 0;
}

HeapTrimmer::Check checkHeap(size_t trimAbove) {
  HeapTrimmer::Check c;
  c.keptBytes = c.keptAfterBytes = keptBytes();
  if (c.keptBytes < trimAbove) return c;
  const auto start = std::chrono::steady_clock::now();
  malloc_trim(0);
  c.trimMs =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  c.trimmed = true;
  c.keptAfterBytes = keptBytes();
  return c;
}

}  // namespace

void limitMallocArenas(int arenas) {
  mallopt(M_ARENA_MAX, arenas);
}

int mallocArenas() {
  char* xml = nullptr;
  size_t size = 0;
  FILE* f = open_memstream(&xml, &size);
  if (!f) return -1;
  malloc_info(0, f);
  std::fclose(f);
  int heaps = 0;
  for (const char* p = xml; (p = std::strstr(p, "<heap nr=")); ++p) ++heaps;
  std::free(xml);
  return heaps;
}

HeapTrimmer::HeapTrimmer(QObject* parent, std::chrono::milliseconds period, size_t threshold)
    : QObject(parent), m_threshold(threshold) {
  connect(&m_timer, &QTimer::timeout, this, &HeapTrimmer::checkNow);
  m_timer.start(period);
}

void HeapTrimmer::checkNow() {
  if (m_running) return;
  m_running = true;
  runAsync<Check>(
      this,
      [trimAbove = m_keptAfterTrim + m_threshold]() -> Result<Check> {
        return checkHeap(trimAbove);
      },
      [this](const Result<Check>& r) {
        m_running = false;
        if (r->trimmed) {
          ++m_trims;
          m_longestTrimMs = std::max(m_longestTrimMs, r->trimMs);
          m_keptAfterTrim = r->keptAfterBytes;
        } else {
          m_keptAfterTrim = std::min(m_keptAfterTrim, r->keptBytes);  // reused since
        }
        emit checked(*r);
      });
}

}  // namespace kd::dashboard

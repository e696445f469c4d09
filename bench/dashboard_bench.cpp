// dashboard_bench: the dashboard (the real ClusterSession and MainWindow on the offscreen
// platform) against a real kubedesk-engine with simulated nodes, for the goals of
// docs/benchmarks.md:
//   fill   10,000 pods exist; from opening a fresh session and showing the pods section until
//          the table's model holds every pod and the view has painted (goal <= 1 s);
//   stall  the longest the GUI event loop goes without serving a 5 ms timer while a
//          1,000-replica Deployment is created and then rolled out (goal <= 50 ms);
//   churn  pods created and deleted continuously (200/s) with the window showing pods and
//          events; this process's RSS sampled throughout (goal <= 300 MB, not growing), and the
//          heap in use (mallinfo2) after the fills and at the end, with where the RSS is
//          (libraries, malloc arenas, other mappings). The engine is a child process; the
//          bench's own clients' freed heap is returned (malloc_trim) before the first dashboard.
// Timings are reported, never judged: the exit code is non-zero only when something failed.

#include <malloc.h>
#include <time.h>
#include <unistd.h>

#include <QAbstractEventDispatcher>
#include <QApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QMetaEnum>
#include <QStandardPaths>
#include <QTableView>
#include <QTimer>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/engine_process.h"
#include "dashboard/cluster_session.h"
#include "dashboard/heap_trimmer.h"
#include "dashboard/main_window.h"
#include "dashboard/resource_filter_model.h"
#include "dashboard/sections.h"

namespace {

using kd::json;
using kd::client::ApiClient;
using kd::dashboard::ClusterSession;
using kd::dashboard::MainWindow;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const char* const kUsage = R"(Usage: dashboard_bench [options]
  --nodes N           simulated nodes (default 120; 110 pods fit on each)
  --pods N            pods present for the fill measurement (default 10000)
  --replicas N        replicas of the rolled-out Deployment (default 1000)
  --churn-seconds S   length of the churn run (default 600)
  --churn-rate R      pods created (and as many deleted) per second (default 200)
  --quick             20 nodes, 1000 pods, 200 replicas, 20 s churn (smoke run)
  --glibc-malloc      leave glibc's allocator as it is: no arena cap, no heap trimmer (the
                      dashboard before dashboard/heap_trimmer.h, for before/after pairs)
  --malloc-arenas N   cap malloc arenas at N instead of the app's kMallocArenas (with the
                      heap trimmer), for pairs
)";

struct Options {
  int nodes = 120;
  int pods = 10000;
  int replicas = 1000;
  int churnSeconds = 600;
  int churnRate = 200;
};

const kd::api::KindInfo& kind(const char* resource) {
  return *kd::api::KindsRegistry::builtin().resolve(resource);
}

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

double rssMiB() {
  return static_cast<double>(kd::bench::statusKiB(getpid(), "VmRSS")) / 1024.0;
}

// The heap in use (all malloc arenas and mmapped blocks): what the process holds now, without
// the freed heap the allocator keeps, which makes RSS after three dashboards vary by ~100 MB.
double heapInUseMiB() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<double>(m.uordblks + m.hblkhd) / (1024.0 * 1024.0);
}

// Where this process's RSS is, from /proc/self/smaps and the allocator: file-backed mappings
// (libraries, fonts), the main arena ([heap]), the other glibc arenas (anonymous mappings at
// 64 MiB-aligned addresses, HEAP_MAX_SIZE), other anonymous mappings (thread stacks, blocks
// the allocator mmapped, Qt's images); and of the allocator's heap how much is in use and how
// much is free but kept.
void printMemory(const char* when) {
  std::ifstream in("/proc/self/smaps");
  double files = 0, mainArena = 0, arenas = 0, otherAnon = 0;  // KiB resident
  double* current = nullptr;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    if (std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') != std::string::npos &&
        !line.starts_with("Rss:")) {
      // "start-end perms offset dev inode [path]"
      const unsigned long start = std::strtoul(line.c_str(), nullptr, 16);
      std::istringstream header(line);
      std::string range, perms, offset, dev, inode, path;
      header >> range >> perms >> offset >> dev >> inode;
      std::getline(header >> std::ws, path);
      const bool arena = path.empty() && start % (64ul << 20) == 0;
      current = path == "[heap]"                  ? &mainArena
                : !path.empty() && path[0] == '/' ? &files
                : arena                           ? &arenas
                                                  : &otherAnon;
    } else if (line.starts_with("Rss:") && current) {
      *current += std::strtod(line.c_str() + 4, nullptr);
    }
  }
  const struct mallinfo2 m = mallinfo2();
  const double mib = 1024.0 * 1024.0;
  std::printf(
      "  (memory %s: RSS %.1f MB = files %.1f + [heap] %.1f + other arenas %.1f + other anon "
      "%.1f; malloc: %d arenas span %.1f MB, %.1f MB of it in use, %.1f MB free (resident or "
      "returned); mmapped blocks %.1f MB)\n",
      when, rssMiB(), files / 1024, mainArena / 1024, arenas / 1024, otherAnon / 1024,
      kd::dashboard::mallocArenas(), static_cast<double>(m.arena) / mib,
      static_cast<double>(m.uordblks) / mib, static_cast<double>(m.fordblks) / mib,
      static_cast<double>(m.hblkhd) / mib);
}

void printTrims(const kd::dashboard::HeapTrimmer* trimmer) {
  if (!trimmer) return;  // --glibc-malloc
  std::printf("  (heap trims so far: %d, the longest %.1f ms, off the GUI thread)\n",
              trimmer->trims(), trimmer->longestTrimMs());
}

// Runs the GUI event loop until `done()` holds (checked every 5 ms); false after `limit`.
bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  QEventLoop loop;
  QTimer check;
  QObject::connect(&check, &QTimer::timeout, &loop, [&] {
    if (done() || Clock::now() > deadline) loop.quit();
  });
  check.start(5);
  if (!done()) loop.exec();
  return done();
}

// Runs `f(i)` for i in [0, count) on `threads` threads; the number of calls that failed.
int parallelFor(int count, int threads, const std::function<bool(int)>& f) {
  std::atomic<int> next{0}, failed{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < count; i = next++) {
        if (!f(i)) ++failed;
      }
    });
  }
  for (auto& t : pool) t.join();
  return failed.load();
}

json pod(const std::string& name, const std::string& node) {
  json spec = {{"containers", {{{"name", "app"}, {"image", "busybox"}}}}};
  if (!node.empty()) spec["nodeName"] = node;  // bound already: no scheduling needed
  return {{"metadata", {{"name", name}, {"labels", {{"app", "bench"}}}}}, {"spec", spec}};
}

// The admin client of `engine`, or null (with the reason on stderr).
std::unique_ptr<ApiClient> connect(const kd::bench::EngineProcess& engine) {
  auto client = engine.adminClient();
  if (!client) {
    std::fprintf(stderr, "dashboard_bench: %s\n", client.status().message().c_str());
    return nullptr;
  }
  return std::move(*client);
}

bool createNamespace(ApiClient& api, const std::string& name) {
  auto r = api.create(kind("namespaces"), "", json{{"metadata", {{"name", name}}}});
  if (!r.ok()) std::fprintf(stderr, "dashboard_bench: %s\n", r.status().message().c_str());
  return r.ok();
}

// Polls (off the GUI thread) until `done()`; false after `limit`.
bool pollUntil(const std::function<bool()>& done, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

bool waitForNodes(ApiClient& api, int nodes) {
  return pollUntil(
      [&] {
        auto list = api.list(kind("nodes"), "");
        return list.ok() && (*list)["items"].size() >= static_cast<size_t>(nodes);
      },
      120s);
}

// Every pod of `ns` reports phase Running.
bool allRunning(ApiClient& api, const std::string& ns) {
  kd::client::ListOptions o;
  o.fieldSelector = "status.phase!=Running";
  auto list = api.list(kind("pods"), ns, o);
  return list.ok() && (*list)["items"].empty();
}

// Creates `count` pods in namespace "fill", bound round-robin to the simulated nodes, and
// waits until they all run.
bool createFillPods(ApiClient& api, const std::vector<std::string>& nodes, int count) {
  if (!createNamespace(api, "fill")) return false;
  const auto since = Clock::now();
  const int failed = parallelFor(count, 8, [&](int i) {
    const std::string node = nodes[static_cast<size_t>(i) % nodes.size()];
    return api.create(kind("pods"), "fill", pod("fill-" + std::to_string(i), node)).ok();
  });
  std::printf("  (created %d pods in %.1f s, %d failed)\n", count, msSince(since) / 1000, failed);
  if (failed > 0) return false;
  const bool running = pollUntil([&] { return allRunning(api, "fill"); }, 600s);
  std::printf("  (all running after %.1f s)\n", msSince(since) / 1000);
  return running;
}

std::vector<std::string> nodeNames(ApiClient& api) {
  std::vector<std::string> names;
  auto list = api.list(kind("nodes"), "");
  if (!list.ok()) return names;
  for (const auto& n : (*list)["items"]) names.push_back(n["metadata"]["name"]);
  return names;
}

// What the fill cannot beat: one list of every pod through the client (engine, HTTP, JSON
// parse), with no GUI and no other informer listing at the same time.
void printListReference(ApiClient& api, int pods) {
  const auto since = Clock::now();
  auto list = api.list(kind("pods"), "");
  std::printf("| reference: client list of all %d pods, no GUI (ms) | %.0f | |\n", pods,
              list.ok() ? msSince(since) : -1.0);
}

// The dashboard as a person opens it: a fresh session and main window.
struct Dashboard {
  std::unique_ptr<ClusterSession> session;
  std::unique_ptr<MainWindow> window;
};

Dashboard openDashboard(const kd::bench::EngineProcess& engine) {
  Dashboard d;
  auto client = connect(engine);
  if (!client) return d;
  d.session = std::make_unique<ClusterSession>(std::move(client));
  d.window = std::make_unique<MainWindow>(d.session.get());
  d.window->resize(1400, 900);
  d.window->show();
  return d;
}

// Counts paint events of a widget (the table's viewport).
class PaintProbe : public QObject {
 public:
  explicit PaintProbe(QWidget* widget) { widget->installEventFilter(this); }
  int paints = 0;

 protected:
  bool eventFilter(QObject*, QEvent* event) override {
    if (event->type() == QEvent::Paint) ++paints;
    return false;
  }
};

double cpuMs(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return double(t.tv_sec) * 1e3 + double(t.tv_nsec) / 1e6;
}

struct FillTiming {
  double synced = -1, rows = -1, painted = -1;  // ms from opening the dashboard
  // CPU time until painted: the whole process (the engine is another) and its GUI thread
  double processCpu = -1, guiCpu = -1;
  double allListed = -1;  // every sidebar section's informer has listed (they start later)
};

bool allSectionsListed(ClusterSession& session) {
  for (const auto& s : kd::dashboard::sidebarSections()) {
    const kd::api::KindInfo* k = kd::dashboard::kindOf(s);
    if (k && !session.bridge(*k, ClusterSession::Start::WhenIdle)->synced()) return false;
  }
  return true;
}

// Opens a fresh dashboard on the pods section; times the pods' list, the full model and the
// first paint after it.
FillTiming measureFill(const kd::bench::EngineProcess& engine, int pods, Dashboard& out) {
  FillTiming t;
  const auto since = Clock::now();
  const double process0 = cpuMs(CLOCK_PROCESS_CPUTIME_ID), gui0 = cpuMs(CLOCK_THREAD_CPUTIME_ID);
  out = openDashboard(engine);
  if (!out.window) return t;
  out.window->showSection("pods");
  auto* bridge = out.session->bridge(kind("pods"));
  const auto synced = QObject::connect(bridge, &kd::dashboard::InformerBridge::syncedChanged,
                                       [&t, since] { t.synced = msSince(since); });
  auto* view = out.window->table();
  const bool full = runUntil([&] { return view->model()->rowCount() >= pods; }, 120s);
  QObject::disconnect(synced);
  if (!full) return t;
  t.rows = msSince(since);
  PaintProbe probe(view->viewport());
  view->viewport()->update();
  if (runUntil([&] { return probe.paints > 0; }, 10s)) {
    t.painted = msSince(since);
    t.processCpu = cpuMs(CLOCK_PROCESS_CPUTIME_ID) - process0;
    t.guiCpu = cpuMs(CLOCK_THREAD_CPUTIME_ID) - gui0;
  }
  if (runUntil([&] { return allSectionsListed(*out.session); }, 120s)) t.allListed = msSince(since);
  return t;
}

// Times every event the GUI thread dispatches from its event loop, and the events sent from
// inside those (one level), so a stall can be traced to the receiver that held the thread:
// events over 50 ms (inside ones over 20 ms) are tallied per "event type -> receiver class
// (parent class)", with the thread's own CPU time in the longest (under load the rest is
// waiting for a core).
class TimedApplication : public QApplication {
 public:
  using QApplication::QApplication;
  struct Slow {
    int count = 0;
    double maxMs = 0;
    double maxCpuMs = 0;  // the GUI thread's own CPU time in the longest one
  };
  std::map<std::string, Slow> slow;
  // The event-loop event that used the most GUI-thread CPU, whatever its wall time: what the
  // dashboard itself costs, apart from waiting for a core on a loaded machine.
  double maxCpuMs = 0;
  std::string maxCpuWhat;

  bool notify(QObject* receiver, QEvent* event) override {
    if (depth_ > 1) return QApplication::notify(receiver, event);
    const QEvent::Type type = event->type();     // `event` may be gone after dispatch
    const std::string who = describe(receiver);  // so may the receiver (DeferredDelete)
    ++depth_;
    const auto start = Clock::now();
    const double cpuStart = threadCpuMs();
    const bool result = QApplication::notify(receiver, event);
    --depth_;
    // Events sent from inside an event-loop event (a paint of each widget inside the window's
    // UpdateRequest) are tallied from 20 ms on, as "inside", to name the widget behind it.
    const double ms = msSince(start);
    if (depth_ == 0) {
      if (const double cpu = threadCpuMs() - cpuStart; cpu > maxCpuMs) {
        maxCpuMs = cpu;
        const char* name = QMetaEnum::fromType<QEvent::Type>().valueToKey(type);
        maxCpuWhat = (name ? std::string(name) : std::to_string(type)) + " -> " + who;
      }
    }
    if (ms > (depth_ == 0 ? 50 : 20)) {
      const char* name = QMetaEnum::fromType<QEvent::Type>().valueToKey(type);
      Slow& s = slow[std::string(depth_ == 0 ? "" : "inside: ") +
                     (name ? std::string(name) : std::to_string(type)) + " -> " + who];
      ++s.count;
      if (ms > s.maxMs) {
        s.maxMs = ms;
        s.maxCpuMs = threadCpuMs() - cpuStart;
      }
    }
    return result;
  }

 private:
  static double threadCpuMs() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) * 1e3 + double(t.tv_nsec) / 1e6;
  }
  static std::string describe(QObject* o) {
    std::string text = o->metaObject()->className();
    if (o->parent()) text += std::string(" (") + o->parent()->metaObject()->className() + ")";
    return text;
  }
  int depth_ = 0;
};

// Prints and forgets the slow events seen so far, and the event that used the most CPU.
void printSlowEvents(const char* phase) {
  auto* app = static_cast<TimedApplication*>(QCoreApplication::instance());
  for (const auto& [what, s] : app->slow) {
    std::printf("  (%s: %d events over %d ms, max %.0f ms (%.0f ms CPU): %s)\n", phase, s.count,
                what.starts_with("inside") ? 20 : 50, s.maxMs, s.maxCpuMs, what.c_str());
  }
  app->slow.clear();
  std::printf("  (%s: the most GUI-thread CPU in one event: %.1f ms: %s)\n", phase, app->maxCpuMs,
              app->maxCpuWhat.c_str());
  app->maxCpuMs = 0;
  app->maxCpuWhat.clear();
}

// Records how late a 5 ms timer fires: the time the GUI thread could not serve it.
class Watchdog {
 public:
  Watchdog() {
    timer_.setTimerType(Qt::PreciseTimer);
    QObject::connect(&timer_, &QTimer::timeout, [this] {
      const auto now = Clock::now();
      samples_.add(std::max(now - last_ - kTick, Clock::duration::zero()));
      last_ = now;
    });
  }
  void start() {
    samples_ = {};
    last_ = Clock::now();
    timer_.start(kTick);
  }
  kd::bench::Samples stop() {
    timer_.stop();
    return std::move(samples_);
  }

 private:
  static constexpr std::chrono::milliseconds kTick{5};
  QTimer timer_;
  Clock::time_point last_;
  kd::bench::Samples samples_;
};

void printStalls(const char* what, kd::bench::Samples s) {
  const double max = s.percentile(100);
  std::printf("| GUI stall during %s (ms) | p50 %.1f, p99 %.1f, max %.1f | goal max <= 50: %s |\n",
              what, s.median(), s.percentile(99), max, max <= 50 ? "met" : "MISSED");
}

// Runs `work` on a worker thread while the GUI event loop runs under the watchdog; the
// stalls, or nullopt when `work` failed.
std::optional<kd::bench::Samples> whileWatched(const std::function<bool()>& work) {
  std::atomic<bool> done{false}, ok{false};
  Watchdog dog;
  dog.start();
  std::thread worker([&] {
    ok = work();
    done = true;
  });
  runUntil([&] { return done.load(); }, 900s);
  worker.join();
  auto samples = dog.stop();
  if (!ok) return std::nullopt;
  return samples;
}

bool deploymentReady(ApiClient& api, int replicas, int64_t generation) {
  auto d = api.get(kind("deployments"), "roll", "web");
  if (!d.ok()) return false;
  const json s = d->value("status", json::object());
  return s.value("observedGeneration", int64_t{0}) >= generation &&
         s.value("readyReplicas", 0) == replicas && s.value("updatedReplicas", 0) == replicas &&
         s.value("replicas", 0) == replicas;
}

// Creates the Deployment (stalls while its pods appear), then changes its template (stalls
// while it rolls out).
bool measureRollout(ApiClient& api, int replicas) {
  if (!createNamespace(api, "roll")) return false;
  auto since = Clock::now();
  auto create = whileWatched([&] {
    return api.create(kind("deployments"), "roll", kd::bench::webDeployment(replicas, "busybox:1"))
               .ok() &&
           pollUntil([&] { return deploymentReady(api, replicas, 1); }, 600s);
  });
  if (!create) return false;
  std::printf("  (create → %d ready: %.1f s)\n", replicas, msSince(since) / 1000);
  printSlowEvents("create");
  since = Clock::now();
  auto rollout = whileWatched([&] {
    const std::string patch = R"({"spec":{"template":{"spec":{"containers":[)"
                              R"({"name":"app","image":"busybox:2"}]}}}})";
    auto r =
        api.patch(kind("deployments"), "roll", "web", kd::client::PatchType::StrategicMerge, patch);
    return r.ok() && pollUntil([&] { return deploymentReady(api, replicas, 2); }, 600s);
  });
  if (!rollout) return false;
  std::printf("  (rollout → %d updated and ready: %.1f s)\n", replicas, msSince(since) / 1000);
  printSlowEvents("rollout");
  printStalls("Deployment create", std::move(*create));
  printStalls("rolling update", std::move(*rollout));
  return true;
}

// Creates `rate` pods per second in namespace "churn" (in batches every 250 ms) and deletes
// each batch two seconds after it was created, until `stop`. False when a call failed.
bool churn(ApiClient& api, int rate, const std::atomic<bool>& stop) {
  constexpr int kBatchesPerSecond = 4, kLiveBatches = 8;
  const int batch = std::max(1, rate / kBatchesPerSecond);
  std::vector<int> batches;  // first pod number of each live batch
  auto drop = [&](int first) {
    return parallelFor(batch, 4, [&](int i) {
             kd::client::DeleteOptions o;
             o.gracePeriodSeconds = 0;
             auto r = api.remove(kind("pods"), "churn", "churn-" + std::to_string(first + i), o);
             return r.ok() || r.status().code() == 404;
           }) == 0;
  };
  bool ok = true;
  for (int next = 0; !stop && ok; next += batch) {
    const auto tickEnd = Clock::now() + std::chrono::milliseconds(1000 / kBatchesPerSecond);
    ok = parallelFor(batch, 4, [&](int i) {
           return api.create(kind("pods"), "churn", pod("churn-" + std::to_string(next + i), ""))
               .ok();
         }) == 0;
    batches.push_back(next);
    if (batches.size() > kLiveBatches) {
      ok = ok && drop(batches.front());
      batches.erase(batches.begin());
    }
    std::this_thread::sleep_until(tickEnd);
  }
  for (int first : batches) ok = drop(first) && ok;
  return ok;
}

struct RssSample {
  double seconds, mib;
};

// Least-squares slope of RSS over the second half of the run, in MiB per minute (the first
// half is warm-up: caches and tables reach their working size).
double slopePerMinute(const std::vector<RssSample>& s) {
  const size_t from = s.size() / 2;
  const double n = static_cast<double>(s.size() - from);
  if (n < 2) return 0;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = from; i < s.size(); ++i) {
    sx += s[i].seconds;
    sy += s[i].mib;
    sxx += s[i].seconds * s[i].seconds;
    sxy += s[i].seconds * s[i].mib;
  }
  const double denom = n * sxx - sx * sx;
  return denom == 0 ? 0 : (n * sxy - sx * sy) / denom * 60;
}

// Churns pods for `seconds` while the window alternates between the pods and events sections
// every 5 s; samples RSS every few seconds.
bool measureChurn(ApiClient& api, Dashboard& dashboard, const Options& o) {
  MainWindow& window = *dashboard.window;
  if (!createNamespace(api, "churn")) return false;
  const int every = o.churnSeconds >= 120 ? 5 : 2;
  std::vector<RssSample> rss;
  const auto since = Clock::now();
  QTimer sampler, flip;
  QObject::connect(&sampler, &QTimer::timeout, [&] {
    rss.push_back({msSince(since) / 1000, rssMiB()});
  });
  QObject::connect(&flip, &QTimer::timeout, [&window] {
    window.showSection(window.currentSection() == "pods" ? "events" : "pods");
  });
  rss.push_back({0, rssMiB()});
  sampler.start(every * 1000);
  flip.start(5000);
  std::atomic<bool> stop{false}, ok{false}, done{false};
  std::thread worker([&] {
    ok = churn(api, o.churnRate, stop);
    done = true;
  });
  QTimer::singleShot(std::chrono::seconds(o.churnSeconds), [&stop] { stop = true; });
  runUntil([&] { return done.load(); }, std::chrono::seconds(o.churnSeconds + 300));
  worker.join();
  printSlowEvents("churn");
  rss.push_back({msSince(since) / 1000, rssMiB()});
  double peak = 0;
  for (const auto& s : rss) peak = std::max(peak, s.mib);
  const double slope = slopePerMinute(rss);
  std::printf(
      "| churn %d s at %d pods/s: RSS start / peak / end (MB) | %.1f / %.1f / %.1f |"
      " goal peak <= 300: %s |\n",
      o.churnSeconds, o.churnRate, rss.front().mib, peak, rss.back().mib,
      peak <= 300 ? "met" : "MISSED");
  std::printf("| churn RSS slope, second half (MB/min) | %+.2f | %s |\n", slope,
              slope > 1.0 ? "growing" : "flat");
  std::printf("| churn end: heap in use (MB, mallinfo2) | %.1f | |\n", heapInUseMiB());
  printMemory("at the churn's end");
  std::printf("| churn end: table rows pods / events | %d / %d | |\n",
              dashboard.session->model(kind("pods"))->rowCount(),
              dashboard.session->model(kind("events"))->rowCount());
  return ok;
}

std::string cpuModel() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("model name")) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    int* value = arg == "--nodes"           ? &o.nodes
                 : arg == "--pods"          ? &o.pods
                 : arg == "--replicas"      ? &o.replicas
                 : arg == "--churn-seconds" ? &o.churnSeconds
                 : arg == "--churn-rate"    ? &o.churnRate
                                            : nullptr;
    if (value && i + 1 < argc) {
      *value = std::atoi(argv[++i]);
    } else if (arg == "--quick") {
      o = {20, 1000, 200, 20, 200};
    } else if (arg == "--glibc-malloc") {                   // main() has seen it
    } else if (arg == "--malloc-arenas" && i + 1 < argc) {  // so has this
      ++i;
    } else {
      std::fputs(kUsage, stderr);
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  // The heap as the desktop app's main sets it up, unless --glibc-malloc (looked for before Qt
  // starts a thread).
  const bool glibcMalloc =
      std::find(argv + 1, argv + argc, std::string_view("--glibc-malloc")) != argv + argc;
  int arenas = kd::dashboard::kMallocArenas;
  if (auto* a = std::find(argv + 1, argv + argc, std::string_view("--malloc-arenas"));
      a + 1 < argv + argc)
    arenas = std::atoi(a[1]);
  if (!glibcMalloc) kd::dashboard::limitMallocArenas(arenas);
  TimedApplication app(argc, argv);
  std::optional<kd::dashboard::HeapTrimmer> heapTrimmer;
  if (!glibcMalloc) heapTrimmer.emplace();
  QStandardPaths::setTestModeEnabled(true);  // window settings stay out of the user's config
  Options o;
  if (!parse(argc, argv, o)) return 2;
  std::printf("dashboard_bench: %d pods on %d simulated nodes; %u cores (%s)\n", o.pods, o.nodes,
              std::thread::hardware_concurrency(), cpuModel().c_str());
  if (glibcMalloc) {
    std::printf("  (allocator: glibc's default, no heap trimmer)\n");
  } else {
    std::printf("  (allocator: malloc arenas capped at %d, heap trimmer)\n", arenas);
  }
  const auto binary =
      std::filesystem::canonical("/proc/self/exe").parent_path() / "kubedesk-engine";
  kd::bench::EngineProcess engine(binary, {"--simulated-nodes", std::to_string(o.nodes)});
  if (kd::Status st = engine.start(); !st) {
    std::fprintf(stderr, "dashboard_bench: %s\n", st.message().c_str());
    return 1;
  }
  auto api = connect(engine);
  if (!api || !waitForNodes(*api, o.nodes)) return 1;
  if (!createFillPods(*api, nodeNames(*api), o.pods)) return 1;
  printListReference(*api, o.pods);
  // The bench's own clients (the pods' creation and the reference list, ~170 MB of parsed
  // JSON) are not the dashboard: give their freed heap back so only the dashboard is measured.
  malloc_trim(0);
  printMemory("before the first dashboard");
  // Three fresh dashboards, the last kept open for the stall and churn runs.
  Dashboard dashboard;
  for (int run = 0; run < 3; ++run) {
    dashboard.window.reset();  // before its session, as ~Dashboard does
    dashboard.session.reset();
    const FillTiming t = measureFill(engine, o.pods, dashboard);
    if (t.rows < 0) return 1;
    std::printf(
        "| fill run %d: pods listed / all %d rows / painted (ms) | %.0f / %.0f / %.0f |"
        " %.2f x goal (1 s) |\n",
        run + 1, o.pods, t.synced, t.rows, t.painted, t.painted / 1000);
    std::printf("|   every section listed (ms) | %.0f | |\n", t.allListed);
    std::printf("|   CPU until painted: process / GUI thread (ms) | %.0f / %.0f | |\n",
                t.processCpu, t.guiCpu);
    printMemory(("after dashboard " + std::to_string(run + 1)).c_str());
  }
  printSlowEvents("fill");
  std::printf("| dashboard RSS with %d pods, right after the fills (MB) | %.1f | |\n", o.pods,
              rssMiB());
  // The app's HeapTrimmer looks every 5 s; what a person sees is the RSS after it has.
  runUntil([] { return false; }, 6s);
  std::printf("| dashboard RSS with %d pods, 6 s later (MB) | %.1f | |\n", o.pods, rssMiB());
  std::printf("| heap in use with %d pods (MB, mallinfo2) | %.1f | |\n", o.pods, heapInUseMiB());
  printMemory("6 s after the fills");
  printTrims(heapTrimmer ? &*heapTrimmer : nullptr);
  if (!measureRollout(*api, o.replicas)) return 1;
  if (!measureChurn(*api, dashboard, o)) return 1;
  printTrims(heapTrimmer ? &*heapTrimmer : nullptr);
  return 0;
}

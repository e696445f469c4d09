#include <QtTest>

#include <filesystem>
#include <fstream>

#include "engine/node/metrics_collector.h"
#include "engine/node/pod_worker.h"

using kd::json;
using kd::node::CgroupVersion;
using kd::node::MetricsCollector;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

Q_DECLARE_METATYPE(CgroupVersion)

namespace {

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::trunc) << text;
}

// A fake cgroup tree under `root`, laid out as the kernel does for each version.
class FakeCgroups {
 public:
  FakeCgroups(fs::path root, CgroupVersion v) : root_(std::move(root)), v_(v) {}

  // Sets a cgroup's counters: cumulative CPU (ns), memory usage, inactive file pages.
  void set(const std::string& relative, uint64_t cpuNanos, uint64_t usage, uint64_t inactive,
           bool withProcess = true) {
    const std::string rel = relative.substr(1);
    if (v_ == CgroupVersion::V1) {
      write(root_ / "cpuacct" / rel / "cpuacct.usage", std::to_string(cpuNanos) + "\n");
      write(root_ / "cpuacct" / rel / "cgroup.procs", withProcess ? "42\n" : "");
      write(root_ / "memory" / rel / "memory.usage_in_bytes", std::to_string(usage) + "\n");
      write(root_ / "memory" / rel / "memory.stat",
            "cache 100\ninactive_file 7\ntotal_cache 100\ntotal_inactive_file " +
                std::to_string(inactive) + "\ntotal_active_file 3\n");
    } else {
      write(root_ / rel / "cpu.stat",
            "usage_usec " + std::to_string(cpuNanos / 1000) + "\nuser_usec 1\nsystem_usec 2\n");
      write(root_ / rel / "cgroup.procs", withProcess ? "42\n" : "");
      write(root_ / rel / "memory.current", std::to_string(usage) + "\n");
      write(root_ / rel / "memory.stat",
            "anon 5\nfile 100\nactive_file 3\ninactive_file " + std::to_string(inactive) + "\n");
    }
  }

 private:
  fs::path root_;
  CgroupVersion v_;
};

std::string containerCgroup(const std::string& uid, const std::string& name, int attempt) {
  return "/kubedesk/pod" + uid + "/" + kd::node::PodWorker::containerId(uid, name, attempt);
}

// A pod directory as the pod worker leaves it: pod.json and one attempt per container.
void addPod(const fs::path& stateDir, const std::string& uid, const std::string& name,
            const std::vector<std::pair<std::string, int>>& containers) {
  const fs::path dir = kd::node::PodWorker::podDir(stateDir, uid);
  json pod = {{"metadata", {{"namespace", "default"}, {"name", name}, {"uid", uid}}}};
  write(dir / "pod.json", pod.dump());
  for (const auto& [container, attempt] : containers) {
    for (int a = 0; a <= attempt; ++a) {
      fs::create_directories(dir / "containers" / container / std::to_string(a));
    }
  }
}

}  // namespace

class MetricsCollectorTest : public QObject {
  Q_OBJECT

 private slots:
  void readsCgroupFiles_data() {
    QTest::addColumn<CgroupVersion>("version");
    QTest::newRow("cgroup v1") << CgroupVersion::V1;
    QTest::newRow("cgroup v2") << CgroupVersion::V2;
  }
  void readsCgroupFiles() {
    QFETCH(CgroupVersion, version);
    QTemporaryDir tmp;
    FakeCgroups cgroups(tmp.path().toStdString(), version);
    cgroups.set("/kubedesk/podu/c1", 5000000000, 10 << 20, 4 << 20);
    auto r = kd::node::readCgroup(tmp.path().toStdString(), version, "/kubedesk/podu/c1");
    QVERIFY2(r.ok(), r.status().message().c_str());
    QCOMPARE(r->cpuUsageNanos, uint64_t{5000000000});
    QCOMPARE(r->workingSetBytes, uint64_t{6 << 20});
    // More inactive file pages than usage (the kernel's counters race): never below zero.
    cgroups.set("/kubedesk/podu/c1", 1, 4096, 8192);
    QCOMPARE(kd::node::readCgroup(tmp.path().toStdString(), version, "/kubedesk/podu/c1")
                 ->workingSetBytes,
             uint64_t{0});
    auto missing = kd::node::readCgroup(tmp.path().toStdString(), version, "/kubedesk/nope");
    QVERIFY(!missing.ok());
    QCOMPARE(missing.status().code(), 404);
  }

  // Two collections a few seconds apart turn cumulative CPU into rates; the node is the sum of
  // its pods' cgroups; containers without processes and pods first seen are left out.
  void reportsRatesBetweenCollections_data() { readsCgroupFiles_data(); }
  void reportsRatesBetweenCollections() {
    QFETCH(CgroupVersion, version);
    QTemporaryDir tmp;
    const fs::path root = fs::path(tmp.path().toStdString()) / "cgroup";
    const fs::path state = fs::path(tmp.path().toStdString()) / "state";
    FakeCgroups cgroups(root, version);
    addPod(state, "u1", "busy", {{"main", 2}, {"side", 0}});
    addPod(state, "u2", "done", {{"main", 0}});
    cgroups.set("/kubedesk/podu1", 1000000000, 3 << 20, 0);
    cgroups.set(containerCgroup("u1", "main", 2), 900000000, 2 << 20, 1 << 20);
    cgroups.set(containerCgroup("u1", "side", 0), 100000000, 1 << 20, 0);
    cgroups.set("/kubedesk/podu2", 0, 0, 0);
    cgroups.set(containerCgroup("u2", "main", 0), 0, 0, 0, false);

    MetricsCollector collector({state, root, version, false});
    const auto t0 = std::chrono::steady_clock::time_point(100s);
    QVERIFY(!collector.collect(t0));

    // 4 s later: main used 2 s of CPU (half a core), side 0.2 s.
    cgroups.set("/kubedesk/podu1", 3200000000, 3 << 20, 0);
    cgroups.set(containerCgroup("u1", "main", 2), 2900000000, 2 << 20, 1 << 20);
    cgroups.set(containerCgroup("u1", "side", 0), 300000000, 1 << 20, 0);
    addPod(state, "u3", "new", {{"main", 0}});
    cgroups.set("/kubedesk/podu3", 50, 4096, 0);
    cgroups.set(containerCgroup("u3", "main", 0), 50, 4096, 0);
    auto report = collector.collect(t0 + 4s);
    QVERIFY(report);
    QCOMPARE((*report)["windowSeconds"].get<double>(), 4.0);
    QCOMPARE((*report)["node"]["cpuNanoCores"].get<int64_t>(), int64_t{550000000});
    QCOMPARE((*report)["node"]["memoryBytes"].get<int64_t>(), int64_t{(3 << 20) + 4096});
    const json& pods = (*report)["pods"];
    QCOMPARE(pods.size(), size_t{1});  // "done" runs nothing; "new" has one reading so far
    QCOMPARE(pods[0]["name"], "busy");
    QCOMPARE(pods[0]["namespace"], "default");
    QCOMPARE(pods[0]["uid"], "u1");
    std::map<std::string, json> byName;
    for (const auto& c : pods[0]["containers"]) byName[c["name"]] = c;
    QCOMPARE(byName.size(), size_t{2});
    QCOMPARE(byName["main"]["cpuNanoCores"].get<int64_t>(), int64_t{500000000});
    QCOMPARE(byName["main"]["memoryBytes"].get<int64_t>(), int64_t{1 << 20});
    QCOMPARE(byName["side"]["cpuNanoCores"].get<int64_t>(), int64_t{50000000});

    // The next collection measures "new" too.
    cgroups.set(containerCgroup("u3", "main", 0), 2000000050, 4096, 0);
    report = collector.collect(t0 + 6s);
    QVERIFY(report);
    QCOMPARE((*report)["pods"].size(), size_t{2});
  }

  void countsTheAgentProcess() {
    QTemporaryDir tmp;
    const fs::path root = fs::path(tmp.path().toStdString());
    MetricsCollector collector({root / "state", root / "cgroup", CgroupVersion::V1, true});
    const auto t0 = std::chrono::steady_clock::now();
    QVERIFY(!collector.collect(t0));
    auto report = collector.collect(t0 + 1s);
    QVERIFY(report);
    QVERIFY((*report)["node"]["memoryBytes"].get<int64_t>() > 0);  // our own RSS
    QVERIFY((*report)["node"]["cpuNanoCores"].get<int64_t>() >= 0);
  }
};

QTEST_GUILESS_MAIN(MetricsCollectorTest)
#include "metrics_collector_test.moc"

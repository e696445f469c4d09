#include "engine/controllers/cronjob_controller.h"

#include <QtTest>

#include "tests/engine/controllers/test_cluster.h"

using kd::json;
using kd::controllers::CronJobController;
using kd::controllers::CronJobControllerOptions;
using kd::testing::TestCluster;
using std::chrono::minutes;
using std::chrono::seconds;
using TimePoint = std::chrono::system_clock::time_point;

namespace {

constexpr const char* kNs = "cron";
// 2024-01-01T00:00:00Z, the last run every test starts from (set as status.lastScheduleTime,
// as if the CronJob had been running for a while).
const TimePoint kStart = TimePoint(seconds(1704067200));

// A cluster, a fake wall clock and a CronJob controller whose sync the test calls directly.
struct Harness {
  TestCluster c;
  TimePoint now = kStart;
  CronJobController controller;

  Harness() : controller(c.objects(), options(this)) { c.createNamespace(kNs); }

  static CronJobControllerOptions options(Harness* h) {
    CronJobControllerOptions o;
    o.clock = [h] { return h->now; };
    return o;
  }

  static const kd::api::KindInfo& cronJobs() { return TestCluster::kind("cronjobs", "batch"); }
  static const kd::api::KindInfo& jobs() { return TestCluster::kind("jobs", "batch"); }

  void createCronJob(const std::string& name, json spec) {
    spec["jobTemplate"] = {{"metadata", {{"labels", {{"app", name}}}}},
                           {"spec",
                            {{"template",
                              {{"spec",
                                {{"restartPolicy", "Never"},
                                 {"containers", {{{"name", "w"}, {"image", "busybox"}}}}}}}}}}};
    json cj = c.create(cronJobs(), kNs, {{"metadata", {{"name", name}}}, {"spec", spec}});
    QVERIFY(!cj.is_null());
    cj["status"]["lastScheduleTime"] = kd::server::formatTime(kStart);
    kd::server::WriteOptions o;
    o.subresource = "status";
    QVERIFY(c.objects().update(cronJobs(), kNs, name, cj, o).ok());
  }

  bool syncAt(const std::string& name, TimePoint t) {
    now = t;
    kd::Status st = controller.sync(std::string(kNs) + "/" + name);
    if (!st.isOk()) qWarning("sync: %s", st.message().c_str());
    return st.isOk();
  }

  json cronJob(const std::string& name) { return c.get(cronJobs(), kNs, name); }

  std::set<std::string> jobNames() {
    std::set<std::string> out;
    auto listed = c.objects().list(jobs(), kNs, {});
    if (!listed.ok()) return out;
    for (const auto& item : listed->items) {
      const json j = item->parse();
      if (!j["metadata"].contains("deletionTimestamp")) out.insert(j["metadata"]["name"]);
    }
    return out;
  }

  // Marks a Job finished ("Complete" or "Failed") as the Job controller would.
  void finish(const std::string& name, const std::string& type, TimePoint started) {
    json job = c.get(jobs(), kNs, name);
    job["status"]["startTime"] = kd::server::formatTime(started);
    job["status"]["conditions"] = {{{"type", type}, {"status", "True"}}};
    if (type == "Complete") job["status"]["completionTime"] = kd::server::formatTime(now);
    kd::server::WriteOptions o;
    o.subresource = "status";
    QVERIFY(c.objects().update(jobs(), kNs, name, job, o).ok());
  }

  int events(const std::string& reason) {
    controller.flushEvents();
    auto listed = c.objects().list(TestCluster::kind("events"), kNs, {});
    int n = 0;
    for (const auto& item : listed->items) {
      const json e = item->parse();
      if (e["reason"] == reason) n += e.value("count", 1);
    }
    return n;
  }
};

// The Job name Kubernetes gives the run scheduled `after` minutes past kStart.
std::string jobAt(const std::string& cronJob, int after) {
  using namespace std::chrono;
  return cronJob + "-" +
         std::to_string(duration_cast<minutes>(kStart.time_since_epoch()).count() + after);
}

}  // namespace

class CronJobControllerTest : public QObject {
  Q_OBJECT
 private slots:
  void createsJobsOnSchedule() {
    Harness h;
    h.createCronJob("tick", {{"schedule", "*/1 * * * *"}});
    QVERIFY(h.syncAt("tick", kStart + seconds(30)));
    QVERIFY(h.jobNames().empty());
    QVERIFY(h.syncAt("tick", kStart + minutes(1) + seconds(1)));
    QCOMPARE(h.jobNames(), std::set<std::string>{jobAt("tick", 1)});
    QCOMPARE(jobAt("tick", 1), std::string("tick-28401121"));
    const json job = h.c.get(Harness::jobs(), kNs, jobAt("tick", 1));
    QCOMPARE(job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"],
             json("2024-01-01T00:01:00Z"));
    QCOMPARE(job["metadata"]["labels"]["app"], json("tick"));
    QCOMPARE(job["metadata"]["ownerReferences"][0]["kind"], json("CronJob"));
    QCOMPARE(job["metadata"]["ownerReferences"][0]["controller"], json(true));
    json cj = h.cronJob("tick");
    QCOMPARE(cj["status"]["lastScheduleTime"], json("2024-01-01T00:01:00Z"));
    QCOMPARE(cj["status"]["active"].size(), size_t(1));
    QCOMPARE(cj["status"]["active"][0]["name"], json(jobAt("tick", 1)));
    // Syncing again in the same minute changes nothing.
    QVERIFY(h.syncAt("tick", kStart + minutes(1) + seconds(20)));
    QCOMPARE(h.jobNames().size(), size_t(1));
    // Allow: the next run starts while the first is still active.
    QVERIFY(h.syncAt("tick", kStart + minutes(2) + seconds(1)));
    QCOMPARE(h.jobNames(), (std::set<std::string>{jobAt("tick", 1), jobAt("tick", 2)}));
    QCOMPARE(h.cronJob("tick")["status"]["active"].size(), size_t(2));
    QCOMPARE(h.events("SuccessfulCreate"), 2);
  }

  void forbidSkipsWhileActive() {
    Harness h;
    h.createCronJob("solo", {{"schedule", "*/1 * * * *"}, {"concurrencyPolicy", "Forbid"}});
    QVERIFY(h.syncAt("solo", kStart + minutes(1) + seconds(1)));
    QVERIFY(h.syncAt("solo", kStart + minutes(2) + seconds(1)));
    QCOMPARE(h.jobNames(), std::set<std::string>{jobAt("solo", 1)});
    QVERIFY(h.events("JobAlreadyActive") >= 1);
    // Once the active run completes, the pending run starts.
    h.finish(jobAt("solo", 1), "Complete", kStart + minutes(1));
    QVERIFY(h.syncAt("solo", kStart + minutes(2) + seconds(10)));
    QCOMPARE(h.jobNames(), (std::set<std::string>{jobAt("solo", 1), jobAt("solo", 2)}));
    const json cj = h.cronJob("solo");
    QCOMPARE(cj["status"]["active"].size(), size_t(1));
    QCOMPARE(cj["status"]["active"][0]["name"], json(jobAt("solo", 2)));
    QVERIFY(cj["status"].contains("lastSuccessfulTime"));
    QCOMPARE(h.events("SawCompletedJob"), 1);
  }

  void replaceDeletesTheActiveJob() {
    Harness h;
    h.createCronJob("swap", {{"schedule", "*/1 * * * *"}, {"concurrencyPolicy", "Replace"}});
    QVERIFY(h.syncAt("swap", kStart + minutes(1) + seconds(1)));
    QVERIFY(h.syncAt("swap", kStart + minutes(2) + seconds(1)));
    QCOMPARE(h.jobNames(), std::set<std::string>{jobAt("swap", 2)});
    const json cj = h.cronJob("swap");
    QCOMPARE(cj["status"]["active"].size(), size_t(1));
    QCOMPARE(cj["status"]["active"][0]["name"], json(jobAt("swap", 2)));
    QCOMPARE(h.events("SuccessfulDelete"), 1);
  }

  void historyLimitsDeleteOldestFinishedJobs() {
    Harness h;
    h.createCronJob("hist", {{"schedule", "*/1 * * * *"},
                             {"successfulJobsHistoryLimit", 1},
                             {"failedJobsHistoryLimit", 1}});
    for (int m = 1; m <= 5; ++m) QVERIFY(h.syncAt("hist", kStart + minutes(m) + seconds(1)));
    QCOMPARE(h.jobNames().size(), size_t(5));
    h.finish(jobAt("hist", 1), "Complete", kStart + minutes(1));
    h.finish(jobAt("hist", 2), "Complete", kStart + minutes(2));
    h.finish(jobAt("hist", 3), "Failed", kStart + minutes(3));
    h.finish(jobAt("hist", 4), "Failed", kStart + minutes(4));
    QVERIFY(h.syncAt("hist", kStart + minutes(5) + seconds(30)));
    QCOMPARE(h.jobNames(),
             (std::set<std::string>{jobAt("hist", 2), jobAt("hist", 4), jobAt("hist", 5)}));
    QCOMPARE(h.cronJob("hist")["status"]["active"].size(), size_t(1));
  }

  void missedSchedules_data() {
    QTest::addColumn<int>("downMinutes");
    QTest::addColumn<bool>("tooMany");
    QTest::newRow("ten missed") << 10 << false;
    QTest::newRow("hundred missed") << 100 << false;
    QTest::newRow("over a hundred missed") << 200 << true;
  }

  void missedSchedules() {
    QFETCH(int, downMinutes);
    QFETCH(bool, tooMany);
    Harness h;
    h.createCronJob("late", {{"schedule", "*/1 * * * *"}});
    QVERIFY(h.syncAt("late", kStart + minutes(downMinutes) + seconds(30)));
    // One catch-up run, for the most recent missed time.
    QCOMPARE(h.jobNames(), std::set<std::string>{jobAt("late", downMinutes)});
    QCOMPARE(h.events("TooManyMissedTimes") > 0, tooMany);
  }

  void startingDeadlineSkipsStaleRuns() {
    Harness h;
    h.createCronJob("strict", {{"schedule", "*/5 * * * *"}, {"startingDeadlineSeconds", 10}});
    QVERIFY(h.syncAt("strict", kStart + minutes(5) + seconds(30)));
    QVERIFY(h.jobNames().empty());
    QVERIFY(h.syncAt("strict", kStart + minutes(10) + seconds(5)));
    QCOMPARE(h.jobNames(), std::set<std::string>{jobAt("strict", 10)});
  }

  void suspendedCronJobStartsNothing() {
    Harness h;
    h.createCronJob("paused", {{"schedule", "*/1 * * * *"}, {"suspend", true}});
    QVERIFY(h.syncAt("paused", kStart + minutes(3)));
    QVERIFY(h.jobNames().empty());
  }

  void timeZoneDecidesTheMinute() {
    Harness h;
    h.createCronJob("tokyo", {{"schedule", "0 9 * * *"}, {"timeZone", "Asia/Tokyo"}});
    QVERIFY(h.syncAt("tokyo", kStart + minutes(23 * 60 + 59)));
    QVERIFY(h.jobNames().empty());
    QVERIFY(h.syncAt("tokyo", kStart + minutes(24 * 60) + seconds(1)));  // 09:00 in Tokyo
    QCOMPARE(h.jobNames(), std::set<std::string>{jobAt("tokyo", 24 * 60)});
    const json job = h.c.get(Harness::jobs(), kNs, jobAt("tokyo", 24 * 60));
    QCOMPARE(job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"],
             json("2024-01-02T09:00:00+09:00"));
  }
};

QTEST_GUILESS_MAIN(CronJobControllerTest)
#include "cronjob_controller_test.moc"

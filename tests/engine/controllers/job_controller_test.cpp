#include "engine/controllers/job_controller.h"

#include <QRegularExpression>
#include <QtTest>

#include "engine/controllers/controller_manager.h"
#include "tests/engine/controllers/test_cluster.h"

using kd::json;
using kd::controllers::ControllerManager;
using kd::controllers::JobController;
using kd::controllers::JobControllerOptions;
using kd::testing::TestCluster;
using std::chrono::seconds;

namespace {

constexpr const char* kNs = "batch";

// A cluster, a fake wall clock and a Job controller whose sync the test calls directly; the
// test plays the kubelet by writing pod phases through the status subresource.
struct Harness {
  TestCluster c;
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
  JobController controller;

  Harness() : controller(c.objects(), options(this)) { c.createNamespace(kNs); }

  static JobControllerOptions options(Harness* h) {
    JobControllerOptions o;
    o.clock = [h] { return h->now; };
    return o;
  }

  static const kd::api::KindInfo& jobs() { return TestCluster::kind("jobs", "batch"); }
  static const kd::api::KindInfo& pods() { return TestCluster::kind("pods"); }

  json createJob(const std::string& name, json spec) {
    spec["template"] = {{"spec",
                         {{"restartPolicy", spec.value("restartPolicy", "Never")},
                          {"containers", {{{"name", "work"}, {"image", "busybox"}}}}}}};
    spec.erase("restartPolicy");
    return c.create(jobs(), kNs, {{"metadata", {{"name", name}}}, {"spec", spec}});
  }

  bool sync(const std::string& name) {
    kd::Status st = controller.sync(std::string(kNs) + "/" + name);
    if (!st.isOk()) qWarning("sync: %s", st.message().c_str());
    return st.isOk();
  }

  json job(const std::string& name) { return c.get(jobs(), kNs, name); }

  std::vector<json> podsOf(const std::string& job) {
    kd::server::ListOptions o;
    o.labelSelector = "batch.kubernetes.io/job-name=" + job;
    std::vector<json> out;
    auto listed = c.objects().list(pods(), kNs, o);
    if (listed.ok()) {
      for (const auto& item : listed->items) out.push_back(item->parse());
    }
    return out;
  }

  std::vector<json> running(const std::string& job) {
    std::vector<json> out;
    for (auto& p : podsOf(job)) {
      const std::string phase = p["status"].value("phase", "");
      if (phase != "Succeeded" && phase != "Failed") out.push_back(p);
    }
    return out;
  }

  void setPodStatus(json pod, const json& status) {
    pod["status"].update(status);
    kd::server::WriteOptions o;
    o.subresource = "status";
    const std::string name = pod["metadata"]["name"];
    auto r = c.objects().update(pods(), kNs, name, pod, o);
    if (!r.ok()) qWarning("pod status: %s", r.status().message().c_str());
  }

  // Finishes every running pod of `job` with `phase`; returns how many.
  int finishAll(const std::string& job, const std::string& phase) {
    int n = 0;
    for (auto& p : running(job)) {
      setPodStatus(p, {{"phase", phase}});
      ++n;
    }
    return n;
  }

  // The condition of `type` when it is True, else null.
  static json condition(const json& job, const std::string& type) {
    if (!job.is_object() || !job.contains("status")) return nullptr;
    for (const auto& c : job["status"].value("conditions", json::array())) {
      if (c["type"] == type && c["status"] == "True") return c;
    }
    return nullptr;
  }

  bool hasEvent(const std::string& reason, const std::string& message = "") {
    controller.flushEvents();
    auto listed = c.objects().list(TestCluster::kind("events"), kNs, {});
    if (!listed.ok()) return false;
    for (const auto& item : listed->items) {
      const json e = item->parse();
      if (e["reason"] == reason && (message.empty() || e["message"] == message)) return true;
    }
    return false;
  }
};

bool hasFinalizer(const json& pod) {
  return !pod["metadata"].value("finalizers", json::array()).empty();
}

}  // namespace

class JobControllerTest : public QObject {
  Q_OBJECT
 private slots:
  void completionsWithParallelismComplete() {
    Harness h;
    h.createJob("pi", {{"completions", 5}, {"parallelism", 2}});
    for (int round = 0; round < 10 && Harness::condition(h.job("pi"), "Complete").is_null();
         ++round) {
      QVERIFY(h.sync("pi"));
      QVERIFY(h.running("pi").size() <= 2);
      h.finishAll("pi", "Succeeded");
    }
    const json job = h.job("pi");
    QVERIFY(!Harness::condition(job, "Complete").is_null());
    QVERIFY(!Harness::condition(job, "SuccessCriteriaMet").is_null());
    QCOMPARE(job["status"]["succeeded"], json(5));
    QVERIFY(!job["status"].contains("failed"));
    QVERIFY(!job["status"].contains("active"));
    QCOMPARE(job["status"]["uncountedTerminatedPods"], json::object());
    QVERIFY(job["status"].contains("completionTime"));
    QVERIFY(job["status"].contains("startTime"));
    const auto pods = h.podsOf("pi");
    QCOMPARE(pods.size(), size_t(5));
    for (const auto& p : pods) {
      const QString name = QString::fromStdString(p["metadata"]["name"]);
      QVERIFY2(QRegularExpression("^pi-[a-z0-9]{5}$").match(name).hasMatch(), qPrintable(name));
      QVERIFY(!hasFinalizer(p));
      QCOMPARE(p["metadata"]["ownerReferences"][0]["controller"], json(true));
      QCOMPARE(p["metadata"]["ownerReferences"][0]["uid"], job["metadata"]["uid"]);
    }
    QVERIFY(h.hasEvent("SuccessfulCreate",
                       "Created pod: " + pods[0]["metadata"]["name"].get<std::string>()));
    QVERIFY(h.hasEvent("Completed", "Job completed"));
  }

  void trackedPodsCarryTheFinalizerUntilCounted() {
    Harness h;
    h.createJob("track", {{"completions", 2}, {"parallelism", 2}});
    QVERIFY(h.sync("track"));
    auto pods = h.podsOf("track");
    QCOMPARE(pods.size(), size_t(2));
    for (const auto& p : pods) QVERIFY(hasFinalizer(p));
    h.setPodStatus(pods[0], {{"phase", "Succeeded"}});
    QVERIFY(h.sync("track"));
    const json job = h.job("track");
    QCOMPARE(job["status"]["succeeded"], json(1));
    QCOMPARE(job["status"]["active"], json(1));
    // Deleting a counted pod does not uncount it.
    QVERIFY(h.c.objects()
                .remove(Harness::pods(), kNs, pods[0]["metadata"]["name"].get<std::string>(), {})
                .ok());
    QVERIFY(h.sync("track"));
    QCOMPARE(h.job("track")["status"]["succeeded"], json(1));
    QCOMPARE(h.podsOf("track").size(), size_t(1));
  }

  void failingJobStopsAtBackoffLimit() {
    Harness h;
    h.createJob("fail", {{"backoffLimit", 2}});
    QVERIFY(h.sync("fail"));
    QCOMPARE(h.finishAll("fail", "Failed"), 1);
    QVERIFY(h.sync("fail"));
    // The replacement waits out the back-off: 10 s after the first failure.
    QCOMPARE(h.running("fail").size(), size_t(0));
    h.now += seconds(9);
    QVERIFY(h.sync("fail"));
    QCOMPARE(h.running("fail").size(), size_t(0));
    h.now += seconds(2);
    QVERIFY(h.sync("fail"));
    QCOMPARE(h.running("fail").size(), size_t(1));
    for (int round = 0; round < 6 && Harness::condition(h.job("fail"), "Failed").is_null();
         ++round) {
      h.finishAll("fail", "Failed");
      h.now += seconds(400);
      QVERIFY(h.sync("fail"));
    }
    const json job = h.job("fail");
    const json failed = Harness::condition(job, "Failed");
    QVERIFY(!failed.is_null());
    QCOMPARE(failed["reason"], json("BackoffLimitExceeded"));
    QCOMPARE(failed["message"], json("Job has reached the specified backoff limit"));
    QVERIFY(!Harness::condition(job, "FailureTarget").is_null());
    QCOMPARE(job["status"]["failed"], json(3));
    QVERIFY(!job["status"].contains("completionTime"));
    QCOMPARE(h.podsOf("fail").size(), size_t(3));
    QVERIFY(h.hasEvent("BackoffLimitExceeded"));
  }

  void onFailureCountsContainerRestarts() {
    Harness h;
    h.createJob("flaky", {{"backoffLimit", 3}, {"restartPolicy", "OnFailure"}});
    QVERIFY(h.sync("flaky"));
    auto pods = h.running("flaky");
    QCOMPARE(pods.size(), size_t(1));
    const auto restarts = [](int n) {
      return json{{"phase", "Running"},
                  {"containerStatuses", {{{"name", "work"}, {"restartCount", n}}}}};
    };
    h.setPodStatus(pods[0], restarts(2));
    QVERIFY(h.sync("flaky"));
    QVERIFY(Harness::condition(h.job("flaky"), "FailureTarget").is_null());
    h.setPodStatus(h.running("flaky")[0], restarts(3));
    QVERIFY(h.sync("flaky"));
    const json job = h.job("flaky");
    QVERIFY(!Harness::condition(job, "Failed").is_null());
    QCOMPARE(Harness::condition(job, "Failed")["reason"], json("BackoffLimitExceeded"));
    QCOMPARE(h.podsOf("flaky").size(), size_t(0));  // the running pod was deleted
  }

  void indexedJobTracksCompletedIndexes() {
    Harness h;
    h.createJob("ix", {{"completions", 6}, {"parallelism", 6}, {"completionMode", "Indexed"}});
    QVERIFY(h.sync("ix"));
    auto pods = h.podsOf("ix");
    QCOMPARE(pods.size(), size_t(6));
    std::map<int, json> byIndex;
    for (const auto& p : pods) {
      const std::string ix =
          p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"];
      byIndex[std::stoi(ix)] = p;
      QCOMPARE(p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"], json(ix));
      QCOMPARE(p["spec"]["hostname"], json("ix-" + ix));
      const QString name = QString::fromStdString(p["metadata"]["name"]);
      QVERIFY2(QRegularExpression(QString::fromStdString("^ix-" + ix + "-[a-z0-9]{5}$"))
                   .match(name)
                   .hasMatch(),
               qPrintable(name));
      const json env = p["spec"]["containers"][0]["env"];
      QCOMPARE(env[0]["name"], json("JOB_COMPLETION_INDEX"));
      QCOMPARE(env[0]["valueFrom"]["fieldRef"]["fieldPath"],
               json("metadata.annotations['batch.kubernetes.io/job-completion-index']"));
    }
    QCOMPARE(byIndex.size(), size_t(6));
    for (int ix : {1, 3, 4, 5}) h.setPodStatus(byIndex[ix], {{"phase", "Succeeded"}});
    QVERIFY(h.sync("ix"));
    json job = h.job("ix");
    QCOMPARE(job["status"]["completedIndexes"], json("1,3-5"));
    QCOMPARE(job["status"]["succeeded"], json(4));
    QCOMPARE(job["status"]["active"], json(2));
    // A failed index is retried with a new pod for the same index.
    h.setPodStatus(byIndex[0], {{"phase", "Failed"}});
    QVERIFY(h.sync("ix"));
    h.now += seconds(11);
    QVERIFY(h.sync("ix"));
    auto again = h.running("ix");
    QCOMPARE(again.size(), size_t(2));
    h.finishAll("ix", "Succeeded");
    QVERIFY(h.sync("ix"));
    job = h.job("ix");
    QCOMPARE(job["status"]["completedIndexes"], json("0-5"));
    QCOMPARE(job["status"]["failed"], json(1));
    QVERIFY(!Harness::condition(job, "Complete").is_null());
  }

  void activeDeadlineFailsTheJob() {
    Harness h;
    h.createJob("slow", {{"activeDeadlineSeconds", 30}});
    QVERIFY(h.sync("slow"));
    QCOMPARE(h.running("slow").size(), size_t(1));
    h.now += seconds(29);
    QVERIFY(h.sync("slow"));
    QVERIFY(Harness::condition(h.job("slow"), "Failed").is_null());
    h.now += seconds(2);
    QVERIFY(h.sync("slow"));
    const json job = h.job("slow");
    const json failed = Harness::condition(job, "Failed");
    QVERIFY(!failed.is_null());
    QCOMPARE(failed["reason"], json("DeadlineExceeded"));
    QCOMPARE(failed["message"], json("Job was active longer than specified deadline"));
    QCOMPARE(h.podsOf("slow").size(), size_t(0));
    QCOMPARE(job["status"]["failed"], json(1));
    QVERIFY(h.hasEvent("DeadlineExceeded"));
  }

  void finishedJobIsDeletedAfterItsTtl() {
    Harness h;
    h.createJob("brief", {{"ttlSecondsAfterFinished", 60}});
    QVERIFY(h.sync("brief"));
    h.finishAll("brief", "Succeeded");
    QVERIFY(h.sync("brief"));
    QVERIFY(!Harness::condition(h.job("brief"), "Complete").is_null());
    h.now += seconds(59);
    QVERIFY(h.sync("brief"));
    QVERIFY(!h.job("brief")["metadata"].contains("deletionTimestamp"));
    h.now += seconds(2);
    QVERIFY(h.sync("brief"));
    // Foreground deletion: gone, or waiting for the garbage collector with its finalizer.
    const json job = h.job("brief");
    QVERIFY(job.is_null() || job["metadata"].contains("deletionTimestamp"));
  }

  void suspendedJobRunsNoPods() {
    Harness h;
    h.createJob("later", {{"suspend", true}, {"completions", 2}, {"parallelism", 2}});
    QVERIFY(h.sync("later"));
    QCOMPARE(h.podsOf("later").size(), size_t(0));
    json job = h.job("later");
    QVERIFY(!Harness::condition(job, "Suspended").is_null());
    QVERIFY(!job["status"].contains("startTime"));
    job["spec"]["suspend"] = false;
    QVERIFY(h.c.objects().update(Harness::jobs(), kNs, "later", job, {}).ok());
    QVERIFY(h.sync("later"));
    QCOMPARE(h.running("later").size(), size_t(2));
    job = h.job("later");
    QVERIFY(Harness::condition(job, "Suspended").is_null());
    QVERIFY(job["status"].contains("startTime"));
    // Suspending again deletes the pods without counting them as failures.
    job["spec"]["suspend"] = true;
    QVERIFY(h.c.objects().update(Harness::jobs(), kNs, "later", job, {}).ok());
    QVERIFY(h.sync("later"));
    QCOMPARE(h.podsOf("later").size(), size_t(0));
    QVERIFY(!h.job("later")["status"].contains("failed"));
  }

  void managerRunsAJobToCompletion() {
    TestCluster c;
    c.createNamespace(kNs);
    ControllerManager manager(c.objects());
    manager.add(std::make_unique<JobController>(c.objects()));
    QVERIFY(manager.start().isOk());
    json spec = {{"completions", 5},
                 {"parallelism", 2},
                 {"template",
                  {{"spec",
                    {{"restartPolicy", "Never"},
                     {"containers", {{{"name", "w"}, {"image", "busybox"}}}}}}}}};
    QVERIFY(!c.create(Harness::jobs(), kNs, {{"metadata", {{"name", "live"}}}, {"spec", spec}})
                 .is_null());
    size_t maxRunning = 0;
    // Plays the kubelet on every poll: pods that exist finish successfully.
    auto kubelet = [&] {
      auto listed = c.objects().list(Harness::pods(), kNs, {});
      size_t running = 0;
      for (const auto& item : listed->items) {
        json p = item->parse();
        if (p["status"].value("phase", "") != "Pending") continue;
        ++running;
        p["status"]["phase"] = "Succeeded";
        kd::server::WriteOptions o;
        o.subresource = "status";
        c.objects().update(Harness::pods(), kNs, p["metadata"]["name"].get<std::string>(), p, o);
      }
      maxRunning = std::max(maxRunning, running);
      return !Harness::condition(c.get(Harness::jobs(), kNs, "live"), "Complete").is_null();
    };
    QTRY_VERIFY_WITH_TIMEOUT(kubelet(), 15000);
    QCOMPARE(c.get(Harness::jobs(), kNs, "live")["status"]["succeeded"], json(5));
    QVERIFY(maxRunning <= 2);
  }
};

QTEST_GUILESS_MAIN(JobControllerTest)
#include "job_controller_test.moc"

#include "engine/controllers/cronjob_controller.h"

#include <algorithm>
#include <cstdio>

#include "engine/controllers/controller_manager.h"

namespace kd::controllers {
namespace {

constexpr const char* kScheduledAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp";
constexpr int kMaxMissed = 100;
// Like Kubernetes, wake a moment after the schedule time so it is surely due.
constexpr auto kWakeSlack = std::chrono::milliseconds(100);

using TimePoint = std::chrono::system_clock::time_point;

const json& at(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::string str(const json& obj, const char* key) {
  const json& v = at(obj, key);
  return v.is_string() ? v.get<std::string>() : "";
}

std::optional<int64_t> integer(const json& obj, const char* key) {
  const json& v = at(obj, key);
  if (!v.is_number_integer()) return std::nullopt;
  return v.get<int64_t>();
}

// "Complete" or "Failed" when the Job has finished, else "".
std::string finishedAs(const json& job) {
  const json& conds = at(at(job, "status"), "conditions");
  if (!conds.is_array()) return "";
  for (const auto& c : conds) {
    const std::string type = str(c, "type");
    if ((type == "Complete" || type == "Failed") && str(c, "status") == "True") return type;
  }
  return "";
}

std::string controllerUid(const json& obj) {
  const json& refs = at(at(obj, "metadata"), "ownerReferences");
  if (!refs.is_array()) return "";
  for (const auto& r : refs) {
    if (at(r, "controller") == true) return str(r, "uid");
  }
  return "";
}

int64_t unixSeconds(TimePoint t) {
  return std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
}

// RFC 3339 in `zone` ("Z" for UTC), as Go formats time.RFC3339.
std::string formatInZone(TimePoint t, const api::TimeZone& zone) {
  const int offset = zone.offsetAt(unixSeconds(t));
  std::string text = server::formatTime(t + std::chrono::seconds(offset));
  if (offset == 0) return text;
  char suffix[32];
  const int abs = offset < 0 ? -offset : offset;
  std::snprintf(suffix, sizeof suffix, "%c%02d:%02d", offset < 0 ? '-' : '+', abs / 3600,
                abs % 3600 / 60);
  return text.substr(0, text.size() - 1) + suffix;
}

// Go's time.RFC1123Z in UTC: "Mon, 02 Jan 2006 15:04:05 +0000".
std::string formatRfc1123(TimePoint t) {
  using namespace std::chrono;
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto day = floor<days>(t);
  const year_month_day ymd(day);
  const hh_mm_ss hms(floor<seconds>(t - day));
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02ld:%02ld:%02ld +0000",
                kDays[weekday(day).c_encoding()], unsigned(ymd.day()),
                kMonths[unsigned(ymd.month()) - 1], int(ymd.year()), long(hms.hours().count()),
                long(hms.minutes().count()), long(hms.seconds().count()));
  return buf;
}

json jobFromTemplate(const json& cronJob, TimePoint scheduled, const api::TimeZone& zone) {
  const json& meta = at(cronJob, "metadata");
  const json& tmpl = at(at(cronJob, "spec"), "jobTemplate");
  const std::string name = str(meta, "name") + "-" + std::to_string(unixSeconds(scheduled) / 60);
  json jobMeta = {{"name", name}};
  for (const char* k : {"labels", "annotations"}) {
    if (at(at(tmpl, "metadata"), k).is_object()) jobMeta[k] = at(tmpl, "metadata")[k];
  }
  jobMeta["annotations"][kScheduledAnnotation] = formatInZone(scheduled, zone);
  jobMeta["ownerReferences"] = {{{"apiVersion", "batch/v1"},
                                 {"kind", "CronJob"},
                                 {"name", str(meta, "name")},
                                 {"uid", str(meta, "uid")},
                                 {"controller", true},
                                 {"blockOwnerDeletion", true}}};
  json job = {{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"metadata", jobMeta}};
  job["spec"] = at(tmpl, "spec").is_object() ? at(tmpl, "spec") : json::object();
  return job;
}

json jobReference(const json& job) {
  const json& meta = at(job, "metadata");
  return {{"apiVersion", "batch/v1"},
          {"kind", "Job"},
          {"namespace", str(meta, "namespace")},
          {"name", str(meta, "name")},
          {"uid", str(meta, "uid")},
          {"resourceVersion", str(meta, "resourceVersion")}};
}

// The latest schedule time at or before `now`, searching back in growing steps.
std::optional<TimePoint> latestUpTo(const api::CronSchedule& schedule, const api::TimeZone& zone,
                                    TimePoint earliest, TimePoint now) {
  for (auto span = std::chrono::seconds(60); now - span > earliest; span *= 2) {
    auto t = schedule.next(now - span, zone);
    if (!t || *t > now) continue;
    for (auto n = schedule.next(*t, zone); n && *n <= now; n = schedule.next(*t, zone)) t = n;
    return t;
  }
  return std::nullopt;
}

}  // namespace

CronJobController::CronJobController(server::ObjectService& objects,
                                     CronJobControllerOptions options)
    : objects_(objects),
      options_(std::move(options)),
      cronJobs_(objects.kinds().byResource("batch", "v1", "cronjobs")),
      jobs_(objects.kinds().byResource("batch", "v1", "jobs")),
      recorder_(objects, "cronjob-controller") {}

CronJobController::TimePoint CronJobController::now() const {
  return options_.clock ? options_.clock() : objects_.now();
}

void CronJobController::setup(ControllerManager& manager, WorkQueue& queue) {
  queue_ = &queue;
  auto enqueue = [&queue](const CachedObject& cj) { queue.add(objectKey(*cj)); };
  manager.informer(*cronJobs_)
      .addHandlers({enqueue,
                    [enqueue](const CachedObject&, const CachedObject& cj) { enqueue(cj); },
                    nullptr});
  auto enqueueOwner = [&queue](const CachedObject& job) {
    const json& refs = at(at(*job, "metadata"), "ownerReferences");
    if (!refs.is_array()) return;
    for (const auto& r : refs) {
      if (at(r, "controller") == true && str(r, "kind") == "CronJob") {
        queue.add(objectKey(str(at(*job, "metadata"), "namespace"), str(r, "name")));
      }
    }
  };
  manager.informer(*jobs_).addHandlers(
      {enqueueOwner,
       [enqueueOwner](const CachedObject&, const CachedObject& job) { enqueueOwner(job); },
       enqueueOwner});
}

bool CronJobController::reconcileActive(const json& cronJob, json& status,
                                        const std::vector<json>& jobs) {
  json active = at(status, "active").is_array() ? status["active"] : json::array();
  const auto inActive = [&](const std::string& uid) {
    return std::any_of(active.begin(), active.end(),
                       [&](const json& ref) { return str(ref, "uid") == uid; });
  };
  bool changed = false;
  for (const auto& job : jobs) {
    const json& meta = at(job, "metadata");
    const std::string uid = str(meta, "uid"), finished = finishedAs(job);
    if (finished.empty() && !inActive(uid)) {
      recorder_.record(
          cronJob, "Warning", "UnexpectedJob",
          "Saw a job that the controller did not create or forgot: " + str(meta, "name"));
    } else if (!finished.empty() && inActive(uid)) {
      active.erase(std::remove_if(active.begin(), active.end(),
                                  [&](const json& ref) { return str(ref, "uid") == uid; }),
                   active.end());
      recorder_.record(cronJob, "Normal", "SawCompletedJob",
                       "Saw completed job: " + str(meta, "name") + ", condition: " + finished);
      changed = true;
    }
    const std::string completed = str(at(job, "status"), "completionTime");
    if (finished == "Complete" && !completed.empty() &&
        completed > str(status, "lastSuccessfulTime")) {
      status["lastSuccessfulTime"] = completed;
      changed = true;
    }
  }
  for (auto it = active.begin(); it != active.end();) {
    const std::string uid = str(*it, "uid");
    const bool listed = std::any_of(jobs.begin(), jobs.end(), [&](const json& j) {
      return str(at(j, "metadata"), "uid") == uid;
    });
    bool exists = listed;
    if (!exists) {
      // A fresh read before dropping it: the job may only be newer than our list.
      auto got = objects_.get(*jobs_, str(*it, "namespace"), str(*it, "name"));
      exists = got.ok() && str(at((*got)->parse(), "metadata"), "uid") == uid;
    }
    if (exists) {
      ++it;
      continue;
    }
    recorder_.record(cronJob, "Normal", "MissingJob",
                     "Active job went missing: " + str(*it, "name"));
    it = active.erase(it);
    changed = true;
  }
  if (active.empty())
    status.erase("active");
  else
    status["active"] = std::move(active);
  return changed;
}

CronJobController::Due CronJobController::dueTime(const json& cronJob, const json& status,
                                                  const api::CronSchedule& schedule,
                                                  const api::TimeZone& zone) const {
  const TimePoint current = now();
  TimePoint earliest =
      server::parseTime(str(at(cronJob, "metadata"), "creationTimestamp")).value_or(current);
  if (auto last = server::parseTime(str(status, "lastScheduleTime"))) earliest = *last;
  if (auto deadline = integer(at(cronJob, "spec"), "startingDeadlineSeconds")) {
    earliest = std::max(earliest, current - std::chrono::seconds(*deadline));
  }
  Due due;
  auto t = schedule.next(earliest, zone);
  if (!t || *t > current) return due;
  int missed = 1;
  for (auto n = schedule.next(*t, zone); n && *n <= current; n = schedule.next(*t, zone)) {
    if (++missed > kMaxMissed) {
      due.tooManyMissed = true;
      t = latestUpTo(schedule, zone, *t, current).value_or(*n);
      break;
    }
    t = n;
  }
  due.time = t;
  return due;
}

Status CronJobController::deleteJob(const json& cronJob, const std::string& ns,
                                    const std::string& name) {
  server::DeleteOptions options;
  options.propagationPolicy = "Background";
  auto removed = objects_.remove(*jobs_, ns, name, options);
  if (!removed.ok() && removed.status().code() != 404) {
    recorder_.record(cronJob, "Warning", "FailedDelete",
                     "Deleted job: " + removed.status().message());
    return removed.status();
  }
  recorder_.record(cronJob, "Normal", "SuccessfulDelete", "Deleted job " + name);
  return {};
}

Status CronJobController::startJob(const json& cronJob, json& status, TimePoint scheduled,
                                   const api::TimeZone& zone) {
  const json& spec = at(cronJob, "spec");
  const std::string ns = str(at(cronJob, "metadata"), "namespace");
  json job = jobFromTemplate(cronJob, scheduled, zone);
  const std::string jobName = job["metadata"]["name"];
  json active = at(status, "active").is_array() ? status["active"] : json::array();
  const bool started = std::any_of(active.begin(), active.end(),
                                   [&](const json& ref) { return str(ref, "name") == jobName; });
  if (started || server::parseTime(str(status, "lastScheduleTime")) == scheduled) return {};
  const std::string policy = str(spec, "concurrencyPolicy");
  if (policy == "Forbid" && !active.empty()) {
    recorder_.record(cronJob, "Normal", "JobAlreadyActive",
                     "Not starting job because prior execution is running and concurrency "
                     "policy is Forbid");
    return {};
  }
  if (policy == "Replace") {
    for (const auto& ref : active) {
      if (Status st = deleteJob(cronJob, ns, str(ref, "name")); !st.isOk()) return st;
    }
    active = json::array();
  }
  auto created = objects_.create(*jobs_, ns, job, {});
  if (!created.ok() && created.status().code() == 409) {
    // Ours already (a sync that did not get to write status): adopt it into the status.
    auto existing = objects_.get(*jobs_, ns, jobName);
    if (!existing.ok() ||
        controllerUid(existing.value()->parse()) != str(at(cronJob, "metadata"), "uid")) {
      recorder_.record(cronJob, "Warning", "FailedCreate",
                       "Error creating job: " + created.status().message());
      return {};
    }
    created = server::WriteResult{existing.value()->parse(), {}, false};
  } else if (!created.ok()) {
    recorder_.record(cronJob, "Warning", "FailedCreate",
                     "Error creating job: " + created.status().message());
    return created.status();
  } else {
    recorder_.record(cronJob, "Normal", "SuccessfulCreate", "Created job " + jobName);
  }
  if (finishedAs(created->object).empty()) active.push_back(jobReference(created->object));
  status["active"] = std::move(active);
  status["lastScheduleTime"] = server::formatTime(scheduled);
  return {};
}

bool CronJobController::cleanupHistory(const json& cronJob, const std::vector<json>& jobs) {
  const json& spec = at(cronJob, "spec");
  bool deleted = false;
  for (const char* kind : {"Complete", "Failed"}) {
    const auto limit = integer(spec, kind == std::string("Complete") ? "successfulJobsHistoryLimit"
                                                                     : "failedJobsHistoryLimit");
    if (!limit) continue;
    std::vector<const json*> finished;
    for (const auto& job : jobs) {
      if (finishedAs(job) == kind && !at(job, "metadata").contains("deletionTimestamp")) {
        finished.push_back(&job);
      }
    }
    const auto started = [](const json* j) {
      const std::string t = str(at(*j, "status"), "startTime");
      return t.empty() ? str(at(*j, "metadata"), "creationTimestamp") : t;
    };
    std::sort(finished.begin(), finished.end(),
              [&](const json* a, const json* b) { return started(a) < started(b); });
    for (size_t i = 0; i + size_t(std::max<int64_t>(*limit, 0)) < finished.size(); ++i) {
      const json& meta = at(*finished[i], "metadata");
      deleted = deleteJob(cronJob, str(meta, "namespace"), str(meta, "name")).isOk() || deleted;
    }
  }
  return deleted;
}

Status CronJobController::sync(const std::string& key) {
  const auto [ns, name] = splitObjectKey(key);
  auto got = objects_.get(*cronJobs_, ns, name);
  if (!got.ok()) return got.status().code() == 404 ? Status::ok() : got.status();
  const json cronJob = (*got)->parse();
  const json& meta = at(cronJob, "metadata");
  if (meta.contains("deletionTimestamp")) return {};
  auto listed = objects_.list(*jobs_, ns, {});
  if (!listed.ok()) return listed.status();
  std::vector<json> jobs;
  for (const auto& item : listed->items) {
    json job = item->parse();
    if (controllerUid(job) == str(meta, "uid")) jobs.push_back(std::move(job));
  }
  json status = at(cronJob, "status").is_object() ? cronJob["status"] : json::object();
  const json original = status;
  reconcileActive(cronJob, status, jobs);
  Status result = scheduleNext(key, cronJob, status);
  cleanupHistory(cronJob, jobs);
  if (status != original) {
    json body = cronJob;
    body["status"] = status;
    server::WriteOptions options;
    options.subresource = "status";
    auto written = objects_.update(*cronJobs_, ns, name, std::move(body), options);
    if (!written.ok()) return written.status();
  }
  return result;
}

Status CronJobController::scheduleNext(const std::string& key, const json& cronJob, json& status) {
  const json& spec = at(cronJob, "spec");
  if (at(spec, "suspend") == true) return {};
  const std::string tzName = str(spec, "timeZone");
  auto zone =
      tzName.empty() ? Result<api::TimeZone>(api::TimeZone::local()) : api::TimeZone::load(tzName);
  if (!zone.ok()) {
    recorder_.record(cronJob, "Warning", "UnknownTimeZone",
                     "invalid timeZone: \"" + tzName + "\": " + zone.status().message());
    return {};
  }
  auto schedule = api::CronSchedule::parse(str(spec, "schedule"));
  if (!schedule.ok()) {
    recorder_.record(
        cronJob, "Warning", "UnparseableSchedule",
        "unparseable schedule: \"" + str(spec, "schedule") + "\" : " + schedule.status().message());
    return {};
  }
  const Due due = dueTime(cronJob, status, *schedule, *zone);
  if (due.tooManyMissed) {
    recorder_.record(cronJob, "Warning", "TooManyMissedTimes",
                     "too many missed start times. Set or decrease .spec.startingDeadlineSeconds "
                     "or check clock skew");
  }
  Status result;
  const TimePoint current = now();
  const auto deadline = integer(spec, "startingDeadlineSeconds");
  if (due.time && deadline && *due.time + std::chrono::seconds(*deadline) < current) {
    recorder_.record(cronJob, "Warning", "MissSchedule",
                     "Missed scheduled time to start a job: " + formatRfc1123(*due.time));
  } else if (due.time) {
    const api::TimeZone annotationZone = tzName.empty() ? api::TimeZone::utc() : *zone;
    result = startJob(cronJob, status, *due.time, annotationZone);
  }
  if (auto next = schedule->next(current, *zone); next && queue_) {
    queue_->addAfter(key, std::chrono::duration_cast<Duration>(*next - current + kWakeSlack));
  }
  return result;
}

}  // namespace kd::controllers

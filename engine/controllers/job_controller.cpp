#include "engine/controllers/job_controller.h"

#include <algorithm>
#include <set>

#include "engine/api/selectors.h"
#include "engine/controllers/controller_manager.h"

namespace kd::controllers {
namespace {

constexpr const char* kTrackingFinalizer = "batch.kubernetes.io/job-tracking";
constexpr const char* kIndexKey = "batch.kubernetes.io/job-completion-index";
constexpr const char* kBackoffMessage = "Job has reached the specified backoff limit";
constexpr const char* kDeadlineMessage = "Job was active longer than specified deadline";
constexpr const char* kCompletionsMessage = "Reached expected number of succeeded pods";

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

bool deleting(const json& obj) {
  return at(obj, "metadata").contains("deletionTimestamp");
}

std::string phaseOf(const json& pod) {
  return str(at(pod, "status"), "phase");
}

bool terminal(const json& pod) {
  const std::string phase = phaseOf(pod);
  return phase == "Succeeded" || phase == "Failed";
}

bool hasFinalizer(const json& obj) {
  const json& fins = at(at(obj, "metadata"), "finalizers");
  return fins.is_array() && std::find(fins.begin(), fins.end(), kTrackingFinalizer) != fins.end();
}

const json* condition(const json& job, std::string_view type) {
  const json& conds = at(at(job, "status"), "conditions");
  if (!conds.is_array()) return nullptr;
  for (const auto& c : conds) {
    if (str(c, "type") == type && str(c, "status") == "True") return &c;
  }
  return nullptr;
}

// Sets a condition, keeping its transition time when its status does not change.
void setCondition(json& status, const std::string& type, bool on, const std::string& reason,
                  const std::string& message, const std::string& now) {
  json& conds = status["conditions"];
  if (!conds.is_array()) conds = json::array();
  json wanted = {{"type", type},         {"status", on ? "True" : "False"},
                 {"reason", reason},     {"message", message},
                 {"lastProbeTime", now}, {"lastTransitionTime", now}};
  for (auto& c : conds) {
    if (str(c, "type") != type) continue;
    if (str(c, "status") == wanted["status"]) return;
    c = std::move(wanted);
    return;
  }
  conds.push_back(std::move(wanted));
}

std::set<int> parseIndexes(const std::string& text) {
  std::set<int> out;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find(',', begin);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(begin, end - begin);
    const size_t dash = part.find('-');
    try {
      const int lo = std::stoi(part.substr(0, dash));
      const int hi = dash == std::string::npos ? lo : std::stoi(part.substr(dash + 1));
      for (int i = lo; i <= hi; ++i) out.insert(i);
    } catch (const std::exception&) {
      // A malformed entry is dropped; the pods it stood for are counted again.
    }
    begin = end + 1;
  }
  return out;
}

// "1,3-5": consecutive indexes collapse into ranges, as Kubernetes writes completedIndexes.
std::string formatIndexes(const std::set<int>& indexes) {
  std::string out;
  for (auto it = indexes.begin(); it != indexes.end();) {
    int lo = *it, hi = lo;
    while (++it != indexes.end() && *it == hi + 1) hi = *it;
    out += (out.empty() ? "" : ",") + std::to_string(lo);
    if (hi > lo) out += "-" + std::to_string(hi);
  }
  return out;
}

int completionIndex(const json& pod) {
  const std::string v = str(at(at(pod, "metadata"), "annotations"), kIndexKey);
  if (v.empty() || !std::all_of(v.begin(), v.end(), ::isdigit) || v.size() > 9) return -1;
  return std::stoi(v);
}

std::string controllerUid(const json& obj) {
  const json& refs = at(at(obj, "metadata"), "ownerReferences");
  if (!refs.is_array()) return "";
  for (const auto& r : refs) {
    if (at(r, "controller") == true) return str(r, "uid");
  }
  return "";
}

std::set<std::string> uidSet(const json& list) {
  std::set<std::string> out;
  if (list.is_array()) {
    for (const auto& v : list) {
      if (v.is_string()) out.insert(v.get<std::string>());
    }
  }
  return out;
}

json uidList(const std::set<std::string>& uids) {
  json out = json::array();
  for (const auto& u : uids) out.push_back(u);
  return out;
}

bool indexed(const json& job) {
  return str(at(job, "spec"), "completionMode") == "Indexed";
}

// Sets `key` to `n`, omitting zero like Kubernetes' omitempty counters.
void setCount(json& status, const char* key, int64_t n) {
  if (n > 0)
    status[key] = n;
  else
    status.erase(key);
}

void addIndexEnv(json& containers) {
  if (!containers.is_array()) return;
  for (auto& c : containers) {
    json& env = c["env"];
    if (!env.is_array()) env = json::array();
    const bool present = std::any_of(env.begin(), env.end(), [](const json& e) {
      return str(e, "name") == "JOB_COMPLETION_INDEX";
    });
    if (present) continue;
    env.push_back(
        {{"name", "JOB_COMPLETION_INDEX"},
         {"valueFrom",
          {{"fieldRef",
            {{"fieldPath", std::string("metadata.annotations['") + kIndexKey + "']"}}}}}});
  }
}

json podFromTemplate(const json& job, int index) {
  const json& meta = at(job, "metadata");
  const json& tmpl = at(at(job, "spec"), "template");
  const std::string jobName = str(meta, "name");
  json podMeta = json::object();
  for (const char* k : {"labels", "annotations"}) {
    if (at(at(tmpl, "metadata"), k).is_object()) podMeta[k] = at(tmpl, "metadata")[k];
  }
  podMeta["generateName"] = jobName + "-" + (index >= 0 ? std::to_string(index) + "-" : "");
  podMeta["finalizers"] = {kTrackingFinalizer};
  podMeta["ownerReferences"] = {{{"apiVersion", "batch/v1"},
                                 {"kind", "Job"},
                                 {"name", jobName},
                                 {"uid", str(meta, "uid")},
                                 {"controller", true},
                                 {"blockOwnerDeletion", true}}};
  json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", podMeta}};
  pod["spec"] = at(tmpl, "spec").is_object() ? at(tmpl, "spec") : json::object();
  if (index >= 0) {
    const std::string ix = std::to_string(index);
    pod["metadata"]["annotations"][kIndexKey] = ix;
    pod["metadata"]["labels"][kIndexKey] = ix;
    if (str(pod["spec"], "hostname").empty()) pod["spec"]["hostname"] = jobName + "-" + ix;
    addIndexEnv(pod["spec"]["containers"]);
    if (pod["spec"].contains("initContainers")) addIndexEnv(pod["spec"]["initContainers"]);
  }
  return pod;
}

bool podReady(const json& pod) {
  const json& conds = at(at(pod, "status"), "conditions");
  if (!conds.is_array()) return false;
  return std::any_of(conds.begin(), conds.end(), [](const json& c) {
    return str(c, "type") == "Ready" && str(c, "status") == "True";
  });
}

int64_t restartsOf(const json& pod) {
  int64_t n = 0;
  for (const char* list : {"containerStatuses", "initContainerStatuses"}) {
    const json& statuses = at(at(pod, "status"), list);
    if (!statuses.is_array()) continue;
    for (const auto& s : statuses) n += integer(s, "restartCount").value_or(0);
  }
  return n;
}

// Which active pods go first when there are too many: unscheduled, then not ready, then
// the newest.
bool deleteBefore(const json* a, const json* b) {
  const bool aBound = !str(at(*a, "spec"), "nodeName").empty();
  const bool bBound = !str(at(*b, "spec"), "nodeName").empty();
  if (aBound != bBound) return !aBound;
  if (podReady(*a) != podReady(*b)) return !podReady(*a);
  return str(at(*a, "metadata"), "creationTimestamp") >
         str(at(*b, "metadata"), "creationTimestamp");
}

}  // namespace

struct JobController::Pods {
  std::vector<json> all;  // owned by the job (controller reference with its uid)
  std::vector<const json*> active, terminating;
  int ready = 0;
  int64_t restarts = 0;
  std::set<int> activeIndexes;
};

struct JobController::Plan {
  std::optional<std::chrono::system_clock::duration> requeue;
  void after(std::chrono::system_clock::duration d) {
    if (!requeue || d < *requeue) requeue = d;
  }
};

JobController::JobController(server::ObjectService& objects, JobControllerOptions options)
    : objects_(objects),
      options_(std::move(options)),
      jobs_(objects.kinds().byResource("batch", "v1", "jobs")),
      pods_(objects.kinds().byResource("", "v1", "pods")),
      recorder_(objects, "job-controller") {}

JobController::TimePoint JobController::now() const {
  return options_.clock ? options_.clock() : objects_.now();
}

void JobController::setup(ControllerManager& manager, WorkQueue& queue) {
  queue_ = &queue;
  auto enqueue = [&queue](const CachedObject& job) { queue.add(objectKey(*job)); };
  manager.informer(*jobs_).addHandlers(
      {enqueue, [enqueue](const CachedObject&, const CachedObject& job) { enqueue(job); },
       enqueue});
  auto enqueueOwner = [&queue](const CachedObject& pod) {
    const json& refs = at(at(*pod, "metadata"), "ownerReferences");
    if (!refs.is_array()) return;
    for (const auto& r : refs) {
      if (at(r, "controller") == true && str(r, "kind") == "Job") {
        queue.add(objectKey(str(at(*pod, "metadata"), "namespace"), str(r, "name")));
      }
    }
  };
  manager.informer(*pods_).addHandlers(
      {enqueueOwner,
       [enqueueOwner](const CachedObject&, const CachedObject& pod) { enqueueOwner(pod); },
       enqueueOwner});
}

void JobController::requeueAfter(const std::string& key, std::chrono::system_clock::duration d) {
  if (!queue_) return;
  queue_->addAfter(key, std::max<Duration>(std::chrono::duration_cast<Duration>(d),
                                           std::chrono::milliseconds(10)));
}

Result<JobController::Pods> JobController::listPods(const json& job) const {
  const json& meta = at(job, "metadata");
  auto selector = api::LabelSelector::fromJson(at(at(job, "spec"), "selector"));
  if (!selector.ok()) return selector.status();
  server::ListOptions options;
  options.labelSelector = selector->toString();
  auto listed = objects_.list(*pods_, str(meta, "namespace"), options);
  if (!listed.ok()) return listed.status();
  Pods pods;
  const std::string uid = str(meta, "uid");
  for (const auto& item : listed->items) {
    json pod = item->parse();
    if (controllerUid(pod) == uid) pods.all.push_back(std::move(pod));
  }
  for (const auto& pod : pods.all) {
    if (terminal(pod)) continue;
    if (deleting(pod)) {
      pods.terminating.push_back(&pod);
      continue;
    }
    pods.active.push_back(&pod);
    pods.ready += podReady(pod) ? 1 : 0;
    pods.restarts += restartsOf(pod);
    if (int ix = completionIndex(pod); ix >= 0) pods.activeIndexes.insert(ix);
  }
  return pods;
}

Result<json> JobController::writeStatus(const json& job, const json& status) {
  json body = job;
  body["status"] = status;
  server::WriteOptions options;
  options.subresource = "status";
  const json& meta = at(job, "metadata");
  auto written =
      objects_.update(*jobs_, str(meta, "namespace"), str(meta, "name"), std::move(body), options);
  if (!written.ok()) return written.status();
  return std::move(written->object);
}

Status JobController::removeFinalizer(const json& pod) {
  const json& meta = at(pod, "metadata");
  const std::string ns = str(meta, "namespace"), name = str(meta, "name");
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto got = objects_.get(*pods_, ns, name);
    if (!got.ok()) return got.status().code() == 404 ? Status::ok() : got.status();
    json fresh = (*got)->parse();
    if (!hasFinalizer(fresh)) return {};
    json& fins = fresh["metadata"]["finalizers"];
    fins.erase(std::remove(fins.begin(), fins.end(), kTrackingFinalizer), fins.end());
    auto updated = objects_.update(*pods_, ns, name, std::move(fresh), {});
    if (updated.ok() || updated.status().code() == 404) return {};
    if (updated.status().code() != 409) return updated.status();
  }
  return Status::conflict("cannot remove the job-tracking finalizer of pod " + name);
}

Status JobController::trackFinishedPods(json& job, const Pods& pods, bool finishing) {
  json status = at(job, "status").is_object() ? job["status"] : json::object();
  const json& uncounted = at(status, "uncountedTerminatedPods");
  std::set<std::string> succeeded = uidSet(at(uncounted, "succeeded"));
  std::set<std::string> failed = uidSet(at(uncounted, "failed"));
  std::set<int> completed = parseIndexes(str(status, "completedIndexes"));
  const int64_t completions = integer(at(job, "spec"), "completions").value_or(0);
  const bool failing = finishing && condition(job, "FailureTarget");
  const bool replaceOnlyFailed = str(at(job, "spec"), "podReplacementPolicy") == "Failed";
  std::vector<const json*> release;
  int newFailures = 0, newSuccesses = 0;
  for (const auto& pod : pods.all) {
    if (!hasFinalizer(pod)) continue;
    const std::string uid = str(at(pod, "metadata"), "uid");
    const std::string phase = phaseOf(pod);
    if (succeeded.count(uid) || failed.count(uid)) {
      release.push_back(&pod);
      continue;
    }
    if (phase == "Succeeded") {
      const int ix = completionIndex(pod);
      if (!indexed(job)) {
        succeeded.insert(uid);
      } else if (ix >= 0 && ix < completions) {
        completed.insert(ix);
      }
      ++newSuccesses;
    } else if (phase == "Failed" || (deleting(pod) && !replaceOnlyFailed) || failing) {
      failed.insert(uid);
      ++newFailures;
    } else if (!finishing) {
      continue;  // still running: keeps its finalizer
    }
    release.push_back(&pod);
  }
  auto writeUncounted = [&]() -> Status {
    status["uncountedTerminatedPods"] = json::object();
    if (!succeeded.empty()) status["uncountedTerminatedPods"]["succeeded"] = uidList(succeeded);
    if (!failed.empty()) status["uncountedTerminatedPods"]["failed"] = uidList(failed);
    if (indexed(job)) {
      status["completedIndexes"] = formatIndexes(completed);
      setCount(status, "succeeded", int64_t(completed.size()));
    }
    if (status == at(job, "status")) return {};
    auto written = writeStatus(job, status);
    if (!written.ok()) return written.status();
    job = std::move(*written);
    return {};
  };
  // Recorded before any finalizer goes, so a crash in between cannot lose or double a pod.
  if (Status st = writeUncounted(); !st.isOk()) return st;
  if (newFailures > 0 || newSuccesses > 0) {
    std::lock_guard lock(backoffMu_);
    Backoff& b = backoff_[str(at(job, "metadata"), "uid")];
    b.failures = newFailures > 0 ? b.failures + newFailures : 0;
    if (newFailures > 0) b.last = now();
  }
  Status result;
  std::set<std::string> held;
  for (const json* pod : release) {
    if (Status st = removeFinalizer(*pod); !st.isOk()) {
      held.insert(str(at(*pod, "metadata"), "uid"));
      result = st;
    }
  }
  for (const auto& pod : pods.all) {
    const bool released = std::find(release.begin(), release.end(), &pod) != release.end();
    if (hasFinalizer(pod) && !released) held.insert(str(at(pod, "metadata"), "uid"));
  }
  auto move = [&](std::set<std::string>& uids, const char* counter) {
    int64_t n = integer(status, counter).value_or(0);
    for (auto it = uids.begin(); it != uids.end();) {
      if (held.count(*it)) {
        ++it;
        continue;
      }
      ++n;
      it = uids.erase(it);
    }
    setCount(status, counter, n);
  };
  if (!indexed(job)) move(succeeded, "succeeded");
  move(failed, "failed");
  status["uncountedTerminatedPods"] = json::object();
  if (!succeeded.empty()) status["uncountedTerminatedPods"]["succeeded"] = uidList(succeeded);
  if (!failed.empty()) status["uncountedTerminatedPods"]["failed"] = uidList(failed);
  job["status"] = std::move(status);
  return result;
}

void JobController::decideFinish(json& job, const Pods& pods) {
  if (condition(job, "FailureTarget") || condition(job, "SuccessCriteriaMet")) return;
  const json& spec = at(job, "spec");
  json& status = job["status"];
  const json& uncounted = at(status, "uncountedTerminatedPods");
  const auto count = [&](const char* k) {
    return integer(status, k).value_or(0) + int64_t(uidSet(at(uncounted, k)).size());
  };
  const int64_t limit = integer(spec, "backoffLimit").value_or(6);
  bool exceeded = count("failed") > limit;
  if (str(at(at(spec, "template"), "spec"), "restartPolicy") == "OnFailure") {
    exceeded = exceeded || (limit == 0 ? pods.restarts > 0 : pods.restarts >= limit);
  }
  const std::string nowText = server::formatTime(now());
  if (exceeded) {
    setCondition(status, "FailureTarget", true, "BackoffLimitExceeded", kBackoffMessage, nowText);
    return;
  }
  const auto deadline = integer(spec, "activeDeadlineSeconds");
  const auto started = server::parseTime(str(status, "startTime"));
  if (deadline && started && now() >= *started + std::chrono::seconds(*deadline)) {
    setCondition(status, "FailureTarget", true, "DeadlineExceeded", kDeadlineMessage, nowText);
    return;
  }
  const auto completions = integer(spec, "completions");
  bool done = false;
  if (indexed(job)) {
    done = completions &&
           int64_t(parseIndexes(str(status, "completedIndexes")).size()) >= *completions;
  } else if (completions) {
    done = count("succeeded") >= *completions;
  } else {
    done = count("succeeded") > 0 && pods.active.empty();
  }
  if (done) {
    setCondition(status, "SuccessCriteriaMet", true, "CompletionsReached", kCompletionsMessage,
                 nowText);
  }
}

Status JobController::terminateActive(const json& job, const Pods& pods, bool keepFinalizers) {
  Status result;
  for (const json* pod : pods.active) {
    if (!keepFinalizers) {
      if (Status st = removeFinalizer(*pod); !st.isOk()) result = st;
    }
    const json& meta = at(*pod, "metadata");
    auto removed = objects_.remove(*pods_, str(meta, "namespace"), str(meta, "name"), {});
    if (!removed.ok() && removed.status().code() != 404) {
      result = removed.status();
      continue;
    }
    recorder_.record(job, "Normal", "SuccessfulDelete", "Deleted pod: " + str(meta, "name"));
  }
  return result;
}

Status JobController::createPods(const json& job, const std::vector<int>& indexes, int count) {
  const std::string ns = str(at(job, "metadata"), "namespace");
  for (int i = 0; i < count; ++i) {
    const int index = indexed(job) ? (size_t(i) < indexes.size() ? indexes[size_t(i)] : -2) : -1;
    if (index == -2) break;
    auto created = objects_.create(*pods_, ns, podFromTemplate(job, index), {});
    if (!created.ok()) {
      recorder_.record(job, "Warning", "FailedCreate",
                       "Error creating: " + created.status().message());
      return created.status();
    }
    recorder_.record(job, "Normal", "SuccessfulCreate",
                     "Created pod: " + str(at(created->object, "metadata"), "name"));
  }
  return {};
}

Status JobController::managePods(const json& job, const Pods& pods, Plan& plan) {
  const json& spec = at(job, "spec");
  const json& status = at(job, "status");
  const int64_t parallelism = integer(spec, "parallelism").value_or(1);
  const auto completions = integer(spec, "completions");
  int64_t want = parallelism;
  std::vector<int> missing;
  if (indexed(job)) {
    const std::set<int> completed = parseIndexes(str(status, "completedIndexes"));
    for (int i = 0; completions && i < *completions; ++i) {
      if (!completed.count(i) && !pods.activeIndexes.count(i)) missing.push_back(i);
    }
    want = std::min<int64_t>(parallelism, completions.value_or(0) - int64_t(completed.size()));
  } else if (completions) {
    want = std::min<int64_t>(parallelism, *completions - integer(status, "succeeded").value_or(0));
  } else if (integer(status, "succeeded").value_or(0) > 0) {
    want = int64_t(pods.active.size());  // work queue: a success means no new pods
  }
  if (at(spec, "suspend") == true) want = 0;
  want = std::max<int64_t>(want, 0);
  const int64_t active = int64_t(pods.active.size());
  if (active > want) {
    Pods extra;
    extra.active = pods.active;
    std::sort(extra.active.begin(), extra.active.end(), deleteBefore);
    extra.active.resize(size_t(active - want));
    return terminateActive(job, extra, false);
  }
  if (active == want) return {};
  Backoff b;
  {
    std::lock_guard lock(backoffMu_);
    b = backoff_[str(at(job, "metadata"), "uid")];
  }
  if (b.failures > 0) {
    auto delay = options_.backoffBase * (int64_t{1} << std::min(b.failures - 1, 20));
    delay = std::min(delay, options_.backoffMax);
    if (now() < b.last + delay) {
      plan.after(b.last + delay - now());
      return {};
    }
  }
  return createPods(job, missing, int(want - active));
}

Status JobController::releaseOrphans(const std::string& ns, const std::string& name) {
  server::ListOptions options;
  options.labelSelector = "batch.kubernetes.io/job-name=" + name;
  auto listed = objects_.list(*pods_, ns, options);
  if (!listed.ok()) return listed.status().code() == 400 ? Status::ok() : listed.status();
  Status result;
  for (const auto& item : listed->items) {
    const json pod = item->parse();
    if (!hasFinalizer(pod)) continue;
    if (Status st = removeFinalizer(pod); !st.isOk()) result = st;
  }
  return result;
}

Status JobController::finishedJob(const std::string& key, const json& job) {
  {
    std::lock_guard lock(backoffMu_);
    backoff_.erase(str(at(job, "metadata"), "uid"));
  }
  auto pods = listPods(job);
  if (!pods.ok()) return pods.status();
  for (const auto& pod : pods->all) {
    if (!hasFinalizer(pod)) continue;
    if (Status st = removeFinalizer(pod); !st.isOk()) return st;
  }
  const auto ttl = integer(at(job, "spec"), "ttlSecondsAfterFinished");
  if (!ttl || deleting(job)) return {};
  std::optional<TimePoint> finished = server::parseTime(str(at(job, "status"), "completionTime"));
  if (const json* failed = condition(job, "Failed"); failed && !finished) {
    finished = server::parseTime(str(*failed, "lastTransitionTime"));
  }
  if (!finished) return {};
  const TimePoint expiry = *finished + std::chrono::seconds(*ttl);
  if (now() < expiry) {
    requeueAfter(key, expiry - now());
    return {};
  }
  const json& meta = at(job, "metadata");
  server::DeleteOptions options;
  options.propagationPolicy = "Foreground";
  options.preconditionUid = str(meta, "uid");
  auto removed = objects_.remove(*jobs_, str(meta, "namespace"), str(meta, "name"), options);
  if (!removed.ok() && removed.status().code() != 404 && removed.status().code() != 409) {
    return removed.status();
  }
  return {};
}

void JobController::updateRunState(json& job) {
  json& status = job["status"];
  const std::string nowText = server::formatTime(now());
  const bool suspended = condition(job, "Suspended") != nullptr;
  if (at(at(job, "spec"), "suspend") == true) {
    status.erase("startTime");
    if (suspended) return;
    setCondition(status, "Suspended", true, "JobSuspended", "Job suspended", nowText);
    recorder_.record(job, "Normal", "Suspended", "Job suspended");
    return;
  }
  if (suspended) {
    setCondition(status, "Suspended", false, "JobResumed", "Job resumed", nowText);
    recorder_.record(job, "Normal", "Resumed", "Job resumed");
  }
  if (str(status, "startTime").empty()) status["startTime"] = nowText;
}

Status JobController::finishSync(const std::string& key, json& job, const json& original,
                                 const Pods& pods, Plan& plan) {
  json& status = job["status"];
  setCount(status, "active", int64_t(pods.active.size()));
  status["ready"] = pods.ready;
  status["terminating"] = pods.terminating.size();
  if (!status.contains("uncountedTerminatedPods"))
    status["uncountedTerminatedPods"] = json::object();
  const bool settled =
      pods.active.empty() && pods.terminating.empty() && status["uncountedTerminatedPods"].empty();
  const std::string nowText = server::formatTime(now());
  const json& spec = at(job, "spec");
  const json* failing = condition(job, "FailureTarget");
  const json* succeeding = condition(job, "SuccessCriteriaMet");
  if (settled && (failing || succeeding)) {
    if (failing) {
      const std::string reason = str(*failing, "reason"), message = str(*failing, "message");
      setCondition(status, "Failed", true, reason, message, nowText);
      recorder_.record(job, "Warning", reason, message);
    } else {
      setCondition(status, "Complete", true, "CompletionsReached", kCompletionsMessage, nowText);
      status["completionTime"] = nowText;
      recorder_.record(job, "Normal", "Completed", "Job completed");
    }
    if (auto ttl = integer(spec, "ttlSecondsAfterFinished")) plan.after(std::chrono::seconds(*ttl));
  } else if (!failing && !succeeding) {
    const auto deadline = integer(spec, "activeDeadlineSeconds");
    const auto started = server::parseTime(str(status, "startTime"));
    if (deadline && started) plan.after(*started + std::chrono::seconds(*deadline) - now());
  }
  if (status != original) {
    auto written = writeStatus(job, status);
    if (!written.ok()) return written.status();
  }
  if (plan.requeue) requeueAfter(key, *plan.requeue);
  return {};
}

Status JobController::sync(const std::string& key) {
  const auto [ns, name] = splitObjectKey(key);
  auto got = objects_.get(*jobs_, ns, name);
  if (!got.ok()) return got.status().code() == 404 ? releaseOrphans(ns, name) : got.status();
  json job = (*got)->parse();
  if (condition(job, "Complete") || condition(job, "Failed")) return finishedJob(key, job);
  auto pods = listPods(job);
  if (!pods.ok()) return pods.status();
  if (deleting(job)) {
    for (const auto& pod : pods->all) {
      if (hasFinalizer(pod)) removeFinalizer(pod);
    }
    return {};
  }
  if (!at(job, "status").is_object()) job["status"] = json::object();
  const json original = job["status"];
  const bool wasFinishing = condition(job, "FailureTarget") || condition(job, "SuccessCriteriaMet");
  if (Status st = trackFinishedPods(job, *pods, wasFinishing); !st.isOk()) return st;
  decideFinish(job, *pods);
  const bool finishing = condition(job, "FailureTarget") || condition(job, "SuccessCriteriaMet");
  Plan plan;
  if (finishing) {
    if (!wasFinishing) {
      // The target condition is stored before pods are deleted, as Kubernetes does.
      auto written = writeStatus(job, job["status"]);
      if (!written.ok()) return written.status();
      job = std::move(*written);
    }
    if (Status st = terminateActive(job, *pods, true); !st.isOk()) return st;
    if (pods = listPods(job); !pods.ok()) return pods.status();
    if (Status st = trackFinishedPods(job, *pods, true); !st.isOk()) return st;
  } else {
    updateRunState(job);
    if (Status st = managePods(job, *pods, plan); !st.isOk()) return st;
  }
  if (pods = listPods(job); !pods.ok()) return pods.status();
  return finishSync(key, job, original, *pods, plan);
}

}  // namespace kd::controllers

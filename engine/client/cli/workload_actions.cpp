#include "engine/client/cli/workload_actions.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <random>

#include "engine/api/selectors.h"
#include "engine/client/cli/invocation.h"

namespace kd::cli {
namespace {

using ojson = nlohmann::ordered_json;

std::string label(const api::KindInfo& kind, const json& object) {
  return kindPrefix(kind) + "/" + object.value("/metadata/name"_json_pointer, "");
}

std::string nameOf(const json& object) {
  return object.value("/metadata/name"_json_pointer, "");
}

std::string namespaceOf(const json& object) {
  return object.value("/metadata/namespace"_json_pointer, "");
}

std::string utcNow() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool isPaused(const json& object) {
  return object.value("/spec/paused"_json_pointer, false);
}

ActionOutcome refused(std::string message) {
  return {{}, Status::badRequest(std::move(message)), true};
}

ActionOutcome done(std::string message, const Result<json>& written) {
  if (!written.ok()) return {{}, written.status(), false};
  return {std::move(message), Status::ok(), false};
}

json withoutHash(json templ) {
  if (templ.contains("metadata") && templ["metadata"].contains("labels")) {
    templ["metadata"]["labels"].erase("pod-template-hash");
    if (templ["metadata"]["labels"].empty()) templ["metadata"].erase("labels");
  }
  return templ;
}

// kubectl restores these deployment annotations from the deployment, never the ReplicaSet.
bool keptAnnotation(const std::string& key) {
  static const std::vector<std::string> kKeep = {"kubectl.kubernetes.io/last-applied-configuration",
                                                 "deployment.kubernetes.io/revision",
                                                 "deployment.kubernetes.io/revision-history",
                                                 "deployment.kubernetes.io/desired-replicas",
                                                 "deployment.kubernetes.io/max-replicas",
                                                 "deprecated.deployment.rollback.to"};
  return std::find(kKeep.begin(), kKeep.end(), key) != kKeep.end();
}

json rollbackPatch(const api::KindInfo& kind, const json& object, const json& templ,
                   const json& sourceAnnotations) {
  json patch = json::array({{{"op", "replace"}, {"path", "/spec/template"}, {"value", templ}}});
  if (kind.resource != "deployments") return patch;
  json annotations = json::object();
  const json current = object.value("/metadata/annotations"_json_pointer, json::object());
  for (const auto& [k, v] : current.items()) {
    if (keptAnnotation(k)) annotations[k] = v;
  }
  for (const auto& [k, v] : sourceAnnotations.items()) {
    if (!keptAnnotation(k)) annotations[k] = v;
  }
  patch.push_back({{"op", "replace"}, {"path", "/metadata/annotations"}, {"value", annotations}});
  return patch;
}

std::string randomSuffix() {
  static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  std::string s;
  for (int i = 0; i < 5; ++i) s += kAlphabet[pick(rng)];
  return s;
}

const api::KindInfo& builtinKind(const char* resource) {
  return *api::KindsRegistry::builtin().resolve(resource);
}

}  // namespace

Result<RevisionHistory> readRevisionHistory(client::ApiClient& c, const api::KindInfo& kind,
                                            const json& object) {
  const bool deployment = kind.resource == "deployments";
  client::ListOptions o;
  auto selector = api::LabelSelector::fromJson(object.value("/spec/selector"_json_pointer, json()));
  if (selector.ok()) o.labelSelector = selector->toString();
  auto list = c.list(builtinKind(deployment ? "replicasets" : "controllerrevisions"),
                     namespaceOf(object), o);
  if (!list.ok()) return list.status();
  return revisionHistory(kind, object, list->value("items", json::array()));
}

ActionOutcome restartRollout(client::ApiClient& c, const api::KindInfo& kind, const json& object) {
  if (isPaused(object)) {
    return refused(qualifiedName(kind, nameOf(object)) +
                   " can't restart paused deployment (run rollout resume first)");
  }
  const json patch = {
      {"spec",
       {{"template",
         {{"metadata", {{"annotations", {{"kubectl.kubernetes.io/restartedAt", utcNow()}}}}}}}}}};
  return done(label(kind, object) + " restarted\n",
              c.patch(kind, namespaceOf(object), nameOf(object), client::PatchType::StrategicMerge,
                      patch.dump()));
}

ActionOutcome undoRollout(client::ApiClient& c, const api::KindInfo& kind, const json& object,
                          int64_t toRevision) {
  auto h = readRevisionHistory(c, kind, object);
  if (!h.ok()) return {{}, h.status(), false};
  const bool deployment = kind.resource == "deployments";
  if (toRevision > 0 && !h->count(toRevision)) {
    return refused("unable to find specified revision " + std::to_string(toRevision) +
                   " in history");
  }
  if (toRevision <= 0) {
    if (h->size() < 2) {
      return refused(deployment
                         ? "no rollout history found for deployment \"" + nameOf(object) + "\""
                         : std::string("no last revision to roll back to"));
    }
    toRevision = std::prev(h->end(), 2)->first;
  }
  if (deployment && isPaused(object)) {
    return refused(
        "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' "
        "and try again");
  }
  const json templ = withoutHash(h->at(toRevision).podTemplate);
  if (templ == object.value("/spec/template"_json_pointer, json())) {
    return {label(kind, object) + " skipped rollback (current template already matches revision " +
                std::to_string(toRevision) + ")",
            Status::ok(), false};
  }
  return done(label(kind, object) + " rolled back\n",
              c.patch(kind, namespaceOf(object), nameOf(object), client::PatchType::Json,
                      rollbackPatch(kind, object, templ, h->at(toRevision).annotations).dump()));
}

ActionOutcome setRolloutPaused(client::ApiClient& c, const api::KindInfo& kind, const json& object,
                               bool pause) {
  const std::string name = nameOf(object);
  if (kind.resource != "deployments") {
    return refused(qualifiedName(kind, name) + (pause ? " pausing" : " resuming") +
                   " is not supported");
  }
  if (isPaused(object) == pause) {
    return refused(qualifiedName(kind, name) + (pause ? " is already paused" : " is not paused"));
  }
  const json patch = {{"spec", {{"paused", pause ? json(true) : json(nullptr)}}}};
  return done(label(kind, object) + (pause ? " paused\n" : " resumed\n"),
              c.patch(kind, namespaceOf(object), name, client::PatchType::Merge, patch.dump()));
}

ActionOutcome setCronJobSuspended(client::ApiClient& c, const json& cronJob, bool suspend) {
  const api::KindInfo& kind = builtinKind("cronjobs");
  const json patch = {{"spec", {{"suspend", suspend}}}};
  return done(
      label(kind, cronJob) + (suspend ? " suspended\n" : " resumed\n"),
      c.patch(kind, namespaceOf(cronJob), nameOf(cronJob), client::PatchType::Merge, patch.dump()));
}

ojson manualJobFromCronJob(const json& cronJob, ojson metadata) {
  const json templ = cronJob.value("/spec/jobTemplate"_json_pointer, json::object());
  ojson annotations = {{"cronjob.kubernetes.io/instantiate", "manual"}};
  const json templateAnnotations =
      templ.value("/metadata/annotations"_json_pointer, json::object());
  for (const auto& [k, v] : templateAnnotations.items()) annotations[k] = v;
  if (templ.contains("/metadata/labels"_json_pointer)) {
    metadata["labels"] = templ["metadata"]["labels"];
  }
  metadata["annotations"] = annotations;
  // Not a full controller reference: kubectl leaves blockOwnerDeletion out so a user without
  // rights on the CronJob's finalizers may still run it.
  metadata["ownerReferences"] = {{{"apiVersion", "batch/v1"},
                                  {"kind", "CronJob"},
                                  {"name", nameOf(cronJob)},
                                  {"uid", cronJob.value("/metadata/uid"_json_pointer, "")},
                                  {"controller", true}}};
  ojson job = {{"kind", "Job"}, {"apiVersion", "batch/v1"}, {"metadata", std::move(metadata)}};
  job["spec"] = ojson::parse(templ.value("spec", json::object()).dump());
  job["status"] = ojson::object();
  return job;
}

ActionOutcome triggerCronJob(client::ApiClient& c, const json& cronJob) {
  // A Job name is a DNS label of at most 63 characters; keep room for the suffix.
  const std::string name = nameOf(cronJob).substr(0, 63 - 12) + "-manual-" + randomSuffix();
  ojson meta = {{"name", name}, {"namespace", namespaceOf(cronJob)}};
  const ojson job = manualJobFromCronJob(cronJob, std::move(meta));
  const api::KindInfo& jobs = builtinKind("jobs");
  return done(kindPrefix(jobs) + "/" + name + " created\n",
              c.create(jobs, namespaceOf(cronJob), json::parse(job.dump())));
}

}  // namespace kd::cli

// `kdctl rollout status|history|undo|restart|pause|resume` against the server.

#include <ostream>

#include "engine/api/selectors.h"
#include "engine/client/cli/commands.h"
#include "engine/client/cli/rollout.h"

namespace kd::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct Target {
  api::KindInfo kind;
  std::string name;
  json object;
};

using SubCommand = int (*)(Invocation&, client::ApiClient&, Target&);

std::string label(const Target& t) {
  return kindPrefix(t.kind) + "/" + t.name;
}

std::string utcNow() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool isPaused(const Target& t) {
  return t.object.value("/spec/paused"_json_pointer, false);
}

// Prints the status after every change until done, --watch=false, or --timeout.
int status(Invocation& inv, client::ApiClient& c, Target& t) {
  auto timeout = parseDuration(inv.args.value("timeout", "0"));
  if (!timeout.ok()) return inv.failLocal(timeout.status());
  const auto deadline = Clock::now() + *timeout;
  RolloutStatus s = rolloutStatus(t.kind, t.object);
  if (!s.error.isOk()) return inv.usageError(s.error.message());
  inv.out << s.message << std::flush;
  if (s.done || !inv.args.boolean("watch", true)) return 0;
  client::ListOptions o;
  o.fieldSelector = "metadata.name=" + t.name;
  o.resourceVersion = t.object.value("/metadata/resourceVersion"_json_pointer, "");
  auto w = c.watch(t.kind, inv.namespaceName(), o);
  if (!w.ok()) return inv.fail(w.status());
  while (timeout->count() == 0 || Clock::now() < deadline) {
    auto ev = (*w)->next(std::chrono::milliseconds(200));
    if (!ev) {
      if ((*w)->ended()) return inv.fail((*w)->endStatus());
      continue;
    }
    if (ev->type != "ADDED" && ev->type != "MODIFIED") continue;
    s = rolloutStatus(t.kind, ev->object);
    if (!s.error.isOk()) return inv.usageError(s.error.message());
    inv.out << s.message << std::flush;
    if (s.done) return 0;
  }
  return inv.usageError("timed out waiting for the condition");
}

// The ReplicaSets or ControllerRevisions that may hold the target's history.
Result<RevisionHistory> historyOf(client::ApiClient& c, const Target& t) {
  const bool deployment = t.kind.resource == "deployments";
  const auto* kind =
      api::KindsRegistry::builtin().resolve(deployment ? "replicasets" : "controllerrevisions");
  client::ListOptions o;
  auto selector =
      api::LabelSelector::fromJson(t.object.value("/spec/selector"_json_pointer, json()));
  if (selector.ok()) o.labelSelector = selector->toString();
  auto list = c.list(*kind, t.object.value("/metadata/namespace"_json_pointer, ""), o);
  if (!list.ok()) return list.status();
  return revisionHistory(t.kind, t.object, list->value("items", json::array()));
}

int64_t revisionFlag(Invocation& inv, const char* flag) {
  try {
    return std::stoll(inv.args.value(flag, "0"));
  } catch (...) {
    return -1;
  }
}

int history(Invocation& inv, client::ApiClient& c, Target& t) {
  auto h = historyOf(c, t);
  if (!h.ok()) return inv.fail(h.status());
  const int64_t revision = revisionFlag(inv, "revision");
  auto text = historyText(*h, revision);
  if (!text.ok()) return inv.usageError(text.status().message());
  inv.out << label(t) << " " << (revision > 0 ? "with revision #" + std::to_string(revision) : "")
          << "\n"
          << *text << "\n";
  return 0;
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

json rollbackPatch(const Target& t, const json& templ, const json& sourceAnnotations) {
  json patch = json::array({{{"op", "replace"}, {"path", "/spec/template"}, {"value", templ}}});
  if (t.kind.resource != "deployments") return patch;
  json annotations = json::object();
  const json current = t.object.value("/metadata/annotations"_json_pointer, json::object());
  for (const auto& [k, v] : current.items()) {
    if (keptAnnotation(k)) annotations[k] = v;
  }
  for (const auto& [k, v] : sourceAnnotations.items()) {
    if (!keptAnnotation(k)) annotations[k] = v;
  }
  patch.push_back({{"op", "replace"}, {"path", "/metadata/annotations"}, {"value", annotations}});
  return patch;
}

int undo(Invocation& inv, client::ApiClient& c, Target& t) {
  auto h = historyOf(c, t);
  if (!h.ok()) return inv.fail(h.status());
  int64_t to = revisionFlag(inv, "to-revision");
  const bool deployment = t.kind.resource == "deployments";
  if (to > 0 && !h->count(to)) {
    return inv.usageError("unable to find specified revision " + std::to_string(to) +
                          " in history");
  }
  if (to <= 0) {
    if (h->size() < 2) {
      return inv.usageError(deployment
                                ? "no rollout history found for deployment \"" + t.name + "\""
                                : std::string("no last revision to roll back to"));
    }
    to = std::prev(h->end(), 2)->first;
  }
  if (deployment && isPaused(t)) {
    return inv.usageError(
        "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' "
        "and try again");
  }
  const json templ = withoutHash(h->at(to).podTemplate);
  if (templ == t.object.value("/spec/template"_json_pointer, json())) {
    inv.out << label(t) << " skipped rollback (current template already matches revision " << to
            << ")";
    return 0;
  }
  auto r = c.patch(t.kind, inv.namespaceName(), t.name, client::PatchType::Json,
                   rollbackPatch(t, templ, h->at(to).annotations).dump());
  if (!r.ok()) return inv.fail(r.status());
  inv.out << label(t) << " rolled back\n";
  return 0;
}

int restart(Invocation& inv, client::ApiClient& c, Target& t) {
  if (isPaused(t)) {
    return inv.usageError(qualifiedName(t.kind, t.name) +
                          " can't restart paused deployment (run rollout resume first)");
  }
  const json patch = {
      {"spec",
       {{"template",
         {{"metadata", {{"annotations", {{"kubectl.kubernetes.io/restartedAt", utcNow()}}}}}}}}}};
  auto r =
      c.patch(t.kind, inv.namespaceName(), t.name, client::PatchType::StrategicMerge, patch.dump());
  if (!r.ok()) return inv.fail(r.status());
  inv.out << label(t) << " restarted\n";
  return 0;
}

int setPaused(Invocation& inv, client::ApiClient& c, Target& t, bool pause) {
  const char* verb = pause ? "pausing" : "resuming";
  if (t.kind.resource != "deployments") {
    return inv.usageError(qualifiedName(t.kind, t.name) + " " + verb + " is not supported");
  }
  if (isPaused(t) == pause) {
    return inv.usageError(qualifiedName(t.kind, t.name) +
                          (pause ? " is already paused" : " is not paused"));
  }
  const json patch = {{"spec", {{"paused", pause ? json(true) : json(nullptr)}}}};
  auto r = c.patch(t.kind, inv.namespaceName(), t.name, client::PatchType::Merge, patch.dump());
  if (!r.ok()) return inv.fail(r.status());
  inv.out << label(t) << (pause ? " paused\n" : " resumed\n");
  return 0;
}

int pause(Invocation& inv, client::ApiClient& c, Target& t) {
  return setPaused(inv, c, t, true);
}
int resume(Invocation& inv, client::ApiClient& c, Target& t) {
  return setPaused(inv, c, t, false);
}

const std::vector<std::pair<std::string, SubCommand>>& subCommands() {
  static const std::vector<std::pair<std::string, SubCommand>> kSubs = {
      {"status", status},   {"history", history}, {"undo", undo},
      {"restart", restart}, {"pause", pause},     {"resume", resume}};
  return kSubs;
}

bool supported(const api::KindInfo& kind) {
  return kind.group == "apps" && (kind.resource == "deployments" || kind.resource == "daemonsets" ||
                                  kind.resource == "statefulsets");
}

}  // namespace

int runRollout(Invocation& inv) {
  const auto& words = inv.args.words;
  if (words.size() < 2) return inv.usageError("Required resource not specified.");
  auto sub = std::find_if(subCommands().begin(), subCommands().end(),
                          [&](const auto& s) { return s.first == words[1]; });
  if (sub == subCommands().end()) {
    return inv.usageError("unknown command \"" + words[1] + "\" for \"kdctl rollout\"");
  }
  if (words.size() < 3) {
    return inv.usageError("required resource not specified");
  }
  auto c = inv.client();
  if (!c.ok()) return inv.fail(c.status());
  auto sels = selectResources(inv, {words.begin() + 2, words.end()});
  if (!sels.ok()) return inv.failLocal(sels.status());
  int rc = 0;
  for (const auto& sel : *sels) {
    for (const auto& name : sel.names) {
      Target t{sel.kind, name, {}};
      if (!supported(sel.kind)) {
        rc = inv.usageError("no " + words[1] + " has been implemented for " + sel.kind.kind);
        continue;
      }
      auto object = (*c)->get(sel.kind, inv.namespaceName(), name);
      if (!object.ok()) {
        rc = inv.fail(object.status());
        continue;
      }
      t.object = std::move(object).value();
      rc = std::max(rc, sub->second(inv, **c, t));
    }
  }
  return rc;
}

}  // namespace kd::cli

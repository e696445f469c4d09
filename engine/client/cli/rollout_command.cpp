// `kdctl rollout status|history|undo|restart|pause|resume` against the server.

#include <ostream>

#include "engine/api/selectors.h"
#include "engine/client/cli/commands.h"
#include "engine/client/cli/rollout.h"
#include "engine/client/cli/workload_actions.h"

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

int64_t revisionFlag(Invocation& inv, const char* flag) {
  try {
    return std::stoll(inv.args.value(flag, "0"));
  } catch (...) {
    return -1;
  }
}

int history(Invocation& inv, client::ApiClient& c, Target& t) {
  auto h = readRevisionHistory(c, t.kind, t.object);
  if (!h.ok()) return inv.fail(h.status());
  const int64_t revision = revisionFlag(inv, "revision");
  auto text = historyText(*h, revision);
  if (!text.ok()) return inv.usageError(text.status().message());
  inv.out << label(t) << " " << (revision > 0 ? "with revision #" + std::to_string(revision) : "")
          << "\n"
          << *text << "\n";
  return 0;
}

int print(Invocation& inv, const ActionOutcome& outcome) {
  if (outcome.ok()) {
    inv.out << outcome.message;
    return 0;
  }
  return outcome.refusedLocally ? inv.usageError(outcome.status.message())
                                : inv.fail(outcome.status);
}

int undo(Invocation& inv, client::ApiClient& c, Target& t) {
  return print(inv, undoRollout(c, t.kind, t.object, revisionFlag(inv, "to-revision")));
}

int restart(Invocation& inv, client::ApiClient& c, Target& t) {
  return print(inv, restartRollout(c, t.kind, t.object));
}

int pause(Invocation& inv, client::ApiClient& c, Target& t) {
  return print(inv, setRolloutPaused(c, t.kind, t.object, true));
}
int resume(Invocation& inv, client::ApiClient& c, Target& t) {
  return print(inv, setRolloutPaused(c, t.kind, t.object, false));
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

// `kdctl wait --for=delete|create|condition=C[=V]|jsonpath='{...}'[=V]`: polls the named
// objects until each meets the condition or --timeout (default 30s) passes, with kubectl's
// messages and exit codes.

#include <ostream>
#include <thread>

#include "engine/client/cli/commands.h"
#include "engine/client/cli/describe_parts.h"
#include "engine/client/cli/jsonpath.h"
#include "engine/client/cli/wait_condition.h"

namespace kd::cli {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(250);

struct Waited {
  api::KindInfo kind;
  std::string name;
};

// The objects to wait for: names given, or those the selector (or --all) matches now.
Result<std::vector<Waited>> targets(Invocation& inv, client::ApiClient& c,
                                    const std::vector<ResourceSelection>& sels) {
  std::vector<Waited> out;
  for (const auto& sel : sels) {
    for (const auto& n : sel.names) out.push_back({sel.kind, n});
    if (!sel.names.empty()) continue;
    client::ListOptions o;
    o.labelSelector = inv.args.value("selector");
    auto list = c.list(sel.kind, inv.allNamespaces() ? "" : inv.namespaceName(), o);
    if (!list.ok()) return list.status();
    for (const json& item : list->value("items", json::array())) {
      out.push_back({sel.kind, describe::str(item, "metadata.name")});
    }
  }
  return out;
}

std::string timedOut(const Waited& w) {
  return "timed out waiting for the condition on " + w.kind.resource + "/" + w.name;
}

// Waits for one object; 0 when met (printing "kind/name condition met"), else prints why.
int waitOne(Invocation& inv, client::ApiClient& c, const Waited& w, const WaitCondition& cond,
            Clock::time_point deadline) {
  const std::string ns = inv.namespaceName();
  std::string firstUid;
  for (bool first = true;; first = false) {
    auto object = c.get(w.kind, ns, w.name);
    if (!object.ok() && object.status().code() != 404) return inv.fail(object.status());
    const bool exists = object.ok();
    if (cond.type == WaitCondition::Delete) {
      if (!exists) {
        if (!first) inv.out << kindPrefix(w.kind) << "/" << w.name << " condition met\n";
        return 0;
      }
      const std::string uid = describe::str(*object, "metadata.uid");
      if (firstUid.empty()) firstUid = uid;
      if (uid != firstUid) {
        inv.out << kindPrefix(w.kind) << "/" << w.name << " condition met\n";
        return 0;
      }
    } else if (!exists && cond.type != WaitCondition::Create) {
      return inv.fail(object.status());
    } else if (exists && conditionMet(cond, *object)) {
      inv.out << kindPrefix(w.kind) << "/" << w.name << " condition met\n";
      return 0;
    }
    if (Clock::now() >= deadline) {
      return inv.usageError(
          cond.type == WaitCondition::Create ? "timed out waiting for the condition" : timedOut(w));
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace

int runWait(Invocation& inv) {
  auto cond = parseWaitCondition(inv.args.value("for"));
  if (!cond.ok()) return inv.usageError(cond.status().message());
  auto timeout = parseDuration(inv.args.value("timeout", "30s"));
  if (!timeout.ok()) return inv.failLocal(timeout.status());
  const auto deadline = Clock::now() + *timeout;
  auto c = inv.client();
  if (!c.ok()) return inv.fail(c.status());
  const std::vector<std::string> words(inv.args.words.begin() + 1, inv.args.words.end());
  if (words.empty()) {
    return inv.usageError("resource(s) were provided, but no name was specified");
  }
  auto sels = selectResources(inv, words);
  if (!sels.ok()) return inv.failLocal(sels.status());
  auto waited = targets(inv, **c, *sels);
  if (!waited.ok()) return inv.fail(waited.status());
  if (waited->empty()) return inv.usageError("no matching resources found");
  int rc = 0;
  for (const auto& w : *waited) rc = std::max(rc, waitOne(inv, **c, w, *cond, deadline));
  return rc;
}

}  // namespace kd::cli

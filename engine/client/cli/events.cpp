// `kdctl events [-A] [--for TYPE/NAME] [--types Normal,Warning] [--watch]`: kubectl's events
// table (LAST SEEN TYPE REASON OBJECT MESSAGE), oldest first by when each event was last seen.

#include "engine/client/cli/events.h"

#include <strings.h>

#include <algorithm>
#include <ostream>

#include "engine/client/cli/commands.h"
#include "engine/client/cli/describe.h"
#include "engine/client/cli/describe_parts.h"
#include "engine/client/cli/table_printer.h"

namespace kd::cli {

using describe::str;

namespace {

// When kubectl considers an event seen last: its series, else lastTimestamp, else eventTime.
std::string lastSeen(const json& e) {
  if (!str(e, "series.lastObservedTime").empty()) return str(e, "series.lastObservedTime");
  if (!str(e, "lastTimestamp").empty()) return str(e, "lastTimestamp");
  return str(e, "eventTime");
}

bool typeWanted(const json& e, const std::vector<std::string>& types) {
  if (types.empty()) return true;
  return std::any_of(types.begin(), types.end(), [&](const std::string& t) {
    return strcasecmp(t.c_str(), str(e, "type").c_str()) == 0;
  });
}

}  // namespace

std::string eventRows(const json& events, bool withNamespace, bool header,
                      std::chrono::system_clock::time_point now) {
  std::string text;
  if (header)
    text = std::string(withNamespace ? "NAMESPACE\t" : "") +
           "LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE\n";
  for (const json& e : describe::asArray(events)) {
    text += (withNamespace ? str(e, "metadata.namespace") + "\t" : std::string()) +
            eventAge(e, now) + "\t" + str(e, "type") + "\t" + str(e, "reason") + "\t" +
            str(e, "involvedObject.kind") + "/" + str(e, "involvedObject.name") + "\t" +
            str(e, "message") + "\n";
  }
  return alignTabbed(text, 6, 3);
}

json sortEvents(json events) {
  std::stable_sort(events.begin(), events.end(), [](const json& a, const json& b) {
    return describe::parseTime(lastSeen(a)) < describe::parseTime(lastSeen(b));
  });
  return events;
}

int runEvents(Invocation& inv) {
  std::vector<std::string> types;
  for (const auto& t : splitList(inv.args.value("types"))) {
    if (strcasecmp(t.c_str(), "Normal") != 0 && strcasecmp(t.c_str(), "Warning") != 0) {
      return inv.usageError("valid --types are Normal or Warning");
    }
    types.push_back(t);
  }
  auto c = inv.client();
  if (!c.ok()) return inv.fail(c.status());
  client::ListOptions o;
  if (inv.args.has("for")) {
    const std::string target = inv.args.value("for");
    const auto slash = target.find('/');
    if (slash == std::string::npos) {
      return inv.usageError("--for must be in resource/name form");
    }
    auto kind = inv.resolveKind(target.substr(0, slash));
    if (!kind.ok()) return inv.failLocal(kind.status());
    o.fieldSelector =
        "involvedObject.kind=" + kind->kind + ",involvedObject.name=" + target.substr(slash + 1);
  }
  const auto* eventsKind = api::KindsRegistry::builtin().resolve("events");
  const std::string ns = inv.allNamespaces() ? "" : inv.namespaceName();
  auto list = (*c)->list(*eventsKind, ns, o);
  if (!list.ok()) return inv.fail(list.status());
  json shown = json::array();
  for (const json& e : list->value("items", json::array())) {
    if (typeWanted(e, types)) shown.push_back(e);
  }
  const bool watch = inv.args.boolean("watch");
  if (shown.empty() && !watch) {
    inv.err << (ns.empty() ? std::string("No events found.\n")
                           : "No events found in " + ns + " namespace.\n");
    return 0;
  }
  const auto now = std::chrono::system_clock::now();
  inv.out << eventRows(sortEvents(shown), ns.empty(), true, now) << std::flush;
  if (!watch) return 0;
  o.resourceVersion = list->value("/metadata/resourceVersion"_json_pointer, "");
  auto w = (*c)->watch(*eventsKind, ns, o);
  if (!w.ok()) return inv.fail(w.status());
  while (!(*w)->ended()) {
    auto ev = (*w)->next(std::chrono::milliseconds(500));
    if (!ev || (ev->type != "ADDED" && ev->type != "MODIFIED")) continue;
    if (!typeWanted(ev->object, types)) continue;
    inv.out << eventRows(json::array({ev->object}), ns.empty(), false,
                         std::chrono::system_clock::now())
            << std::flush;
  }
  return (*w)->endStatus().isOk() ? 0 : inv.fail((*w)->endStatus());
}

}  // namespace kd::cli

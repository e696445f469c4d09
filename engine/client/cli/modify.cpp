#include <ostream>

#include "engine/api/yaml_json.h"
#include "engine/client/cli/commands.h"

namespace kd::cli {

namespace {

// The one object a scale/patch command line names: "TYPE NAME" or "TYPE/NAME".
Result<std::pair<api::KindInfo, std::string>> oneObject(Invocation& inv,
                                                        const std::vector<std::string>& words) {
  auto sels = selectResources(inv, words);
  if (!sels.ok()) return sels.status();
  if (sels->size() != 1 || (*sels)[0].names.size() != 1) {
    return Status::badRequest("exactly one NAME is required, got " +
                              std::to_string(sels->empty() ? 0 : (*sels)[0].names.size()));
  }
  return std::make_pair((*sels)[0].kind, (*sels)[0].names[0]);
}

std::vector<std::string> argWords(const Invocation& inv) {
  return {inv.args.words.begin() + 1, inv.args.words.end()};
}

std::string resourceVersionOf(const json& o) {
  return o.value("/metadata/resourceVersion"_json_pointer, "");
}

}  // namespace

int runScale(Invocation& inv) {
  if (!inv.args.has("replicas")) return inv.usageError("required flag(s) \"replicas\" not set");
  long long replicas = -1;
  try {
    replicas = std::stoll(inv.args.value("replicas"));
  } catch (...) {
  }
  if (replicas < 0)
    return inv.usageError(
        "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0");
  auto c = inv.client();
  if (!c.ok()) return inv.fail(c.status());
  auto target = oneObject(inv, argWords(inv));
  if (!target.ok()) return inv.failLocal(target.status());
  const auto& [kind, name] = *target;
  client::WriteOptions o;
  o.subresource = "scale";
  const json body = {{"spec", {{"replicas", replicas}}}};
  auto r = (*c)->patch(kind, inv.namespaceName(), name, client::PatchType::Merge, body.dump(), o);
  if (!r.ok()) return inv.fail(r.status());
  inv.out << kindPrefix(kind) << "/" << name << " scaled\n";
  return 0;
}

int runLabel(Invocation& inv) {
  const bool labels = inv.args.words[0] == "label";
  const std::string field = labels ? "labels" : "annotations";
  std::vector<std::string> objectWords;
  json changes = json::object();
  for (const auto& w : argWords(inv)) {
    if (auto eq = w.find('='); eq != std::string::npos) {
      changes[w.substr(0, eq)] = w.substr(eq + 1);
    } else if (w.size() > 1 && w.back() == '-') {
      changes[w.substr(0, w.size() - 1)] = nullptr;
    } else {
      objectWords.push_back(w);
    }
  }
  if (changes.empty())
    return inv.usageError("at least one " + std::string(labels ? "label" : "annotation") +
                          " update is required");
  auto c = inv.client();
  if (!c.ok()) return inv.fail(c.status());
  auto target = oneObject(inv, objectWords);
  if (!target.ok()) return inv.failLocal(target.status());
  const auto& [kind, name] = *target;
  auto live = (*c)->get(kind, inv.namespaceName(), name);
  if (!live.ok()) return inv.fail(live.status());
  const json current =
      live->value("/metadata"_json_pointer, json::object()).value(field, json::object());
  for (const auto& [k, v] : changes.items()) {
    if (!v.is_null() && current.contains(k) && current[k] != v && !inv.args.boolean("overwrite")) {
      return inv.usageError("'" + k + "' already has a value (" + current[k].get<std::string>() +
                            "), and --overwrite is false");
    }
  }
  const json body = {{"metadata", {{field, changes}}}};
  auto r = (*c)->patch(kind, inv.namespaceName(), name, client::PatchType::Merge, body.dump());
  if (!r.ok()) return inv.fail(r.status());
  const bool changed = resourceVersionOf(*r) != resourceVersionOf(*live);
  inv.out << kindPrefix(kind) << "/" << name << (changed ? " " : " not ")
          << (labels ? "labeled" : "annotated") << "\n";
  return 0;
}

int runPatch(Invocation& inv) {
  if (!inv.args.has("patch")) return inv.usageError("must specify -p to patch");
  const std::string type = inv.args.value("type", "strategic");
  client::PatchType pt;
  if (type == "strategic") {
    pt = client::PatchType::StrategicMerge;
  } else if (type == "merge") {
    pt = client::PatchType::Merge;
  } else if (type == "json") {
    pt = client::PatchType::Json;
  } else {
    return inv.usageError("--type must be one of [json merge strategic], not \"" + type + "\"");
  }
  auto body = api::parseDocument(inv.args.value("patch"));
  if (!body.ok())
    return inv.usageError("unable to parse \"" + inv.args.value("patch") +
                          "\": " + body.status().message());
  auto c = inv.client();
  if (!c.ok()) return inv.fail(c.status());
  auto target = oneObject(inv, argWords(inv));
  if (!target.ok()) return inv.failLocal(target.status());
  const auto& [kind, name] = *target;
  auto before = (*c)->get(kind, inv.namespaceName(), name);
  if (!before.ok()) return inv.fail(before.status());
  auto r = (*c)->patch(kind, inv.namespaceName(), name, pt, body->dump());
  if (!r.ok()) return inv.fail(r.status());
  const bool changed = resourceVersionOf(*r) != resourceVersionOf(*before);
  inv.out << kindPrefix(kind) << "/" << name << " patched" << (changed ? "" : " (no change)")
          << "\n";
  return 0;
}

}  // namespace kd::cli

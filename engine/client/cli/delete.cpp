#include <chrono>
#include <ostream>
#include <thread>

#include "engine/client/cli/commands.h"
#include "engine/client/cli/manifests.h"

namespace kd::cli {

namespace {

struct Target {
  api::KindInfo kind;
  std::string ns;
  std::string name;
};

Result<client::DeleteOptions> deleteOptions(const Invocation& inv) {
  client::DeleteOptions o;
  int64_t grace = -1;
  if (inv.args.has("grace-period")) {
    try {
      grace = std::stoll(inv.args.value("grace-period"));
    } catch (...) {
      return Status::badRequest("invalid argument for --grace-period");
    }
  }
  if (inv.args.boolean("now")) grace = 1;
  if (inv.args.boolean("force") && grace < 0) grace = 0;
  if (grace >= 0) o.gracePeriodSeconds = grace;
  const std::string cascade = inv.args.value("cascade", "background");
  if (cascade == "background" || cascade == "true") {
    o.propagationPolicy = "Background";
  } else if (cascade == "foreground") {
    o.propagationPolicy = "Foreground";
  } else if (cascade == "orphan" || cascade == "false") {
    o.propagationPolicy = "Orphan";
  } else {
    return Status::badRequest("invalid cascade value (" + cascade +
                              "). Must be \"background\", \"foreground\", or \"orphan\"");
  }
  return o;
}

Result<std::vector<Target>> targetsFromFiles(Invocation& inv) {
  auto manifests =
      loadManifests(inv.args.values("filename"), inv.args.boolean("recursive"), inv.in);
  if (!manifests.ok()) return manifests.status();
  std::vector<Target> out;
  for (const auto& m : *manifests) {
    auto kind = inv.resolveKind(m.object.value("kind", ""));
    if (!kind.ok()) return kind.status();
    const json& meta = m.object["metadata"];
    out.push_back({*kind, kind->namespaced ? meta.value("namespace", inv.namespaceName()) : "",
                   meta.value("name", "")});
  }
  return out;
}

Result<std::vector<Target>> targetsFromArgs(Invocation& inv, client::ApiClient& c) {
  const std::vector<std::string> words(inv.args.words.begin() + 1, inv.args.words.end());
  auto sels = selectResources(inv, words);
  if (!sels.ok()) return sels.status();
  const bool bySelector =
      inv.args.has("selector") || inv.args.boolean("all") || inv.args.has("field-selector");
  const std::string ns = inv.allNamespaces() ? std::string() : inv.namespaceName();
  std::vector<Target> out;
  for (const auto& sel : *sels) {
    for (const auto& name : sel.names) out.push_back({sel.kind, inv.namespaceName(), name});
    if (!sel.names.empty()) continue;
    if (!bySelector) {
      return Status::badRequest("resource(s) were provided, but no name was specified");
    }
    client::ListOptions o;
    o.labelSelector = inv.args.value("selector");
    o.fieldSelector = inv.args.value("field-selector");
    auto list = c.list(sel.kind, ns, o);
    if (!list.ok()) return list.status();
    for (const json& item : list->value("items", json::array())) {
      out.push_back(
          {sel.kind, item["metadata"].value("namespace", ""), item["metadata"].value("name", "")});
    }
  }
  return out;
}

std::chrono::seconds waitTimeout(const Invocation& inv) {
  std::string t = inv.args.value("timeout", "0");
  long long n = 0;
  try {
    n = std::stoll(t);
  } catch (...) {
  }
  if (t.ends_with("m")) n *= 60;
  return std::chrono::seconds(n > 0 ? n : 300);
}

// kubectl waits until deleted objects are really gone (finalizers, graceful pod shutdown).
int waitGone(Invocation& inv, client::ApiClient& c, const std::vector<Target>& gone) {
  const auto deadline = std::chrono::steady_clock::now() + waitTimeout(inv);
  for (const auto& t : gone) {
    while (true) {
      auto obj = c.get(t.kind, t.ns, t.name);
      if (!obj.ok() && obj.status().code() == 404) break;
      if (std::chrono::steady_clock::now() > deadline) {
        return inv.usageError("timed out waiting for the condition on " + t.kind.resource + "/" +
                              t.name);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return 0;
}

}  // namespace

int runDelete(Invocation& inv) {
  auto options = deleteOptions(inv);
  if (!options.ok()) return inv.failLocal(options.status());
  auto c = inv.client();
  if (!c.ok()) return inv.fail(c.status());
  auto targets = inv.args.has("filename") ? targetsFromFiles(inv) : targetsFromArgs(inv, **c);
  if (!targets.ok()) return inv.failLocal(targets.status());
  if (targets->empty()) {
    inv.out << "No resources found\n";
    return 0;
  }
  int exitCode = 0;
  std::vector<Target> deleted;
  for (const auto& t : *targets) {
    auto r = (*c)->remove(t.kind, t.ns, t.name, *options);
    if (!r.ok()) {
      if (r.status().code() == 404 && inv.args.boolean("ignore-not-found")) continue;
      exitCode = inv.fail(r.status());
      continue;
    }
    inv.out << kindPrefix(t.kind) << " \"" << t.name << "\" deleted\n" << std::flush;
    deleted.push_back(t);
  }
  if (inv.args.boolean("wait", true)) exitCode = std::max(exitCode, waitGone(inv, **c, deleted));
  return exitCode;
}

}  // namespace kd::cli

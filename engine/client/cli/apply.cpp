#include <ostream>

#include "engine/api/patch.h"
#include "engine/api/schema.h"
#include "engine/client/cli/apply.h"
#include "engine/client/cli/commands.h"
#include "engine/client/cli/create.h"
#include "engine/client/cli/manifests.h"

namespace kd::cli {

namespace {

constexpr const char* kLastApplied = "kubectl.kubernetes.io/last-applied-configuration";

Result<api::KindInfo> kindOf(Invocation& inv, const json& object) {
  const std::string apiVersion = object.value("apiVersion", "");
  const std::string kind = object.value("kind", "");
  if (const auto* k = api::KindsRegistry::builtin().byKind(apiVersion, kind)) return *k;
  auto slash = apiVersion.find('/');
  auto found =
      inv.resolveKind(slash == std::string::npos ? kind : kind + "." + apiVersion.substr(0, slash));
  if (!found.ok()) {
    return Status::notFound("resource mapping not found for name: \"" +
                            object["metadata"].value("name", "") +
                            "\" namespace: \"\" from \"\": "
                            "no matches for kind \"" +
                            kind + "\" in version \"" + apiVersion + "\"");
  }
  return found;
}

// The namespace an object goes to: its own, else -n / the context's. An explicit -n that
// disagrees with the file is refused, as kubectl does.
Result<std::string> namespaceFor(Invocation& inv, const api::KindInfo& kind, json& object) {
  if (!kind.namespaced) return std::string();
  json& meta = object["metadata"];
  const std::string own = meta.value("namespace", "");
  if (!own.empty() && inv.args.has("namespace") && own != inv.namespaceName()) {
    return Status::badRequest("the namespace from the provided object \"" + own +
                              "\" does not match the namespace \"" + inv.namespaceName() +
                              "\". You must pass '--namespace=" + own +
                              "' to perform this operation.");
  }
  if (own.empty()) meta["namespace"] = inv.namespaceName();
  return meta["namespace"].get<std::string>();
}

// kubectl's "modified" configuration: the object with its own serialization (without the
// annotation, then with an empty annotations map) stored in the last-applied annotation.
json withLastApplied(json object) {
  json& annotations = object["metadata"]["annotations"];
  if (!annotations.is_object()) annotations = json::object();
  annotations.erase(kLastApplied);
  const std::string serialized = goJson(object, -1) + "\n";
  annotations[kLastApplied] = serialized;
  return object;
}

// kubectl names what failed: `error when creating "file.yaml": <message>`.
int failFor(Invocation& inv, const Status& st, const std::string& what, const Manifest& m) {
  if (st.reason() == "Invalid" || st.message().starts_with("unable to connect")) {
    return inv.fail(st);
  }
  inv.err << "Error from server" << (st.reason().empty() ? "" : " (" + st.reason() + ")")
          << ": error when " << what << " \"" << m.source << "\": " << st.message() << "\n";
  return 1;
}

}  // namespace

int applyManifest(Invocation& inv, client::ApiClient& c, Manifest& m, bool dryRun,
                  ApplyOutcome& out) {
  auto kind = kindOf(inv, m.object);
  if (!kind.ok()) return inv.failLocal(kind.status());
  auto ns = namespaceFor(inv, *kind, m.object);
  if (!ns.ok()) return inv.failLocal(ns.status());
  const std::string name = m.object["metadata"].value("name", "");
  out.kind = *kind;
  out.label = kindPrefix(*kind) + "/" + name;
  // A dry run (diff) leaves the last-applied annotation as it is, as kubectl diff does.
  json modified = withLastApplied(m.object);
  if (dryRun) modified["metadata"]["annotations"].erase(kLastApplied);
  client::WriteOptions write;
  write.dryRun = dryRun;

  auto live = c.get(*kind, *ns, name);
  if (!live.ok() && live.status().code() == 404) {
    auto created = c.create(*kind, *ns, modified, write);
    if (!created.ok()) return failFor(inv, created.status(), "creating", m);
    out.verb = "created";
    out.result = std::move(created).value();
    return 0;
  }
  if (!live.ok()) return failFor(inv, live.status(), "retrieving current configuration of", m);
  out.live = *live;

  json original;  // null: nothing was applied before
  const json annotations = live->value("/metadata/annotations"_json_pointer, json::object());
  if (annotations.contains(kLastApplied)) {
    try {
      original = json::parse(annotations[kLastApplied].get<std::string>());
    } catch (const json::exception&) {
      original = json();
    }
  } else if (!dryRun) {
    inv.err << "Warning: resource " << kind->resource << "/" << name << " is missing the "
            << kLastApplied
            << " annotation which is required by kdctl apply. kdctl apply should only be used on "
               "resources created declaratively by either kdctl create --save-config or kdctl "
               "apply. The missing annotation will be patched automatically.\n";
  }
  auto patch = api::createThreeWayMergePatch(original, modified, *live,
                                             api::SchemaRegistry::builtin(), kind->schemaType);
  if (!patch.ok()) return failFor(inv, patch.status(), "computing the patch for", m);
  if (patch->empty()) {
    out.verb = "unchanged";
    out.result = *live;
    return 0;
  }
  auto patched = c.patch(*kind, *ns, name, client::PatchType::StrategicMerge, patch->dump(), write);
  if (!patched.ok()) return failFor(inv, patched.status(), "patching", m);
  out.verb = "configured";
  out.result = std::move(patched).value();
  return 0;
}

namespace {

int applyOne(Invocation& inv, client::ApiClient& c, Manifest& m) {
  ApplyOutcome outcome;
  const int rc = applyManifest(inv, c, m, false, outcome);
  if (rc == 0) inv.out << outcome.label << " " << outcome.verb << "\n";
  return rc;
}

int createOne(Invocation& inv, client::ApiClient& c, Manifest& m) {
  auto kind = kindOf(inv, m.object);
  if (!kind.ok()) return inv.failLocal(kind.status());
  auto ns = namespaceFor(inv, *kind, m.object);
  if (!ns.ok()) return inv.failLocal(ns.status());
  auto created = c.create(*kind, *ns, m.object);
  if (!created.ok()) return failFor(inv, created.status(), "creating", m);
  inv.out << kindPrefix(*kind) << "/" << m.object["metadata"].value("name", "") << " created\n";
  return 0;
}

}  // namespace

int forEachManifest(Invocation& inv, int (*action)(Invocation&, client::ApiClient&, Manifest&)) {
  const auto& files = inv.args.values("filename");
  if (files.empty()) {
    return inv.usageError("must specify one of -f and -k\n\nUse \"kdctl " + inv.args.words[0] +
                          " --help\" for usage.");
  }
  auto manifests = loadManifests(files, inv.args.boolean("recursive"), inv.in);
  if (!manifests.ok()) return inv.failLocal(manifests.status());
  auto c = inv.client();
  if (!c.ok()) return inv.fail(c.status());
  int exitCode = 0;
  for (auto& m : *manifests) exitCode = std::max(exitCode, action(inv, **c, m));
  return exitCode;
}

int runApply(Invocation& inv) {
  return forEachManifest(inv, applyOne);
}

int runCreate(Invocation& inv) {
  if (inv.args.words.size() > 1 && isCreateGenerator(inv.args.words[1])) {
    return runCreateGenerator(inv);
  }
  return forEachManifest(inv, createOne);
}

}  // namespace kd::cli

#pragma once
// The kinds registry: every resource the engine serves, with the names Kubernetes gives it
// (group, version, kind, plural resource, short names), its scope and subresources, and the
// schema type that describes it. Discovery, routing, OpenAPI, validation, defaulting, patching
// and table printing all read this one table, so they never disagree.

#include <string>
#include <string_view>
#include <vector>

namespace kd::api {

class VersionConverter;  // conversion.h

struct KindInfo {
  std::string group;     // "" for the core group
  std::string version;   // "v1", "v2", ...
  std::string kind;      // "Deployment"
  std::string resource;  // "deployments"
  std::string singular;  // "deployment"
  bool namespaced = true;
  std::vector<std::string> shortNames;    // {"deploy"}
  std::vector<std::string> categories;    // {"all"}
  std::vector<std::string> subresources;  // {"status", "scale"}
  std::vector<std::string> verbs;         // discovery verbs of the main resource
  std::string schemaType;  // root type in the SchemaRegistry, e.g. "apps.v1.Deployment"
  // Set only on a version served by conversion (autoscaling/v1 HorizontalPodAutoscaler): the
  // version its objects are stored in, and the converter to and from it (conversion.h). Stored
  // versions, i.e. nearly every kind, have neither and never convert.
  std::string storageVersion;
  const VersionConverter* converter = nullptr;

  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "deployments.apps" / "pods": the qualified resource used in error messages.
  std::string qualifiedResource() const {
    return group.empty() ? resource : resource + "." + group;
  }
  // "Deployment.apps" / "Pod": the qualified kind kubectl prints in Invalid errors.
  std::string qualifiedKind() const { return group.empty() ? kind : kind + "." + group; }
  bool hasSubresource(std::string_view name) const;
};

class KindsRegistry {
 public:
  // The kinds this engine serves. Built once; safe to read from any thread.
  static const KindsRegistry& builtin();

  // One entry per stored resource (its stored version): what controllers, garbage collection
  // and namespace cleanup walk.
  const std::vector<KindInfo>& all() const { return kinds_; }
  // Every served group-version-resource: all() and the versions served by conversion, each
  // after its stored version. Discovery and OpenAPI list these.
  const std::vector<KindInfo>& served() const { return served_; }
  // Both look in all() first, then at the converted versions, so stored kinds (every hot path)
  // are found exactly as before.
  const KindInfo* byResource(std::string_view group, std::string_view version,
                             std::string_view resource) const;
  const KindInfo* byKind(std::string_view apiVersion, std::string_view kind) const;
  // The stored version of `kind` (itself unless it is served by conversion).
  const KindInfo& storageOf(const KindInfo& kind) const;
  // Resolves what a person types: plural, singular, short name or kind, optionally qualified
  // with a group ("deploy", "deployments.apps", "Deployment"). Case-insensitive.
  const KindInfo* resolve(std::string_view name) const;

  // Groups in discovery order, each with its served versions (preferred = stored first).
  struct GroupVersions {
    std::string group;
    std::vector<std::string> versions;
  };
  std::vector<GroupVersions> groups() const;

  // `kinds` lists stored versions and versions served by conversion (storageVersion set), the
  // latter after the version they are stored as.
  explicit KindsRegistry(std::vector<KindInfo> kinds);

 private:
  std::vector<KindInfo> kinds_;   // stored versions
  std::vector<KindInfo> served_;  // everything served, in the order given
  bool hasConverted_ = false;
};

}  // namespace kd::api

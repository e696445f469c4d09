#pragma once
// The kinds registry: every resource the engine serves, with the names Kubernetes gives it
// (group, version, kind, plural resource, short names), its scope and subresources, and the
// schema type that describes it. Discovery, routing, OpenAPI, validation, defaulting, patching
// and table printing all read this one table, so they never disagree.

#include <string>
#include <string_view>
#include <vector>

namespace kd::api {

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

  const std::vector<KindInfo>& all() const { return kinds_; }
  const KindInfo* byResource(std::string_view group, std::string_view version,
                             std::string_view resource) const;
  const KindInfo* byKind(std::string_view apiVersion, std::string_view kind) const;
  // Resolves what a person types: plural, singular, short name or kind, optionally qualified
  // with a group ("deploy", "deployments.apps", "Deployment"). Case-insensitive.
  const KindInfo* resolve(std::string_view name) const;

  // Groups in discovery order, each with its served versions (preferred first).
  struct GroupVersions {
    std::string group;
    std::vector<std::string> versions;
  };
  std::vector<GroupVersions> groups() const;

  explicit KindsRegistry(std::vector<KindInfo> kinds) : kinds_(std::move(kinds)) {}

 private:
  std::vector<KindInfo> kinds_;
};

}  // namespace kd::api

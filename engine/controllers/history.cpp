#include "engine/controllers/history.h"

#include "engine/controllers/object_fields.h"

#include <algorithm>

#include "engine/controllers/deployment_controller.h"
#include "engine/controllers/replicaset_controller.h"

namespace kd::controllers {
namespace {

int64_t revisionOf(const json& rev) {
  return rev.value("revision", int64_t{0});
}

// The owner's revisions, oldest first.
std::vector<CachedObject> historyOf(const Informer& revisions, const json& owner) {
  const json& meta = fieldOf(owner, "metadata");
  std::vector<CachedObject> history;
  for (const auto& rev : revisions.list(meta.value("namespace", ""))) {
    const json* ref = controllerRefOf(*rev);
    if (ref && ref->value("uid", "") == meta.value("uid", "")) history.push_back(rev);
  }
  std::sort(history.begin(), history.end(), [](const CachedObject& a, const CachedObject& b) {
    return revisionOf(*a) < revisionOf(*b);
  });
  return history;
}

}  // namespace

Result<OwnerRevision> syncControllerHistory(server::ObjectService& objects,
                                            const Informer& revisions, const json& owner,
                                            const std::vector<CachedObject>& pods,
                                            const std::string& hashLabel) {
  const api::KindInfo& kind = revisions.kind();
  const json& meta = fieldOf(owner, "metadata");
  const std::string ns = meta.value("namespace", "");
  json tmpl = fieldOf(fieldOf(owner, "spec"), "template");
  tmpl["$patch"] = "replace";
  const json data = {{"spec", {{"template", tmpl}}}};
  OwnerRevision current;
  current.hash = podTemplateHash(data, std::nullopt);
  current.name = meta.value("name", "") + "-" + current.hash;

  const auto history = historyOf(revisions, owner);
  const int64_t maxRevision = history.empty() ? 0 : revisionOf(*history.back());
  auto found = std::find_if(history.begin(), history.end(),
                            [&](const CachedObject& r) { return nameOf(*r) == current.name; });
  if (found == history.end()) {
    json rev = {
        {"apiVersion", "apps/v1"},
        {"kind", "ControllerRevision"},
        {"metadata",
         {{"name", current.name},
          {"labels",
           fieldOf(fieldOf(owner, "spec"), "selector").value("matchLabels", json::object())},
          {"ownerReferences", {controllerRefTo(owner)}}}},
        {"data", data},
        {"revision", maxRevision + 1}};
    rev["metadata"]["labels"]["controller.kubernetes.io/hash"] = current.hash;
    auto created = objects.create(kind, ns, std::move(rev), {});
    if (!created.ok() && created.status().code() != 409) return created.status();
  } else if (revisionOf(**found) < maxRevision) {
    json rev = **found;
    rev["revision"] = maxRevision + 1;
    auto updated = objects.update(kind, ns, current.name, std::move(rev), {});
    if (!updated.ok()) return updated.status();
  }

  const int64_t limit =
      std::max<int64_t>(0, fieldOf(owner, "spec").value("revisionHistoryLimit", 10));
  std::vector<std::string> unused;
  for (const auto& rev : history) {
    const std::string name = nameOf(*rev);
    const std::string hash = name.substr(name.rfind('-') + 1);
    const bool inUse = name == current.name || std::any_of(pods.begin(), pods.end(), [&](auto& p) {
                         const std::string v =
                             fieldOf(fieldOf(*p, "metadata"), "labels").value(hashLabel, "");
                         return v == hash || v == name;
                       });
    if (!inUse) unused.push_back(name);
  }
  for (size_t i = 0; i + static_cast<size_t>(limit) < unused.size(); ++i) {
    objects.remove(kind, ns, unused[i], {});
  }
  return current;
}

json templateOfRevision(const Informer& revisions, const json& owner,
                        const std::string& revisionName) {
  for (const auto& rev : historyOf(revisions, owner)) {
    if (nameOf(*rev) != revisionName) continue;
    json tmpl = fieldOf(fieldOf(*rev, "data"), "spec").value("template", json());
    if (tmpl.is_object()) tmpl.erase("$patch");
    return tmpl;
  }
  return nullptr;
}

}  // namespace kd::controllers

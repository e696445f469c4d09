#include "engine/controllers/namespace_controller.h"

#include <algorithm>
#include <map>

#include "engine/controllers/controller_manager.h"
#include "engine/controllers/object_fields.h"

namespace kd::controllers {
namespace {

constexpr const char* kFinalizer = "kubernetes";

bool holdsFinalizer(const json& ns) {
  const json fins = ns.value("spec", json::object()).value("finalizers", json::array());
  return std::find(fins.begin(), fins.end(), kFinalizer) != fins.end();
}

json condition(const std::string& type, bool on, const std::string& reason,
               const std::string& message, const std::string& now) {
  return {{"type", type},
          {"status", on ? "True" : "False"},
          {"reason", reason},
          {"message", message},
          {"lastTransitionTime", now}};
}

}  // namespace

NamespaceController::NamespaceController(server::ObjectService& objects)
    : objects_(objects), namespaces_(objects.kinds().byResource("", "v1", "namespaces")) {}

void NamespaceController::setup(ControllerManager& manager, WorkQueue& queue) {
  namespaceInformer_ = &manager.metadataInformer(*namespaces_);
  auto enqueueIfTerminating = [&queue](const CachedObject& ns) {
    if (beingDeleted(*ns)) queue.add(objectKey(*ns));
  };
  namespaceInformer_->addHandlers(
      {enqueueIfTerminating,
       [=](const CachedObject&, const CachedObject& ns) { enqueueIfTerminating(ns); }, nullptr});
  // Content leaving a terminating namespace may be what it waits for.
  Informer* namespaces = namespaceInformer_;
  auto onContentGone = [namespaces, &queue](const CachedObject& obj) {
    const std::string ns = obj->value("metadata", json::object()).value("namespace", "");
    auto cached = namespaces->get(ns);
    if (cached && beingDeleted(*cached)) queue.add(ns);
  };
  for (const auto& kind : objects_.kinds().all()) {
    if (kind.namespaced)
      manager.metadataInformer(kind).addHandlers({nullptr, nullptr, onContentGone});
  }
}

Status NamespaceController::sync(const std::string& key) {
  auto got = objects_.get(*namespaces_, "", key);
  if (!got.ok()) return got.status().code() == 404 ? Status::ok() : got.status();
  const json ns = (*got)->parse();
  if (!beingDeleted(ns) || !holdsFinalizer(ns)) return {};
  const Remaining left = deleteContent(key);
  writeConditions(ns, left);
  if (!left.failures.empty()) {
    return Status::internal("failed to delete all content of namespace " + key + ": " +
                            left.failures.front());
  }
  if (left.objects > 0) {
    return Status::conflict("namespace " + key + " still has " + std::to_string(left.objects) +
                            " object(s) being deleted");
  }
  return finalize(ns);
}

NamespaceController::Remaining NamespaceController::deleteContent(const std::string& ns) {
  Remaining left;
  for (const auto& kind : objects_.kinds().all()) {
    if (!kind.namespaced) continue;
    auto listed = objects_.list(kind, ns, {});
    if (!listed.ok()) {
      left.failures.push_back(kind.qualifiedResource() + ": " + listed.status().message());
      continue;
    }
    for (const auto& item : listed->items) {
      const json obj = item->parse();
      const json& meta = obj["metadata"];
      ++left.objects;
      // Deleting again what is already marked would only rewrite it.
      if (meta.contains("deletionTimestamp")) continue;
      auto removed = objects_.remove(kind, ns, meta.value("name", ""), {});
      if (removed.ok() && removed->deletedNow) --left.objects;
      if (!removed.ok() && removed.status().code() == 404) --left.objects;
      if (!removed.ok() && removed.status().code() != 404) {
        left.failures.push_back(kind.qualifiedResource() + ": " + removed.status().message());
      }
    }
  }
  return left;
}

void NamespaceController::writeConditions(const json& ns, const Remaining& left) {
  const std::string now = server::formatTime(objects_.now());
  std::string failures;
  for (const auto& f : left.failures) failures += (failures.empty() ? "" : "; ") + f;
  const std::string remaining =
      left.objects == 0 ? "All content successfully removed"
                        : std::to_string(left.objects) + " object(s) are still being deleted";
  std::map<std::string, json> wanted = {
      {"NamespaceDeletionContentFailure",
       condition("NamespaceDeletionContentFailure", !left.failures.empty(),
                 left.failures.empty() ? "ContentDeleted" : "ContentDeletionFailed",
                 left.failures.empty() ? "All content successfully deleted" : failures, now)},
      {"NamespaceContentRemaining",
       condition("NamespaceContentRemaining", left.objects > 0,
                 left.objects > 0 ? "SomeResourcesRemain" : "ContentRemoved", remaining, now)},
  };
  json status = ns.value("status", json::object());
  json conditions = json::array();
  for (const auto& c : status.value("conditions", json::array())) {
    auto it = wanted.find(c.value("type", ""));
    if (it == wanted.end()) {
      conditions.push_back(c);
      continue;
    }
    // Keep the transition time while the condition's status stays the same.
    if (c.value("status", "") == it->second["status"]) {
      it->second["lastTransitionTime"] = c.value("lastTransitionTime", now);
    }
  }
  for (auto& [type, c] : wanted) conditions.push_back(std::move(c));
  if (conditions == status.value("conditions", json::array())) return;
  json body = ns;
  body["metadata"].erase("resourceVersion");
  body["status"]["conditions"] = std::move(conditions);
  server::WriteOptions options;
  options.subresource = "status";
  objects_.update(*namespaces_, "", ns["metadata"].value("name", ""), std::move(body), options);
}

Status NamespaceController::finalize(const json& ns) {
  json body = ns;
  body["metadata"].erase("resourceVersion");
  json kept = json::array();
  for (const auto& f : ns["spec"].value("finalizers", json::array())) {
    if (f != kFinalizer) kept.push_back(f);
  }
  body["spec"]["finalizers"] = std::move(kept);
  server::WriteOptions options;
  options.subresource = "finalize";
  auto r =
      objects_.update(*namespaces_, "", ns["metadata"].value("name", ""), std::move(body), options);
  if (!r.ok() && r.status().code() != 404) return r.status();
  return {};
}

}  // namespace kd::controllers

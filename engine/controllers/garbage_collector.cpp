#include "engine/controllers/garbage_collector.h"

#include <algorithm>

#include "engine/controllers/controller_manager.h"

namespace kd::controllers {
namespace {

constexpr const char* kOrphan = "orphan";
constexpr const char* kForeground = "foregroundDeletion";

bool hasFinalizer(const json& meta, const char* finalizer) {
  const json fins = meta.value("finalizers", json::array());
  return std::find(fins.begin(), fins.end(), finalizer) != fins.end();
}

bool isNotFound(const Status& st) {
  return st.code() == 404;
}

}  // namespace

GarbageCollector::GarbageCollector(server::ObjectService& objects) : objects_(objects) {}

std::vector<GarbageCollector::OwnerRef> GarbageCollector::ownersOf(const json& meta) {
  std::vector<OwnerRef> owners;
  for (const auto& ref : meta.value("ownerReferences", json::array())) {
    owners.push_back({ref.value("uid", ""), ref.value("apiVersion", ""), ref.value("kind", ""),
                      ref.value("name", ""), ref.value("blockOwnerDeletion", false)});
  }
  return owners;
}

void GarbageCollector::setup(ControllerManager& manager, WorkQueue& queue) {
  queue_ = &queue;
  for (const auto& kind : objects_.kinds().all()) {
    const api::KindInfo* k = &kind;
    manager.metadataInformer(kind).addHandlers({
        [this, k](const CachedObject& obj) { observe(*k, obj, false); },
        [this, k](const CachedObject&, const CachedObject& obj) { observe(*k, obj, false); },
        [this, k](const CachedObject& obj) { observe(*k, obj, true); },
    });
  }
}

std::vector<std::string> GarbageCollector::dependentsOf(const std::string& ownerUid) const {
  std::lock_guard lock(mu_);
  auto it = dependents_.find(ownerUid);
  if (it == dependents_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

void GarbageCollector::observe(const api::KindInfo& kind, const CachedObject& obj, bool deleted) {
  const json meta = obj->value("metadata", json::object());
  const std::string uid = meta.value("uid", "");
  if (uid.empty()) return;
  Node node{&kind, meta.value("namespace", ""), meta.value("name", ""), ownersOf(meta)};
  const bool deleting = meta.contains("deletionTimestamp");
  std::vector<std::string> toQueue;
  std::lock_guard lock(mu_);
  auto it = nodes_.find(uid);
  const bool known = it != nodes_.end();
  std::vector<std::string> oldOwners;
  if (known) {
    for (const auto& o : it->second.owners) oldOwners.push_back(o.uid);
  }
  for (const auto& o : oldOwners) {
    auto d = dependents_.find(o);
    if (d == dependents_.end()) continue;
    d->second.erase(uid);
    if (d->second.empty()) dependents_.erase(d);
  }
  std::vector<std::string> newOwners;
  for (const auto& o : node.owners) newOwners.push_back(o.uid);
  const bool ownersChanged = oldOwners != newOwners;
  auto deps = dependents_.find(uid);
  // Dependents of a gone or departing owner must re-check their owners.
  if ((deleted || deleting) && deps != dependents_.end()) {
    toQueue.insert(toQueue.end(), deps->second.begin(), deps->second.end());
  }
  // An owner in foreground deletion may be waiting for this dependent to go.
  if (deleted || ownersChanged) toQueue.insert(toQueue.end(), oldOwners.begin(), oldOwners.end());
  if (deleted) {
    if (known) nodes_.erase(it);
  } else {
    for (const auto& o : newOwners) dependents_[o].insert(uid);
    if (!node.owners.empty() && (!known || ownersChanged)) toQueue.push_back(uid);
    if (deleting && (hasFinalizer(meta, kOrphan) || hasFinalizer(meta, kForeground))) {
      toQueue.push_back(uid);
    }
    nodes_[uid] = std::move(node);
  }
  for (const auto& u : toQueue) queue_->add(u);
}

Status GarbageCollector::sync(const std::string& uid) {
  Node node;
  {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(uid);
    if (it == nodes_.end()) return {};
    node = it->second;
  }
  auto live = objects_.get(*node.kind, node.ns, node.name);
  if (!live.ok()) return isNotFound(live.status()) ? Status::ok() : live.status();
  const json obj = (*live)->parse();
  const json& meta = obj["metadata"];
  if (meta.value("uid", "") != uid) return {};  // the name now holds another object
  if (meta.contains("deletionTimestamp")) {
    if (hasFinalizer(meta, kOrphan)) return orphanDependents(uid, node);
    if (hasFinalizer(meta, kForeground)) return processDeletingDependents(uid, node);
    return {};
  }
  node.owners = ownersOf(meta);  // the graph may lag the object
  if (node.owners.empty()) return {};
  return attemptToDelete(uid, node);
}

Status GarbageCollector::orphanDependents(const std::string& uid, const Node& owner) {
  std::vector<std::pair<std::string, Node>> deps;
  {
    std::lock_guard lock(mu_);
    if (auto d = dependents_.find(uid); d != dependents_.end()) {
      for (const auto& dep : d->second) {
        if (auto n = nodes_.find(dep); n != nodes_.end()) deps.emplace_back(dep, n->second);
      }
    }
  }
  for (const auto& [depUid, dep] : deps) {
    if (Status st = removeOwnerRefs(depUid, dep, {uid}); !st.isOk()) return st;
  }
  return removeFinalizer(uid, owner, kOrphan);
}

Status GarbageCollector::processDeletingDependents(const std::string& uid, const Node& owner) {
  std::vector<std::string> deps;
  bool blocked = false;
  {
    std::lock_guard lock(mu_);
    if (auto d = dependents_.find(uid); d != dependents_.end()) {
      for (const auto& dep : d->second) {
        auto n = nodes_.find(dep);
        if (n == nodes_.end()) continue;
        deps.push_back(dep);
        for (const auto& ref : n->second.owners) {
          if (ref.uid == uid && ref.blockOwnerDeletion) blocked = true;
        }
      }
    }
  }
  if (!blocked) return removeFinalizer(uid, owner, kForeground);
  // Each dependent sees this owner waiting and deletes itself; its deletion requeues us.
  for (const auto& dep : deps) queue_->add(dep);
  return {};
}

GarbageCollector::Classified GarbageCollector::classify(const Node& node) const {
  Classified c;
  for (const auto& ref : node.owners) {
    const api::KindInfo* kind = objects_.kinds().byKind(ref.apiVersion, ref.kind);
    // An owner we cannot resolve (unknown kind, or a namespaced owner of a cluster-scoped
    // object) is never taken as gone: deleting on a guess would lose data.
    if (!kind || (kind->namespaced && !node.kind->namespaced)) {
      c.solid.insert(ref.uid);
      continue;
    }
    auto owner = objects_.get(*kind, kind->namespaced ? node.ns : "", ref.name);
    if (!owner.ok()) {
      (isNotFound(owner.status()) ? c.dangling : c.solid).insert(ref.uid);
      continue;
    }
    const json meta = (*owner)->parse().value("metadata", json::object());
    if (meta.value("uid", "") != ref.uid) {
      c.dangling.insert(ref.uid);
    } else if (meta.contains("deletionTimestamp") && hasFinalizer(meta, kForeground)) {
      c.waiting.insert(ref.uid);
    } else {
      c.solid.insert(ref.uid);
    }
  }
  return c;
}

Status GarbageCollector::attemptToDelete(const std::string& uid, const Node& node) {
  const Classified c = classify(node);
  if (!c.solid.empty()) {
    std::set<std::string> stale = c.dangling;
    stale.insert(c.waiting.begin(), c.waiting.end());
    if (stale.empty()) return {};
    return removeOwnerRefs(uid, node, stale);
  }
  bool hasDependents = false;
  {
    std::lock_guard lock(mu_);
    hasDependents = dependents_.contains(uid);
  }
  // An owner waiting for its dependents makes this one go in foreground too, so the wait
  // covers the whole tree below it.
  return deleteObject(uid, node, !c.waiting.empty() && hasDependents ? "Foreground" : "Background");
}

Status GarbageCollector::removeOwnerRefs(const std::string& uid, const Node& node,
                                         const std::set<std::string>& owners) {
  return stripMetadataList(uid, node, "ownerReferences",
                           [&](const json& ref) { return owners.contains(ref.value("uid", "")); });
}

Status GarbageCollector::removeFinalizer(const std::string& uid, const Node& node,
                                         const std::string& finalizer) {
  return stripMetadataList(uid, node, "finalizers", [&](const json& f) { return f == finalizer; });
}

Status GarbageCollector::stripMetadataList(const std::string& uid, const Node& node,
                                           const char* field,
                                           const std::function<bool(const json&)>& drop) {
  auto live = objects_.get(*node.kind, node.ns, node.name);
  if (!live.ok()) return isNotFound(live.status()) ? Status::ok() : live.status();
  const json obj = (*live)->parse();
  const json& meta = obj["metadata"];
  if (meta.value("uid", "") != uid) return {};
  const json current = meta.value(field, json::array());
  json kept = json::array();
  for (const auto& item : current) {
    if (!drop(item)) kept.push_back(item);
  }
  if (kept.size() == current.size()) return {};
  // The resourceVersion makes the patch conditional: a concurrent writer means a retry.
  json patch = {{"metadata",
                 {{"resourceVersion", meta.value("resourceVersion", "")},
                  {field, kept.empty() ? json(nullptr) : kept}}}};
  auto r = objects_.patch(*node.kind, node.ns, node.name, api::PatchType::Merge, patch, {});
  return r.ok() || isNotFound(r.status()) ? Status::ok() : r.status();
}

Status GarbageCollector::deleteObject(const std::string& uid, const Node& node,
                                      const std::string& policy) {
  server::DeleteOptions options;
  options.propagationPolicy = policy;
  options.preconditionUid = uid;
  auto r = objects_.remove(*node.kind, node.ns, node.name, options);
  // 409 here means the uid precondition failed: the object we meant is gone already.
  if (r.ok() || isNotFound(r.status()) || r.status().code() == 409) return {};
  return r.status();
}

}  // namespace kd::controllers

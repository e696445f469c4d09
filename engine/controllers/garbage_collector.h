#pragma once
// The garbage collector: metadata.ownerReferences semantics as in Kubernetes, for every kind
// in the registry. Owners are identified by uid.
//   - Background: a dependent whose owners are all gone (absent, or the name now holds an
//     object with another uid) is deleted; one that still has a live owner only loses the
//     references to the gone owners.
//   - Foreground: an owner marked for deletion with the "foregroundDeletion" finalizer has
//     its dependents deleted (in foreground too when they have dependents of their own); the
//     finalizer is removed once no dependent that blocks (blockOwnerDeletion: true) remains.
//   - Orphan: an owner marked for deletion with the "orphan" finalizer has its reference
//     removed from every dependent, then the finalizer.
// Metadata-only informers on all kinds feed an owner → dependents graph; handlers only update the
// graph and enqueue uids. sync(uid) re-reads the object and each owner through ObjectService before
// deleting or patching anything, so a lagging cache never causes a wrong deletion.
// Queue key: the object's metadata.uid.

#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/controllers/controller.h"
#include "engine/controllers/informer.h"
#include "engine/server/object_service.h"

namespace kd::controllers {

class GarbageCollector : public Controller {
 public:
  explicit GarbageCollector(server::ObjectService& objects);

  std::string name() const override { return "garbagecollector"; }
  void setup(ControllerManager& manager, WorkQueue& queue) override;
  Status sync(const std::string& uid) override;
  int workers() const override { return 2; }

  // uids of the objects the graph holds as dependents of `ownerUid` (for tests and status).
  std::vector<std::string> dependentsOf(const std::string& ownerUid) const;

 private:
  struct OwnerRef {
    std::string uid, apiVersion, kind, name;
    bool blockOwnerDeletion = false;
  };
  struct Node {
    const api::KindInfo* kind = nullptr;
    std::string ns, name;
    std::vector<OwnerRef> owners;
  };
  struct Classified {
    std::set<std::string> solid, dangling, waiting;  // owner uids
  };

  static std::vector<OwnerRef> ownersOf(const json& meta);
  void observe(const api::KindInfo& kind, const CachedObject& obj, bool deleted);
  Status orphanDependents(const std::string& uid, const Node& owner);
  Status processDeletingDependents(const std::string& uid, const Node& owner);
  Status attemptToDelete(const std::string& uid, const Node& node);
  Classified classify(const Node& node) const;
  Status removeOwnerRefs(const std::string& uid, const Node& node,
                         const std::set<std::string>& ownerUids);
  Status removeFinalizer(const std::string& uid, const Node& node, const std::string& finalizer);
  // Drops the items of metadata.<field> that `drop` selects, conditional on the object's
  // resourceVersion; a missing or replaced object counts as done.
  Status stripMetadataList(const std::string& uid, const Node& node, const char* field,
                           const std::function<bool(const json&)>& drop);
  Status deleteObject(const std::string& uid, const Node& node, const std::string& policy);

  server::ObjectService& objects_;
  WorkQueue* queue_ = nullptr;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Node> nodes_;                                  // by uid
  std::unordered_map<std::string, std::unordered_set<std::string>> dependents_;  // owner uid →
};

}  // namespace kd::controllers

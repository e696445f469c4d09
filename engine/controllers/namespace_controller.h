#pragma once
// The namespace controller: empties a namespace marked for deletion, then releases it.
// For a namespace with a deletionTimestamp whose spec.finalizers still hold "kubernetes", sync
// deletes every object of every namespaced kind in it (as `kubectl delete --all` would, so
// pods get their grace period and finalizers are honoured), requeues until nothing is left,
// and then drops "kubernetes" through the namespaces/finalize subresource; the API then
// removes the namespace once no other finalizer holds it. The namespace's status conditions
// tell what is still there (NamespaceContentRemaining, NamespaceDeletionContentFailure, ...).
// Queue key: the namespace name.

#include "engine/controllers/controller.h"
#include "engine/controllers/informer.h"
#include "engine/server/object_service.h"

namespace kd::controllers {

class NamespaceController : public Controller {
 public:
  explicit NamespaceController(server::ObjectService& objects);

  std::string name() const override { return "namespace"; }
  void setup(ControllerManager& manager, WorkQueue& queue) override;
  Status sync(const std::string& key) override;

 private:
  struct Remaining {
    size_t objects = 0;
    std::vector<std::string> failures;  // "<resource>: <message>"
  };
  // Deletes what is left in `ns`; counts what is still there afterwards.
  Remaining deleteContent(const std::string& ns);
  Status finalize(const json& ns);
  void writeConditions(const json& ns, const Remaining& left);

  server::ObjectService& objects_;
  const api::KindInfo* namespaces_;
  Informer* namespaceInformer_ = nullptr;
};

}  // namespace kd::controllers

#include "engine/controllers/serviceaccount_controller.h"

#include "engine/controllers/controller_manager.h"
#include "engine/controllers/object_fields.h"

namespace kd::controllers {
namespace {

constexpr const char* kDefault = "default";

}  // namespace

ServiceAccountController::ServiceAccountController(server::ObjectService& objects)
    : objects_(objects),
      namespaces_(objects.kinds().byResource("", "v1", "namespaces")),
      accounts_(objects.kinds().byResource("", "v1", "serviceaccounts")) {}

void ServiceAccountController::setup(ControllerManager& manager, WorkQueue& queue) {
  namespaceInformer_ = &manager.metadataInformer(*namespaces_);
  accountInformer_ = &manager.metadataInformer(*accounts_);
  auto enqueueNamespace = [&queue](const CachedObject& ns) {
    if (!beingDeleted(*ns)) queue.add(objectKey(*ns));
  };
  namespaceInformer_->addHandlers(
      {enqueueNamespace, [=](const CachedObject&, const CachedObject& ns) { enqueueNamespace(ns); },
       nullptr});
  auto enqueueIfDefault = [&queue](const CachedObject& account) {
    if (nameOf(*account) == kDefault) queue.add(namespaceOf(*account));
  };
  accountInformer_->addHandlers({nullptr, nullptr, enqueueIfDefault});
}

Status ServiceAccountController::sync(const std::string& key) {
  auto ns = namespaceInformer_->get(key);
  if (!ns || beingDeleted(*ns)) return {};
  if (accountInformer_->get(key, kDefault)) return {};
  const json account = {{"apiVersion", "v1"},
                        {"kind", "ServiceAccount"},
                        {"metadata", {{"name", kDefault}, {"namespace", key}}}};
  auto created = objects_.create(*accounts_, key, account, {});
  if (created.ok() || created.status().code() == 409) return {};
  // A namespace that began terminating since the cache saw it refuses new objects: nothing to do.
  if (created.status().code() == 403) return {};
  return created.status();
}

}  // namespace kd::controllers

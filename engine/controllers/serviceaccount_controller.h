#pragma once
// The serviceaccount controller: every namespace that is not terminating has a ServiceAccount
// named `default`, created with the namespace and again whenever it is deleted, as
// kube-controller-manager's serviceaccount controller keeps it. Pods run as it unless they name
// another account (KindStrategies' ServiceAccount admission). Queue key: the namespace name.

#include "engine/controllers/controller.h"
#include "engine/controllers/informer.h"
#include "engine/server/object_service.h"

namespace kd::controllers {

class ServiceAccountController : public Controller {
 public:
  explicit ServiceAccountController(server::ObjectService& objects);

  std::string name() const override { return "serviceaccount"; }
  void setup(ControllerManager& manager, WorkQueue& queue) override;
  Status sync(const std::string& key) override;

 private:
  server::ObjectService& objects_;
  const api::KindInfo* namespaces_;
  const api::KindInfo* accounts_;
  Informer* namespaceInformer_ = nullptr;
  Informer* accountInformer_ = nullptr;
};

}  // namespace kd::controllers

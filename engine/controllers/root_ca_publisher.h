#pragma once
// The root-ca-cert-publisher controller: every namespace that is not terminating has a
// ConfigMap `kube-root-ca.crt` whose `ca.crt` is the API server's CA (the profile's ca.crt),
// created with the namespace, put back when deleted and reset when changed, as
// kube-controller-manager's publisher keeps it. Pods read it through their token volume
// (server/token_volume.h) to verify the API server. Queue key: the namespace name.

#include <string>

#include "engine/controllers/controller.h"
#include "engine/controllers/informer.h"
#include "engine/server/object_service.h"

namespace kd::controllers {

inline constexpr const char* kRootCaConfigMap = "kube-root-ca.crt";

class RootCaPublisher : public Controller {
 public:
  // `caCertPem` is the CA bundle published.
  RootCaPublisher(server::ObjectService& objects, std::string caCertPem);

  std::string name() const override { return "root-ca-cert-publisher"; }
  void setup(ControllerManager& manager, WorkQueue& queue) override;
  Status sync(const std::string& key) override;

 private:
  json wanted(const std::string& ns) const;

  server::ObjectService& objects_;
  std::string caCertPem_;
  const api::KindInfo* namespaces_;
  const api::KindInfo* configMaps_;
  Informer* namespaceInformer_ = nullptr;
};

}  // namespace kd::controllers

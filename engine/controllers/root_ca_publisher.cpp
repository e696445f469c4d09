#include "engine/controllers/root_ca_publisher.h"

#include "engine/controllers/controller_manager.h"
#include "engine/controllers/object_fields.h"

namespace kd::controllers {
namespace {

constexpr const char* kDescription =
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
    "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
    "guaranteed across distributions of Kubernetes clusters.";

}  // namespace

RootCaPublisher::RootCaPublisher(server::ObjectService& objects, std::string caCertPem)
    : objects_(objects),
      caCertPem_(std::move(caCertPem)),
      namespaces_(objects.kinds().byResource("", "v1", "namespaces")),
      configMaps_(objects.kinds().byResource("", "v1", "configmaps")) {}

void RootCaPublisher::setup(ControllerManager& manager, WorkQueue& queue) {
  namespaceInformer_ = &manager.metadataInformer(*namespaces_);
  auto enqueueNamespace = [&queue](const CachedObject& ns) {
    if (!beingDeleted(*ns)) queue.add(objectKey(*ns));
  };
  namespaceInformer_->addHandlers(
      {enqueueNamespace, [=](const CachedObject&, const CachedObject& ns) { enqueueNamespace(ns); },
       nullptr});
  auto enqueueIfOurs = [&queue](const CachedObject& map) {
    if (nameOf(*map) == kRootCaConfigMap) queue.add(namespaceOf(*map));
  };
  manager.metadataInformer(*configMaps_)
      .addHandlers({nullptr,
                    [=](const CachedObject&, const CachedObject& map) { enqueueIfOurs(map); },
                    enqueueIfOurs});
}

json RootCaPublisher::wanted(const std::string& ns) const {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata",
           {{"name", kRootCaConfigMap},
            {"namespace", ns},
            {"annotations", {{"kubernetes.io/description", kDescription}}}}},
          {"data", {{"ca.crt", caCertPem_}}}};
}

Status RootCaPublisher::sync(const std::string& key) {
  auto ns = namespaceInformer_->get(key);
  if (!ns || beingDeleted(*ns)) return {};
  auto current = objects_.get(*configMaps_, key, kRootCaConfigMap);
  if (!current.ok()) {
    if (current.status().code() != 404) return current.status();
    auto created = objects_.create(*configMaps_, key, wanted(key), {});
    // 409: made meanwhile (its event brings us back); 403: the namespace began terminating.
    if (created.ok() || created.status().code() == 409 || created.status().code() == 403) {
      return {};
    }
    return created.status();
  }
  json map = (*current)->parse();
  const json data = {{"ca.crt", caCertPem_}};
  if (map.value("data", json()) == data) return {};
  map["data"] = data;
  map.erase("binaryData");
  auto updated = objects_.update(*configMaps_, key, kRootCaConfigMap, map, {});
  return updated.ok() || updated.status().code() == 409 ? Status{} : updated.status();
}

}  // namespace kd::controllers

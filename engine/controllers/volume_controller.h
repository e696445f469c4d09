#pragma once
// PersistentVolumeClaims on a desktop cluster: the engine's default StorageClass `standard`
// (provisioner kubedesk.io/local-path, volumeBindingMode WaitForFirstConsumer, reclaimPolicy
// Delete) and the controller that provisions and binds, like Kubernetes' persistent volume
// controller together with rancher's local-path provisioner:
//   - A Pending claim of a class with our provisioner gets a PersistentVolumeClaim-sized
//     PersistentVolume "pvc-<claim uid>": a hostPath directory under
//     /var/lib/kubedesk/local-path on one node, pinned there with a required node affinity on
//     kubernetes.io/hostname. With WaitForFirstConsumer the node is the one the scheduler
//     bound the claim's first pod to (until then: a WaitForFirstConsumer event); with
//     Immediate it is provisioned at once without a node pin.
//   - Binding writes the claim (spec.volumeName, bind-completed annotations, status Bound
//     with capacity and access modes) and the volume (claimRef, status Bound).
//   - A Pending claim of another class binds to an Available volume of that class whose
//     capacity and access modes suffice (smallest first), as static provisioning does.
//   - When a bound claim is deleted its volume is Released; with reclaimPolicy Delete it is
//     deleted (the node agent removes the directory when it sees the volume gone).
// Events (component "persistentvolume-controller"): WaitForFirstConsumer,
// ProvisioningSucceeded. Queue keys: "claim:<ns>/<name>" and "volume:<name>".

#include "engine/controllers/controller.h"
#include "engine/controllers/event_recorder.h"
#include "engine/controllers/informer.h"
#include "engine/server/object_service.h"

namespace kd::controllers {

inline constexpr const char* kLocalPathProvisioner = "kubedesk.io/local-path";
inline constexpr const char* kLocalPathRoot = "/var/lib/kubedesk/local-path";

// The default StorageClass the engine creates at bootstrap.
json defaultStorageClass();

class VolumeController : public Controller {
 public:
  explicit VolumeController(server::ObjectService& objects);

  std::string name() const override { return "persistentvolume"; }
  void setup(ControllerManager& manager, WorkQueue& queue) override;
  Status sync(const std::string& key) override;

 private:
  Status syncClaim(const std::string& key);
  Status syncVolume(const std::string& name);
  // The node the claim's first scheduled consumer runs on, or "".
  std::string consumerNode(const json& claim) const;
  Result<json> provision(const json& claim, const json& storageClass, const std::string& node);
  CachedObject matchingVolume(const json& claim) const;
  Status bind(const json& claim, const json& volume);

  server::ObjectService& objects_;
  const api::KindInfo* claims_;
  const api::KindInfo* volumes_;
  const api::KindInfo* pods_;
  const api::KindInfo* classes_;
  Informer* claimInformer_ = nullptr;
  Informer* volumeInformer_ = nullptr;
  Informer* podInformer_ = nullptr;
  Informer* classInformer_ = nullptr;
  EventRecorder events_;
};

}  // namespace kd::controllers

#pragma once
// The endpoints controllers: for every Service with a selector, keeps the Endpoints object of
// the same name and the Service's EndpointSlices (discovery.k8s.io/v1) in step with the pods
// the selector matches, as Kubernetes' endpoints and endpointslice controllers do. One
// controller writes both, from one computation, so the two never disagree.
//
//   - A pod counts once it has a podIP and has not finished (Succeeded/Failed). Ready pods are
//     `addresses`, the others `notReadyAddresses` (all of them `addresses` when the Service sets
//     publishNotReadyAddresses). Pods marked for deletion leave Endpoints; in slices they stay
//     with conditions ready=false, serving=<ready>, terminating=true.
//   - Each Service port resolves its targetPort per pod: a number as is, a name through the
//     pod's container ports (a pod without that named port is left out of that port), absent =
//     the Service port. Pods resolving to the same port set share a subset / slice; a slice
//     holds at most 100 endpoints.
//   - Endpoints carry the Service's labels (plus service.kubernetes.io/headless for headless
//     Services); slices carry kubernetes.io/service-name, the managed-by label and a
//     controller ownerReference to the Service, so deleting the Service removes them.
//   - Services without a selector (and ExternalName Services) are left alone: their Endpoints
//     belong to whoever wrote them. Objects are only written when their content changes.
// Queue key: "namespace/name" of the Service.

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "engine/controllers/controller.h"
#include "engine/controllers/informer.h"
#include "engine/server/object_service.h"

namespace kd::controllers {

// The label and value that mark slices this controller manages.
inline constexpr const char* kServiceNameLabel = "kubernetes.io/service-name";
inline constexpr const char* kSliceManagedByLabel = "endpointslice.kubernetes.io/managed-by";
inline constexpr const char* kSliceManagedBy = "endpointslice-controller.k8s.io";

class EndpointsController : public Controller {
 public:
  explicit EndpointsController(server::ObjectService& objects, int maxEndpointsPerSlice = 100);

  std::string name() const override { return "endpoints"; }
  void setup(ControllerManager& manager, WorkQueue& queue) override;
  Status sync(const std::string& key) override;

 private:
  void enqueueServicesOf(const json& pod);
  Status syncEndpoints(const json& service, const json& subsets);
  Status syncSlices(const json& service, const json& groups);
  Status removeOwned(const std::string& ns, const std::string& name);
  // True while a slice this controller created for the service `key` is not yet in the slice
  // informer's cache: acting on that cache would create a second slice for the same endpoints
  // (client-go's endpointSliceTracker guards the same). The slice's ADDED event syncs again.
  bool awaitingOwnSlices(const std::string& key, const std::string& ns);

  server::ObjectService& objects_;
  int maxEndpointsPerSlice_;
  const api::KindInfo* services_;
  const api::KindInfo* pods_;
  const api::KindInfo* endpoints_;
  const api::KindInfo* slices_;
  Informer* serviceInformer_ = nullptr;
  Informer* podInformer_ = nullptr;
  Informer* endpointsInformer_ = nullptr;
  Informer* sliceInformer_ = nullptr;
  WorkQueue* queue_ = nullptr;
  struct CreatedSlice {
    std::string name;
    std::chrono::steady_clock::time_point at;
  };
  std::mutex createdMu_;
  std::map<std::string, std::vector<CreatedSlice>> unseenSlices_;  // by service key
};

}  // namespace kd::controllers

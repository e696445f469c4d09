#pragma once
// The engine's default load balancer: what a cloud provider's service controller (or k3s's
// ServiceLB, or Docker Desktop's localhost proxy) does for a desktop cluster. Every Service of
// type LoadBalancer without a spec.loadBalancerClass gets a listener on 127.0.0.1 at each of
// its TCP `port`s, for as long as it is of that type:
//
//   - An accepted connection goes to one ready endpoint of the Service, round robin over the
//     ready endpoints of its EndpointSlices (in slice-name order), at the slice port matching
//     the Service port's name: the pod's targetPort. It travels over pods/portforward of the
//     engine's own API server, through the pod's node agent's reverse tunnel
//     (client/port_forward_pool.h), so it works for every driver, pod IPs routable or not.
//     With no ready endpoint the connection is closed at once.
//   - status.loadBalancer.ingress becomes [{ip: 127.0.0.1, ipMode: VIP, ports: [{port,
//     protocol, error}]}] once the listeners are up, written through services/status. A port
//     that cannot be had carries an error reason (kubedesk.io/PortInUse, PortNotPermitted,
//     ProtocolNotSupported for UDP and SCTP, ListenFailed), with a Warning SyncLoadBalancerFailed
//     event whose message says why; bind failures are retried (5 s doubling to 5 min, the
//     service controller's back-off). EnsuringLoadBalancer / EnsuredLoadBalancer and
//     DeletingLoadBalancer / DeletedLoadBalancer events as the service controller records them.
//   - A Service that stops being of type LoadBalancer has its listeners closed and its
//     status.loadBalancer cleared; a deleted one has its listeners closed. Listeners live in the
//     engine process: an engine that starts again opens them for the Services it finds.
//
// A Controller (engine/controllers/controller.h) run by the ControllerManager on the shared
// Service, EndpointSlice and Pod informers. Queue keys: "namespace/name" of a Service, and
// "pods:namespace/name" for a deleted pod, whose port-forward session is then ended.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "engine/client/api_client.h"
#include "engine/controllers/controller.h"
#include "engine/server/object_service.h"

namespace kd::server {

struct LoadBalancerProxyOptions {
  std::string address = "127.0.0.1";  // where listeners bind, and the ingress IP
  // The client that reaches pods over pods/portforward (an admin of this engine), or null
  // while the API server is not serving yet. Must stay valid while the proxy lives.
  std::function<const client::ApiClient*()> apiClient;
  // Back-off of a Service whose ports could not all be bound.
  std::chrono::milliseconds retryBase{5000}, retryMax{300000};
};

class LoadBalancerProxy : public controllers::Controller {
 public:
  LoadBalancerProxy(ObjectService& objects, LoadBalancerProxyOptions options);
  ~LoadBalancerProxy() override;  // closes every listener and ends every session

  std::string name() const override { return "service-lb"; }
  void setup(controllers::ControllerManager& manager, controllers::WorkQueue& queue) override;
  Status sync(const std::string& key) override;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace kd::server

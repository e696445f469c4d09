#pragma once
// The node IPAM controller: gives every Node a pod CIDR, as the node-ipam controller of
// kube-controller-manager does with --allocate-node-cidrs (range allocator).
//
//   - The cluster CIDR (default 10.244.0.0/16) is cut into subnets of `nodeMaskSize` bits
//     (default /24); a Node without spec.podCIDR gets the lowest free one in spec.podCIDR and
//     spec.podCIDRs. A Node that already has one (set by its creator) keeps it, and that subnet
//     is taken.
//   - When every subnet is taken the Node gets a CIDRNotAvailable event and the key is retried
//     with back-off, so a deleted Node's subnet is handed on.
//   - A subnet is free again once its Node is deleted. Allocations this controller made are
//     remembered until then, so informer lag never hands one subnet to two Nodes.
// Queue key: the node name.

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "engine/controllers/controller.h"
#include "engine/controllers/event_recorder.h"
#include "engine/controllers/informer.h"
#include "engine/server/object_service.h"

namespace kd::controllers {

struct NodeIpamOptions {
  std::string clusterCidr = "10.244.0.0/16";
  int nodeMaskSize = 24;
};

class NodeIpamController : public Controller {
 public:
  NodeIpamController(server::ObjectService& objects, NodeIpamOptions options = {});
  ~NodeIpamController() override;

  std::string name() const override { return "nodeipam"; }
  void setup(ControllerManager& manager, WorkQueue& queue) override;
  Status sync(const std::string& key) override;

 private:
  // The lowest subnet no Node holds, as "a.b.c.d/n", or nullopt.
  std::optional<std::string> freeSubnet();

  server::ObjectService& objects_;
  NodeIpamOptions options_;
  const api::KindInfo* nodes_;
  Informer* nodeInformer_ = nullptr;
  EventRecorder recorder_;
  std::mutex mu_;
  std::map<std::string, std::string> allocated_;  // node name -> subnet it was given here
};

}  // namespace kd::controllers

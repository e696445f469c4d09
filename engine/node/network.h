#pragma once
// Pod networking on a node, done the way the bridge CNI plugin with host-local IPAM does it:
// a bridge `kd0` in the node's network namespace holding the first address of the node's
// podCIDR; per pod a veth pair whose pod end is `eth0` in the pod's network namespace with an
// IP from the podCIDR and a default route via the bridge. Pods on other nodes are reached
// through routes "<their podCIDR> via <their node's InternalIP>" (host-gw style), which
// NodeNetwork keeps in step with the Nodes it sees. All of it is done with iproute2.
//
// Pod networking is on only when the driver asks for it by writing <state>/network/node.json,
// so an agent started by hand (or by a test) never changes the host's network. The node's
// network namespace is the one named there as {"netns": "<name under /run/netns>"} (the local
// driver: the agent stays in the host namespace so it reaches the engine on 127.0.0.1, and only
// the node's network — its address, bridge, routes and pods — lives in the named namespace),
// or the agent's own when the name is "" (a VM node). Without node.json pods have loopback
// only and no podIP, as before.
//
// State under <state>/network/, so an agent restart keeps every IP and never hands one out
// twice:
//   pod-cidr       the podCIDR the bridge was set up for; pods can be attached once it exists
//   ips/<ip>       one file per pod IP in use, holding the pod's uid (created O_EXCL, so
//                  concurrent pod workers never take the same IP)
//   last-reserved  the last IP handed out; allocation continues after it, so a released IP is
//                  reused only once the range has gone round

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "engine/api/status.h"
#include "engine/client/api_client.h"

namespace kd::node {

// The pod IP of the pod `uid`, "" when it has none.
std::string podIp(const std::filesystem::path& stateDir, const std::string& uid);

// Gives the pod an IP (the one it already holds, if any) and an eth0 in `podNetns` (a path to a
// network namespace) with a default route via the bridge. Idempotent. 503 while the node has no
// pod network yet (no podCIDR). Returns the pod IP, "" when pod networking is off.
Result<std::string> attachPod(const std::filesystem::path& stateDir, const std::string& uid,
                              const std::string& podNetns);

// Removes the pod's veth pair and releases its IP. Idempotent.
Status detachPod(const std::filesystem::path& stateDir, const std::string& uid);

// The network namespace hostNetwork pods join ("/run/netns/<name>"), "" for the agent's own.
std::string nodeNetnsPath(const std::filesystem::path& stateDir);

// Creates (or repairs) the bridge for `podCidr` in the node's namespace, turns on IP
// forwarding there and records the podCIDR. Idempotent.
Status setUpBridge(const std::filesystem::path& stateDir, const std::string& podCidr);

// Makes the node's routes to other nodes' pods exactly `routes` (podCIDR -> node IP); routes
// this code did not add are left alone.
Status syncPodRoutes(const std::filesystem::path& stateDir,
                     const std::map<std::string, std::string>& routes);

// The agent's side of pod networking, on a thread of its own: waits for the Node's podCIDR
// (assigned by the engine's node IPAM controller), sets up the bridge, keeps the routes to the
// other nodes' podCIDRs, and publishes each pod's IP in its status (podIP, podIPs). Stops and
// joins in the destructor; what it set up stays (pods keep running across agent restarts).
class NodeNetwork {
 public:
  NodeNetwork(client::ApiClient& api, std::string nodeName, std::filesystem::path stateDir);
  ~NodeNetwork();
  NodeNetwork(const NodeNetwork&) = delete;
  NodeNetwork& operator=(const NodeNetwork&) = delete;

 private:
  void run();
  void syncNodes();
  void publishPodIps();

  client::ApiClient& api_;
  const std::string nodeName_;
  const std::filesystem::path stateDir_;
  std::string bridgeCidr_;                    // the podCIDR the bridge is set up for
  std::map<std::string, std::string> shown_;  // pod uid -> IP published in its status
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace kd::node

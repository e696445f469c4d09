#pragma once
// The local driver's node network. Each local node's network lives in a network namespace of
// its own, "kd-<profile>-mNN", whose eth0 is one end of a veth pair; the other end hangs on the
// profile's host bridge (kd-<profile>, or kd-<hash> for long profile names), so the nodes share
// one L2 segment as VMs on a cluster NIC do. Node addresses come from a /24 picked per profile
// (192.168.N.0/24 with N in 100..199 not otherwise in use on the host, recorded in
// <profile>/nodes/network.json so restarts keep it): the bridge holds .1, node i holds .(1+i).
//
// The node agent itself stays in the host network namespace, where it reaches the engine on
// 127.0.0.1; ensureLocalNodeNetwork tells it its node namespace through
// <state>/network/node.json (see engine/node/network.h), and the agent puts its pods there.

#include <filesystem>
#include <string>
#include <vector>

#include "engine/api/status.h"

namespace kd::vm {

struct LocalNodeNetwork {
  std::string netns;  // the node's network namespace (under /run/netns)
  std::string ip;     // the node's InternalIP
};

// Creates whatever is missing of the bridge, node `index`'s namespace, its veth pair and its
// address, and writes <stateDir>/network/node.json. Idempotent.
Result<LocalNodeNetwork> ensureLocalNodeNetwork(const std::filesystem::path& profileDir,
                                                const std::string& profile, int index,
                                                const std::filesystem::path& stateDir);

// Removes node `index`'s namespace and veth pair; the bridge and the other nodes stay.
// Idempotent; what is already gone is skipped.
void removeLocalNodeNetwork(const std::string& profile, int index);

// Removes the namespaces and veth pairs of the nodes `indices` and the profile's bridge.
// Idempotent; what is already gone is skipped.
void removeLocalNetwork(const std::string& profile, const std::vector<int>& indices);

}  // namespace kd::vm

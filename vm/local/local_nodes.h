#pragma once
// The local driver: a profile's nodes as `kubedesk-node` agents running as host processes (root),
// for machines where VMs are unavailable and for quick starts. Node i of profile P is named
// "P-mNN" (m01, m02, ...) and keeps its state under <profile dir>/nodes/mNN/: the agent's
// state directory, its log (agent.log), its pid file (agent.pid) and its own OCI runtime root
// (runc/), so stopping a node finds exactly its containers. Each node's network lives in a
// network namespace of its own on a per-profile host bridge (local_network.h); its address
// there is the node's InternalIP (--node-ip).
//
//   - startLocalNodes starts the agents that are not running (detached: they outlive kdctl)
//     and leaves running ones alone, so `kdctl start` on a running cluster is harmless.
//   - stopLocalNodes stops the agents (SIGTERM, then SIGKILL after the grace period), then
//     kills and deletes their containers: a stopped cluster runs nothing. Node state (pod
//     sandboxes, volumes) stays, so the next start brings the same nodes and pods back.
//   - deleteLocalNodes stops, unmounts everything the agents mounted, removes the nodes'
//     network namespaces, veth pairs and the bridge, and removes every node's state.
//   - deleteLocalNode does the same for one node (`kdctl node delete`), leaving the bridge and
//     the other nodes alone. Indices need not be contiguous: after m02 is deleted, m01 and m03
//     remain, and every call here finds the nodes by their state directories.
// Each agent gets a kubeconfig of its own (nodes/mNN/kubeconfig) with its node's bearer token,
// minted through the admin kubeconfig (node_credentials.h); the agents register their Nodes
// themselves.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/api/status.h"

namespace kd::vm {

struct LocalNodesOptions {
  std::filesystem::path profileDir;  // the profile's state directory (the engine's --data-dir)
  std::filesystem::path kubeconfig;  // an admin's: mints the agents' node tokens
  std::string profile;               // node names are "<profile>-mNN"
  int count = 1;                     // nodes 1..count, unless `indices` names them
  std::vector<int> indices;          // exactly these nodes (1-based) when not empty
  std::filesystem::path nodeBinary;  // kubedesk-node
  std::string runtime;               // "" = the agent auto-detects runc or crun
};

struct LocalNode {
  int index = 0;  // 1-based: "mNN"
  std::string name;
  std::filesystem::path dir;
  int pid = 0;  // 0 when the agent is not running
};

// "<profile>-mNN" for 1-based `index`.
std::string localNodeName(const std::string& profile, int index);

// The 1-based index of node `name` of `profile` ("<profile>-m02" -> 2), 0 when `name` is not
// one of the profile's node names.
int localNodeIndex(const std::string& profile, const std::string& name);

// The profile's local nodes (those with a state directory), running or not, by index.
std::vector<LocalNode> localNodes(const std::filesystem::path& profileDir,
                                  const std::string& profile);

// Starts the options' nodes that are not running. Fails when not root or the binary is missing.
Result<std::vector<LocalNode>> startLocalNodes(const LocalNodesOptions& options);

Status stopLocalNodes(const std::filesystem::path& profileDir, const std::string& profile,
                      std::chrono::milliseconds grace = std::chrono::seconds(10));

Status deleteLocalNodes(const std::filesystem::path& profileDir, const std::string& profile);

// Stops node `index` (agent, then its containers), unmounts what it mounted, removes its
// namespace and veth pair and its state directory. Idempotent.
Status deleteLocalNode(const std::filesystem::path& profileDir, const std::string& profile,
                       int index, std::chrono::milliseconds grace = std::chrono::seconds(10));

}  // namespace kd::vm

#pragma once
// The VM driver's node lifecycle: a profile's nodes as libvirt domains, shaped like the local
// driver (vm/local/local_nodes.h). Node i of profile P is named "P-mNN"; its domain is
// "kubedesk-P-mNN"; its files live under <profile dir>/nodes/mNN/:
//   disk.qcow2    the persistent data disk (images, containers, volumes), kept across stop/start
//   console.log   the serial console, appended across boots (`kdctl node logs`)
//   stop-requested  present from the moment the driver stops or deletes the node until it next
//                 starts it: the VM node monitor (vm_node_monitor.h) leaves such a node alone
//   fwcfg/        the values of the guest's fw_cfg entries:
//                   opt/kubedesk/node-name   "P-mNN"
//                   opt/kubedesk/node-ip     the cluster NIC's "IP/prefix"
//                   opt/kubedesk/kubeconfig  what the agent uses to reach the engine
//
//   - startLibvirtNodes defines the domains that are missing (and redefines the others, so a new
//     kernel or size applies at their next boot) and starts those not running; running ones are
//     left alone, so `kdctl start` on a running cluster is harmless.
//   - stopLibvirtNodes asks every guest to shut down (ACPI power button), waits up to the grace
//     period, then destroys the ones still running. Disks and definitions stay.
//   - deleteLibvirtNodes destroys and undefines the domains and removes every node's files,
//     including libvirt's per-domain qemu log.
//   - deleteLibvirtNode does the same for one node (`kdctl node delete`). Indices need not be
//     contiguous: the nodes are found by their directories.
// The caller runs the cluster switch (cluster_switch.h) the cluster NICs connect to.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/api/status.h"
#include "vm/libvirt/libvirt_connection.h"

namespace kd::vm {

struct LibvirtNodesOptions {
  std::filesystem::path profileDir;
  std::string profile;
  int count = 1;             // nodes 1..count, unless `indices` names them
  std::vector<int> indices;  // exactly these nodes (1-based) when not empty
  int cpus = 1;
  int memoryMiB = 512;
  std::string diskSize = "10G";  // qemu-img size of a new data disk
  std::filesystem::path kernel;
  std::filesystem::path initrd;
  std::filesystem::path rootDisk;  // the read-only root file system; empty: the initrd is the root
  std::string cmdline = "console=ttyS0 quiet";  // the guest kernel's command line
  bool kvm = false;                             // from probeKvm
  std::uint16_t switchPort = 0;                 // the cluster switch on 127.0.0.1
  std::string nodeNetwork = "192.168.77.";      // node i has <nodeNetwork>(10+i)/24
  // The kubeconfig text the agent of a node (by name) uses; unset = no kubeconfig entry.
  std::function<Result<std::string>(const std::string& nodeName)> kubeconfigFor;
};

struct LibvirtNode {
  int index = 0;       // 1-based: "mNN"
  std::string name;    // "P-mNN", the Kubernetes Node name
  std::string domain;  // "kubedesk-P-mNN"
  std::filesystem::path dir;
  std::string ip;  // the cluster NIC's address, without prefix
  DomainState state = DomainState::kMissing;
};

// "kubedesk-<profile>-mNN" for 1-based `index`.
std::string libvirtDomainName(const std::string& profile, int index);
// "<profile>-mNN", the Kubernetes Node name of node `index`.
std::string libvirtNodeName(const std::string& profile, int index);

// Whether the driver stopped node `index` on purpose (kdctl stop, node delete, delete): its
// stop-requested mark is there, or its directory is already gone.
bool libvirtNodeStopRequested(const std::filesystem::path& profileDir, int index);

// The indices of the profile's nodes: those with a directory nodes/mNN/, ascending.
std::vector<int> libvirtNodeIndices(const std::filesystem::path& profileDir);

// The profile's nodes (those with a directory) and the state of their domains.
Result<std::vector<LibvirtNode>> libvirtNodes(LibvirtConnection& libvirt,
                                              const std::filesystem::path& profileDir,
                                              const std::string& profile);

Result<std::vector<LibvirtNode>> startLibvirtNodes(LibvirtConnection& libvirt,
                                                   const LibvirtNodesOptions& options);

Status stopLibvirtNodes(LibvirtConnection& libvirt, const std::filesystem::path& profileDir,
                        const std::string& profile,
                        std::chrono::milliseconds grace = std::chrono::seconds(30));

Status deleteLibvirtNodes(LibvirtConnection& libvirt, const std::filesystem::path& profileDir,
                          const std::string& profile);

// Destroys and undefines node `index`'s domain and removes its files. Idempotent.
Status deleteLibvirtNode(LibvirtConnection& libvirt, const std::filesystem::path& profileDir,
                         const std::string& profile, int index);

}  // namespace kd::vm

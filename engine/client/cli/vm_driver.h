#pragma once
// kdctl's VM driver: a profile's nodes as libvirt domains that boot the node image
// (build/node-image, packaging/node-image) and join the engine, which serves their cluster
// network (kubedesk-engine --cluster-switch). Each agent gets its node's token in a kubeconfig
// that reaches the engine through the guest's user-mode NIC (https://10.0.2.2:PORT, verified as
// 127.0.0.1). Whether KVM runs guests is probed once per machine and remembered
// (<data root>/kvm-probe.json); otherwise the nodes run under TCG and the person is told why.

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "engine/api/status.h"

namespace kd::cli {

struct VmNodesRequest {
  std::filesystem::path dataRoot;    // ${XDG_DATA_HOME:-~/.local/share}/kubedesk
  std::filesystem::path profileDir;  // dataRoot/<profile>
  std::string profile;
  std::vector<int> indices = {1};  // the nodes to start, 1-based ("mNN")
  int cpus = 1;
  int memoryMiB = 512;
  std::uint16_t apiPort = 0;       // the engine's port on 127.0.0.1
  std::uint16_t switchPort = 0;    // the engine's cluster switch on 127.0.0.1
  std::filesystem::path imageDir;  // holds vmlinuz, initramfs.img and rootfs.img
};

struct VmNode {
  std::string name;
  std::filesystem::path consoleLog;
};

// Defines and boots the requested nodes that are not running (running ones are left alone);
// progress lines go to `out`. Returns the requested nodes, for the caller to wait for Ready.
Result<std::vector<VmNode>> startVmNodes(const VmNodesRequest& request, std::ostream& out);

// Shuts the profile's VMs down (ACPI, then destroy after the grace); disks stay.
Status stopVmNodes(const std::filesystem::path& profileDir, const std::string& profile);

// Destroys and undefines the profile's VMs and removes their disks and files.
Status deleteVmNodes(const std::filesystem::path& profileDir, const std::string& profile);

// Destroys and undefines node `index`'s VM and removes its disk and files.
Status deleteVmNode(const std::filesystem::path& profileDir, const std::string& profile, int index);

}  // namespace kd::cli

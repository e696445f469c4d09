#pragma once
// The libvirt domain XML of a KubeDesk VM, built from a plain description. Every value is
// XML-escaped, so names and paths cannot change the document's structure.
//
// The guest boots its kernel directly (no firmware boot loader) and gets:
//   - an optional read-only root disk (raw, virtio, serial "kubedesk-root": the node image's
//     rootfs.img, shared by every VM, which the initramfs mounts as the root file system);
//   - an optional persistent data disk (qcow2, virtio, serial "kubedesk-data"; the guest finds
//     both disks by serial, not by their /dev/vdX order);
//   - its serial console (ttyS0) written to a log file on the host, appended across boots;
//   - a user-mode NIC (virtio, the guest's first NIC): qemu's slirp, whose gateway 10.0.2.2
//     reaches the host's 127.0.0.1, so the guest needs no bridge and the host no root;
//   - a cluster NIC (virtio, the second NIC) on qemu's socket netdev, connected to the cluster
//     switch on 127.0.0.1:switchPort (cluster_switch.h), with a fixed MAC;
//   - fw_cfg entries (`opt/...`), read in the guest from /sys/firmware/qemu_fw_cfg.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kd::vm {

struct FwCfgEntry {
  std::string name;            // e.g. "opt/kubedesk/node-name"
  std::filesystem::path file;  // its value is this file's content
};

struct DomainSpec {
  std::string name;
  std::string uuid;  // "" for a new domain; an existing one's when redefining it
  bool kvm = false;  // domain type kvm, else qemu (TCG)
  int vcpus = 1;
  int memoryMiB = 512;
  std::filesystem::path kernel;
  std::filesystem::path initrd;
  std::string cmdline;
  std::filesystem::path rootDisk;    // empty: no root disk (the initramfs is the root)
  std::filesystem::path dataDisk;    // empty: no disk
  std::filesystem::path consoleLog;  // serial console
  bool userNic = true;
  std::uint16_t switchPort = 0;  // 0: no cluster NIC
  std::string clusterMac;        // "52:54:00:xx:xx:xx"
  std::vector<FwCfgEntry> fwCfg;
  bool rebootRestarts = true;  // else a guest reboot stops the domain (probes)
  // Run qemu as this uid:gid (a static DAC label, files not relabelled): set for a privileged
  // daemon, which would otherwise run qemu as libvirt-qemu.
  std::optional<std::pair<uid_t, gid_t>> runAs;
};

std::string xmlEscape(std::string_view text);

std::string domainXml(const DomainSpec& spec);

}  // namespace kd::vm

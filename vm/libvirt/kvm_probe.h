#pragma once
// Whether KVM really runs guests here. /dev/kvm existing is no proof: on some machines (nested
// virtualization without support) it opens and guests then hang. So the probe boots a tiny
// transient guest with domain type kvm — the node kernel and a one-program initramfs that
// prints a marker on the serial console and powers off — and believes KVM only when the marker
// shows before a short deadline. Otherwise nodes use TCG (domain type qemu) and the verdict's
// message says why. The first verdict is cached for the life of the process.

#include <chrono>
#include <filesystem>
#include <string>

#include "vm/libvirt/libvirt_connection.h"

namespace kd::vm {

struct KvmVerdict {
  bool kvm = false;
  std::string message;  // what was seen, for the user ("KVM works", "... using TCG")
  std::chrono::milliseconds took{0};
};

// Boots the probe under `workDir` (its initramfs and console log stay there for inspection).
KvmVerdict probeKvm(LibvirtConnection& libvirt, const std::filesystem::path& kernel,
                    const std::filesystem::path& workDir,
                    std::chrono::milliseconds deadline = std::chrono::seconds(10));

// The probe's initramfs: a newc cpio holding /dev/console and /init (a static x86-64 program
// that writes `marker` to its stdout and powers the machine off).
std::string kvmProbeInitramfs(const std::string& marker);

}  // namespace kd::vm

#include "engine/client/cli/vm_driver.h"

#include <algorithm>
#include <fstream>
#include <iterator>

#include "engine/client/node_credentials.h"
#include "vm/libvirt/kvm_probe.h"
#include "vm/libvirt/libvirt_connection.h"
#include "vm/libvirt/libvirt_nodes.h"

namespace kd::cli {
namespace {

namespace fs = std::filesystem;

// The probe boots a guest for up to 10 s; its verdict holds for the machine, so it is kept.
vm::KvmVerdict kvmVerdict(vm::LibvirtConnection& libvirt, const VmNodesRequest& r,
                          std::ostream& out) {
  const fs::path cache = r.dataRoot / "kvm-probe.json";
  std::ifstream in(cache);
  const json cached = json::parse(in, nullptr, false);
  if (cached.is_object() && cached.contains("kvm")) {
    return {cached.value("kvm", false), cached.value("message", ""), {}};
  }
  out << "🔎  Checking whether KVM runs guests on this machine (once) ..." << std::flush;
  vm::KvmVerdict verdict = vm::probeKvm(libvirt, r.imageDir / "vmlinuz", r.dataRoot / "kvm-probe");
  out << " " << (verdict.kvm ? "yes" : "no") << "\n";
  std::ofstream(cache) << json{{"kvm", verdict.kvm}, {"message", verdict.message}}.dump();
  return verdict;
}

Result<std::unique_ptr<vm::LibvirtConnection>> connect() {
  return vm::LibvirtConnection::open(vm::kLibvirtSessionUri);
}

}  // namespace

Result<std::vector<VmNode>> startVmNodes(const VmNodesRequest& r, std::ostream& out) {
  if (r.switchPort == 0) {
    return Status::serviceUnavailable(
        "the running kubedesk-engine serves no cluster network for VM nodes: run `kdctl stop` "
        "and `kdctl start --driver=vm` again");
  }
  auto libvirt = connect();
  if (!libvirt.ok()) return libvirt.status();
  const vm::KvmVerdict kvm = kvmVerdict(**libvirt, r, out);
  if (!kvm.kvm) {
    out << "🐢  " << kvm.message << "\n";
    // Else the daemon would ask QEMU about KVM again before every domain start (a minute each).
    auto restarted = vm::hideHangingKvmFromLibvirtd();
    if (!restarted.ok()) return restarted.status();
    if (*restarted) {
      libvirt = connect();
      if (!libvirt.ok()) return libvirt.status();
    }
  }

  vm::LibvirtNodesOptions o;
  o.profileDir = r.profileDir;
  o.profile = r.profile;
  o.indices = r.indices;
  o.cpus = r.cpus;
  o.memoryMiB = r.memoryMiB;
  o.kernel = r.imageDir / "vmlinuz";
  o.initrd = r.imageDir / "initramfs.img";
  o.rootDisk = r.imageDir / "rootfs.img";
  o.cmdline = "console=ttyS0 quiet panic=-1";
  o.kvm = kvm.kvm;
  o.switchPort = r.switchPort;
  const client::NodeEndpoint endpoint{"https://10.0.2.2:" + std::to_string(r.apiPort), "127.0.0.1"};
  o.kubeconfigFor = [&](const std::string& node) -> Result<std::string> {
    // "<profile>-mNN" lives in nodes/mNN/, as vm/libvirt lays nodes out.
    const fs::path file = r.profileDir / "nodes" / node.substr(node.rfind('-') + 1) / "kubeconfig";
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    if (Status s = client::writeNodeKubeconfig(r.profileDir / "kubeconfig", node, file, endpoint);
        !s) {
      return s;
    }
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const size_t count = r.indices.size();
  out << "🖥️   Booting " << count << " VM node" << (count == 1 ? "" : "s") << " (" << r.cpus
      << " CPU, " << r.memoryMiB << " MiB each, " << (kvm.kvm ? "KVM" : "TCG") << ") ...\n"
      << std::flush;
  auto started = vm::startLibvirtNodes(**libvirt, o);
  if (!started.ok()) return started.status();
  std::vector<VmNode> nodes;
  for (const auto& n : *started) {
    if (std::find(r.indices.begin(), r.indices.end(), n.index) != r.indices.end()) {
      nodes.push_back({n.name, n.dir / "console.log"});
    }
  }
  return nodes;
}

Status stopVmNodes(const fs::path& profileDir, const std::string& profile) {
  auto libvirt = connect();
  if (!libvirt.ok()) return libvirt.status();
  return vm::stopLibvirtNodes(**libvirt, profileDir, profile);
}

Status deleteVmNodes(const fs::path& profileDir, const std::string& profile) {
  auto libvirt = connect();
  if (!libvirt.ok()) return libvirt.status();
  return vm::deleteLibvirtNodes(**libvirt, profileDir, profile);
}

Status deleteVmNode(const fs::path& profileDir, const std::string& profile, int index) {
  auto libvirt = connect();
  if (!libvirt.ok()) return libvirt.status();
  return vm::deleteLibvirtNode(**libvirt, profileDir, profile, index);
}

}  // namespace kd::cli

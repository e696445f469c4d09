#include "vm/libvirt/libvirt_nodes.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <tuple>

#include "engine/node/process.h"
#include "vm/libvirt/domain_xml.h"

namespace kd::vm {
namespace {

namespace fs = std::filesystem;

std::string twoDigits(int index) {
  char text[16];
  std::snprintf(text, sizeof text, "m%02d", index);
  return text;
}

fs::path nodeDir(const fs::path& profileDir, int index) {
  return profileDir / "nodes" / twoDigits(index);
}

std::string nodeName(const std::string& profile, int index) {
  return profile + "-" + twoDigits(index);
}

// fw_cfg entry "opt/kubedesk/<name>" carries the content of fwcfg/<name>; the guest reads it
// from /sys/firmware/qemu_fw_cfg/by_name/opt/kubedesk/<name>/raw.
constexpr const char* kFwCfgPrefix = "opt/kubedesk/";
constexpr const char* kNodeName = "node-name";
constexpr const char* kNodeIp = "node-ip";
constexpr const char* kKubeconfig = "kubeconfig";
constexpr const char* kStopRequested = "stop-requested";

Status writeFile(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return Status::internal("cannot write " + path.string());
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  return {};
}

Result<std::string> readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::notFound("cannot read " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Writes the node's fw_cfg values and returns the entries that name them.
Result<std::vector<FwCfgEntry>> writeFwCfg(const LibvirtNodesOptions& o, int index,
                                           const fs::path& dir) {
  const fs::path fwcfg = dir / "fwcfg";
  std::error_code ec;
  fs::create_directories(fwcfg, ec);
  if (ec) return Status::internal("cannot create " + fwcfg.string() + ": " + ec.message());
  std::vector<std::pair<std::string, std::string>> values = {
      {kNodeName, nodeName(o.profile, index)},
      {kNodeIp, o.nodeNetwork + std::to_string(10 + index) + "/24"},
  };
  if (o.kubeconfigFor) {
    auto kubeconfig = o.kubeconfigFor(nodeName(o.profile, index));
    if (!kubeconfig.ok()) return kubeconfig.status();
    values.emplace_back(kKubeconfig, *kubeconfig);
  }
  std::vector<FwCfgEntry> entries;
  for (const auto& [name, value] : values) {
    if (Status s = writeFile(fwcfg / name, value); !s) return s;
    entries.push_back({kFwCfgPrefix + name, fwcfg / name});
  }
  return entries;
}

// Marks the node as stopped on purpose before its domain goes down, so the VM node monitor
// never takes the stop for a crash.
Status requestStop(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return {};  // nothing left to mark
  return writeFile(dir / kStopRequested, "");
}

Status ensureDisk(const fs::path& disk, const std::string& size) {
  std::error_code ec;
  if (fs::exists(disk, ec)) return {};
  return node::runChecked({"qemu-img", "create", "-q", "-f", "qcow2", disk.string(), size});
}

std::string clusterMac(int index) {
  char mac[32];
  std::snprintf(mac, sizeof mac, "52:54:00:6b:64:%02x", index & 0xff);
  return mac;
}

DomainSpec nodeSpec(const LibvirtConnection& libvirt, const LibvirtNodesOptions& o, int index,
                    const fs::path& dir, std::vector<FwCfgEntry> fwCfg) {
  DomainSpec spec;
  spec.name = libvirtDomainName(o.profile, index);
  spec.kvm = o.kvm;
  spec.vcpus = o.cpus;
  spec.memoryMiB = o.memoryMiB;
  spec.kernel = o.kernel;
  spec.initrd = o.initrd;
  spec.rootDisk = o.rootDisk;
  spec.cmdline = o.cmdline;
  spec.dataDisk = dir / "disk.qcow2";
  spec.consoleLog = dir / "console.log";
  spec.switchPort = o.switchPort;
  spec.clusterMac = clusterMac(index);
  spec.fwCfg = std::move(fwCfg);
  if (libvirt.privileged()) spec.runAs = std::make_pair(::geteuid(), ::getegid());
  return spec;
}

bool running(DomainState state) {
  return state == DomainState::kRunning || state == DomainState::kPaused ||
         state == DomainState::kShuttingDown;
}

Status startNode(LibvirtConnection& libvirt, const LibvirtNodesOptions& o, int index) {
  const std::string domain = libvirtDomainName(o.profile, index);
  auto state = libvirt.state(domain);
  if (!state.ok()) return state.status();
  const fs::path dir = nodeDir(o.profileDir, index);
  std::error_code ec;
  if (running(*state)) {  // leave running nodes alone
    fs::remove(dir / kStopRequested, ec);
    return {};
  }
  fs::create_directories(dir, ec);
  if (ec) return Status::internal("cannot create " + dir.string() + ": " + ec.message());
  auto fwCfg = writeFwCfg(o, index, dir);
  if (!fwCfg.ok()) return fwCfg.status();
  if (Status s = ensureDisk(dir / "disk.qcow2", o.diskSize); !s) return s;
  DomainSpec spec = nodeSpec(libvirt, o, index, dir, std::move(*fwCfg));
  if (*state != DomainState::kMissing) {
    auto uuid = libvirt.uuid(domain);
    if (!uuid.ok()) return uuid.status();
    spec.uuid = *uuid;
  }
  if (Status s = libvirt.define(domainXml(spec)); !s) return s;
  if (Status s = libvirt.start(domain); !s) return s;
  // Only now: the monitor must not see the redefined, still shut-off domain as stopped unasked.
  fs::remove(dir / kStopRequested, ec);
  return {};
}

}  // namespace

std::string libvirtDomainName(const std::string& profile, int index) {
  return "kubedesk-" + nodeName(profile, index);
}

std::string libvirtNodeName(const std::string& profile, int index) {
  return nodeName(profile, index);
}

bool libvirtNodeStopRequested(const fs::path& profileDir, int index) {
  const fs::path dir = nodeDir(profileDir, index);
  std::error_code ec;
  return !fs::is_directory(dir, ec) || fs::exists(dir / kStopRequested, ec);
}

std::vector<int> libvirtNodeIndices(const fs::path& profileDir) {
  std::vector<int> indices;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(profileDir / "nodes", ec)) {
    const std::string dirName = entry.path().filename().string();
    const int index = dirName.size() >= 3 && dirName.size() <= 5 && dirName[0] == 'm'
                          ? std::atoi(dirName.c_str() + 1)
                          : 0;
    if (index > 0 && twoDigits(index) == dirName && entry.is_directory(ec)) {
      indices.push_back(index);
    }
  }
  std::sort(indices.begin(), indices.end());
  return indices;
}

Result<std::vector<LibvirtNode>> libvirtNodes(LibvirtConnection& libvirt,
                                              const fs::path& profileDir,
                                              const std::string& profile) {
  std::vector<LibvirtNode> nodes;
  for (int i : libvirtNodeIndices(profileDir)) {
    const fs::path dir = nodeDir(profileDir, i);
    LibvirtNode node{i,  nodeName(profile, i), libvirtDomainName(profile, i), dir,
                     "", DomainState::kMissing};
    if (auto ip = readFile(dir / "fwcfg" / kNodeIp); ip.ok()) {
      node.ip = ip->substr(0, ip->find('/'));
    }
    auto state = libvirt.state(node.domain);
    if (!state.ok()) return state.status();
    node.state = *state;
    nodes.push_back(std::move(node));
  }
  return nodes;
}

Result<std::vector<LibvirtNode>> startLibvirtNodes(LibvirtConnection& libvirt,
                                                   const LibvirtNodesOptions& o) {
  std::error_code ec;
  for (const auto& [path, what, needed] : {std::tuple{o.kernel, "kernel", true},
                                           {o.initrd, "initramfs", true},
                                           {o.rootDisk, "root disk", !o.rootDisk.empty()}}) {
    if (needed && !fs::is_regular_file(path, ec)) {
      return Status::notFound("node " + std::string(what) + " " + path.string() +
                              " not found: build the node image first");
    }
  }
  std::vector<int> indices = o.indices;
  if (indices.empty()) {
    for (int i = 1; i <= o.count; ++i) indices.push_back(i);
  }
  for (int i : indices) {
    if (i < 1 || i > 240) return Status::badRequest("node index out of range (1..240)");
    if (Status s = startNode(libvirt, o, i); !s) {
      return Status::internal(nodeName(o.profile, i) + ": " + s.message());
    }
  }
  return libvirtNodes(libvirt, o.profileDir, o.profile);
}

Status stopLibvirtNodes(LibvirtConnection& libvirt, const fs::path& profileDir,
                        const std::string& profile, std::chrono::milliseconds grace) {
  auto nodes = libvirtNodes(libvirt, profileDir, profile);
  if (!nodes.ok()) return nodes.status();
  for (const auto& node : *nodes) {
    if (Status s = requestStop(node.dir); !s) return s;
    if (running(node.state)) libvirt.shutdown(node.domain);  // a refusal ends in destroy below
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  for (const auto& node : *nodes) {
    for (;;) {
      auto state = libvirt.state(node.domain);
      if (!state.ok()) return state.status();
      if (!running(*state)) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        if (Status s = libvirt.destroy(node.domain); !s) return s;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  return {};
}

Status deleteLibvirtNodes(LibvirtConnection& libvirt, const fs::path& profileDir,
                          const std::string& profile) {
  auto nodes = libvirtNodes(libvirt, profileDir, profile);
  if (!nodes.ok()) return nodes.status();
  auto domains = libvirt.domainNames("kubedesk-" + profile + "-m");
  if (!domains.ok()) return domains.status();
  for (const auto& node : *nodes) {
    if (Status s = requestStop(node.dir); !s) return s;
    domains->push_back(node.domain);
  }
  for (const auto& domain : *domains) {
    if (Status s = libvirt.destroy(domain); !s) return s;
    if (Status s = libvirt.undefine(domain); !s) return s;
    std::error_code ec;
    fs::remove(libvirt.qemuLogPath(domain), ec);
  }
  std::error_code ec;
  for (const auto& node : *nodes) fs::remove_all(node.dir, ec);
  fs::remove(profileDir / "nodes", ec);  // only when empty
  if (ec && ec != std::errc::directory_not_empty && ec != std::errc::no_such_file_or_directory) {
    return Status::internal("cannot remove " + (profileDir / "nodes").string() + ": " +
                            ec.message());
  }
  return {};
}

Status deleteLibvirtNode(LibvirtConnection& libvirt, const fs::path& profileDir,
                         const std::string& profile, int index) {
  const std::string domain = libvirtDomainName(profile, index);
  if (Status s = requestStop(nodeDir(profileDir, index)); !s) return s;
  if (Status s = libvirt.destroy(domain); !s) return s;  // both skip a missing domain
  if (Status s = libvirt.undefine(domain); !s) return s;
  std::error_code ec;
  fs::remove(libvirt.qemuLogPath(domain), ec);
  const fs::path dir = nodeDir(profileDir, index);
  fs::remove_all(dir, ec);
  if (ec) return Status::internal("cannot remove " + dir.string() + ": " + ec.message());
  return {};
}

}  // namespace kd::vm

#include "engine/node/sandbox.h"

#include <sys/mount.h>

#include <fstream>

#include "engine/node/file_tree.h"
#include "engine/node/network.h"
#include "engine/node/process.h"

namespace kd::node {

namespace fs = std::filesystem;

namespace {

// podDir is <state>/pods/<uid> (PodWorker::podDir).
fs::path stateDirOf(const fs::path& podDir) {
  return podDir.parent_path().parent_path();
}

// (namespace type for config.json, unshare flag, file name)
struct NamespaceKind {
  const char* type;
  const char* flag;
  const char* file;
};
constexpr NamespaceKind kKinds[] = {
    {"network", "--net", "net"}, {"ipc", "--ipc", "ipc"}, {"uts", "--uts", "uts"}};

}  // namespace

Result<PodSandbox> PodSandbox::ensure(const fs::path& podDir, const std::string& hostname,
                                      bool hostNetwork) {
  const fs::path nsDir = podDir / "ns";
  PodSandbox sandbox;
  std::vector<std::string> argv = {"unshare"};
  for (const auto& kind : kKinds) {
    if (hostNetwork && std::string_view(kind.type) != "ipc") continue;
    const fs::path file = nsDir / kind.file;
    sandbox.namespaces_.push_back({kind.type, file.string()});
    argv.push_back(std::string(kind.flag) + "=" + file.string());
  }
  // A hostNetwork pod shares the node's network, which need not be the agent's.
  if (const std::string node = nodeNetnsPath(stateDirOf(podDir)); hostNetwork && !node.empty()) {
    sandbox.namespaces_.push_back({"network", node});
  }
  if (fs::exists(nsDir / "ready")) return sandbox;
  std::error_code ec;
  fs::create_directories(nsDir, ec);
  for (const auto& ns : sandbox.namespaces_) std::ofstream(ns.path).put('\0');
  const std::string setup = hostNetwork ? "true" : "hostname \"$0\" && ip link set lo up";
  argv.insert(argv.end(), {"--", "sh", "-c", setup, hostname});
  Status s = runChecked(argv);
  if (s.isOk() && !hostNetwork) {
    auto ip = attachPod(stateDirOf(podDir), podDir.filename().string(), (nsDir / "net").string());
    s = ip.status();
  }
  if (!s.isOk()) {
    destroy(podDir);
    return s;
  }
  std::ofstream(nsDir / "ready").put('\n');
  return sandbox;
}

Status PodSandbox::destroy(const fs::path& podDir) {
  detachPod(stateDirOf(podDir), podDir.filename().string());
  const fs::path nsDir = podDir / "ns";
  for (const auto& kind : kKinds) {
    const fs::path file = nsDir / kind.file;
    if (fs::exists(file)) ::umount2(file.c_str(), MNT_DETACH);
  }
  std::error_code ec;
  removeTree(nsDir, ec);
  return ec ? Status::internal("remove " + nsDir.string() + ": " + ec.message()) : Status{};
}

std::string PodSandbox::networkNamespace() const {
  for (const auto& ns : namespaces_) {
    if (ns.type == "network") return ns.path;
  }
  return {};
}

}  // namespace kd::node

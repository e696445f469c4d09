#include "vm/local/local_network.h"

#include <cstdio>
#include <fstream>
#include <functional>

#include "engine/node/process.h"
#include "vm/local/local_nodes.h"

namespace kd::vm {
namespace {

namespace fs = std::filesystem;
using node::runChecked;
using node::runProcess;

constexpr int kFirstSubnet = 100, kSubnets = 100;  // 192.168.100.0/24 .. 192.168.199.0/24

// Link names are at most 15 characters; the bridge leaves room for "-NN" per node.
std::string bridgeName(const std::string& profile) {
  if (profile.size() <= 9) return "kd-" + profile;
  uint32_t hash = 2166136261u;  // FNV-1a
  for (unsigned char c : profile) hash = (hash ^ c) * 16777619u;
  char name[16];
  std::snprintf(name, sizeof name, "kd-%08x", hash);
  return name;
}

std::string hostVeth(const std::string& profile, int index) {
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "-%02d", index);
  return bridgeName(profile) + suffix;
}

std::string netnsName(const std::string& profile, int index) {
  return "kd-" + localNodeName(profile, index);
}

std::string output(const std::vector<std::string>& argv) {
  auto r = runProcess(argv);
  return r.ok() && r->exitCode == 0 ? r->output : "";
}

bool succeeds(const std::vector<std::string>& argv) {
  auto r = runProcess(argv);
  return r.ok() && r->exitCode == 0;
}

// The profile's "192.168.N." prefix: the recorded one, else the first N from a per-profile
// starting point that no host address or route uses.
Result<std::string> subnetPrefix(const fs::path& profileDir, const std::string& profile) {
  const fs::path file = profileDir / "nodes" / "network.json";
  std::ifstream in(file);
  const json recorded = json::parse(in, nullptr, false);
  if (recorded.is_object() && recorded.contains("prefix")) return recorded.value("prefix", "");
  const std::string inUse = output({"ip", "-4", "addr", "show"}) + output({"ip", "-4", "route"});
  const int start = static_cast<int>(std::hash<std::string>{}(profile) % kSubnets);
  for (int i = 0; i < kSubnets; ++i) {
    const std::string prefix =
        "192.168." + std::to_string(kFirstSubnet + (start + i) % kSubnets) + ".";
    if (inUse.find(prefix) != std::string::npos) continue;
    std::ofstream(file) << json{{"prefix", prefix}}.dump() << "\n";
    return prefix;
  }
  return Status::serviceUnavailable("no free 192.168.N.0/24 for the node network");
}

Status ensureBridge(const std::string& bridge, const std::string& prefix) {
  if (!succeeds({"ip", "link", "show", bridge})) {
    if (Status s = runChecked({"ip", "link", "add", bridge, "type", "bridge"}); !s.isOk()) return s;
  }
  if (Status s = runChecked({"ip", "addr", "replace", prefix + "1/24", "dev", bridge}); !s.isOk())
    return s;
  return runChecked({"ip", "link", "set", bridge, "up"});
}

Status ensureNodeNetns(const std::string& ns, const std::string& veth, const std::string& bridge,
                       const std::string& ip) {
  if (!succeeds({"ip", "netns", "exec", ns, "true"})) {
    if (Status s = runChecked({"ip", "netns", "add", ns}); !s.isOk()) return s;
  }
  if (!succeeds({"ip", "link", "show", veth})) {
    runProcess({"ip", "-n", ns, "link", "del", "eth0"});  // a half-made pair
    if (Status s = runChecked(
            {"ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns});
        !s.isOk()) {
      return s;
    }
  }
  const std::vector<std::vector<std::string>> steps = {
      {"ip", "link", "set", veth, "master", bridge, "up"},
      {"ip", "-n", ns, "addr", "replace", ip + "/24", "dev", "eth0"},
      {"ip", "-n", ns, "link", "set", "eth0", "up"},
      {"ip", "-n", ns, "link", "set", "lo", "up"},
  };
  for (const auto& argv : steps) {
    if (Status s = runChecked(argv); !s.isOk()) return s;
  }
  return {};
}

}  // namespace

Result<LocalNodeNetwork> ensureLocalNodeNetwork(const fs::path& profileDir,
                                                const std::string& profile, int index,
                                                const fs::path& stateDir) {
  auto prefix = subnetPrefix(profileDir, profile);
  if (!prefix.ok()) return prefix.status();
  const std::string bridge = bridgeName(profile);
  if (Status s = ensureBridge(bridge, *prefix); !s.isOk()) return s;
  LocalNodeNetwork net{netnsName(profile, index), *prefix + std::to_string(1 + index)};
  if (Status s = ensureNodeNetns(net.netns, hostVeth(profile, index), bridge, net.ip); !s.isOk())
    return s;
  std::error_code ec;
  fs::create_directories(stateDir / "network", ec);
  std::ofstream(stateDir / "network" / "node.json") << json{{"netns", net.netns}}.dump() << "\n";
  return net;
}

void removeLocalNodeNetwork(const std::string& profile, int index) {
  runProcess({"ip", "netns", "del", netnsName(profile, index)});
  runProcess({"ip", "link", "del", hostVeth(profile, index)});  // gone with the namespace too
}

void removeLocalNetwork(const std::string& profile, const std::vector<int>& indices) {
  for (int index : indices) removeLocalNodeNetwork(profile, index);
  runProcess({"ip", "link", "del", bridgeName(profile)});
}

}  // namespace kd::vm

#include "engine/node/network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "engine/node/process.h"

namespace kd::node {

namespace fs = std::filesystem;

namespace {

constexpr const char* kBridge = "kd0";
// The routing protocol number marking the routes syncPodRoutes owns (any unused value works;
// 77 is not assigned in /etc/iproute2/rt_protos).
constexpr const char* kRouteProto = "77";
constexpr auto kNodesPeriod = std::chrono::seconds(2);
constexpr auto kPodIpsPeriod = std::chrono::seconds(1);

struct Ipv4Net {
  uint32_t base = 0;  // host byte order
  int bits = 0;
  uint32_t size() const { return bits == 0 ? 0 : uint32_t{1} << (32 - bits); }
};

std::optional<uint32_t> parseIp(const std::string& text) {
  in_addr a{};
  if (::inet_pton(AF_INET, text.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

std::string formatIp(uint32_t ip) {
  in_addr a{htonl(ip)};
  char buf[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

std::optional<Ipv4Net> parseNet(const std::string& cidr) {
  const auto slash = cidr.find('/');
  if (slash == std::string::npos) return std::nullopt;
  const auto ip = parseIp(cidr.substr(0, slash));
  const std::string bitsText = cidr.substr(slash + 1);
  if (!ip || bitsText.empty() || bitsText.size() > 2 ||
      bitsText.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  const int bits = std::stoi(bitsText);
  if (bits < 8 || bits > 30) return std::nullopt;  // room for a gateway and a pod
  return Ipv4Net{*ip & (~uint32_t{0} << (32 - bits)), bits};
}

std::string readText(const fs::path& file) {
  std::ifstream in(file);
  std::string text;
  std::getline(in, text);
  return text;
}

fs::path networkDir(const fs::path& stateDir) {
  return stateDir / "network";
}

bool configured(const fs::path& stateDir) {
  std::error_code ec;
  return fs::exists(networkDir(stateDir) / "node.json", ec);
}

std::string netnsName(const fs::path& stateDir) {
  std::ifstream in(networkDir(stateDir) / "node.json");
  const json j = json::parse(in, nullptr, false);
  return j.is_object() ? j.value("netns", "") : "";
}

// `ip <args>` aimed at the node's network namespace.
std::vector<std::string> ipCommand(const fs::path& stateDir, std::vector<std::string> args) {
  std::vector<std::string> argv = {"ip"};
  if (const std::string ns = netnsName(stateDir); !ns.empty()) argv.insert(argv.end(), {"-n", ns});
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// Any command run inside the node's network namespace.
std::vector<std::string> inNodeNetns(const fs::path& stateDir, std::vector<std::string> argv) {
  if (const std::string ns = netnsName(stateDir); !ns.empty()) {
    argv.insert(argv.begin(), {"ip", "netns", "exec", ns});
  }
  return argv;
}

std::vector<std::string> inPodNetns(const std::string& podNetns, std::vector<std::string> args) {
  std::vector<std::string> argv = {"nsenter", "--net=" + podNetns, "ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// The node end of a pod's veth pair: "kdv" and 12 hex digits of the uid (15 characters, the
// longest name a link may have).
std::string hostVeth(const std::string& uid) {
  std::string name = "kdv";
  for (char c : uid) {
    if (std::isxdigit(static_cast<unsigned char>(c))) name += c;
    if (name.size() == 15) break;
  }
  return name;
}

// uid -> IP of every allocation.
std::map<std::string, std::string> allocations(const fs::path& stateDir) {
  std::map<std::string, std::string> byUid;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(networkDir(stateDir) / "ips", ec)) {
    byUid[readText(entry.path())] = entry.path().filename().string();
  }
  return byUid;
}

// Takes the next free IP after the last one handed out: host-local IPAM's round robin.
Result<std::string> allocate(const fs::path& stateDir, const Ipv4Net& net, const std::string& uid) {
  const fs::path dir = networkDir(stateDir);
  std::error_code ec;
  fs::create_directories(dir / "ips", ec);
  const uint32_t first = net.base + 2, last = net.base + net.size() - 2;  // .1 is the bridge
  const auto reserved = parseIp(readText(dir / "last-reserved"));
  uint32_t candidate = reserved && *reserved >= first && *reserved < last ? *reserved + 1 : first;
  for (uint32_t tried = 0; tried <= last - first; ++tried) {
    const std::string ip = formatIp(candidate);
    const int fd =
        ::open((dir / "ips" / ip).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      const bool written = ::write(fd, uid.data(), uid.size()) == ssize_t(uid.size());
      ::close(fd);
      if (!written) return Status::internal("cannot record pod IP " + ip);
      std::ofstream(dir / "last-reserved") << ip << "\n";
      return ip;
    }
    candidate = candidate == last ? first : candidate + 1;
  }
  return Status::serviceUnavailable("no free pod IP left in this node's podCIDR");
}

Status configurePod(const fs::path& stateDir, const std::string& uid, const std::string& podNetns,
                    const std::string& ip, const Ipv4Net& net) {
  const std::string veth = hostVeth(uid);
  runProcess(ipCommand(stateDir, {"link", "del", veth}));  // a half-made pair from a crash
  const std::vector<std::vector<std::string>> steps = {
      ipCommand(stateDir,
                {"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", podNetns}),
      ipCommand(stateDir, {"link", "set", veth, "master", kBridge, "up"}),
      inPodNetns(podNetns, {"addr", "add", ip + "/" + std::to_string(net.bits), "dev", "eth0"}),
      inPodNetns(podNetns, {"link", "set", "eth0", "up"}),
      inPodNetns(podNetns, {"route", "replace", "default", "via", formatIp(net.base + 1)}),
  };
  for (const auto& argv : steps) {
    if (Status s = runChecked(argv); !s.isOk()) return s;
  }
  return {};
}

}  // namespace

std::string podIp(const fs::path& stateDir, const std::string& uid) {
  const auto byUid = allocations(stateDir);
  auto it = byUid.find(uid);
  return it == byUid.end() ? "" : it->second;
}

Result<std::string> attachPod(const fs::path& stateDir, const std::string& uid,
                              const std::string& podNetns) {
  if (!configured(stateDir)) return std::string();
  const std::string cidr = readText(networkDir(stateDir) / "pod-cidr");
  const auto net = parseNet(cidr);
  if (!net) return Status::serviceUnavailable("network not ready: the node has no podCIDR yet");
  std::string ip = podIp(stateDir, uid);
  if (ip.empty()) {
    auto allocated = allocate(stateDir, *net, uid);
    if (!allocated.ok()) return allocated.status();
    ip = *allocated;
  }
  if (Status s = configurePod(stateDir, uid, podNetns, ip, *net); !s.isOk()) return s;
  return ip;
}

Status detachPod(const fs::path& stateDir, const std::string& uid) {
  const std::string ip = podIp(stateDir, uid);
  if (ip.empty()) return {};
  runProcess(ipCommand(stateDir, {"link", "del", hostVeth(uid)}));  // gone with the netns too
  std::error_code ec;
  fs::remove(networkDir(stateDir) / "ips" / ip, ec);
  return ec ? Status::internal("release pod IP " + ip + ": " + ec.message()) : Status{};
}

std::string nodeNetnsPath(const fs::path& stateDir) {
  const std::string ns = netnsName(stateDir);
  return ns.empty() ? "" : "/run/netns/" + ns;
}

Status setUpBridge(const fs::path& stateDir, const std::string& podCidr) {
  const auto net = parseNet(podCidr);
  if (!net) return Status::badRequest("invalid podCIDR \"" + podCidr + "\"");
  const fs::path dir = networkDir(stateDir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  auto shown = runProcess(ipCommand(stateDir, {"link", "show", kBridge}));
  if (!shown.ok()) return shown.status();
  if (shown->exitCode != 0) {
    if (Status s = runChecked(ipCommand(stateDir, {"link", "add", kBridge, "type", "bridge"}));
        !s.isOk()) {
      return s;
    }
  } else if (readText(dir / "pod-cidr") != podCidr) {
    runProcess(ipCommand(stateDir, {"addr", "flush", "dev", kBridge}));
  }
  const std::string gateway = formatIp(net->base + 1) + "/" + std::to_string(net->bits);
  for (const auto& argv : {ipCommand(stateDir, {"addr", "replace", gateway, "dev", kBridge}),
                           ipCommand(stateDir, {"link", "set", kBridge, "up"}),
                           inNodeNetns(stateDir, {"sysctl", "-qw", "net.ipv4.ip_forward=1"})}) {
    if (Status s = runChecked(argv); !s.isOk()) return s;
  }
  std::ofstream(dir / "pod-cidr") << podCidr << "\n";
  return {};
}

Status syncPodRoutes(const fs::path& stateDir, const std::map<std::string, std::string>& routes) {
  auto shown = runProcess(ipCommand(stateDir, {"-j", "route", "show", "proto", kRouteProto}));
  if (!shown.ok()) return shown.status();
  const json current = json::parse(shown->output, nullptr, false);
  std::map<std::string, std::string> have;
  if (current.is_array()) {
    for (const auto& r : current) have[r.value("dst", "")] = r.value("gateway", "");
  }
  for (const auto& [dst, via] : have) {
    auto it = routes.find(dst);
    if (it == routes.end() || it->second != via) {
      runProcess(ipCommand(stateDir, {"route", "del", dst, "proto", kRouteProto}));
    }
  }
  for (const auto& [dst, via] : routes) {
    auto it = have.find(dst);
    if (it != have.end() && it->second == via) continue;
    if (Status s = runChecked(
            ipCommand(stateDir, {"route", "replace", dst, "via", via, "proto", kRouteProto}));
        !s.isOk()) {
      return s;
    }
  }
  return {};
}

// --- NodeNetwork ----------------------------------------------------------------------------

namespace {

const api::KindInfo& coreKind(const char* resource) {
  return *api::KindsRegistry::builtin().byResource("", "v1", resource);
}

std::string internalIp(const json& node) {
  for (const auto& a : node.value("status", json::object()).value("addresses", json::array())) {
    if (a.value("type", "") == "InternalIP") return a.value("address", "");
  }
  return {};
}

void logLine(const std::string& line) {
  std::fprintf(stderr, "kubedesk-node: network: %s\n", line.c_str());
}

}  // namespace

NodeNetwork::NodeNetwork(client::ApiClient& api, std::string nodeName, fs::path stateDir)
    : api_(api), nodeName_(std::move(nodeName)), stateDir_(std::move(stateDir)) {
  thread_ = std::thread([this] { run(); });
}

NodeNetwork::~NodeNetwork() {
  stop_ = true;
  thread_.join();
}

void NodeNetwork::run() {
  auto nextNodes = std::chrono::steady_clock::now();
  auto nextPods = nextNodes;
  while (!stop_) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= nextNodes) {
      syncNodes();
      nextNodes = now + kNodesPeriod;
    }
    if (now >= nextPods) {
      publishPodIps();
      nextPods = now + kPodIpsPeriod;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void NodeNetwork::syncNodes() {
  if (!configured(stateDir_)) return;
  auto list = api_.list(coreKind("nodes"), "", {});
  if (!list.ok()) return;  // the agent reports API trouble; try again next period
  std::map<std::string, std::string> routes;
  for (const auto& node : (*list)["items"]) {
    const std::string name = node["metadata"].value("name", "");
    const std::string cidr = node.value("spec", json::object()).value("podCIDR", "");
    if (cidr.empty()) continue;
    if (name != nodeName_) {
      if (const std::string ip = internalIp(node); !ip.empty()) routes[cidr] = ip;
    } else if (cidr != bridgeCidr_) {
      if (Status s = setUpBridge(stateDir_, cidr); !s.isOk()) {
        logLine("setting up the pod bridge: " + s.message());
        continue;
      }
      logLine("pod network " + cidr + " on bridge " + kBridge);
      bridgeCidr_ = cidr;
    }
  }
  if (Status s = syncPodRoutes(stateDir_, routes); !s.isOk()) logLine("routes: " + s.message());
}

void NodeNetwork::publishPodIps() {
  const auto byUid = allocations(stateDir_);
  for (auto it = shown_.begin(); it != shown_.end();) {
    it = byUid.count(it->first) ? std::next(it) : shown_.erase(it);
  }
  for (const auto& [uid, ip] : byUid) {
    if (shown_[uid] == ip) continue;
    std::ifstream in(stateDir_ / "pods" / uid / "pod.json");
    const json pod = json::parse(in, nullptr, false);
    if (!pod.is_object()) continue;
    const std::string ns = pod["metadata"].value("namespace", "");
    const std::string name = pod["metadata"].value("name", "");
    // A merge patch cannot name the uid it is meant for; a pod recreated under the same name
    // must not get this one's IP.
    auto current = api_.get(coreKind("pods"), ns, name);
    if (!current.ok() || (*current)["metadata"].value("uid", "") != uid) {
      if (!current.ok() && current.status().code() != 404) continue;
      shown_[uid] = ip;
      continue;
    }
    const json status = {{"podIP", ip}, {"podIPs", json::array({{{"ip", ip}}})}};
    auto r = api_.patch(coreKind("pods"), ns, name, client::PatchType::Merge,
                        json{{"status", status}}.dump(), {.subresource = "status"});
    if (r.ok() || r.status().code() == 404) shown_[uid] = ip;
  }
}

}  // namespace kd::node

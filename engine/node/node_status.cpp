#include "engine/node/node_status.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <thread>

namespace kd::node {

const char* const kKubeletVersion = "v1.32.0-kubedesk";

namespace {

constexpr int64_t kMaxPods = 110;

std::string firstLine(const char* file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

int64_t readInt(const char* file, int64_t fallback) {
  std::ifstream in(file);
  int64_t v = 0;
  return (in >> v) ? v : fallback;
}

int64_t memTotal() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemTotal:") return kib * 1024;
  }
  return 0;
}

int64_t cpuCount() {
  int64_t cpus = static_cast<int64_t>(std::thread::hardware_concurrency());
  const int64_t quota = readInt("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", -1);
  const int64_t period = readInt("/sys/fs/cgroup/cpu/cpu.cfs_period_us", 0);
  if (quota > 0 && period > 0) cpus = std::min(cpus, std::max<int64_t>(1, quota / period));
  return std::max<int64_t>(1, cpus);
}

int64_t memoryBytes() {
  int64_t total = memTotal();
  for (const char* limitFile :
       {"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max"}) {
    const int64_t limit = readInt(limitFile, 0);
    if (limit > 0 && limit < total) total = limit;
  }
  return total;
}

std::string osImage() {
  std::ifstream in("/etc/os-release");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("PRETTY_NAME=", 0) != 0) continue;
    std::string v = line.substr(12);
    if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
    return v;
  }
  return "Linux";
}

std::string firstIpv4() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "127.0.0.1";
  std::string ip = "127.0.0.1";
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || (a->ifa_flags & IFF_LOOPBACK))
      continue;
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, buf, sizeof buf);
    ip = buf;
    break;
  }
  ::freeifaddrs(list);
  return ip;
}

json condition(const char* type, const char* status, const char* reason, const char* message,
               Clock::time_point since, Clock::time_point now) {
  return {{"type", type},
          {"status", status},
          {"reason", reason},
          {"message", message},
          {"lastHeartbeatTime", formatTime(now)},
          {"lastTransitionTime", formatTime(since)}};
}

}  // namespace

NodeFacts gatherNodeFacts(const std::string& nodeIp, const std::string& stateDir,
                          const std::string& runtimeVersion) {
  NodeFacts f;
  f.cpus = cpuCount();
  f.memoryBytes = memoryBytes();
  struct statvfs vfs {};
  if (::statvfs(stateDir.c_str(), &vfs) == 0) {
    f.diskBytes = static_cast<int64_t>(vfs.f_blocks) * static_cast<int64_t>(vfs.f_frsize);
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  f.hostname = host;
  f.internalIp = nodeIp.empty() ? firstIpv4() : nodeIp;
  struct utsname u {};
  ::uname(&u);
  f.kernelVersion = u.release;
  f.osImage = osImage();
  f.machineId = firstLine("/etc/machine-id");
  f.bootId = firstLine("/proc/sys/kernel/random/boot_id");
  f.runtimeVersion = runtimeVersion;
  return f;
}

json buildNodeStatus(const NodeFacts& f, Clock::time_point since, Clock::time_point now) {
  const json resources = {{"cpu", std::to_string(f.cpus)},
                          {"memory", std::to_string(f.memoryBytes / 1024) + "Ki"},
                          {"ephemeral-storage", std::to_string(f.diskBytes / 1024) + "Ki"},
                          {"pods", std::to_string(kMaxPods)}};
  return {
      {"capacity", resources},
      {"allocatable", resources},
      {"addresses", json::array({{{"type", "InternalIP"}, {"address", f.internalIp}},
                                 {{"type", "Hostname"}, {"address", f.hostname}}})},
      {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}},
      {"nodeInfo",
       {{"machineID", f.machineId},
        {"systemUUID", f.machineId},
        {"bootID", f.bootId},
        {"kernelVersion", f.kernelVersion},
        {"osImage", f.osImage},
        {"containerRuntimeVersion", f.runtimeVersion},
        {"kubeletVersion", kKubeletVersion},
        {"kubeProxyVersion", kKubeletVersion},
        {"operatingSystem", "linux"},
        {"architecture", "amd64"}}},
      {"conditions", json::array({condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                                            "kubelet has sufficient memory available", since, now),
                                  condition("DiskPressure", "False", "KubeletHasNoDiskPressure",
                                            "kubelet has no disk pressure", since, now),
                                  condition("PIDPressure", "False", "KubeletHasSufficientPID",
                                            "kubelet has sufficient PID available", since, now),
                                  condition("Ready", "True", "KubeletReady",
                                            "kubelet is posting ready status", since, now)})}};
}

json buildNode(const std::string& nodeName, const NodeFacts& facts, Clock::time_point now) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata",
           {{"name", nodeName},
            {"labels",
             {{"kubernetes.io/hostname", nodeName},
              {"kubernetes.io/os", "linux"},
              {"kubernetes.io/arch", "amd64"},
              {"beta.kubernetes.io/os", "linux"},
              {"beta.kubernetes.io/arch", "amd64"}}}}},
          {"spec", json::object()},
          {"status", buildNodeStatus(facts, now, now)}};
}

json buildNodeImages(const std::vector<ImageSummary>& images) {
  constexpr size_t kMaxImages = 50;
  json out = json::array();
  for (size_t i = 0; i < images.size() && i < kMaxImages; ++i) {
    out.push_back({{"names", images[i].names}, {"sizeBytes", images[i].sizeBytes}});
  }
  return out;
}

}  // namespace kd::node

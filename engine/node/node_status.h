#pragma once
// The Node object a kubelet registers and the status it keeps posting: capacity and
// allocatable (cpu, memory, pods, ephemeral-storage) from the machine or the cgroup the agent
// runs in, addresses, nodeInfo and the four kubelet conditions.

#include <cstdint>
#include <string>

#include "engine/api/status.h"
#include "engine/node/image_store.h"
#include "engine/node/timestamps.h"

namespace kd::node {

struct NodeFacts {
  int64_t cpus = 1;
  int64_t memoryBytes = 0;
  int64_t diskBytes = 0;  // of the state directory's filesystem
  std::string hostname;
  std::string internalIp;
  std::string kernelVersion;
  std::string osImage;
  std::string machineId;
  std::string bootId;
  std::string runtimeVersion;  // "runc://1.1.5"
};

// Reads the machine: online CPUs (or the cgroup's CPU quota), MemTotal (or the cgroup's memory
// limit when lower), uname, /etc/os-release, machine and boot ids. `nodeIp` "" picks the first
// non-loopback IPv4 address, else 127.0.0.1.
NodeFacts gatherNodeFacts(const std::string& nodeIp, const std::string& stateDir,
                          const std::string& runtimeVersion);

// The kubelet version this agent reports (nodeInfo.kubeletVersion).
extern const char* const kKubeletVersion;

// A whole Node for registration.
json buildNode(const std::string& nodeName, const NodeFacts& facts, Clock::time_point now);
// The status alone: conditions keep `since` as lastTransitionTime, `now` as heartbeat.
json buildNodeStatus(const NodeFacts& facts, Clock::time_point since, Clock::time_point now);
// status.images: the largest 50 of `images` (the kubelet's nodeStatusMaxImages), as
// [{"names": [...], "sizeBytes": N}].
json buildNodeImages(const std::vector<ImageSummary>& images);

}  // namespace kd::node

#pragma once
// Resource amounts as the scheduler counts them: cpu in millicores, memory and
// ephemeral-storage in bytes, extended resources (nvidia.com/gpu, hugepages-2Mi, ...) in
// whole units. "pods" is not a resource here: a node's pod capacity is counted separately.

#include <cstdint>
#include <map>
#include <string>

#include "engine/api/status.h"

namespace kd::scheduler {

struct ResourceList {
  int64_t milliCpu = 0;
  int64_t memory = 0;
  int64_t ephemeralStorage = 0;
  std::map<std::string, int64_t, std::less<>> scalar;

  void add(const ResourceList& other);
  void subtract(const ResourceList& other);
  // Element-wise maximum (an init container's requests against the containers' sum).
  void setMax(const ResourceList& other);
};

// The object (or array) under `name` in `obj`, without copying it (json::value copies); an
// empty one when it is absent or of another type.
const json& objectField(const json& obj, const char* name);
const json& arrayField(const json& obj, const char* name);

// A v1 ResourceList ({"cpu": "500m", "memory": "1Gi", ...}). Unparsable amounts count as 0
// (validation rejects them before they reach the scheduler); "pods" is skipped.
ResourceList parseResourceList(const json& list);

// What a pod needs on a node, as Kubernetes computes it: the larger of the sum of its
// containers' requests and each init container's requests, plus spec.overhead.
ResourceList podRequests(const json& podSpec);

// The same, but a container without a cpu or memory request counts as 100m / 200Mi, so that
// scores still spread pods that request nothing (Kubernetes' "non-zero" requests).
ResourceList podNonZeroRequests(const json& podSpec);

}  // namespace kd::scheduler

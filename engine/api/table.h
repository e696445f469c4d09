#pragma once
// Server-side printing: a meta.k8s.io/v1 Table with the columns kubectl shows for each kind
// (pods: NAME READY STATUS RESTARTS AGE, and IP NODE NOMINATED NODE READINESS GATES at
// priority 1 for -o wide). Kinds without their own columns get NAME and AGE.

#include <chrono>
#include <vector>

#include "engine/api/kinds.h"
#include "engine/api/status.h"

namespace kd::api {

enum class TableObjects { None, Metadata, Object };  // the includeObject parameter

// `objects` are full objects of `kind`; `listMeta` is copied into the Table's metadata.
json buildTable(const KindInfo& kind, const std::vector<const json*>& objects, const json& listMeta,
                TableObjects include, std::chrono::system_clock::time_point now);

// Kubernetes' short human duration: "5s", "3m2s", "10m", "5h", "3d", "2y" (as kubectl AGE).
std::string humanDuration(std::chrono::seconds d);

}  // namespace kd::api

#pragma once
// API discovery documents, generated from the kinds registry: /api (APIVersions), /apis
// (APIGroupList), /api/v1 and /apis/<g>/<v> (APIResourceList), and the aggregated form
// (apidiscovery.k8s.io v2 / v2beta1 APIGroupDiscoveryList) kubectl 1.27+ asks for first.

#include <string>

#include "engine/api/kinds.h"
#include "engine/api/status.h"

namespace kd::server {

json apiVersions(const std::string& serverAddress);
json apiGroupList(const api::KindsRegistry& kinds);
// 404 when the group-version is not served.
Result<json> apiResourceList(const api::KindsRegistry& kinds, std::string_view group,
                             std::string_view version);
// `core` selects /api (the legacy group) versus /apis; `discoveryVersion` is "v2" or "v2beta1".
json aggregatedDiscovery(const api::KindsRegistry& kinds, bool core,
                         std::string_view discoveryVersion);

}  // namespace kd::server

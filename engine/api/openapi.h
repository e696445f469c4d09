#pragma once
// The OpenAPI documents the API server serves, generated from the kinds and schema registries:
//   /openapi/v2                      one Swagger 2.0 document of every path and definition
//   /openapi/v3                      the index of group-versions
//   /openapi/v3/<api|apis/g>/<v>     one OpenAPI 3.0 document per group-version
// They carry x-kubernetes-group-version-kind, patch strategies and merge keys, list types and
// the fieldValidation/dryRun parameters, so kubectl apply, explain and validation work.

#include <string>

#include "engine/api/kinds.h"
#include "engine/api/schema.h"
#include "engine/api/status.h"

namespace kd::api {

json buildOpenApiV2(const KindsRegistry& kinds, const SchemaRegistry& schemas);

// {"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=..."}, ...}}
json buildOpenApiV3Index(const KindsRegistry& kinds, const SchemaRegistry& schemas);

// `groupVersionPath` is "api/v1" or "apis/apps/v1"; 404 when not served.
Result<json> buildOpenApiV3(const KindsRegistry& kinds, const SchemaRegistry& schemas,
                            std::string_view groupVersionPath);

}  // namespace kd::api

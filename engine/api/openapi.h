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

// The v2 document in the protobuf form kubectl asks for (Accept:
// application/com.github.proto-openapi.spec.v2@v1.0+protobuf; gnostic's openapi.v2.Document).
// kubectl 1.27 and 1.28 read /openapi/v2 only in this form, for validation and explain.
// Extensions are carried as YAML text (JSON is YAML). Encodes the shapes buildOpenApiV2 emits.
// Serve it as "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", as Kubernetes does:
// the '@' of the requested type breaks Go's media type parser in the client.
std::string encodeOpenApiV2Protobuf(const json& swagger);

// {"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=..."}, ...}}
json buildOpenApiV3Index(const KindsRegistry& kinds, const SchemaRegistry& schemas);

// `groupVersionPath` is "api/v1" or "apis/apps/v1"; 404 when not served.
Result<json> buildOpenApiV3(const KindsRegistry& kinds, const SchemaRegistry& schemas,
                            std::string_view groupVersionPath);

}  // namespace kd::api

#pragma once
// The four ways Kubernetes changes an object with a PATCH request:
//   application/json-patch+json            RFC 6902 operations
//   application/merge-patch+json           RFC 7386 merge patch
//   application/strategic-merge-patch+json Kubernetes' strategic merge: lists merged by the
//                                          schema's patch merge keys, with $patch, $retainKeys,
//                                          $deleteFromPrimitiveList and $setElementOrder directives
// and, for clients (kdctl apply), the three-way strategic patch that kubectl apply computes
// from the last-applied configuration, the new manifest and the live object.

#include <string_view>

#include "engine/api/schema.h"
#include "engine/api/status.h"

namespace kd::api {

enum class PatchType { Json, Merge, StrategicMerge };

// Maps a Content-Type ("application/merge-patch+json", ...) to a PatchType; 415 otherwise.
Result<PatchType> patchTypeFromContentType(std::string_view contentType);

// Applies a parsed patch document to `original`. `typeName` is the schema type of `original`
// (e.g. "apps.v1.Deployment"); strategic merge falls back to merge-patch semantics for fields
// the schema does not describe. Errors are 400 (bad patch) or 422 (a test op failed).
Result<json> applyPatch(PatchType type, const json& original, const json& patch,
                        const SchemaRegistry& schemas, std::string_view typeName);

// The strategic merge patch that turns `current` into `modified` while deleting what was in
// `original` (last applied) but is no longer in `modified`; fields set only by others in
// `current` are left alone. The result is what `kubectl apply` sends.
Result<json> createThreeWayMergePatch(const json& original, const json& modified,
                                      const json& current, const SchemaRegistry& schemas,
                                      std::string_view typeName);

}  // namespace kd::api

#pragma once
// YAML (1.2 core schema) and JSON documents to nlohmann::json.
// Quoted scalars always stay strings ("8080" is a string); plain scalars resolve to null, bool,
// int, float or string per the YAML 1.2 core schema. Errors carry the parser's line and column.

#include <string>
#include <string_view>
#include <vector>

#include "engine/api/status.h"

namespace kd::api {

// Parses one or more YAML documents ("---" separated). Empty documents are skipped. JSON is
// valid YAML, so JSON input works too. A top-level "kind: List" is NOT expanded here.
Result<std::vector<json>> parseYamlDocuments(std::string_view text);

// Parses a body that must be exactly one document, YAML or JSON (JSON is tried first when the
// body starts with '{' or '[').
Result<json> parseDocument(std::string_view text);

// Parses strict JSON; the error says line and column.
Result<json> parseJson(std::string_view text);

// Renders JSON as block YAML the way kubectl -o yaml does (keys in document order, strings that
// would resolve to another type quoted).
std::string toYaml(const json& value);

}  // namespace kd::api

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

// Renders JSON as YAML byte for byte as kubectl -o yaml does (go-yaml v2 through
// sigs.k8s.io/yaml): keys in go-yaml's natural order, strings that would read back as another
// type under YAML 1.1 double-quoted, plain text folded past column 80, multi-line strings as
// literal blocks, and numbers as kubectl's JSON round trip leaves them (3.0 prints as 3).
// Defined in go_yaml.cpp.
std::string toYaml(const json& value);

}  // namespace kd::api

#pragma once
// kubectl's JSONPath output templates (-o jsonpath='{.items[*].metadata.name}'): literal text
// and {expressions} with fields (.a, ['a']), indexes and slices ([0], [-1], [1:3]), wildcards
// ([*], .*), recursive descent (..name), filters ([?(@.x=="y")], != < > <= >=, existence
// [?(@.x)]), quoted literals ({"\n"}) and {range EXPR}...{end}. Several results of one
// expression print separated by spaces; strings print raw, other values as compact JSON.

#include <string>
#include <string_view>
#include <vector>

#include "engine/api/status.h"

namespace kd::cli {

// Renders `templ` against `data`. Syntax errors and missing keys are 400 errors, as kubectl
// reports them ("error executing jsonpath ...: ... is not found").
Result<std::string> renderJsonPath(std::string_view templ, const json& data);

// The values one expression (".metadata.name", without braces) selects in `data`, in order;
// none when a key is missing. 400 on a syntax error.
Result<std::vector<json>> jsonPathValues(std::string_view expression, const json& data);

}  // namespace kd::cli

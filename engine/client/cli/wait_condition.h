#pragma once
// What `kdctl wait --for=...` waits for, parsed and evaluated without I/O (kubectl's rules):
//   delete                      the object is gone (or replaced: another uid)
//   create                      the object exists
//   condition=Ready[=False]     status.conditions[type=Ready].status equals the value
//                               (default "True"), case-insensitively
//   jsonpath='{.status.phase}'=Running   the expression renders the value; without "=value"
//                               it only has to match something

#include <string>
#include <string_view>

#include "engine/api/status.h"

namespace kd::cli {

struct WaitCondition {
  enum Type { Delete, Create, Condition, JsonPath } type = Delete;
  std::string name;   // condition type, or the jsonpath template
  std::string value;  // wanted status or value
  bool valueGiven = false;
};

// 400 with kubectl's text ("unrecognized condition: \"x\"") for anything else.
Result<WaitCondition> parseWaitCondition(std::string_view forFlag);

bool conditionMet(const WaitCondition& condition, const json& object);

}  // namespace kd::cli

#include "engine/client/cli/wait_condition.h"

#include <strings.h>

#include "engine/client/cli/jsonpath.h"

namespace kd::cli {

namespace {

bool equalsIgnoreCase(const std::string& a, const std::string& b) {
  return strcasecmp(a.c_str(), b.c_str()) == 0;
}

std::string unquoted(std::string s) {
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front()) {
    return s.substr(1, s.size() - 2);
  }
  return s;
}

}  // namespace

Result<WaitCondition> parseWaitCondition(std::string_view forFlag) {
  const std::string text(forFlag);
  WaitCondition c;
  if (text == "delete" || text == "create") {
    c.type = text == "delete" ? WaitCondition::Delete : WaitCondition::Create;
    return c;
  }
  if (text.starts_with("condition=")) {
    c.type = WaitCondition::Condition;
    const std::string rest = text.substr(10);
    const auto eq = rest.find('=');
    c.name = rest.substr(0, eq);
    c.valueGiven = eq != std::string::npos;
    c.value = c.valueGiven ? rest.substr(eq + 1) : "True";
    if (!c.name.empty()) return c;
  }
  if (text.starts_with("jsonpath=")) {
    c.type = WaitCondition::JsonPath;
    std::string rest = unquoted(text.substr(9));
    // --for=jsonpath='{...}'=value when the shell left the quotes in place.
    if (!rest.empty() && rest.front() == '\'') {
      const auto closeQuote = rest.find('\'', 1);
      if (closeQuote != std::string::npos) {
        rest = rest.substr(1, closeQuote - 1) + rest.substr(closeQuote + 1);
      }
    }
    const auto close = rest.rfind('}');
    if (close != std::string::npos) {
      c.name = rest.substr(0, close + 1);
      c.valueGiven = close + 1 < rest.size() && rest[close + 1] == '=';
      c.value = c.valueGiven ? unquoted(rest.substr(close + 2)) : "";
      if (close + 1 == rest.size() || c.valueGiven) return c;
    }
    return Status::badRequest("unrecognized condition: \"" + text + "\"");
  }
  if (text.empty()) return Status::badRequest("--for must be set");
  return Status::badRequest("unrecognized condition: \"" + text + "\"");
}

bool conditionMet(const WaitCondition& condition, const json& object) {
  if (condition.type == WaitCondition::Create) return true;
  if (condition.type == WaitCondition::Delete) return false;
  if (condition.type == WaitCondition::Condition) {
    const json conditions = object.value("/status/conditions"_json_pointer, json::array());
    for (const json& c : conditions) {
      if (c.is_object() && equalsIgnoreCase(c.value("type", ""), condition.name)) {
        return equalsIgnoreCase(c.value("status", ""), condition.value);
      }
    }
    return false;
  }
  auto rendered = renderJsonPath(condition.name, object);
  if (!rendered.ok()) return false;
  return condition.valueGiven ? *rendered == condition.value : !rendered->empty();
}

}  // namespace kd::cli

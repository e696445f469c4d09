#include "dashboard/yaml_field_locator.h"

#include <yaml-cpp/yaml.h>

#include <vector>

namespace kd::dashboard {
namespace {

struct Step {
  std::string key;  // map key, or "" for an index
  size_t index = 0;
};

// "a.b[2].c" → a, b, [2], c. Keys with dots inside brackets (labels["app.kubernetes.io/x"])
// keep their dots.
std::vector<Step> parsePath(std::string_view path) {
  std::vector<Step> steps;
  std::string key;
  auto flush = [&] {
    if (!key.empty()) steps.push_back({key, 0});
    key.clear();
  };
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '.') {
      flush();
    } else if (c == '[') {
      flush();
      const size_t close = path.find(']', i);
      std::string_view inner = path.substr(
          i + 1, close == std::string_view::npos ? std::string_view::npos : close - i - 1);
      if (!inner.empty() && inner.front() == '"' && inner.back() == '"' && inner.size() >= 2) {
        steps.push_back({std::string(inner.substr(1, inner.size() - 2)), 0});
      } else {
        steps.push_back({"", static_cast<size_t>(std::atoll(std::string(inner).c_str()))});
      }
      if (close == std::string_view::npos) break;
      i = close;
    } else {
      key += c;
    }
  }
  flush();
  return steps;
}

}  // namespace

int lineOfField(const std::string& text, size_t doc, std::string_view fieldPath) {
  try {
    const std::vector<YAML::Node> docs = YAML::LoadAll(text);
    if (doc >= docs.size()) return -1;
    // Node's operator= writes through to the document; reset() only rebinds the handle.
    YAML::Node node;
    node.reset(docs[doc]);
    int line = node.Mark().line;
    for (const auto& step : parsePath(fieldPath)) {
      YAML::Node next;
      bool found = false;
      if (step.key.empty() && node.IsSequence() && step.index < node.size()) {
        const YAML::Node& seq = node;
        next.reset(seq[step.index]);
        line = next.Mark().line;
        found = true;
      } else if (!step.key.empty() && node.IsMap()) {
        for (auto it = node.begin(); it != node.end() && !found; ++it) {
          if (it->first.Scalar() != step.key) continue;
          line = it->first.Mark().line;  // the key's own line
          next.reset(it->second);
          found = true;
        }
      }
      if (!found) break;
      node.reset(next);
    }
    return line;
  } catch (const YAML::Exception&) {
    return -1;
  }
}

}  // namespace kd::dashboard

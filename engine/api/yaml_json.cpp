#include "engine/api/yaml_json.h"

#include <cmath>
#include <regex>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace kd::api {
namespace {

bool matches(const std::string& s, const std::regex& re) {
  return std::regex_match(s, re);
}

// YAML 1.2 core schema resolution of an untagged plain scalar.
json resolvePlainScalar(const std::string& s) {
  static const std::regex kNull("^(~|null|Null|NULL)?$");
  static const std::regex kTrue("^(true|True|TRUE)$");
  static const std::regex kFalse("^(false|False|FALSE)$");
  static const std::regex kDec("^[-+]?[0-9]+$");
  static const std::regex kOct("^0o[0-7]+$");
  static const std::regex kHex("^0x[0-9a-fA-F]+$");
  static const std::regex kFloat("^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$");
  static const std::regex kInf("^[-+]?\\.(inf|Inf|INF)$");
  static const std::regex kNan("^\\.(nan|NaN|NAN)$");
  if (matches(s, kNull)) return nullptr;
  if (matches(s, kTrue)) return true;
  if (matches(s, kFalse)) return false;
  try {
    if (matches(s, kDec)) {
      if (s[0] == '-') return std::stoll(s);
      return std::stoull(s[0] == '+' ? s.substr(1) : s);
    }
    if (matches(s, kOct)) return std::stoll(s.substr(2), nullptr, 8);
    if (matches(s, kHex)) return std::stoll(s.substr(2), nullptr, 16);
  } catch (const std::out_of_range&) {
    return std::stod(s);  // integers beyond 64 bits degrade to float like JSON parsers do
  }
  if (matches(s, kFloat)) return std::stod(s);
  // JSON cannot carry inf/nan; keep them as the strings the author wrote.
  if (matches(s, kInf) || matches(s, kNan)) return s;
  return s;
}

json convert(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar: {
      const std::string& tag = node.Tag();
      const std::string& v = node.Scalar();
      if (tag == "!" || tag == "tag:yaml.org,2002:str" || tag == "!!str") return v;
      if (tag == "?" || tag.empty()) return resolvePlainScalar(v);
      if (tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float" ||
          tag == "tag:yaml.org,2002:bool" || tag == "tag:yaml.org,2002:null") {
        return resolvePlainScalar(v);
      }
      return v;
    }
    case YAML::NodeType::Sequence: {
      json arr = json::array();
      for (const auto& item : node) arr.push_back(convert(item));
      return arr;
    }
    case YAML::NodeType::Map: {
      json obj = json::object();
      for (const auto& kv : node) {
        json key = convert(kv.first);
        std::string k = key.is_string() ? key.get<std::string>() : key.dump();
        if (kv.first.IsNull()) k = "null";
        if (obj.contains(k)) {
          const auto mark = kv.first.Mark();
          throw YAML::ParserException(mark, "mapping key \"" + k + "\" already defined");
        }
        obj[k] = convert(kv.second);
      }
      return obj;
    }
  }
  return nullptr;
}

std::string positionText(const YAML::Mark& mark) {
  if (mark.is_null()) return "";
  return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1) +
         ": ";
}

bool needsQuoting(const std::string& s) {
  if (s.empty()) return true;
  json resolved = resolvePlainScalar(s);
  if (!resolved.is_string()) return true;
  static const std::regex kUnsafeStart("^[-?:,\\[\\]{}#&*!|>'\"%@` ]");
  if (std::regex_search(s, kUnsafeStart)) return true;
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos) return true;
  if (s.back() == ' ' || s.back() == ':') return true;
  if (s.find_first_of("\n\t") != std::string::npos) return true;
  for (unsigned char c : s) {
    if (c < 0x20) return true;
  }
  return false;
}

void emit(YAML::Emitter& out, const json& v) {
  switch (v.type()) {
    case json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [k, val] : v.items()) {
        out << YAML::Key;
        if (needsQuoting(k)) {
          out << YAML::SingleQuoted << k;
        } else {
          out << k;
        }
        out << YAML::Value;
        emit(out, val);
      }
      out << YAML::EndMap;
      break;
    case json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& item : v) emit(out, item);
      out << YAML::EndSeq;
      break;
    case json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      // yaml-cpp writes literal blocks with clip chomping, which is exact only for a string
      // ending in one newline; other multi-line strings are double-quoted.
      if (s.size() > 1 && s.back() == '\n' && s[s.size() - 2] != '\n' &&
          s.find_first_of("\t\r") == std::string::npos && s.front() != ' ') {
        out << YAML::Literal << s;
      } else if (needsQuoting(s)) {
        out << YAML::DoubleQuoted << s;
      } else {
        out << s;
      }
      break;
    }
    case json::value_t::boolean:
      out << (v.get<bool>() ? "true" : "false");
      break;
    case json::value_t::null:
      out << YAML::Null;
      break;
    default:
      out << v.dump();
      break;
  }
}

}  // namespace

Result<std::vector<json>> parseYamlDocuments(std::string_view text) {
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(std::string(text));
    std::vector<json> out;
    out.reserve(docs.size());
    for (const auto& d : docs) {
      if (d.IsNull()) continue;
      out.push_back(convert(d));
    }
    return out;
  } catch (const YAML::Exception& e) {
    return Status::badRequest("error parsing YAML: " + positionText(e.mark) + e.msg);
  }
}

Result<json> parseJson(std::string_view text) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    // Translate the byte offset into line and column for a person.
    size_t line = 1, col = 1;
    for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string what = e.what();
    auto pos = what.find("parse error");
    if (pos != std::string::npos) what = what.substr(pos);
    return Status::badRequest("error decoding JSON at line " + std::to_string(line) + ", column " +
                              std::to_string(col) + ": " + what);
  }
}

Result<json> parseDocument(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (i < text.size() && (text[i] == '{' || text[i] == '[')) return parseJson(text);
  auto docs = parseYamlDocuments(text);
  if (!docs.ok()) return docs.status();
  if (docs->empty()) return Status::badRequest("the request body is empty");
  if (docs->size() > 1) {
    return Status::badRequest("the request body holds " + std::to_string(docs->size()) +
                              " documents; send one object per request");
  }
  return std::move(docs->front());
}

std::string toYaml(const json& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetMapFormat(YAML::Block);
  out.SetSeqFormat(YAML::Block);
  emit(out, value);
  std::string s = out.c_str();
  s.push_back('\n');
  return s;
}

}  // namespace kd::api

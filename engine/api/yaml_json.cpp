#include "engine/api/yaml_json.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <regex>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

namespace kd::api {
namespace {

constexpr int kMaxDepth = 128;

bool matches(const std::string& s, const std::regex& re) {
  return std::regex_match(s, re);
}

// strtod rather than stod: an underflow rounds towards zero instead of throwing, and a number
// too large for a double stays the string it was, as in the Go YAML decoder Kubernetes uses.
json floatOrString(const std::string& s) {
  errno = 0;
  const double d = std::strtod(s.c_str(), nullptr);
  if (errno == ERANGE && std::isinf(d)) return s;
  return d;
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
    return floatOrString(s);  // integers beyond 64 bits degrade to float like JSON parsers do
  }
  if (matches(s, kFloat)) return floatOrString(s);
  // JSON cannot carry inf/nan; keep them as the strings the author wrote.
  if (matches(s, kInf) || matches(s, kNan)) return s;
  return s;
}

// Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF), the same rule
// json::dump enforces later: yaml-cpp passes invalid bytes through, and a string that cannot be
// serialised must be refused here, at the edge, as a bad request.
bool isValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    size_t length = 1;
    unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
    if (lead < 0x80) {
      ++i;
      continue;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    } else {
      return false;
    }
    if (s.size() - i < length) return false;
    for (size_t k = 1; k < length; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (c < low || c > high) : (c < 0x80 || c > 0xBF)) return false;
    }
    i += length;
  }
  return true;
}

json convert(const YAML::Node& node, int depth = 0) {
  if (depth > kMaxDepth) {
    throw YAML::ParserException(
        node.Mark(), "objects and lists nest deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar: {
      const std::string& tag = node.Tag();
      const std::string& v = node.Scalar();
      if (!isValidUtf8(v)) throw YAML::ParserException(node.Mark(), "invalid UTF-8 in a scalar");
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
      for (const auto& item : node) arr.push_back(convert(item, depth + 1));
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
        obj[k] = convert(kv.second, depth + 1);
      }
      return obj;
    }
  }
  return nullptr;
}

// yaml-cpp 0.7 reports a token it cannot place at the top level (a stray ',') as an endless run
// of empty documents without consuming it, so YAML::LoadAll never returns and keeps allocating.
// A stream cannot hold more documents than it has bytes: a dry run over the parser's events
// stops there, with the position of the token, before the real load.
class DocumentCounter : public YAML::EventHandler {
 public:
  YAML::Mark lastStart;
  void OnDocumentStart(const YAML::Mark& mark) override { lastStart = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

void checkParserTerminates(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter events;
  for (size_t documents = 0; parser.HandleNextDocument(events); ++documents) {
    if (documents > text.size()) {
      throw YAML::ParserException(events.lastStart, "unexpected token outside any node");
    }
  }
}

std::string positionText(const YAML::Mark& mark) {
  if (mark.is_null()) return "";
  return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1) +
         ": ";
}

}  // namespace

Result<std::vector<json>> parseYamlDocuments(std::string_view text) {
  try {
    const std::string source(text);
    checkParserTerminates(source);
    std::vector<YAML::Node> docs = YAML::LoadAll(source);
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
    // Printing and walking JSON recurse per level; refuse depths no manifest has.
    return json::parse(text, [](int depth, json::parse_event_t, json&) {
      if (depth > kMaxDepth) throw std::length_error("nested too deeply");
      return true;
    });
  } catch (const std::length_error&) {
    return Status::badRequest("error decoding JSON: objects and lists nest deeper than " +
                              std::to_string(kMaxDepth) + " levels");
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
  } catch (const json::out_of_range& e) {
    // A number beyond a double (1E400): Go's decoder refuses it too. The parser names it in
    // quotes; its position is not in the exception.
    const std::string what = e.what();
    const auto open = what.find('\'');
    const std::string number =
        open == std::string::npos ? "" : what.substr(open + 1, what.rfind('\'') - open - 1);
    return Status::badRequest("error decoding JSON: cannot unmarshal number " + number +
                              " into a float64: it is out of range");
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

}  // namespace kd::api

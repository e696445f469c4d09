#include "engine/api/validation.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "engine/api/cron.h"
#include "engine/api/selectors.h"

namespace kd::api {
namespace {

// ---------------------------------------------------------------------------------------------
// Field errors, rendered the way apimachinery's field.Error renders them.

std::string child(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}
std::string index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}
std::string key(const std::string& path, std::string_view k) {
  return path + "[" + std::string(k) + "]";
}

// Go prints simple values with %v, strings with %q and everything else as JSON.
std::string renderValue(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();
}

std::string quoteAll(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + json(v).dump();
  return out;
}

class Errors {
 public:
  void add(std::string reason, std::string body, std::string field) {
    causes_.push_back({std::move(reason), std::move(body), std::move(field)});
  }
  void invalid(const std::string& field, const json& value, const std::string& detail) {
    add("FieldValueInvalid", withDetail("Invalid value: " + renderValue(value), detail), field);
  }
  void required(const std::string& field, const std::string& detail = "") {
    add("FieldValueRequired", withDetail("Required value", detail), field);
  }
  void forbidden(const std::string& field, const std::string& detail) {
    add("FieldValueForbidden", withDetail("Forbidden", detail), field);
  }
  void duplicate(const std::string& field, const json& value) {
    add("FieldValueDuplicate", "Duplicate value: " + renderValue(value), field);
  }
  void notFound(const std::string& field, const json& value) {
    add("FieldValueNotFound", "Not found: " + renderValue(value), field);
  }
  void notSupported(const std::string& field, const json& value,
                    const std::vector<std::string>& supported) {
    add("FieldValueNotSupported",
        withDetail("Unsupported value: " + renderValue(value),
                   "supported values: " + quoteAll(supported)),
        field);
  }
  void tooLong(const std::string& field, long long maxBytes) {
    add("FieldValueTooLong",
        "Too long: may not be more than " + std::to_string(maxBytes) + " bytes", field);
  }
  void immutable(const std::string& field, const json& value) {
    invalid(field, value, "field is immutable");
  }
  // One Invalid cause per message of a name/format checker.
  void invalidEach(const std::string& field, const json& value,
                   const std::vector<std::string>& messages) {
    for (const auto& m : messages) invalid(field, value, m);
  }

  bool empty() const { return causes_.empty(); }
  const std::vector<StatusCause>& causes() const { return causes_; }

 private:
  static std::string withDetail(std::string body, const std::string& detail) {
    return detail.empty() ? body : body + ": " + detail;
  }
  std::vector<StatusCause> causes_;
};

// Kubernetes' NewInvalid: "<Kind.group> \"name\" is invalid: <aggregate of causes>".
Status invalidStatus(const KindInfo& kind, const std::string& name, const Errors& errors) {
  std::vector<std::string> seen;
  for (const auto& c : errors.causes()) {
    std::string line = c.field + ": " + c.message;
    if (std::find(seen.begin(), seen.end(), line) == seen.end()) seen.push_back(line);
  }
  std::string joined;
  for (const auto& s : seen) joined += (joined.empty() ? "" : ", ") + s;
  if (seen.size() > 1) joined = "[" + joined + "]";
  Status s = Status::invalid(kind.qualifiedKind() + " \"" + name + "\" is invalid: " + joined,
                             errors.causes());
  s.withDetails(name, kind.group, kind.kind);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Safe accessors: validation never trusts the JSON shape.

const json* get(const json& o, std::string_view k) {
  if (!o.is_object()) return nullptr;
  auto it = o.find(k);
  if (it == o.end() || it->is_null()) return nullptr;
  return &*it;
}
const json& getOr(const json& o, std::string_view k) {
  static const json kNull;
  const json* v = get(o, k);
  return v ? *v : kNull;
}
std::string str(const json& o, std::string_view k) {
  const json* v = get(o, k);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}
std::optional<int64_t> integer(const json& o, std::string_view k) {
  const json* v = get(o, k);
  if (!v || !v->is_number_integer()) return std::nullopt;
  return v->get<int64_t>();
}
bool boolean(const json& o, std::string_view k) {
  const json* v = get(o, k);
  return v && v->is_boolean() && v->get<bool>();
}
const json& list(const json& o, std::string_view k) {
  static const json kEmpty = json::array();
  const json* v = get(o, k);
  return v && v->is_array() ? *v : kEmpty;
}
bool contains(const std::vector<std::string>& values, const std::string& v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

void nonNegative(Errors& errs, const json& o, std::string_view k, const std::string& path) {
  if (auto v = integer(o, k); v && *v < 0) {
    errs.invalid(child(path, k), *v, "must be greater than or equal to 0");
  }
}
void atLeastOne(Errors& errs, const json& o, std::string_view k, const std::string& path) {
  if (auto v = integer(o, k); v && *v < 1) {
    errs.invalid(child(path, k), *v, "must be greater than or equal to 1");
  }
}
// A string field with a closed set of values; absent means "left to defaulting".
void oneOf(Errors& errs, const json& o, std::string_view k, const std::string& path,
           const std::vector<std::string>& values) {
  const json* v = get(o, k);
  if (!v) return;
  if (!v->is_string() || !contains(values, v->get<std::string>())) {
    errs.notSupported(child(path, k), *v, values);
  }
}

// ---------------------------------------------------------------------------------------------
// Name and format rules (apimachinery util/validation).

std::string regexError(const std::string& msg, const std::string& fmt,
                       const std::vector<std::string>& examples) {
  std::string out = msg + " (e.g. ";
  for (size_t i = 0; i < examples.size(); ++i) {
    out += (i ? " or '" : "'") + examples[i] + "', ";
  }
  return out + "regex used for validation is '" + fmt + "')";
}

const std::string kLabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const std::string kSubdomainFmt = kLabelFmt + "(\\." + kLabelFmt + ")*";
const std::string kDns1035Fmt = "[a-z]([-a-z0-9]*[a-z0-9])?";
const std::string kLabelKeyFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const std::string kConfigKeyFmt = "[-._a-zA-Z0-9]+";

bool fullMatch(std::string_view value, const std::string& fmt) {
  static thread_local std::map<std::string, std::regex> cache;
  auto it = cache.find(fmt);
  if (it == cache.end()) it = cache.emplace(fmt, std::regex("^(" + fmt + ")$")).first;
  return std::regex_match(value.begin(), value.end(), it->second);
}

std::vector<std::string> dns1123Subdomain(std::string_view v, const std::string& unit) {
  std::vector<std::string> out;
  if (v.size() > 253) out.push_back("must be no more than 253 " + unit);
  if (!fullMatch(v, kSubdomainFmt)) {
    out.push_back(regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
        "'-' or '.', and must start and end with an alphanumeric character",
        kSubdomainFmt, {"example.com"}));
  }
  return out;
}

std::vector<std::string> dns1123Label(std::string_view v) {
  std::vector<std::string> out;
  if (v.size() > 63) out.push_back("must be no more than 63 characters");
  if (!fullMatch(v, kLabelFmt)) {
    if (fullMatch(v, kSubdomainFmt)) {
      out.push_back("must not contain dots");
    } else {
      out.push_back(regexError(
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
          "'-', and must start and end with an alphanumeric character",
          kLabelFmt, {"my-name", "123-abc"}));
    }
  }
  return out;
}

std::vector<std::string> dns1035Label(std::string_view v) {
  std::vector<std::string> out;
  if (v.size() > 63) out.push_back("must be no more than 63 characters");
  if (!fullMatch(v, kDns1035Fmt)) {
    out.push_back(regexError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
        "with an alphabetic character, and end with an alphanumeric character",
        kDns1035Fmt, {"my-name", "abc-123"}));
  }
  return out;
}

std::vector<std::string> pathSegmentName(std::string_view v) {
  std::vector<std::string> out;
  if (v == "." || v == "..") return {"may not be '" + std::string(v) + "'"};
  for (std::string_view bad : {"/", "%"}) {
    if (v.find(bad) != std::string_view::npos) {
      out.push_back("may not contain '" + std::string(bad) + "'");
    }
  }
  return out;
}

std::vector<std::string> labelKey(std::string_view v) {
  std::vector<std::string> out;
  const std::string keyMsg =
      "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
      "an alphanumeric character";
  const std::vector<std::string> examples = {"MyName", "my.name", "123-abc"};
  std::string_view name = v;
  if (auto slash = v.find('/'); slash != std::string_view::npos) {
    if (v.find('/', slash + 1) != std::string_view::npos) {
      return {"a valid label key " + regexError(keyMsg, kLabelKeyFmt, examples) +
              " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"};
    }
    std::string_view prefix = v.substr(0, slash);
    name = v.substr(slash + 1);
    if (prefix.empty()) {
      out.push_back("prefix part must be non-empty");
    } else {
      for (auto& m : dns1123Subdomain(prefix, "bytes")) out.push_back("prefix part " + m);
    }
  }
  if (name.empty()) {
    out.push_back("name part must be non-empty");
  } else if (name.size() > 63) {
    out.push_back("name part must be no more than 63 bytes");
  }
  if (!fullMatch(name, kLabelKeyFmt)) {
    out.push_back("name part " + regexError(keyMsg, kLabelKeyFmt, examples));
  }
  return out;
}

std::vector<std::string> labelValue(std::string_view v) {
  std::vector<std::string> out;
  if (v.size() > 63) out.push_back("must be no more than 63 bytes");
  if (!v.empty() && !fullMatch(v, kLabelKeyFmt)) {
    out.push_back(regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', "
        "'_' or '.', and must start and end with an alphanumeric character",
        "(" + kLabelKeyFmt + ")?", {"MyValue", "my_value", "12345"}));
  }
  return out;
}

std::vector<std::string> configMapKey(std::string_view v) {
  std::vector<std::string> out;
  if (v.size() > 253) out.push_back("must be no more than 253 characters");
  if (!fullMatch(v, kConfigKeyFmt)) {
    out.push_back(
        regexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                   kConfigKeyFmt, {"key.name", "KEY_NAME", "key-name"}));
  }
  if (v == ".") {
    out.push_back("must not be '.'");
  } else if (v == "..") {
    out.push_back("must not be '..'");
  } else if (v.starts_with("..")) {
    out.push_back("must not start with '..'");
  }
  return out;
}

std::vector<std::string> portName(std::string_view v) {
  std::vector<std::string> out;
  if (v.size() > 15) out.push_back("must be no more than 15 characters");
  if (!fullMatch(v, "[-a-z0-9]+")) {
    out.push_back("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  }
  if (std::none_of(v.begin(), v.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
    out.push_back("must contain at least one letter (a-z)");
  }
  if (v.find("--") != std::string_view::npos) out.push_back("must not contain consecutive hyphens");
  if (!v.empty() && (v.front() == '-' || v.back() == '-')) {
    out.push_back("must not begin or end with a hyphen");
  }
  return out;
}

std::vector<std::string> portNumber(int64_t port) {
  if (port >= 1 && port <= 65535) return {};
  return {"must be between 1 and 65535, inclusive"};
}

std::vector<std::string> envVarName(std::string_view v) {
  if (v.empty()) return {"environment variable name must be non-empty"};
  for (unsigned char c : v) {
    if (c < 0x20 || c > 0x7e || c == '=') {
      return {
          "a valid environment variable name must consist only of printable ASCII "
          "characters other than '='"};
    }
  }
  return {};
}

bool isIpAddress(const std::string& v) {
  static const std::string octet = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
  if (fullMatch(v, octet + "(\\." + octet + "){3}")) return true;
  // IPv6: hex groups with at most one "::"; good enough to tell an address from a typo.
  if (v.find(':') == std::string::npos || !fullMatch(v, "[0-9a-fA-F:.]+")) return false;
  size_t dbl = v.find("::");
  if (dbl != std::string::npos && v.find("::", dbl + 1) != std::string::npos) return false;
  int groups = 0;
  std::stringstream ss(v);
  for (std::string g; std::getline(ss, g, ':');) {
    if (g.size() > 4 && g.find('.') == std::string::npos) return false;
    if (!g.empty()) ++groups;
  }
  return groups <= 8 &&
         (dbl != std::string::npos || groups == 8 || v.find('.') != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Quantities ("500m", "1Gi", "1e3"): the syntax resource.ParseQuantity accepts.

const char* const kQuantityFormatError =
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

std::optional<double> suffixScale(std::string_view s) {
  static const std::map<std::string, double, std::less<>> kScales = {
      {"", 1},        {"n", 1e-9},    {"u", 1e-6},    {"m", 1e-3},
      {"k", 1e3},     {"M", 1e6},     {"G", 1e9},     {"T", 1e12},
      {"P", 1e15},    {"E", 1e18},    {"Ki", 1024.0}, {"Mi", 1048576.0},
      {"Gi", 0x1p30}, {"Ti", 0x1p40}, {"Pi", 0x1p50}, {"Ei", 0x1p60}};
  if (auto it = kScales.find(s); it != kScales.end()) return it->second;
  if (s.size() >= 2 && (s[0] == 'e' || s[0] == 'E')) {
    std::string_view exp = s.substr(1);
    if (exp[0] == '+' || exp[0] == '-') exp.remove_prefix(1);
    if (!exp.empty() && std::all_of(exp.begin(), exp.end(), ::isdigit)) {
      return std::pow(10.0, std::stod(std::string(s.substr(1))));
    }
  }
  return std::nullopt;
}

// The quantity's value, or the message resource.ParseQuantity fails with.
std::variant<double, std::string> parseQuantity(std::string_view s) {
  if (!fullMatch(s, "[+-]?[0-9.]+[eEinumkKMGTP]*[-+]?[0-9]*")) return kQuantityFormatError;
  size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
  size_t end = s.find_first_not_of("0123456789.", i);
  std::string_view number = s.substr(i, end == std::string_view::npos ? s.size() - i : end - i);
  if (std::count(number.begin(), number.end(), '.') > 1 || number == ".") {
    return std::string("unable to parse numeric part of quantity");
  }
  auto scale = suffixScale(end == std::string_view::npos ? "" : s.substr(end));
  if (!scale) return std::string("unable to parse quantity's suffix");
  double value = std::stod(std::string(number)) * *scale;
  return s[0] == '-' ? -value : value;
}

std::optional<double> quantityValue(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (!v.is_string()) return std::nullopt;
  auto parsed = parseQuantity(v.get<std::string>());
  if (auto* d = std::get_if<double>(&parsed)) return *d;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Base64 as Go's StdEncoding decodes it ([]byte fields such as Secret data).

std::string base64Error(std::string_view s) {
  auto isAlpha = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
  };
  size_t n = s.size();
  size_t pad = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[i];
    if (c == '\r' || c == '\n') continue;
    if (c == '=') {
      ++pad;
      if (pad > 2) return "illegal base64 data at input byte " + std::to_string(i);
      continue;
    }
    if (!isAlpha(c) || pad > 0) {
      return "illegal base64 data at input byte " + std::to_string(pad > 0 ? i - pad : i);
    }
  }
  size_t clean = static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return c != '\r' && c != '\n'; }));
  if (clean % 4 != 0) {
    return "illegal base64 data at input byte " + std::to_string(clean - clean % 4);
  }
  return "";
}

size_t base64DecodedSize(std::string_view s) {
  size_t n = static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return c != '\r' && c != '\n' && c != '='; }));
  return n * 3 / 4;
}

// ---------------------------------------------------------------------------------------------
// Cron schedules and time zones: the parser the CronJob controller runs decides, so the API
// never accepts a schedule the controller cannot run.

std::string cronError(const std::string& schedule) {
  auto parsed = CronSchedule::parse(schedule);
  return parsed.ok() ? "" : parsed.status().message();
}

std::string timeZoneError(const std::string& tz) {
  auto zone = TimeZone::load(tz);
  return zone.ok() ? "" : zone.status().message();
}

// ---------------------------------------------------------------------------------------------
// Schema layer: walks the object with its types the way the API server's JSON decoder does, so
// a wrong type fails with the decoder's words and unknown fields carry the decoder's paths.

std::string shortTypeName(std::string_view name) {
  auto dot = name.rfind('.');
  return std::string(dot == std::string_view::npos ? name : name.substr(dot + 1));
}

std::string goTypeName(std::string_view type) {
  static const std::map<std::string, std::string, std::less<>> kScalars = {
      {"string", "string"},     {"integer", "int32"},
      {"int64", "int64"},       {"number", "float64"},
      {"boolean", "bool"},      {"byte", "[]uint8"},
      {"IntOrString", "int32"}, {"Quantity", "resource.Quantity"},
      {"Time", "string"},       {"MicroTime", "string"},
      {"Duration", "string"},   {"RawJSON", "json.RawMessage"}};
  TypeExpr e = TypeExpr::parse(type);
  switch (e.shape) {
    case TypeExpr::Shape::Array:
      return "[]" + goTypeName(e.name);
    case TypeExpr::Shape::Map:
      return "map[string]" + goTypeName(e.name);
    case TypeExpr::Shape::Named:
      return "v1." + shortTypeName(e.name);
    case TypeExpr::Shape::Scalar:
      break;
  }
  auto it = kScalars.find(e.name);
  return it == kScalars.end() ? e.name : it->second;
}

std::string jsonKindName(const json& v) {
  if (v.is_string()) return "string";
  if (v.is_number()) return "number";
  if (v.is_boolean()) return "bool";
  if (v.is_array()) return "array";
  return "object";
}

bool fitsInt32(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= uint64_t(INT32_MAX);
  if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    return i >= INT32_MIN && i <= INT32_MAX;
  }
  return false;
}

class SchemaWalker {
 public:
  SchemaWalker(const SchemaRegistry& schemas, bool wantUnknown)
      : schemas_(schemas), wantUnknown_(wantUnknown) {}

  void walkType(const TypeDef& t, const json& obj, const std::string& path,
                const std::string& goPath, bool root) {
    for (const auto& [k, v] : obj.items()) {
      if (!error.empty()) return;
      const FieldDef* f = t.field(k);
      if (!f) {
        bool typeMeta = root && (k == "apiVersion" || k == "kind");
        if (wantUnknown_ && !t.preserveUnknownFields && !typeMeta) {
          unknown.push_back(child(path, k));
        }
        continue;
      }
      walkValue(f->type, v, child(path, k), child(goPath, k), shortTypeName(t.name));
    }
  }

  std::vector<std::string> unknown;
  std::string error;  // the first decoding error, in the decoder's words

 private:
  void typeError(const std::string& value, const std::string& structName, const std::string& goPath,
                 const std::string& goType) {
    error = "json: cannot unmarshal " + value + " into Go struct field " + structName + "." +
            goPath + " of type " + goType;
  }

  void walkValue(std::string_view type, const json& v, const std::string& path,
                 const std::string& goPath, const std::string& structName) {
    if (v.is_null() || !error.empty()) return;
    TypeExpr e = TypeExpr::parse(type);
    switch (e.shape) {
      case TypeExpr::Shape::Array:
        if (!v.is_array()) return typeError(jsonKindName(v), structName, goPath, goTypeName(type));
        for (size_t i = 0; i < v.size(); ++i)
          walkValue(e.name, v[i], index(path, i), goPath, structName);
        return;
      case TypeExpr::Shape::Map:
        if (!v.is_object()) return typeError(jsonKindName(v), structName, goPath, goTypeName(type));
        for (const auto& [k, x] : v.items())
          walkValue(e.name, x, child(path, k), goPath, structName);
        return;
      case TypeExpr::Shape::Named: {
        const TypeDef* t = schemas_.type(e.name);
        if (!t) return;  // a type the registry lacks is free-form
        if (!v.is_object()) return typeError(jsonKindName(v), structName, goPath, goTypeName(type));
        return walkType(*t, v, path, goPath, false);
      }
      case TypeExpr::Shape::Scalar:
        return checkScalar(e.name, v, goPath, structName);
    }
  }

  void checkScalar(const std::string& scalar, const json& v, const std::string& goPath,
                   const std::string& structName) {
    auto fail = [&](const std::string& goType) {
      std::string value = jsonKindName(v);
      if (v.is_number() && (goType == "int32" || goType == "int64")) value += " " + v.dump();
      typeError(value, structName, goPath, goType);
    };
    if (scalar == "string" || scalar == "Time" || scalar == "MicroTime" || scalar == "Duration") {
      if (!v.is_string()) fail("string");
    } else if (scalar == "integer") {
      if (!fitsInt32(v)) fail("int32");
    } else if (scalar == "int64") {
      if (!v.is_number_integer() ||
          (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)))
        fail("int64");
    } else if (scalar == "number") {
      if (!v.is_number()) fail("float64");
    } else if (scalar == "boolean") {
      if (!v.is_boolean()) fail("bool");
    } else if (scalar == "byte") {
      if (!v.is_string()) return fail("[]uint8");
      error = base64Error(v.get<std::string>());
    } else if (scalar == "IntOrString") {
      if (!v.is_string() && !fitsInt32(v)) fail("int32");
    } else if (scalar == "Quantity") {
      if (v.is_number()) return;
      if (!v.is_string()) {
        error = kQuantityFormatError;
        return;
      }
      auto parsed = parseQuantity(v.get<std::string>());
      if (auto* msg = std::get_if<std::string>(&parsed)) error = *msg;
    }
  }

  const SchemaRegistry& schemas_;
  bool wantUnknown_;
};

}  // namespace

Status validateAgainstSchema(const KindInfo& kind, const json& object, FieldValidation mode,
                             const SchemaRegistry& schemas, std::vector<std::string>* warnings) {
  std::string version = kind.version;
  if (const json* av = get(object, "apiVersion"); av && av->is_string()) {
    std::string s = av->get<std::string>();
    version = s.substr(s.find('/') == std::string::npos ? 0 : s.find('/') + 1);
  }
  std::string sentKind = str(object, "kind").empty() ? kind.kind : str(object, "kind");
  std::string prefix = sentKind + " in version " + json(version).dump() +
                       " cannot be handled as a " + kind.kind + ": ";
  const TypeDef* root = schemas.type(kind.schemaType);
  if (!object.is_object()) {
    return Status::badRequest(prefix + "json: cannot unmarshal " + jsonKindName(object) +
                              " into Go value of type v1." + kind.kind);
  }
  if (!root) return Status::ok();
  SchemaWalker walker(schemas, mode != FieldValidation::Ignore);
  walker.walkType(*root, object, "", "", true);
  if (!walker.error.empty()) return Status::badRequest(prefix + walker.error);
  if (walker.unknown.empty()) return Status::ok();
  if (mode == FieldValidation::Strict) {
    std::string list;
    for (const auto& u : walker.unknown)
      list += (list.empty() ? "" : ", ") + ("unknown field " + json(u).dump());
    return Status::badRequest(prefix + "strict decoding error: " + list);
  }
  if (warnings) {
    for (const auto& u : walker.unknown) warnings->push_back("unknown field " + json(u).dump());
  }
  return Status::ok();
}

namespace {

// ---------------------------------------------------------------------------------------------
// Object metadata.

enum class NameRule { Subdomain, Label, Dns1035, PathSegment };

std::vector<std::string> nameMessages(NameRule rule, std::string_view name) {
  switch (rule) {
    case NameRule::Label:
      return dns1123Label(name);
    case NameRule::Dns1035:
      return dns1035Label(name);
    case NameRule::PathSegment:
      return pathSegmentName(name);
    case NameRule::Subdomain:
      break;
  }
  return dns1123Subdomain(name, "characters");
}

void validateLabels(const json& labels, const std::string& path, Errors& errs) {
  if (!labels.is_object()) return;
  for (const auto& [k, v] : labels.items()) {
    errs.invalidEach(path, k, labelKey(k));
    if (v.is_string()) errs.invalidEach(path, v, labelValue(v.get<std::string>()));
  }
}

void validateAnnotations(const json& annotations, const std::string& path, Errors& errs) {
  if (!annotations.is_object()) return;
  size_t total = 0;
  for (const auto& [k, v] : annotations.items()) {
    std::string lower = k;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    errs.invalidEach(path, k, labelKey(lower));
    total += k.size() + (v.is_string() ? v.get<std::string>().size() : 0);
  }
  constexpr size_t kTotalAnnotationSizeLimit = 256 * 1024;
  if (total > kTotalAnnotationSizeLimit) errs.tooLong(path, kTotalAnnotationSizeLimit);
}

void validateMetadata(const json& meta, NameRule rule, Errors& errs) {
  std::string name = str(meta, "name"), generateName = str(meta, "generateName");
  if (!generateName.empty()) {
    // A prefix may end in '-'; the random suffix makes the final name valid.
    std::string masked = generateName;
    if (masked.size() > 1 && masked.back() == '-') masked.back() = 'a';
    errs.invalidEach("metadata.generateName", generateName, nameMessages(rule, masked));
  }
  if (name.empty() && generateName.empty()) {
    errs.required("metadata.name", "name or generateName is required");
  } else if (!name.empty()) {
    errs.invalidEach("metadata.name", name, nameMessages(rule, name));
  }
  validateLabels(getOr(meta, "labels"), "metadata.labels", errs);
  validateAnnotations(getOr(meta, "annotations"), "metadata.annotations", errs);
}

// ---------------------------------------------------------------------------------------------
// Pods and pod templates.

void validatePortValue(const json& port, const std::string& path, Errors& errs) {
  if (port.is_string()) {
    errs.invalidEach(path, port, portName(port.get<std::string>()));
  } else if (port.is_number_integer()) {
    errs.invalidEach(path, port.get<int64_t>(), portNumber(port.get<int64_t>()));
  } else {
    errs.required(path);
  }
}

void validateProbe(const json& probe, const std::string& path, bool successMustBeOne,
                   Errors& errs) {
  if (!probe.is_object()) return;
  int handlers = 0;
  for (std::string_view h : {"exec", "httpGet", "tcpSocket", "grpc"})
    handlers += get(probe, h) ? 1 : 0;
  if (handlers == 0) errs.required(path, "must specify a handler type");
  if (handlers > 1) errs.forbidden(path, "may not specify more than 1 handler type");
  for (std::string_view k : {"initialDelaySeconds", "timeoutSeconds", "periodSeconds",
                             "successThreshold", "failureThreshold"}) {
    nonNegative(errs, probe, k, path);
  }
  if (auto s = integer(probe, "successThreshold"); successMustBeOne && s && *s != 1) {
    errs.invalid(child(path, "successThreshold"), *s, "must be 1");
  }
  if (const json* http = get(probe, "httpGet")) {
    validatePortValue(getOr(*http, "port"), child(path, "httpGet.port"), errs);
    oneOf(errs, *http, "scheme", child(path, "httpGet"), {"HTTP", "HTTPS"});
  }
  if (const json* tcp = get(probe, "tcpSocket")) {
    validatePortValue(getOr(*tcp, "port"), child(path, "tcpSocket.port"), errs);
  }
}

void validateContainerPorts(const json& ports, const std::string& path, Errors& errs) {
  std::set<std::string> names;
  for (size_t i = 0; i < ports.size(); ++i) {
    const json& p = ports[i];
    std::string pp = index(path, i);
    if (std::string name = str(p, "name"); !name.empty()) {
      errs.invalidEach(child(pp, "name"), name, portName(name));
      if (!names.insert(name).second) errs.duplicate(child(pp, "name"), name);
    }
    auto cp = integer(p, "containerPort");
    if (!cp || *cp == 0) {
      errs.required(child(pp, "containerPort"));
    } else {
      errs.invalidEach(child(pp, "containerPort"), *cp, portNumber(*cp));
    }
    if (auto hp = integer(p, "hostPort"); hp && *hp != 0) {
      errs.invalidEach(child(pp, "hostPort"), *hp, portNumber(*hp));
    }
    oneOf(errs, p, "protocol", pp, {"SCTP", "TCP", "UDP"});
  }
}

void validateResources(const json& resources, const std::string& path, Errors& errs) {
  const json& limits = getOr(resources, "limits");
  const json& requests = getOr(resources, "requests");
  for (const auto& [section, values] : {std::pair{"limits", &limits}, {"requests", &requests}}) {
    if (!values->is_object()) continue;
    for (const auto& [name, q] : values->items()) {
      auto v = quantityValue(q);
      if (v && *v < 0) {
        errs.invalid(key(child(path, section), name), q.is_string() ? q : json(q.dump()),
                     "must be greater than or equal to 0");
      }
    }
  }
  if (!requests.is_object() || !limits.is_object()) return;
  for (const auto& [name, q] : requests.items()) {
    const json* limit = get(limits, name);
    auto rv = quantityValue(q);
    auto lv = limit ? quantityValue(*limit) : std::nullopt;
    if (rv && lv && *rv > *lv) {
      std::string limitText = limit->is_string() ? limit->get<std::string>() : limit->dump();
      errs.invalid(child(path, "requests"), q.is_string() ? q : json(q.dump()),
                   "must be less than or equal to " + name + " limit of " + limitText);
    }
  }
}

void validateContainer(const json& c, const std::string& path, bool init,
                       const std::set<std::string>& volumes, std::set<std::string>& names,
                       Errors& errs) {
  std::string name = str(c, "name");
  if (name.empty()) {
    errs.required(child(path, "name"));
  } else {
    errs.invalidEach(child(path, "name"), name, dns1123Label(name));
    if (!names.insert(name).second) errs.duplicate(child(path, "name"), name);
  }
  if (str(c, "image").empty()) errs.required(child(path, "image"));
  oneOf(errs, c, "imagePullPolicy", path, {"Always", "IfNotPresent", "Never"});
  oneOf(errs, c, "terminationMessagePolicy", path, {"File", "FallbackToLogsOnError"});
  validateContainerPorts(list(c, "ports"), child(path, "ports"), errs);
  const json& env = list(c, "env");
  for (size_t i = 0; i < env.size(); ++i) {
    std::string ep = index(child(path, "env"), i), envName = str(env[i], "name");
    if (envName.empty()) {
      errs.required(child(ep, "name"));
    } else {
      errs.invalidEach(child(ep, "name"), envName, envVarName(envName));
    }
  }
  const json& mounts = list(c, "volumeMounts");
  std::set<std::string> mountPaths;
  for (size_t i = 0; i < mounts.size(); ++i) {
    std::string mp = index(child(path, "volumeMounts"), i);
    std::string vol = str(mounts[i], "name"), at = str(mounts[i], "mountPath");
    if (vol.empty()) {
      errs.required(child(mp, "name"));
    } else if (!volumes.count(vol)) {
      errs.notFound(child(mp, "name"), vol);
    }
    if (at.empty()) {
      errs.required(child(mp, "mountPath"));
    } else if (!mountPaths.insert(at).second) {
      errs.invalid(child(mp, "mountPath"), at, "must be unique");
    }
  }
  if (!init) {
    validateProbe(getOr(c, "livenessProbe"), child(path, "livenessProbe"), true, errs);
    validateProbe(getOr(c, "readinessProbe"), child(path, "readinessProbe"), false, errs);
    validateProbe(getOr(c, "startupProbe"), child(path, "startupProbe"), true, errs);
  }
  validateResources(getOr(c, "resources"), child(path, "resources"), errs);
}

std::set<std::string> validateVolumes(const json& volumes, const std::string& path, Errors& errs) {
  std::set<std::string> names;
  for (size_t i = 0; i < volumes.size(); ++i) {
    const json& v = volumes[i];
    std::string vp = index(path, i), name = str(v, "name");
    if (name.empty()) {
      errs.required(child(vp, "name"));
    } else {
      errs.invalidEach(child(vp, "name"), name, dns1123Label(name));
      if (!names.insert(name).second) errs.duplicate(child(vp, "name"), name);
    }
    int sources = 0;
    if (v.is_object()) {
      for (const auto& [k, x] : v.items()) sources += (k != "name" && !x.is_null()) ? 1 : 0;
    }
    if (sources == 0) errs.required(vp, "must specify a volume type");
    if (sources > 1) errs.forbidden(vp, "may not specify more than 1 volume type");
  }
  return names;
}

// `claimVolumes`: volume names a StatefulSet's volumeClaimTemplates add to each of its pods.
void validatePodSpec(const json& spec, const std::string& path, Errors& errs,
                     const std::set<std::string>& claimVolumes = {}) {
  std::set<std::string> volumes =
      validateVolumes(list(spec, "volumes"), child(path, "volumes"), errs);
  volumes.insert(claimVolumes.begin(), claimVolumes.end());
  std::set<std::string> names;
  const json& inits = list(spec, "initContainers");
  for (size_t i = 0; i < inits.size(); ++i) {
    validateContainer(inits[i], index(child(path, "initContainers"), i), true, volumes, names,
                      errs);
  }
  const json& containers = list(spec, "containers");
  if (containers.empty()) errs.required(child(path, "containers"));
  for (size_t i = 0; i < containers.size(); ++i) {
    validateContainer(containers[i], index(child(path, "containers"), i), false, volumes, names,
                      errs);
  }
  oneOf(errs, spec, "restartPolicy", path, {"Always", "OnFailure", "Never"});
  oneOf(errs, spec, "dnsPolicy", path,
        {"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"});
  nonNegative(errs, spec, "terminationGracePeriodSeconds", path);
  if (auto ads = integer(spec, "activeDeadlineSeconds"); ads && (*ads < 1 || *ads > INT32_MAX)) {
    errs.invalid(child(path, "activeDeadlineSeconds"), *ads,
                 "must be between 1 and 2147483647, inclusive");
  }
  validateLabels(getOr(spec, "nodeSelector"), child(path, "nodeSelector"), errs);
  if (std::string sa = str(spec, "serviceAccountName"); !sa.empty()) {
    errs.invalidEach(child(path, "serviceAccountName"), sa, dns1123Subdomain(sa, "characters"));
  }
  for (std::string_view k : {"hostname", "subdomain"}) {
    if (std::string v = str(spec, k); !v.empty())
      errs.invalidEach(child(path, k), v, dns1123Label(v));
  }
}

void validatePodTemplate(const json& tmpl, const std::string& path, Errors& errs,
                         const std::set<std::string>& claimVolumes = {}) {
  const json& meta = getOr(tmpl, "metadata");
  validateLabels(getOr(meta, "labels"), child(path, "metadata.labels"), errs);
  validateAnnotations(getOr(meta, "annotations"), child(path, "metadata.annotations"), errs);
  validatePodSpec(getOr(tmpl, "spec"), child(path, "spec"), errs, claimVolumes);
}

// The policy the pod will run with: an absent one is defaulted to Always.
std::string restartPolicyOf(const json& tmpl) {
  std::string rp = str(getOr(tmpl, "spec"), "restartPolicy");
  return rp.empty() ? "Always" : rp;
}

// ---------------------------------------------------------------------------------------------
// Selectors.

void validateLabelSelector(const json& sel, const std::string& path, Errors& errs) {
  validateLabels(getOr(sel, "matchLabels"), child(path, "matchLabels"), errs);
  const json& exprs = list(sel, "matchExpressions");
  for (size_t i = 0; i < exprs.size(); ++i) {
    std::string ep = index(child(path, "matchExpressions"), i);
    const json& e = exprs[i];
    errs.invalidEach(child(ep, "key"), str(e, "key"), labelKey(str(e, "key")));
    std::string op = str(e, "operator");
    const json& values = list(e, "values");
    if (op == "In" || op == "NotIn") {
      if (values.empty()) {
        errs.required(child(ep, "values"), "must be specified when `operator` is 'In' or 'NotIn'");
      }
    } else if (op == "Exists" || op == "DoesNotExist") {
      if (!values.empty()) {
        errs.forbidden(child(ep, "values"),
                       "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
      }
    } else {
      errs.notSupported(child(ep, "operator"), getOr(e, "operator"),
                        {"In", "NotIn", "Exists", "DoesNotExist"});
    }
    for (size_t j = 0; j < values.size(); ++j) {
      if (values[j].is_string()) {
        errs.invalidEach(index(child(ep, "values"), j), values[j],
                         labelValue(values[j].get<std::string>()));
      }
    }
  }
}

bool selectorIsEmpty(const json& sel) {
  const json& ml = getOr(sel, "matchLabels");
  return (!ml.is_object() || ml.empty()) && list(sel, "matchExpressions").empty();
}

// The selector must be well formed and select the template's own pods.
void validateSelectorMatchesTemplate(const json& spec, const std::string& specPath,
                                     const std::string& emptyNoun, Errors& errs) {
  const json& sel = getOr(spec, "selector");
  std::string selPath = child(specPath, "selector");
  size_t before = errs.causes().size();
  validateLabelSelector(sel, selPath, errs);
  if (errs.causes().size() != before) return;
  if (selectorIsEmpty(sel)) {
    errs.invalid(selPath, sel, "empty selector is invalid for " + emptyNoun);
    return;
  }
  auto parsed = LabelSelector::fromJson(sel);
  if (!parsed.ok()) {
    errs.invalid(selPath, sel, parsed.status().message());
    return;
  }
  const json& tmpl = getOr(spec, "template");
  if (!parsed->matches(labelsOf(tmpl))) {
    errs.invalid(child(specPath, "template.metadata.labels"),
                 getOr(getOr(tmpl, "metadata"), "labels"),
                 "`selector` does not match template `labels`");
  }
}

// ---------------------------------------------------------------------------------------------
// Workloads: Deployment, ReplicaSet, StatefulSet, DaemonSet.

bool isZeroIntOrPercent(const json& v) {
  return (v.is_number_integer() && v.get<int64_t>() == 0) || (v.is_string() && v == "0%");
}

void validateIntOrPercent(const json& v, const std::string& path, bool atMost100, Errors& errs) {
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (!fullMatch(s, "[0-9]+%")) {
      errs.invalid(path, s,
                   regexError("a valid percent string must be a numeric string followed by an "
                              "ending '%'",
                              "[0-9]+%", {"1%", "93%"}));
    } else if (atMost100 && std::stoll(s.substr(0, std::min<size_t>(s.size() - 1, 12))) > 100) {
      errs.invalid(path, s, "must not be greater than 100%");
    }
  } else if (v.is_number_integer() && v.get<int64_t>() < 0) {
    errs.invalid(path, v.get<int64_t>(), "must be greater than or equal to 0");
  }
}

// maxUnavailable and maxSurge, with the values defaulting gives when they are absent.
void validateRollingUpdate(const json& ru, const std::string& path, const json& defaultUnavailable,
                           const json& defaultSurge, Errors& errs) {
  const json* mu = get(ru, "maxUnavailable");
  const json* ms = get(ru, "maxSurge");
  if (mu) validateIntOrPercent(*mu, child(path, "maxUnavailable"), true, errs);
  if (ms) validateIntOrPercent(*ms, child(path, "maxSurge"), false, errs);
  const json& unavailable = mu ? *mu : defaultUnavailable;
  if (isZeroIntOrPercent(unavailable) && isZeroIntOrPercent(ms ? *ms : defaultSurge)) {
    errs.invalid(child(path, "maxUnavailable"), unavailable, "may not be 0 when `maxSurge` is 0");
  }
}

void validateWorkloadCommon(const json& obj, const std::string& emptyNoun, Errors& errs,
                            const std::set<std::string>& claimVolumes = {}) {
  const json& spec = getOr(obj, "spec");
  if (!get(spec, "selector")) {
    errs.required("spec.selector");
  } else {
    validateSelectorMatchesTemplate(spec, "spec", emptyNoun, errs);
  }
  validatePodTemplate(getOr(spec, "template"), "spec.template", errs, claimVolumes);
  if (std::string rp = restartPolicyOf(getOr(spec, "template")); rp != "Always") {
    errs.notSupported("spec.template.spec.restartPolicy", rp, {"Always"});
  }
  for (std::string_view k : {"replicas", "minReadySeconds", "revisionHistoryLimit"}) {
    nonNegative(errs, spec, k, "spec");
  }
}

void validateSelectorUnchanged(const json& obj, const json* old, Errors& errs) {
  if (!old) return;
  const json& sel = getOr(getOr(obj, "spec"), "selector");
  const json& oldSel = getOr(getOr(*old, "spec"), "selector");
  if (!oldSel.is_null() && sel != oldSel) errs.immutable("spec.selector", sel);
}

void validateDeployment(const json& obj, const json* old, Errors& errs) {
  validateWorkloadCommon(obj, "deployment", errs);
  const json& spec = getOr(obj, "spec");
  const json& strategy = getOr(spec, "strategy");
  std::string type = str(strategy, "type");
  if (type == "Recreate") {
    if (get(strategy, "rollingUpdate")) {
      errs.forbidden("spec.strategy.rollingUpdate",
                     "may not be specified when strategy `type` is 'Recreate'");
    }
  } else if (type.empty() || type == "RollingUpdate") {
    validateRollingUpdate(getOr(strategy, "rollingUpdate"), "spec.strategy.rollingUpdate", "25%",
                          "25%", errs);
  } else {
    errs.notSupported("spec.strategy.type", type, {"Recreate", "RollingUpdate"});
  }
  nonNegative(errs, spec, "progressDeadlineSeconds", "spec");
  auto pds = integer(spec, "progressDeadlineSeconds");
  if (pds && *pds >= 0 && *pds <= integer(spec, "minReadySeconds").value_or(0)) {
    errs.invalid("spec.progressDeadlineSeconds", *pds, "must be greater than minReadySeconds");
  }
  validateSelectorUnchanged(obj, old, errs);
}

void validateReplicaSet(const json& obj, const json* old, Errors& errs) {
  validateWorkloadCommon(obj, "deployment", errs);
  validateSelectorUnchanged(obj, old, errs);
}

void validateDaemonSet(const json& obj, const json* old, Errors& errs) {
  validateWorkloadCommon(obj, "daemonset", errs);
  const json& strategy = getOr(getOr(obj, "spec"), "updateStrategy");
  std::string type = str(strategy, "type");
  if (type.empty() || type == "RollingUpdate") {
    validateRollingUpdate(getOr(strategy, "rollingUpdate"), "spec.updateStrategy.rollingUpdate", 1,
                          0, errs);
  } else if (type != "OnDelete") {
    errs.notSupported("spec.updateStrategy", strategy, {"RollingUpdate", "OnDelete"});
  }
  validateSelectorUnchanged(obj, old, errs);
}

void validateStatefulSet(const json& obj, const json* old, Errors& errs) {
  const json& spec = getOr(obj, "spec");
  // Containers mount the claims of volumeClaimTemplates by the templates' names.
  std::set<std::string> claims;
  for (const auto& t : list(spec, "volumeClaimTemplates")) {
    if (std::string name = str(getOr(t, "metadata"), "name"); !name.empty()) claims.insert(name);
  }
  validateWorkloadCommon(obj, "statefulset", errs, claims);
  oneOf(errs, spec, "podManagementPolicy", "spec", {"OrderedReady", "Parallel"});
  const json& strategy = getOr(spec, "updateStrategy");
  std::string type = str(strategy, "type");
  if (!type.empty() && type != "RollingUpdate" && type != "OnDelete") {
    errs.invalid("spec.updateStrategy", strategy, "must be 'RollingUpdate' or 'OnDelete'");
  }
  nonNegative(errs, getOr(strategy, "rollingUpdate"), "partition",
              "spec.updateStrategy.rollingUpdate");
  if (!old) return;
  // Only these fields of a StatefulSet's spec may change after creation.
  json a = spec.is_object() ? spec : json::object();
  json b = getOr(*old, "spec").is_object() ? getOr(*old, "spec") : json::object();
  for (const char* k : {"replicas", "ordinals", "template", "updateStrategy",
                        "persistentVolumeClaimRetentionPolicy", "minReadySeconds"}) {
    a.erase(k);
    b.erase(k);
  }
  if (a != b) {
    errs.forbidden("spec",
                   "updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                   "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
                   "'minReadySeconds' are forbidden");
  }
}

// ---------------------------------------------------------------------------------------------
// Jobs and CronJobs.

void validateJobSpec(const json& spec, const std::string& path, Errors& errs) {
  for (std::string_view k : {"parallelism", "completions", "activeDeadlineSeconds", "backoffLimit",
                             "ttlSecondsAfterFinished"}) {
    nonNegative(errs, spec, k, path);
  }
  oneOf(errs, spec, "completionMode", path, {"NonIndexed", "Indexed"});
  if (str(spec, "completionMode") == "Indexed" && !get(spec, "completions")) {
    errs.required(child(path, "completions"), "when completion mode is Indexed");
  }
  // Without manualSelector the server generates the selector, so only a given one is checked.
  if (get(spec, "selector")) {
    validateSelectorMatchesTemplate(spec, path, "job", errs);
  } else if (boolean(spec, "manualSelector")) {
    errs.required(child(path, "selector"));
  }
  validatePodTemplate(getOr(spec, "template"), child(path, "template"), errs);
  if (std::string rp = restartPolicyOf(getOr(spec, "template"));
      rp != "OnFailure" && rp != "Never") {
    errs.notSupported(child(path, "template.spec.restartPolicy"), rp, {"OnFailure", "Never"});
  }
}

void validateJob(const json& obj, const json* old, Errors& errs) {
  const json& spec = getOr(obj, "spec");
  validateJobSpec(spec, "spec", errs);
  if (!old) return;
  validateSelectorUnchanged(obj, old, errs);
  const json& oldSpec = getOr(*old, "spec");
  for (std::string_view k : {"template", "completions", "completionMode"}) {
    const json* was = get(oldSpec, k);
    if (was && getOr(spec, k) != *was) errs.immutable(child("spec", k), getOr(spec, k));
  }
}

void validateCronJob(const json& obj, const json*, Errors& errs) {
  if (std::string name = str(getOr(obj, "metadata"), "name"); name.size() > 52) {
    errs.invalid("metadata.name", name, "must be no more than 52 characters");
  }
  const json& spec = getOr(obj, "spec");
  std::string schedule = str(spec, "schedule");
  if (schedule.empty()) {
    errs.required("spec.schedule");
  } else if (schedule.find("TZ=") != std::string::npos) {
    errs.invalid("spec.schedule", schedule,
                 "cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
  } else if (std::string err = cronError(schedule); !err.empty()) {
    errs.invalid("spec.schedule", schedule, err);
  }
  if (const json* tz = get(spec, "timeZone"); tz && tz->is_string()) {
    if (std::string err = timeZoneError(tz->get<std::string>()); !err.empty()) {
      errs.invalid("spec.timeZone", *tz, err);
    }
  }
  oneOf(errs, spec, "concurrencyPolicy", "spec", {"Allow", "Forbid", "Replace"});
  for (std::string_view k :
       {"startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"}) {
    nonNegative(errs, spec, k, "spec");
  }
  const json& jobTemplate = getOr(spec, "jobTemplate");
  const json& meta = getOr(jobTemplate, "metadata");
  validateLabels(getOr(meta, "labels"), "spec.jobTemplate.metadata.labels", errs);
  validateAnnotations(getOr(meta, "annotations"), "spec.jobTemplate.metadata.annotations", errs);
  validateJobSpec(getOr(jobTemplate, "spec"), "spec.jobTemplate.spec", errs);
}

// ---------------------------------------------------------------------------------------------
// Services.

void validateServicePort(const json& p, const std::string& pp, const std::string& type, bool named,
                         Errors& errs) {
  std::string name = str(p, "name");
  if (named && name.empty()) errs.required(child(pp, "name"));
  if (!name.empty()) errs.invalidEach(child(pp, "name"), name, dns1123Label(name));
  int64_t port = integer(p, "port").value_or(0);
  errs.invalidEach(child(pp, "port"), port, portNumber(port));
  oneOf(errs, p, "protocol", pp, {"SCTP", "TCP", "UDP"});
  if (const json* tp = get(p, "targetPort")) {
    if (tp->is_string()) {
      errs.invalidEach(child(pp, "targetPort"), *tp, portName(tp->get<std::string>()));
    } else if (tp->is_number_integer() && tp->get<int64_t>() != 0) {
      errs.invalidEach(child(pp, "targetPort"), tp->get<int64_t>(), portNumber(tp->get<int64_t>()));
    }
  }
  if (auto np = integer(p, "nodePort"); np && *np != 0) {
    if (type == "ClusterIP") {
      errs.forbidden(child(pp, "nodePort"), "may not be used when `type` is 'ClusterIP'");
    } else if (*np < 30000 || *np > 32767) {
      errs.invalid(child(pp, "nodePort"), *np,
                   "provided port is not in the valid range. The range of valid ports is "
                   "30000-32767");
    }
  }
}

void validateService(const json& obj, const json* old, Errors& errs) {
  const json& spec = getOr(obj, "spec");
  std::string type = str(spec, "type").empty() ? "ClusterIP" : str(spec, "type");
  std::string clusterIP = str(spec, "clusterIP");
  oneOf(errs, spec, "type", "spec", {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"});
  oneOf(errs, spec, "sessionAffinity", "spec", {"ClientIP", "None"});
  if (type == "ExternalName") {
    std::string en = str(spec, "externalName");
    if (en.empty()) {
      errs.required("spec.externalName");
    } else {
      errs.invalidEach("spec.externalName", en, dns1123Subdomain(en, "characters"));
    }
  }
  const json& ports = list(spec, "ports");
  if (ports.empty() && clusterIP != "None" && type != "ExternalName") errs.required("spec.ports");
  std::set<std::string> names;
  std::set<std::pair<int64_t, std::string>> seen;
  for (size_t i = 0; i < ports.size(); ++i) {
    std::string pp = index("spec.ports", i);
    validateServicePort(ports[i], pp, type, ports.size() > 1, errs);
    std::string name = str(ports[i], "name");
    if (!name.empty() && !names.insert(name).second) errs.duplicate(child(pp, "name"), name);
    int64_t port = integer(ports[i], "port").value_or(0);
    std::string proto = str(ports[i], "protocol").empty() ? "TCP" : str(ports[i], "protocol");
    if (!seen.insert({port, proto}).second) {
      errs.duplicate(pp, json{{"port", port}, {"protocol", proto}});
    }
  }
  if (!clusterIP.empty() && clusterIP != "None" && !isIpAddress(clusterIP)) {
    errs.invalid("spec.clusterIP", clusterIP, "must be empty, 'None', or a valid IP address");
  }
  // An update without clusterIP keeps the allocated one (the server carries it over).
  if (old) {
    std::string was = str(getOr(*old, "spec"), "clusterIP");
    if (!was.empty() && !clusterIP.empty() && clusterIP != was) {
      errs.immutable("spec.clusterIP", clusterIP);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// ConfigMaps and Secrets.

constexpr size_t kMaxDataSize = 1024 * 1024;

void validateDataKeys(const json& data, const std::string& path, Errors& errs) {
  if (!data.is_object()) return;
  for (const auto& [k, v] : data.items()) errs.invalidEach(key(path, k), k, configMapKey(k));
}

void validateImmutableData(const json& obj, const json* old, std::vector<std::string_view> fields,
                           Errors& errs) {
  if (!old || !boolean(*old, "immutable")) return;
  const std::string msg = "field is immutable when `immutable` is set";
  if (!boolean(obj, "immutable")) errs.forbidden("immutable", msg);
  for (auto f : fields) {
    if (getOr(obj, f) != getOr(*old, f)) errs.forbidden(std::string(f), msg);
  }
}

void validateConfigMap(const json& obj, const json* old, Errors& errs) {
  const json& data = getOr(obj, "data");
  const json& binary = getOr(obj, "binaryData");
  validateDataKeys(data, "data", errs);
  validateDataKeys(binary, "binaryData", errs);
  size_t total = 0;
  if (data.is_object()) {
    for (const auto& [k, v] : data.items())
      total += k.size() + (v.is_string() ? v.get<std::string>().size() : 0);
  }
  if (binary.is_object()) {
    for (const auto& [k, v] : binary.items()) {
      if (get(data, k)) errs.invalid("binaryData", k, "duplicate of key present in data");
      total += k.size() + (v.is_string() ? base64DecodedSize(v.get<std::string>()) : 0);
    }
  }
  if (total > kMaxDataSize) errs.tooLong("", kMaxDataSize);
  validateImmutableData(obj, old, {"data", "binaryData"}, errs);
}

void validateSecret(const json& obj, const json* old, Errors& errs) {
  const json& data = getOr(obj, "data");
  const json& stringData = getOr(obj, "stringData");
  validateDataKeys(data, "data", errs);
  validateDataKeys(stringData, "stringData", errs);
  size_t total = 0;
  std::set<std::string> keys;
  for (const json* d : {&data, &stringData}) {
    if (!d->is_object()) continue;
    for (const auto& [k, v] : d->items()) {
      keys.insert(k);
      if (!v.is_string()) continue;
      total += d == &data ? base64DecodedSize(v.get<std::string>()) : v.get<std::string>().size();
    }
  }
  if (total > kMaxDataSize) errs.tooLong("data", kMaxDataSize);
  static const std::map<std::string, std::vector<std::string>> kRequiredKeys = {
      {"kubernetes.io/tls", {"tls.crt", "tls.key"}},
      {"kubernetes.io/dockerconfigjson", {".dockerconfigjson"}},
      {"kubernetes.io/dockercfg", {".dockercfg"}},
      {"kubernetes.io/ssh-auth", {"ssh-privatekey"}}};
  if (auto it = kRequiredKeys.find(str(obj, "type")); it != kRequiredKeys.end()) {
    for (const auto& k : it->second) {
      if (!keys.count(k)) errs.required(key("data", k));
    }
  }
  if (old) {
    std::string type = str(obj, "type"), was = str(*old, "type");
    if (!was.empty() && !type.empty() && type != was) errs.immutable("type", type);
  }
  if (old && boolean(*old, "immutable") && stringData.is_object() && !stringData.empty()) {
    errs.forbidden("data", "field is immutable when `immutable` is set");
  }
  validateImmutableData(obj, old, {"data"}, errs);
}

// ---------------------------------------------------------------------------------------------
// Claims and autoscalers.

void validatePersistentVolumeClaim(const json& obj, const json* old, Errors& errs) {
  const json& spec = getOr(obj, "spec");
  const json& modes = list(spec, "accessModes");
  const std::vector<std::string> kModes = {"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce",
                                           "ReadWriteOncePod"};
  if (modes.empty()) errs.required("spec.accessModes", "at least 1 access mode is required");
  for (const auto& m : modes) {
    if (!m.is_string() || !contains(kModes, m.get<std::string>())) {
      errs.notSupported("spec.accessModes", m, kModes);
    }
  }
  if (!get(getOr(getOr(spec, "resources"), "requests"), "storage")) {
    errs.required(key("spec.resources", "storage"));
  }
  if (!old) return;
  json a = spec.is_object() ? spec : json::object();
  json b = getOr(*old, "spec").is_object() ? getOr(*old, "spec") : json::object();
  // Binding fills volumeName in once; requests may grow.
  if (str(b, "volumeName").empty()) b.erase("volumeName"), a.erase("volumeName");
  for (json* s : {&a, &b}) {
    s->erase("volumeAttributesClassName");
    if (s->contains("resources") && (*s)["resources"].is_object())
      (*s)["resources"].erase("requests");
  }
  if (a != b) {
    errs.forbidden("spec",
                   "spec is immutable after creation except resources.requests and "
                   "volumeAttributesClassName for bound claims");
  }
}

void validateHorizontalPodAutoscaler(const json& obj, const json*, Errors& errs) {
  const json& spec = getOr(obj, "spec");
  atLeastOne(errs, spec, "minReplicas", "spec");
  atLeastOne(errs, spec, "maxReplicas", "spec");
  auto min = integer(spec, "minReplicas"), max = integer(spec, "maxReplicas");
  if (min && max && *max >= 1 && *max < *min) {
    errs.invalid("spec.maxReplicas", *max, "must be greater than or equal to `minReplicas`");
  }
  const json& ref = getOr(spec, "scaleTargetRef");
  for (std::string_view k : {"kind", "name"}) {
    if (str(ref, k).empty()) errs.required(child("spec.scaleTargetRef", k));
  }
}

// ---------------------------------------------------------------------------------------------
// Per-kind rules: the name rule Kubernetes applies and the kind's own checks.

using KindValidator = void (*)(const json& object, const json* old, Errors& errs);

struct KindRules {
  std::string_view group, kind;
  NameRule name;
  KindValidator validate;
};

const KindRules* rulesFor(const KindInfo& info) {
  static const KindRules kRules[] = {
      {"", "Namespace", NameRule::Label, nullptr},
      {"", "Service", NameRule::Dns1035, validateService},
      {"", "ConfigMap", NameRule::Subdomain, validateConfigMap},
      {"", "Secret", NameRule::Subdomain, validateSecret},
      {"", "PersistentVolumeClaim", NameRule::Subdomain, validatePersistentVolumeClaim},
      {"apps", "Deployment", NameRule::Subdomain, validateDeployment},
      {"apps", "ReplicaSet", NameRule::Subdomain, validateReplicaSet},
      {"apps", "StatefulSet", NameRule::Subdomain, validateStatefulSet},
      {"apps", "DaemonSet", NameRule::Subdomain, validateDaemonSet},
      {"batch", "Job", NameRule::Subdomain, validateJob},
      {"batch", "CronJob", NameRule::Subdomain, validateCronJob},
      {"autoscaling", "HorizontalPodAutoscaler", NameRule::PathSegment,
       validateHorizontalPodAutoscaler},
  };
  for (const auto& r : kRules) {
    if (r.group == info.group && r.kind == info.kind) return &r;
  }
  return nullptr;
}

void validatePod(const json& obj, Errors& errs) {
  validatePodSpec(getOr(obj, "spec"), "spec", errs);
}

}  // namespace

Status validateObject(const KindInfo& kind, const json& object, const json* oldObject) {
  Errors errs;
  const KindRules* rules = rulesFor(kind);
  const json& meta = getOr(object, "metadata");
  validateMetadata(meta, rules ? rules->name : NameRule::Subdomain, errs);
  if (kind.group.empty() && kind.kind == "Pod") validatePod(object, errs);
  if (rules && rules->validate) rules->validate(object, oldObject, errs);
  if (errs.empty()) return Status::ok();
  std::string name = str(meta, "name").empty() ? str(meta, "generateName") : str(meta, "name");
  return invalidStatus(kind, name, errs);
}

// -----------------------------------------------------------------------------------------------

std::string checkDns1123Subdomain(std::string_view value) {
  auto m = dns1123Subdomain(value, "characters");
  return m.empty() ? "" : m.front();
}
std::string checkDns1123Label(std::string_view value) {
  auto m = dns1123Label(value);
  return m.empty() ? "" : m.front();
}
std::string checkLabelKey(std::string_view key) {
  auto m = labelKey(key);
  return m.empty() ? "" : m.front();
}
std::string checkLabelValue(std::string_view value) {
  auto m = labelValue(value);
  return m.empty() ? "" : m.front();
}

Result<FieldValidation> parseFieldValidation(std::string_view value) {
  if (value.empty() || value == "Warn") return FieldValidation::Warn;
  if (value == "Strict") return FieldValidation::Strict;
  if (value == "Ignore") return FieldValidation::Ignore;
  return Status::badRequest(
      "fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got " +
      json(std::string(value)).dump());
}

}  // namespace kd::api

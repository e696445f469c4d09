#include "engine/api/selectors.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

namespace kd::api {

namespace {

// ---- label key and value syntax (Kubernetes' qualified names and label values) ----

constexpr std::string_view kNameSyntax =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character";
constexpr std::string_view kSubdomainSyntax =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character";

bool isAlnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], or empty.
bool isNameSyntax(std::string_view s) {
  if (s.empty()) return true;
  if (!isAlnum(s.front()) || !isAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return isAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

bool isDns1123Label(std::string_view s) {
  auto lowerAlnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (s.empty() || !lowerAlnum(s.front()) || !lowerAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return lowerAlnum(c) || c == '-'; });
}

bool isDns1123Subdomain(std::string_view s) {
  while (true) {
    auto dot = s.find('.');
    if (!isDns1123Label(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

std::vector<std::string> qualifiedNameErrors(std::string_view key) {
  std::vector<std::string> errs;
  std::string_view name = key;
  if (auto slash = key.find('/'); slash != std::string_view::npos) {
    if (key.find('/', slash + 1) != std::string_view::npos) {
      errs.push_back("a qualified name " + std::string(kNameSyntax) +
                     " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
      return errs;
    }
    std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (prefix.empty()) {
      errs.emplace_back("prefix part must be non-empty");
    } else if (prefix.size() > 253) {
      errs.emplace_back("prefix part must be no more than 253 characters");
    } else if (!isDns1123Subdomain(prefix)) {
      errs.push_back("prefix part " + std::string(kSubdomainSyntax));
    }
  }
  if (name.empty()) {
    errs.emplace_back("name part must be non-empty");
  } else if (name.size() > 63) {
    errs.emplace_back("name part must be no more than 63 characters");
  } else if (!isNameSyntax(name)) {
    errs.push_back("name part " + std::string(kNameSyntax));
  }
  return errs;
}

std::vector<std::string> labelValueErrors(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > 63) errs.emplace_back("must be no more than 63 characters");
  if (!isNameSyntax(value)) {
    errs.push_back("a valid label must be an empty string or " + std::string(kNameSyntax));
  }
  return errs;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

std::string invalidField(const std::string& path, std::string_view value,
                         const std::vector<std::string>& details) {
  return path + ": Invalid value: \"" + std::string(value) + "\": " + join(details, "; ");
}

// Kubernetes' NewRequirement checks: key syntax, value count per operator, value syntax.
// Returns field errors in Kubernetes' "path: Invalid value: ..." form.
std::vector<std::string> requirementErrors(const LabelSelector::Requirement& r) {
  using Op = LabelSelector::Op;
  std::vector<std::string> errs;
  if (auto keyErrs = qualifiedNameErrors(r.key); !keyErrs.empty()) {
    errs.push_back(invalidField("key", r.key, keyErrs));
  }
  switch (r.op) {
    case Op::In:
    case Op::NotIn:
      if (r.values.empty()) {
        errs.emplace_back(
            "values: Invalid value: []: for 'in', 'notin' operators, values set "
            "can't be empty");
      }
      break;
    case Op::Equals:
    case Op::NotEquals:
      if (r.values.size() != 1) {
        errs.emplace_back(
            "values: Invalid value: exact-match compatibility requires one single "
            "value");
      }
      break;
    case Op::Exists:
    case Op::DoesNotExist:
      if (!r.values.empty()) {
        errs.emplace_back(
            "values: Forbidden: values set must be empty for exists and does not "
            "exist");
      }
      break;
  }
  for (size_t i = 0; i < r.values.size(); ++i) {
    if (auto valueErrs = labelValueErrors(r.values[i]); !valueErrs.empty()) {
      errs.push_back(invalidField("values[" + std::to_string(i) + "]", r.values[i], valueErrs));
    }
  }
  return errs;
}

std::string aggregate(const std::vector<std::string>& errs) {
  return errs.size() == 1 ? errs.front() : "[" + join(errs, ", ") + "]";
}

// Values of set-based requirements behave as a set: sorted, without duplicates.
void normalizeValues(std::vector<std::string>& values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

// ---- the query-string lexer and parser (Kubernetes' labels.Parse grammar) ----

enum class Tok {
  Identifier,
  DoesNotExist,
  Equals,
  DoubleEquals,
  NotEquals,
  GreaterThan,
  LessThan,
  In,
  NotIn,
  OpenPar,
  ClosedPar,
  Comma,
  End,
  Error
};

struct Token {
  Tok type;
  std::string text;
};

bool isWhitespace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool isSpecialSymbol(char c) {
  return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

std::optional<Tok> symbolToken(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, Tok>, 9> kSymbols{
      {{"!", Tok::DoesNotExist},
       {"!=", Tok::NotEquals},
       {"(", Tok::OpenPar},
       {")", Tok::ClosedPar},
       {",", Tok::Comma},
       {"=", Tok::Equals},
       {"==", Tok::DoubleEquals},
       {">", Tok::GreaterThan},
       {"<", Tok::LessThan}}};
  for (const auto& [text, tok] : kSymbols) {
    if (text == s) return tok;
  }
  return std::nullopt;
}

std::vector<Token> tokenize(std::string_view s) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (true) {
    while (i < s.size() && isWhitespace(s[i])) ++i;
    if (i == s.size()) break;
    size_t start = i;
    if (isSpecialSymbol(s[i])) {
      // Longest run of symbols that still spells an operator ("!=" before "!").
      std::optional<Tok> best;
      size_t bestEnd = i;
      while (i < s.size() && isSpecialSymbol(s[i])) {
        ++i;
        if (auto tok = symbolToken(s.substr(start, i - start))) {
          best = tok;
          bestEnd = i;
        } else if (best) {
          break;
        }
      }
      if (!best) {
        tokens.push_back({Tok::Error, "error expected: keyword found '" +
                                          std::string(s.substr(start, i - start)) + "'"});
        return tokens;
      }
      i = bestEnd;
      tokens.push_back({*best, std::string(s.substr(start, i - start))});
      continue;
    }
    while (i < s.size() && !isWhitespace(s[i]) && !isSpecialSymbol(s[i])) ++i;
    std::string word(s.substr(start, i - start));
    Tok type = word == "in" ? Tok::In : word == "notin" ? Tok::NotIn : Tok::Identifier;
    tokens.push_back({type, std::move(word)});
  }
  tokens.push_back({Tok::End, ""});
  return tokens;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : tokens_(tokenize(text)) {}

  // Returns the requirements, or the error message Kubernetes would give.
  std::variant<std::vector<LabelSelector::Requirement>, std::string> parse() {
    std::vector<LabelSelector::Requirement> reqs;
    while (true) {
      const Token& t = peek(Mode::Values);
      if (t.type == Tok::End) return reqs;
      if (t.type != Tok::Identifier && t.type != Tok::DoesNotExist) {
        return "found '" + t.text + "', expected: !, identifier, or 'end of string'";
      }
      auto req = parseRequirement();
      if (auto* err = std::get_if<std::string>(&req)) {
        return "unable to parse requirement: " + *err;
      }
      reqs.push_back(std::move(std::get<LabelSelector::Requirement>(req)));
      Token next = consume(Mode::Values);
      if (next.type == Tok::End) return reqs;
      if (next.type != Tok::Comma) {
        return "found '" + next.text + "', expected: ',' or 'end of string'";
      }
      const Token& after = peek(Mode::Values);
      if (after.type != Tok::Identifier && after.type != Tok::DoesNotExist) {
        return "found '" + after.text + "', expected: identifier after ','";
      }
    }
  }

 private:
  // In value position "in" and "notin" are plain words, as in Kubernetes.
  enum class Mode { KeyAndOperator, Values };

  Token adjust(Token t, Mode mode) const {
    if (mode == Mode::Values && (t.type == Tok::In || t.type == Tok::NotIn)) {
      t.type = Tok::Identifier;
    }
    return t;
  }
  Token peek(Mode mode) const { return adjust(tokens_[pos_], mode); }
  Token consume(Mode mode) {
    Token t = adjust(tokens_[pos_], mode);
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }

  using Op = LabelSelector::Op;
  using ReqOrError = std::variant<LabelSelector::Requirement, std::string>;

  ReqOrError parseRequirement() {
    LabelSelector::Requirement req;
    Token t = consume(Mode::Values);
    bool negated = t.type == Tok::DoesNotExist;
    if (negated) t = consume(Mode::Values);
    if (t.type != Tok::Identifier) return "found '" + t.text + "', expected: identifier";
    req.key = t.text;
    if (auto keyErrs = qualifiedNameErrors(req.key); !keyErrs.empty()) {
      return invalidField("key", req.key, keyErrs);
    }
    Tok next = peek(Mode::Values).type;
    if (negated || next == Tok::End || next == Tok::Comma) {
      req.op = negated ? Op::DoesNotExist : Op::Exists;
      return req;
    }
    Token op = consume(Mode::KeyAndOperator);
    switch (op.type) {
      case Tok::In:
        req.op = Op::In;
        break;
      case Tok::NotIn:
        req.op = Op::NotIn;
        break;
      case Tok::Equals:
      case Tok::DoubleEquals:
        req.op = Op::Equals;
        break;
      case Tok::NotEquals:
        req.op = Op::NotEquals;
        break;
      default:
        return "found '" + op.text + "', expected: in, notin, =, ==, !=";
    }
    std::optional<std::string> err = (req.op == Op::In || req.op == Op::NotIn)
                                         ? parseValueSet(req.values)
                                         : parseExactValue(req.values);
    if (err) return *err;
    if (auto errs = requirementErrors(req); !errs.empty()) return aggregate(errs);
    return req;
  }

  std::optional<std::string> parseExactValue(std::vector<std::string>& values) {
    Tok next = peek(Mode::Values).type;
    if (next == Tok::End || next == Tok::Comma) {
      values.emplace_back();
      return std::nullopt;
    }
    Token t = consume(Mode::Values);
    if (t.type != Tok::Identifier) return "found '" + t.text + "', expected: identifier";
    values.push_back(t.text);
    return std::nullopt;
  }

  // "(a,b,c)"; empty members ("(,a)", "()") stand for the empty value, as in Kubernetes.
  std::optional<std::string> parseValueSet(std::vector<std::string>& values) {
    Token t = consume(Mode::Values);
    if (t.type != Tok::OpenPar) return "found '" + t.text + "' expected: '('";
    bool expectValue = true;
    while (true) {
      t = consume(Mode::Values);
      if (t.type == Tok::Identifier && expectValue) {
        values.push_back(t.text);
        expectValue = false;
      } else if (t.type == Tok::Comma) {
        if (expectValue) values.emplace_back();
        expectValue = true;
      } else if (t.type == Tok::ClosedPar) {
        if (expectValue) values.emplace_back();
        break;
      } else {
        return "found '" + t.text + "', expected: ',', ')' or identifier";
      }
    }
    normalizeValues(values);
    return std::nullopt;
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

void sortByKey(std::vector<LabelSelector::Requirement>& reqs) {
  std::stable_sort(reqs.begin(), reqs.end(),
                   [](const auto& a, const auto& b) { return a.key < b.key; });
}

bool contains(const std::vector<std::string>& values, std::string_view v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

}  // namespace

Labels labelsOf(const json& object) {
  Labels labels;
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return labels;
  auto found = meta->find("labels");
  if (found == meta->end() || !found->is_object()) return labels;
  for (const auto& [key, value] : found->items()) {
    if (value.is_string()) labels.emplace(key, value.get<std::string>());
  }
  return labels;
}

Result<LabelSelector> LabelSelector::parse(std::string_view text) {
  auto parsed = Parser(text).parse();
  if (auto* err = std::get_if<std::string>(&parsed)) return Status::badRequest(*err);
  LabelSelector selector;
  selector.requirements_ = std::move(std::get<0>(parsed));
  sortByKey(selector.requirements_);
  return selector;
}

Result<LabelSelector> LabelSelector::fromJson(const json& selector) {
  if (selector.is_null()) return nothing();
  if (!selector.is_object()) return Status::badRequest("label selector must be an object");
  LabelSelector out;
  if (auto labels = selector.find("matchLabels"); labels != selector.end() && labels->is_object()) {
    for (const auto& [key, value] : labels->items()) {
      out.requirements_.push_back(
          {key, Op::Equals, {value.is_string() ? value.get<std::string>() : value.dump()}});
    }
  }
  auto exprs = selector.find("matchExpressions");
  if (exprs != selector.end() && exprs->is_array()) {
    static constexpr std::array<std::pair<std::string_view, Op>, 4> kOps{
        {{"In", Op::In},
         {"NotIn", Op::NotIn},
         {"Exists", Op::Exists},
         {"DoesNotExist", Op::DoesNotExist}}};
    for (const auto& expr : *exprs) {
      Requirement req{expr.value("key", ""), Op::Exists, {}};
      std::string op = expr.value("operator", "");
      auto known = std::find_if(kOps.begin(), kOps.end(), [&](auto& p) { return p.first == op; });
      if (known == kOps.end()) {
        return Status::badRequest("\"" + op + "\" is not a valid label selector operator");
      }
      req.op = known->second;
      if (auto values = expr.find("values"); values != expr.end() && values->is_array()) {
        for (const auto& v : *values)
          req.values.push_back(v.is_string() ? v.get<std::string>() : v.dump());
      }
      normalizeValues(req.values);
      out.requirements_.push_back(std::move(req));
    }
  }
  for (const auto& req : out.requirements_) {
    if (auto errs = requirementErrors(req); !errs.empty()) {
      return Status::badRequest(aggregate(errs));
    }
  }
  sortByKey(out.requirements_);
  return out;
}

LabelSelector LabelSelector::nothing() {
  LabelSelector selector;
  selector.matchesNothing_ = true;
  return selector;
}

namespace {

// Whether every requirement holds; `valueOf(key)` gives the label's value or null.
template <typename ValueOf>
bool allHold(const std::vector<LabelSelector::Requirement>& requirements, ValueOf valueOf) {
  using Op = LabelSelector::Op;
  for (const auto& req : requirements) {
    const std::string* value = valueOf(req.key);
    bool ok = false;
    switch (req.op) {
      case Op::Equals:
      case Op::In:
        ok = value && contains(req.values, *value);
        break;
      case Op::NotEquals:
      case Op::NotIn:
        ok = !value || !contains(req.values, *value);
        break;
      case Op::Exists:
        ok = value != nullptr;
        break;
      case Op::DoesNotExist:
        ok = !value;
        break;
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool LabelSelector::matches(const Labels& labels) const {
  if (matchesNothing_) return false;
  return allHold(requirements_, [&labels](const std::string& key) -> const std::string* {
    auto found = labels.find(key);
    return found == labels.end() ? nullptr : &found->second;
  });
}

bool LabelSelector::matchesObject(const json& object) const {
  if (matchesNothing_) return false;
  static const json kNone = json::object();
  const json* labels = &kNone;
  if (auto meta = object.find("metadata"); meta != object.end() && meta->is_object()) {
    if (auto l = meta->find("labels"); l != meta->end() && l->is_object()) labels = &*l;
  }
  return allHold(requirements_, [labels](const std::string& key) -> const std::string* {
    auto found = labels->find(key);
    if (found == labels->end() || !found->is_string()) return nullptr;
    return &found->get_ref<const std::string&>();
  });
}

std::string LabelSelector::toString() const {
  std::string out;
  for (const auto& req : requirements_) {
    if (!out.empty()) out += ',';
    std::string value = req.values.empty() ? "" : req.values.front();
    switch (req.op) {
      case Op::Equals:
        out += req.key + "=" + value;
        break;
      case Op::NotEquals:
        out += req.key + "!=" + value;
        break;
      case Op::In:
        out += req.key + " in (" + join(req.values, ",") + ")";
        break;
      case Op::NotIn:
        out += req.key + " notin (" + join(req.values, ",") + ")";
        break;
      case Op::Exists:
        out += req.key;
        break;
      case Op::DoesNotExist:
        out += "!" + req.key;
        break;
    }
  }
  return out;
}

// ---- field selectors ----

namespace {

// How a kind rejects an unknown field: Kubernetes' wording differs by who registered the
// conversion (core kinds, batch Job, or the generic metadata-only default).
enum class FieldErrorStyle { Core, BatchJob, MetadataOnly };

struct SelectableFields {
  std::string_view group;
  std::string_view kind;
  std::vector<std::string_view> fields;
  FieldErrorStyle style;
  // Older spellings Kubernetes still accepts, mapped to the field they mean.
  std::vector<std::pair<std::string_view, std::string_view>> aliases = {};
};

const std::vector<SelectableFields>& selectableFields() {
  static const std::vector<SelectableFields> kTable = {
      {"",
       "Pod",
       {"metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy",
        "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
        "status.podIP", "status.podIPs", "status.nominatedNodeName"},
       FieldErrorStyle::Core,
       {{"spec.host", "spec.nodeName"}}},
      {"", "Node", {"metadata.name", "spec.unschedulable"}, FieldErrorStyle::Core},
      {"",
       "ReplicationController",
       {"metadata.name", "metadata.namespace", "status.replicas"},
       FieldErrorStyle::Core},
      {"",
       "Event",
       {"metadata.name", "metadata.namespace", "involvedObject.kind", "involvedObject.namespace",
        "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion",
        "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
        "reportingComponent", "source", "type"},
       FieldErrorStyle::Core},
      {"events.k8s.io",
       "Event",
       {"metadata.name", "metadata.namespace", "reason", "type"},
       FieldErrorStyle::Core,
       {{"regarding.kind", "involvedObject.kind"},
        {"regarding.namespace", "involvedObject.namespace"},
        {"regarding.name", "involvedObject.name"},
        {"regarding.uid", "involvedObject.uid"},
        {"regarding.apiVersion", "involvedObject.apiVersion"},
        {"regarding.resourceVersion", "involvedObject.resourceVersion"},
        {"regarding.fieldPath", "involvedObject.fieldPath"},
        {"reportingController", "reportingComponent"}}},
      {"", "Namespace", {"metadata.name", "status.phase"}, FieldErrorStyle::Core},
      {"", "Secret", {"metadata.name", "metadata.namespace", "type"}, FieldErrorStyle::Core},
      {"",
       "Service",
       {"metadata.name", "metadata.namespace", "spec.clusterIP", "spec.type"},
       FieldErrorStyle::Core},
      {"batch",
       "Job",
       {"metadata.name", "metadata.namespace", "status.successful"},
       FieldErrorStyle::BatchJob},
      {"apps",
       "ReplicaSet",
       {"metadata.name", "metadata.namespace", "status.replicas"},
       FieldErrorStyle::MetadataOnly},
  };
  return kTable;
}

const SelectableFields& selectableFieldsFor(const KindInfo& kind) {
  static const SelectableFields kDefault{
      "", "", {"metadata.name", "metadata.namespace"}, FieldErrorStyle::MetadataOnly};
  for (const auto& entry : selectableFields()) {
    if (entry.group == kind.group && entry.kind == kind.kind) return entry;
  }
  return kDefault;
}

std::string unsupportedFieldMessage(FieldErrorStyle style, const std::string& field) {
  switch (style) {
    case FieldErrorStyle::Core:
      return "field label not supported: " + field;
    case FieldErrorStyle::BatchJob:
      return "field label \"" + field + "\" not supported for batchv1.Job";
    case FieldErrorStyle::MetadataOnly:
      break;
  }
  return "\"" + field +
         "\" is not a known field selector: only \"metadata.name\", "
         "\"metadata.namespace\"";
}

// Splits on commas not escaped with a backslash.
std::vector<std::string_view> splitTerms(std::string_view text) {
  std::vector<std::string_view> terms;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == ',') {
      terms.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  terms.push_back(text.substr(start));
  return terms;
}

// Values may escape '\', ',' and '=' with a backslash; anything else is an error.
Result<std::string> unescapeFieldValue(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\\') {
      if (i + 1 == v.size() || (v[i + 1] != '\\' && v[i + 1] != ',' && v[i + 1] != '=')) {
        return Status::badRequest("invalid field selector: invalid escape sequence: " +
                                  std::string(v.substr(i, 2)));
      }
      out += v[++i];
    } else if (c == ',' || c == '=') {
      return Status::badRequest("invalid field selector: unescaped character in value: " +
                                std::string(1, c));
    } else {
      out += c;
    }
  }
  return out;
}

std::string scalarText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return v.dump();
  return "";
}

const json* path(const json& object, std::string_view dotted) {
  const json* node = &object;
  while (!dotted.empty()) {
    auto dot = dotted.find('.');
    auto part = dotted.substr(0, dot);
    if (!node->is_object()) return nullptr;
    auto found = node->find(part);
    if (found == node->end()) return nullptr;
    node = &*found;
    dotted = dot == std::string_view::npos ? std::string_view{} : dotted.substr(dot + 1);
  }
  return node;
}

std::string textAt(const json& object, std::string_view dotted, std::string_view absent = "") {
  const json* v = path(object, dotted);
  return v && !v->is_null() ? scalarText(*v) : std::string(absent);
}

std::string firstNonEmpty(const json& object, std::initializer_list<std::string_view> paths) {
  for (auto p : paths) {
    if (auto v = textAt(object, p); !v.empty()) return v;
  }
  return "";
}

// Fields whose value is not simply the JSON at their path: defaults Kubernetes fills in, and
// events that may be stored in either the core/v1 or the events.k8s.io/v1 shape.
std::optional<std::string> derivedFieldValue(const json& object, std::string_view field) {
  if (field == "spec.hostNetwork") return textAt(object, field, "false");
  if (field == "spec.unschedulable") return textAt(object, field, "false");
  if (field == "status.replicas") return textAt(object, field, "0");
  if (field == "status.successful") return textAt(object, "status.succeeded", "0");
  if (field == "status.podIP") {
    const json* ips = path(object, "status.podIPs");
    if (ips && ips->is_array() && !ips->empty()) return textAt(ips->front(), "ip");
    return textAt(object, field);
  }
  if (field == "status.podIPs") return "";
  if (field == "reportingComponent") return textAt(object, "reportingController");
  if (field == "source") {
    return firstNonEmpty(object,
                         {"source.component", "deprecatedSource.component", "reportingController"});
  }
  constexpr std::string_view kInvolved = "involvedObject.";
  if (field.substr(0, kInvolved.size()) == kInvolved && !object.contains("involvedObject")) {
    return textAt(object, "regarding." + std::string(field.substr(kInvolved.size())));
  }
  return std::nullopt;
}

}  // namespace

Result<FieldSelector> FieldSelector::parse(std::string_view text, const KindInfo& kind) {
  const SelectableFields& supported = selectableFieldsFor(kind);
  FieldSelector selector;
  for (std::string_view term : splitTerms(text)) {
    if (term.empty()) continue;
    // The first operator wins, checking "!=" and "==" before "=" at each position.
    size_t at = std::string_view::npos;
    size_t opLen = 0;
    for (size_t i = 0; i < term.size() && at == std::string_view::npos; ++i) {
      if (term.substr(i, 2) == "!=" || term.substr(i, 2) == "==") {
        at = i, opLen = 2;
      } else if (term[i] == '=') {
        at = i, opLen = 1;
      }
    }
    if (at == std::string_view::npos) {
      return Status::badRequest("invalid selector: '" + std::string(text) +
                                "'; can't understand '" + std::string(term) + "'");
    }
    std::string field(term.substr(0, at));
    auto value = unescapeFieldValue(term.substr(at + opLen));
    if (!value.ok()) return value.status();
    auto alias = std::find_if(supported.aliases.begin(), supported.aliases.end(),
                              [&](const auto& a) { return a.first == field; });
    if (alias != supported.aliases.end()) {
      field = alias->second;
    } else if (std::find(supported.fields.begin(), supported.fields.end(), field) ==
               supported.fields.end()) {
      return Status::badRequest(unsupportedFieldMessage(supported.style, field));
    }
    selector.requirements_.push_back({field, term[at] != '!', std::move(*value)});
  }
  return selector;
}

bool FieldSelector::matches(const json& object) const {
  return std::all_of(requirements_.begin(), requirements_.end(), [&](const Requirement& r) {
    return (fieldValue(object, r.field) == r.value) == r.equals;
  });
}

std::string FieldSelector::fieldValue(const json& object, std::string_view field) {
  if (auto derived = derivedFieldValue(object, field)) return *derived;
  return textAt(object, field);
}

}  // namespace kd::api

#include "engine/client/cli/jsonpath.h"

#include <cctype>
#include <optional>
#include <vector>

namespace kd::cli {

namespace {

using Values = std::vector<json>;

struct Step {
  enum Type { Field, Wildcard, Index, Slice, Recurse, Filter } type;
  std::string name;        // Field, Recurse ("" = every value)
  long long a = 0, b = 0;  // Index (a), Slice [a:b]
  bool hasA = false, hasB = false;
  std::string lhs, op, rhs;  // Filter: @-relative path, operator, literal (JSON text)
};

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

Result<std::vector<Step>> parsePath(std::string_view p);

Result<Step> parseBracket(std::string_view inner) {
  Step s{};
  std::string in = trim(inner);
  if (in == "*") return Step{Step::Wildcard};
  if (in.size() >= 2 && (in[0] == '\'' || in[0] == '"')) {
    s.type = Step::Field;
    s.name = in.substr(1, in.size() - 2);
    return s;
  }
  if (in.starts_with("?(") && in.ends_with(")")) {
    std::string cond = trim(std::string_view(in).substr(2, in.size() - 3));
    s.type = Step::Filter;
    for (const char* op : {"==", "!=", "<=", ">=", "<", ">"}) {
      auto pos = cond.find(op);
      if (pos == std::string::npos) continue;
      s.lhs = trim(std::string_view(cond).substr(0, pos));
      s.op = op;
      s.rhs = trim(std::string_view(cond).substr(pos + std::string_view(op).size()));
      if (s.rhs.size() >= 2 && s.rhs[0] == '\'')
        s.rhs = "\"" + s.rhs.substr(1, s.rhs.size() - 2) + "\"";
      return s;
    }
    s.lhs = cond;  // existence test
    return s;
  }
  auto colon = in.find(':');
  auto number = [](const std::string& t, long long& v) {
    try {
      size_t used = 0;
      v = std::stoll(t, &used);
      return used == t.size();
    } catch (...) {
      return false;
    }
  };
  if (colon == std::string::npos) {
    s.type = Step::Index;
    if (!number(in, s.a)) return Status::badRequest("invalid array index " + in);
    return s;
  }
  s.type = Step::Slice;
  std::string lo = trim(in.substr(0, colon)), hi = trim(in.substr(colon + 1));
  if (auto c2 = hi.find(':'); c2 != std::string::npos) hi = hi.substr(0, c2);
  s.hasA = !lo.empty() && number(lo, s.a);
  s.hasB = !hi.empty() && number(hi, s.b);
  return s;
}

Result<std::vector<Step>> parsePath(std::string_view p) {
  std::vector<Step> steps;
  size_t i = 0;
  if (!p.empty() && (p[0] == '@' || p[0] == '$')) i = 1;
  while (i < p.size()) {
    if (p.substr(i, 2) == "..") {
      i += 2;
      size_t end = p.find_first_of(".[", i);
      steps.push_back({Step::Recurse, std::string(p.substr(i, end - i))});
      i = end == std::string_view::npos ? p.size() : end;
    } else if (p[i] == '.') {
      size_t end = p.find_first_of(".[", i + 1);
      std::string name(p.substr(i + 1, end - i - 1));
      steps.push_back(name == "*" ? Step{Step::Wildcard} : Step{Step::Field, name});
      if (name.empty()) steps.pop_back();
      i = end == std::string_view::npos ? p.size() : end;
    } else if (p[i] == '[') {
      // Find the matching ']' outside quotes and parentheses.
      int depth = 0;
      char quote = 0;
      size_t j = i + 1;
      for (; j < p.size(); ++j) {
        char c = p[j];
        if (quote) {
          if (c == quote) quote = 0;
        } else if (c == '\'' || c == '"') {
          quote = c;
        } else if (c == '(') {
          ++depth;
        } else if (c == ')') {
          --depth;
        } else if (c == ']' && depth == 0) {
          break;
        }
      }
      if (j >= p.size()) return Status::badRequest("unterminated array");
      auto step = parseBracket(p.substr(i + 1, j - i - 1));
      if (!step.ok()) return step.status();
      steps.push_back(*step);
      i = j + 1;
    } else {
      size_t end = p.find_first_of(".[", i);
      steps.push_back({Step::Field, std::string(p.substr(i, end - i))});
      i = end == std::string_view::npos ? p.size() : end;
    }
  }
  return steps;
}

void collectRecursive(const json& v, const std::string& name, Values& out) {
  if (v.is_object()) {
    if (name.empty()) out.push_back(v);
    for (const auto& [k, child] : v.items()) {
      if (!name.empty() && k == name) out.push_back(child);
      collectRecursive(child, name, out);
    }
  } else if (v.is_array()) {
    for (const auto& child : v) collectRecursive(child, name, out);
  }
}

Values evaluate(const std::vector<Step>& steps, Values current, bool& missing);

bool filterMatches(const Step& s, const json& item) {
  auto lhsSteps = parsePath(s.lhs);
  if (!lhsSteps.ok()) return false;
  bool missing = false;
  Values lhs = evaluate(*lhsSteps, {item}, missing);
  if (s.op.empty()) return !lhs.empty() && !missing;
  if (lhs.empty()) return false;
  json rhs;
  try {
    rhs = json::parse(s.rhs);
  } catch (...) {
    rhs = s.rhs;
  }
  const json& l = lhs[0];
  if (s.op == "==") return l == rhs;
  if (s.op == "!=") return l != rhs;
  if (!l.is_number() || !rhs.is_number()) return false;
  double a = l.get<double>(), b = rhs.get<double>();
  if (s.op == "<") return a < b;
  if (s.op == ">") return a > b;
  if (s.op == "<=") return a <= b;
  return a >= b;
}

void applyStep(const Step& s, const json& v, Values& next, bool& missing) {
  switch (s.type) {
    case Step::Field:
      if (v.is_object() && v.contains(s.name)) {
        next.push_back(v[s.name]);
      } else {
        missing = true;
      }
      break;
    case Step::Wildcard:
      if (v.is_object() || v.is_array()) {
        for (const auto& child : v) next.push_back(child);
      }
      break;
    case Step::Index: {
      if (!v.is_array()) break;
      long long n = static_cast<long long>(v.size()), i = s.a < 0 ? s.a + n : s.a;
      if (i >= 0 && i < n) {
        next.push_back(v[static_cast<size_t>(i)]);
      } else {
        missing = true;
      }
      break;
    }
    case Step::Slice: {
      if (!v.is_array()) break;
      long long n = static_cast<long long>(v.size());
      long long lo = s.hasA ? (s.a < 0 ? s.a + n : s.a) : 0;
      long long hi = s.hasB ? (s.b < 0 ? s.b + n : s.b) : n;
      for (long long i = std::max(0LL, lo); i < std::min(n, hi); ++i) {
        next.push_back(v[static_cast<size_t>(i)]);
      }
      break;
    }
    case Step::Recurse:
      collectRecursive(v, s.name, next);
      break;
    case Step::Filter:
      if (v.is_array()) {
        for (const auto& item : v) {
          if (filterMatches(s, item)) next.push_back(item);
        }
      }
      break;
  }
}

Values evaluate(const std::vector<Step>& steps, Values current, bool& missing) {
  for (const auto& s : steps) {
    Values next;
    for (const auto& v : current) applyStep(s, v, next, missing);
    current = std::move(next);
  }
  return current;
}

std::string printValue(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// One {..} action or a piece of literal text.
struct Node {
  bool isText = false;
  std::string text;  // literal text, or the expression inside the braces
};

Result<std::vector<Node>> tokenize(std::string_view t) {
  std::vector<Node> nodes;
  size_t i = 0;
  while (i < t.size()) {
    size_t open = t.find('{', i);
    if (open == std::string_view::npos) open = t.size();
    if (open > i) nodes.push_back({true, std::string(t.substr(i, open - i))});
    if (open == t.size()) break;
    size_t close = open + 1;
    char quote = 0;
    for (; close < t.size(); ++close) {
      if (quote) {
        if (t[close] == '\\') {
          ++close;
        } else if (t[close] == quote) {
          quote = 0;
        }
      } else if (t[close] == '"' || t[close] == '\'') {
        quote = t[close];
      } else if (t[close] == '}') {
        break;
      }
    }
    if (close >= t.size()) return Status::badRequest("unclosed action");
    nodes.push_back({false, trim(t.substr(open + 1, close - open - 1))});
    i = close + 1;
  }
  return nodes;
}

std::string unquote(const std::string& lit) {
  try {
    return json::parse(lit[0] == '\'' ? "\"" + lit.substr(1, lit.size() - 2) + "\"" : lit)
        .get<std::string>();
  } catch (...) {
    return lit.substr(1, lit.size() - 2);
  }
}

Status execute(const std::vector<Node>& nodes, size_t& i, const json& data, std::string& out,
               bool stopAtEnd);

Status executeRange(const std::vector<Node>& nodes, size_t& i, const json& data, std::string& out) {
  auto steps = parsePath(trim(std::string_view(nodes[i].text).substr(5)));
  if (!steps.ok()) return steps.status();
  bool missing = false;
  Values items = evaluate(*steps, {data}, missing);
  if (items.size() == 1 && items[0].is_array()) items = Values(items[0].begin(), items[0].end());
  const size_t bodyStart = i + 1;
  size_t after = bodyStart;
  if (items.empty()) {
    std::string discard;
    if (Status st = execute(nodes, after, json(), discard, true); !st.isOk()) return st;
  }
  for (const auto& item : items) {
    after = bodyStart;
    if (Status st = execute(nodes, after, item, out, true); !st.isOk()) return st;
  }
  i = after;
  return Status::ok();
}

Status execute(const std::vector<Node>& nodes, size_t& i, const json& data, std::string& out,
               bool stopAtEnd) {
  for (; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (n.isText) {
      out += n.text;
    } else if (n.text == "end") {
      if (stopAtEnd) return Status::ok();
      return Status::badRequest("not in range, nothing to end");
    } else if (n.text.starts_with("range ")) {
      if (Status st = executeRange(nodes, i, data, out); !st.isOk()) return st;
    } else if (!n.text.empty() && (n.text[0] == '"' || n.text[0] == '\'')) {
      out += unquote(n.text);
    } else {
      auto steps = parsePath(n.text);
      if (!steps.ok()) return steps.status();
      bool missing = false;
      Values values = evaluate(*steps, {data}, missing);
      if (values.empty() && missing && !stopAtEnd) {
        return Status::badRequest(n.text + " is not found");
      }
      for (size_t k = 0; k < values.size(); ++k) out += (k ? " " : "") + printValue(values[k]);
    }
  }
  if (stopAtEnd) return Status::badRequest("range without end");
  return Status::ok();
}

}  // namespace

Result<std::string> renderJsonPath(std::string_view templ, const json& data) {
  auto nodes = tokenize(templ);
  if (!nodes.ok()) return nodes.status();
  std::string out;
  size_t i = 0;
  if (Status st = execute(*nodes, i, data, out, false); !st.isOk()) return st;
  return out;
}

Result<std::vector<json>> jsonPathValues(std::string_view expression, const json& data) {
  auto steps = parsePath(expression);
  if (!steps.ok()) return steps.status();
  bool missing = false;
  std::vector<json> out;
  for (const auto& value : evaluate(*steps, {data}, missing)) out.push_back(json(value));
  return out;
}

}  // namespace kd::cli

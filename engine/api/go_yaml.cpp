// toYaml, declared in yaml_json.h: go-yaml v2's emitter, as kubectl prints through
// sigs.k8s.io/yaml. kubectl turns an object into JSON, reads that back with go-yaml v2 and
// marshals it. The code below follows that encoder and libyaml-derived emitter for the subset
// JSON needs: which scalar style each string gets, where lines fold, how blocks indent and in
// which order keys come.
#include "engine/api/yaml_json.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <locale.h>  // newlocale and iswalpha_l: POSIX, not in <clocale>
#include <wctype.h>

namespace kd::api {
namespace {

constexpr int kBestIndent = 2;
constexpr int kBestWidth = 80;         // past this column a space may become a line fold
constexpr size_t kMaxSimpleKey = 128;  // longer keys are written as "? key"

unsigned char byteAt(std::string_view s, size_t i) {
  return i < s.size() ? static_cast<unsigned char>(s[i]) : 0;
}

size_t utf8Width(unsigned char lead) {
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;  // ASCII, or a stray byte: step over it rather than stall
}

char32_t codePointAt(std::string_view s, size_t i) {
  const size_t w = utf8Width(byteAt(s, i));
  char32_t c = w == 1 ? byteAt(s, i) : byteAt(s, i) & (0x7F >> w);
  for (size_t k = 1; k < w; ++k) c = (c << 6) | (byteAt(s, i + k) & 0x3F);
  return c;
}

// go-yaml's "printable": no C0/C1 controls but '\n', no DEL, no surrogates, BOM or U+FFFE/FFFF,
// and nothing beyond the BMP (so kubectl escapes emoji as \U0001F600).
bool isPrintable(std::string_view s, size_t i) {
  const unsigned char b = byteAt(s, i), b1 = byteAt(s, i + 1), b2 = byteAt(s, i + 2);
  return b == 0x0A || (b >= 0x20 && b <= 0x7E) || (b == 0xC2 && b1 >= 0xA0) ||
         (b > 0xC2 && b < 0xED) || (b == 0xED && b1 < 0xA0) || b == 0xEE ||
         (b == 0xEF && !(b1 == 0xBB && b2 == 0xBF) && !(b1 == 0xBF && (b2 == 0xBE || b2 == 0xBF)));
}

// CR, LF, NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR.
bool isBreak(std::string_view s, size_t i) {
  const unsigned char b = byteAt(s, i), b1 = byteAt(s, i + 1), b2 = byteAt(s, i + 2);
  return b == '\r' || b == '\n' || (b == 0xC2 && b1 == 0x85) ||
         (b == 0xE2 && b1 == 0x80 && (b2 == 0xA8 || b2 == 0xA9));
}

bool isSpace(std::string_view s, size_t i) {
  return byteAt(s, i) == ' ';
}
bool isBlank(std::string_view s, size_t i) {
  return isSpace(s, i) || byteAt(s, i) == '\t';
}
bool isBlankOrEnd(std::string_view s, size_t i) {
  return isBlank(s, i) || isBreak(s, i) || byteAt(s, i) == 0;
}

int daysInMonth(int month, int year) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// go-yaml's timestamps: Go's time.Parse of "2006-1-2", "2006-1-2 15:4:5.999999999" or
// "2006-1-2T15:4:5.999999999Z07:00" (T or t), fields range-checked.
bool isTimestamp(const std::string& s) {
  static const std::regex kTimestamp(
      "([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(([Tt ])([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})"
      "(?:[.,][0-9]+)?(Z|[-+]([0-9]{2}):([0-9]{2}))?)?");
  std::smatch m;
  if (!std::regex_match(s, m, kTimestamp)) return false;
  auto field = [&m](int i) { return std::stoi(m[i].str()); };
  const int month = field(2), day = field(3);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(month, field(1))) return false;
  if (!m[4].matched) return true;
  if ((m[5].str() == " ") == m[9].matched) return false;  // a zone with T only, and then always
  if (field(6) > 23 || field(7) > 59 || field(8) > 59) return false;
  return !m[10].matched || (field(10) <= 24 && field(11) <= 60);
}

// Whether a magnitude written in digits (of base) fits a signed 64-bit integer of that sign.
bool fitsInt64(const std::string& digits, int base, bool negative) {
  errno = 0;
  const unsigned long long magnitude = std::strtoull(digits.c_str(), nullptr, base);
  const auto limit = static_cast<unsigned long long>(INT64_MAX) + (negative ? 1 : 0);
  return errno != ERANGE && magnitude <= limit;
}

// Go's strconv.ParseInt/ParseUint with base 0 (underscores already removed). An unsigned literal
// is an integer at any size (go-yaml falls back to big.Int); a signed one must fit 64 bits.
bool isGoInteger(const std::string& s) {
  static const std::regex kInteger(
      "([-+]?)(0[bB][01]+|0[oO][0-7]+|0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)");
  static const std::regex kSignedBinary("0b([-+]?)([01]+)");  // go-yaml's own "0b" retry
  std::smatch m;
  if (std::regex_match(s, m, kInteger)) {
    if (m[1].length() == 0) return true;
    std::string digits = m[2].str();
    int base = 10;
    if (digits.size() > 2 && std::isalpha(static_cast<unsigned char>(digits[1]))) {
      const char prefix = static_cast<char>(std::tolower(digits[1]));
      base = prefix == 'x' ? 16 : prefix == 'o' ? 8 : 2;
      digits = digits.substr(2);
    } else if (digits.size() > 1) {
      base = 8;
    }
    return fitsInt64(digits, base, m[1].str() == "-");
  }
  return std::regex_match(s, m, kSignedBinary) && fitsInt64(m[2].str(), 2, m[1].str() == "-");
}

// Go accepts "_" between digits in number literals.
std::string withoutUnderscores(const std::string& s) {
  std::string out;
  std::copy_if(s.begin(), s.end(), std::back_inserter(out), [](char c) { return c != '_'; });
  return out;
}

// Go's strconv.ParseFloat fails on overflow (not on underflow).
bool parsesAsFiniteFloat(const std::string& s) {
  errno = 0;
  const double d = std::strtod(withoutUnderscores(s).c_str(), nullptr);
  return !(errno == ERANGE && std::isinf(d));
}

// Whether go-yaml v2 (YAML 1.1 rules) would read s, written plain, as anything but a string.
bool resolvesToNonString(const std::string& s) {
  static const std::set<std::string, std::less<>> kWords = {
      "y",    "Y",    "yes",   "Yes",   "YES",   "true",  "True",  "TRUE",  "on",    "On",
      "ON",   "n",    "N",     "no",    "No",    "NO",    "false", "False", "FALSE", "off",
      "Off",  "OFF",  "~",     "null",  "Null",  "NULL",  ".nan",  ".NaN",  ".NAN",  ".inf",
      ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"};
  static const std::regex kDotFloat("\\.[0-9]+(_[0-9]+)*([eE][-+]?[0-9]+(_[0-9]+)*)?");
  static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  if (s.empty() || kWords.contains(s)) return true;
  const char first = s[0];
  if (first == '.') return std::regex_match(s, kDotFloat) && parsesAsFiniteFloat(s);
  if (first != '+' && first != '-' && !std::isdigit(static_cast<unsigned char>(first))) {
    return false;
  }
  if (isTimestamp(s)) return true;
  const std::string plain = withoutUnderscores(s);
  return isGoInteger(plain) || (std::regex_match(plain, kFloat) && parsesAsFiniteFloat(plain));
}

// YAML 1.1 sexagesimal numbers ("1:20"): go-yaml no longer reads them, but still quotes them.
bool isBase60Float(const std::string& s) {
  static const std::regex kBase60("[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\\.[0-9_]*)?");
  return std::regex_match(s, kBase60);
}

// Shortest round-trip digits of a finite, non-zero |d|: |d| = 0.DIGITS x 10^point.
struct Decimal {
  std::string digits;
  int point = 0;
};

Decimal shortestDecimal(double d) {
  char buf[64];
  const auto end =
      std::to_chars(buf, buf + sizeof buf, std::fabs(d), std::chars_format::scientific).ptr;
  const std::string text(buf, end);  // "1.2345e+06"
  const size_t e = text.find('e');
  Decimal dec;
  std::copy_if(text.begin(), text.begin() + e, std::back_inserter(dec.digits),
               [](char c) { return c != '.'; });
  dec.point = std::stoi(text.substr(e + 1)) + 1;
  return dec;
}

// strconv.FormatFloat(d, 'g', -1, 64): %e below 1e-4 and from 1e6 up, %f between.
std::string goFloatText(double d) {
  const Decimal dec = shortestDecimal(d);
  const int digits = static_cast<int>(dec.digits.size());
  const int exponent = dec.point - 1;
  std::string out = d < 0 ? "-" : "";
  if (exponent < -4 || exponent >= 6) {
    out += dec.digits.substr(0, 1);
    if (digits > 1) out += "." + dec.digits.substr(1);
    const std::string magnitude = std::to_string(std::abs(exponent));
    return out + (exponent < 0 ? "e-" : "e+") + (magnitude.size() < 2 ? "0" : "") + magnitude;
  }
  if (dec.point <= 0) return out + "0." + std::string(-dec.point, '0') + dec.digits;
  if (dec.point >= digits) return out + dec.digits + std::string(dec.point - digits, '0');
  return out + dec.digits.substr(0, dec.point) + "." + dec.digits.substr(dec.point);
}

// kubectl decodes a JSON number as int64, else float64, and re-encodes it with encoding/json,
// which writes whole floats below 1e21 without a point; go-yaml then reads those back as
// integers (3.0 prints as 3) and formats the remaining floats itself.
std::string goFloatAfterJson(double d) {
  if (!std::isfinite(d)) return "null";  // what the JSON on the wire holds instead
  if (d == 0) return "0";
  const Decimal dec = shortestDecimal(d);
  const int digits = static_cast<int>(dec.digits.size());
  if (dec.point >= digits && std::fabs(d) < 1e21) {
    const std::string whole = dec.digits + std::string(dec.point - digits, '0');
    errno = 0;
    if (d < 0) {
      const long long v = std::strtoll(("-" + whole).c_str(), nullptr, 10);
      if (errno != ERANGE) return std::to_string(v);
    } else {
      const unsigned long long v = std::strtoull(whole.c_str(), nullptr, 10);
      if (errno != ERANGE) return std::to_string(v);
    }
  }
  return goFloatText(d);
}

std::string scalarText(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case json::value_t::number_integer:
      return std::to_string(v.get<int64_t>());
    case json::value_t::number_unsigned:
      if (v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)) {
        return std::to_string(v.get<uint64_t>());
      }
      return goFloatAfterJson(v.get<double>());  // beyond int64 kubectl holds a float64
    default:
      return goFloatAfterJson(v.get<double>());
  }
}

// Go's unicode.IsLetter (categories L*); beyond ASCII, the C library's UTF-8 tables stand in for
// it (they count a few marks and non-Latin digits as letters too).
bool isLetter(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  static const locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
  return utf8 != locale_t{} && iswalpha_l(static_cast<wint_t>(c), utf8);
}

// go-yaml's map key order: runs of digits compare as numbers, and at the first difference a
// non-letter sorts before a letter. It is not a strict order (9x < 11 < 1a < 9x); keys that form
// such a cycle come out of kubectl in the order of Go's randomised map walk, differing from run
// to run, and here in the order a stable sort leaves them.
bool goKeyLess(const std::string& aText, const std::string& bText) {
  auto runes = [](std::string_view s) {
    std::u32string out;
    for (size_t i = 0; i < s.size(); i += utf8Width(byteAt(s, i))) out += codePointAt(s, i);
    return out;
  };
  auto isDigit = [](char32_t c) { return c >= '0' && c <= '9'; };
  const std::u32string a = runes(aText), b = runes(bText);
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i] == b[i]) continue;
    const bool al = isLetter(a[i]), bl = isLetter(b[i]);
    if (al && bl) return a[i] < b[i];
    if (al || bl) return bl;
    uint64_t an = 0, bn = 0;  // Go's int64 arithmetic, wrapping alike
    if (a[i] == '0' || b[i] == '0') {
      for (size_t j = i; j-- > 0 && isDigit(a[j]);) {
        if (a[j] != '0') {
          an = bn = 1;
          break;
        }
      }
    }
    size_t ai = i, bi = i;
    for (; ai < a.size() && isDigit(a[ai]); ++ai) an = an * 10 + (a[ai] - '0');
    for (; bi < b.size() && isDigit(b[bi]); ++bi) bn = bn * 10 + (b[bi] - '0');
    if (an != bn) return static_cast<int64_t>(an) < static_cast<int64_t>(bn);
    if (ai != bi) return ai < bi;
    return a[i] < b[i];
  }
  return a.size() < b.size();
}

enum class ScalarStyle { Plain, SingleQuoted, DoubleQuoted, Literal };

// What the characters of a scalar allow (yaml_emitter_analyze_scalar, block context).
struct ScalarTraits {
  bool multiline = false;
  bool plainAllowed = true;
  bool singleQuotedAllowed = true;
  bool literalAllowed = true;
};

ScalarTraits analyzeScalar(std::string_view v) {
  ScalarTraits t;
  if (v.empty()) {
    t.literalAllowed = false;
    return t;
  }
  bool indicators = v.starts_with("---") || v.starts_with("...");
  bool lineBreaks = false, special = false, leadingSpace = false, leadingBreak = false;
  bool trailingSpace = false, trailingBreak = false, breakSpace = false, spaceBreak = false;
  bool precededByWhitespace = true, previousSpace = false, previousBreak = false;
  for (size_t i = 0, w = 0; i < v.size(); i += w) {
    w = utf8Width(byteAt(v, i));
    const bool followedByWhitespace = i + w >= v.size() || isBlank(v, i + w);
    const char c = v[i];
    if (i == 0) {
      indicators |= std::string_view("#,[]{}&*!|>'\"%@`").find(c) != std::string_view::npos ||
                    ((c == '?' || c == ':' || c == '-') && followedByWhitespace);
    } else {
      indicators |= (c == ':' && followedByWhitespace) || (c == '#' && precededByWhitespace);
    }
    // go-yaml writes NEL, LS and PS raw as line breaks; yaml-cpp reads them back as text, so
    // they are escaped in double quotes instead (the one place this emitter leaves kubectl's).
    special |= !isPrintable(v, i) || (isBreak(v, i) && c != '\n' && c != '\r');
    const bool last = i + w == v.size();
    if (isSpace(v, i)) {
      leadingSpace |= i == 0;
      trailingSpace |= last;
      breakSpace |= previousBreak;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(v, i)) {
      lineBreaks = true;
      leadingBreak |= i == 0;
      trailingBreak |= last;
      spaceBreak |= previousSpace;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = previousBreak = false;
    }
    precededByWhitespace = isBlankOrEnd(v, i);
  }
  t.multiline = lineBreaks;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak || lineBreaks || indicators) {
    t.plainAllowed = false;
  }
  if (trailingSpace) t.literalAllowed = false;
  if (breakSpace) t.singleQuotedAllowed = false;
  if (spaceBreak || special) t.singleQuotedAllowed = t.literalAllowed = false;
  if (breakSpace || spaceBreak || special) t.plainAllowed = false;
  return t;
}

// The style go-yaml's encoder asks for a string: literal for multi-line text, plain unless the
// text would read back as another type (then double quotes).
ScalarStyle requestedStyle(const std::string& s) {
  if (s.find('\n') != std::string::npos) return ScalarStyle::Literal;
  if (resolvesToNonString(s) || isBase60Float(s)) return ScalarStyle::DoubleQuoted;
  return ScalarStyle::Plain;
}

// The style the emitter settles on when the characters rule out the one asked for.
ScalarStyle selectStyle(ScalarStyle style, const ScalarTraits& t, bool simpleKey) {
  if (simpleKey && t.multiline) style = ScalarStyle::DoubleQuoted;
  if (style == ScalarStyle::Plain && !t.plainAllowed) style = ScalarStyle::SingleQuoted;
  if (style == ScalarStyle::SingleQuoted && !t.singleQuotedAllowed) {
    style = ScalarStyle::DoubleQuoted;
  }
  if (style == ScalarStyle::Literal && (!t.literalAllowed || simpleKey)) {
    style = ScalarStyle::DoubleQuoted;
  }
  return style;
}

// The emitter's output state: column, the indentation stack, and whether the line so far is
// only indentation (indention) or ends in whitespace.
class GoYamlWriter {
 public:
  std::string document(const json& root) {
    node(root, false, false);
    writeIndent();
    return std::move(out_);
  }

 private:
  std::string out_;
  int column_ = 0;
  int indent_ = -1;
  std::vector<int> indents_;
  bool whitespace_ = true;
  bool indention_ = true;

  void node(const json& v, bool mappingContext, bool simpleKey) {
    if (v.is_object()) {
      v.empty() ? emptyFlow("{", "}") : blockMapping(v);
    } else if (v.is_array()) {
      v.empty() ? emptyFlow("[", "]") : blockSequence(v, mappingContext);
    } else if (v.is_string()) {
      const auto& s = v.get_ref<const std::string&>();
      scalar(s, requestedStyle(s), simpleKey);
    } else {
      scalar(scalarText(v), ScalarStyle::Plain, simpleKey);
    }
  }

  void emptyFlow(std::string_view open, std::string_view close) {
    writeIndicator(open, true, true, false);
    writeIndicator(close, false, false, false);
  }

  void blockSequence(const json& v, bool mappingContext) {
    // A sequence that is a mapping's value starts at the key's indentation.
    increaseIndent(false, mappingContext && !indention_);
    for (const json& item : v) {
      writeIndent();
      writeIndicator("-", true, false, true);
      node(item, false, false);
    }
    popIndent();
  }

  void blockMapping(const json& v) {
    std::vector<const std::string*> keys;
    for (const auto& [key, value] : v.items()) keys.push_back(&key);
    std::stable_sort(keys.begin(), keys.end(),
                     [](const std::string* a, const std::string* b) { return goKeyLess(*a, *b); });
    increaseIndent(false, false);
    for (const std::string* key : keys) {
      writeIndent();
      const json keyNode = *key;
      if (key->size() <= kMaxSimpleKey && !analyzeScalar(*key).multiline) {
        node(keyNode, true, true);
        writeIndicator(":", false, false, false);
      } else {
        writeIndicator("?", true, false, true);
        node(keyNode, true, false);
        writeIndent();
        writeIndicator(":", true, false, true);
      }
      node(v.at(*key), true, false);
    }
    popIndent();
  }

  void scalar(const std::string& value, ScalarStyle requested, bool simpleKey) {
    const ScalarStyle style = selectStyle(requested, analyzeScalar(value), simpleKey);
    increaseIndent(true, false);
    switch (style) {
      case ScalarStyle::Plain:
        writePlain(value, !simpleKey);
        break;
      case ScalarStyle::SingleQuoted:
        writeSingleQuoted(value, !simpleKey);
        break;
      case ScalarStyle::DoubleQuoted:
        writeDoubleQuoted(value, !simpleKey);
        break;
      case ScalarStyle::Literal:
        writeLiteral(value);
        break;
    }
    popIndent();
  }

  void increaseIndent(bool flow, bool indentless) {
    indents_.push_back(indent_);
    if (indent_ < 0) {
      indent_ = flow ? kBestIndent : 0;
    } else if (!indentless) {
      indent_ += kBestIndent;
    }
  }

  void popIndent() {
    indent_ = indents_.back();
    indents_.pop_back();
  }

  void put(char c) {
    out_ += c;
    ++column_;
  }

  void putBreak() {
    out_ += '\n';
    column_ = 0;
  }

  // Copies one character; a column is one character, whatever its width in bytes.
  void write(std::string_view s, size_t& i) {
    const size_t w = std::min(utf8Width(byteAt(s, i)), s.size() - i);
    out_.append(s.substr(i, w));
    ++column_;
    i += w;
  }

  void writeBreak(std::string_view s, size_t& i) {
    if (s[i] == '\n') {
      putBreak();
      ++i;
    } else {
      write(s, i);
      column_ = 0;
    }
  }

  void writeIndent() {
    const int indent = std::max(indent_, 0);
    if (!indention_ || column_ > indent || (column_ == indent && !whitespace_)) putBreak();
    while (column_ < indent) put(' ');
    whitespace_ = indention_ = true;
  }

  void writeIndicator(std::string_view indicator, bool needWhitespace, bool isWhitespace,
                      bool isIndention) {
    if (needWhitespace && !whitespace_) put(' ');
    out_.append(indicator);
    column_ += static_cast<int>(indicator.size());
    whitespace_ = isWhitespace;
    indention_ = indention_ && isIndention;
  }

  // A single space past the best width becomes a line break (folded back into a space when
  // read), unless it neighbours another space.
  bool foldsHere(std::string_view v, size_t i, bool allowBreaks, bool spaces) const {
    return allowBreaks && !spaces && column_ > kBestWidth && !isSpace(v, i + 1);
  }

  void writePlain(std::string_view v, bool allowBreaks) {
    if (!whitespace_) put(' ');
    bool spaces = false;
    for (size_t i = 0; i < v.size();) {
      const bool space = isSpace(v, i);
      if (space && foldsHere(v, i, allowBreaks, spaces)) {
        writeIndent();
        ++i;
      } else {
        write(v, i);
      }
      if (!space) indention_ = false;
      spaces = space;
    }
    whitespace_ = indention_ = false;
  }

  void writeSingleQuoted(std::string_view v, bool allowBreaks) {
    writeIndicator("'", true, false, false);
    bool spaces = false, breaks = false;
    for (size_t i = 0; i < v.size();) {
      if (isSpace(v, i)) {
        if (i > 0 && i + 1 < v.size() && foldsHere(v, i, allowBreaks, spaces)) {
          writeIndent();
          ++i;
        } else {
          write(v, i);
        }
        spaces = true;
      } else if (isBreak(v, i)) {
        if (!breaks && v[i] == '\n') putBreak();
        writeBreak(v, i);
        indention_ = breaks = true;
      } else {
        if (breaks) writeIndent();
        if (v[i] == '\'') put('\'');
        write(v, i);
        indention_ = spaces = breaks = false;
      }
    }
    writeIndicator("'", false, false, false);
    whitespace_ = indention_ = false;
  }

  // go-yaml writes NEL and NBSP as \N and \_, which yaml-cpp decodes to a lone byte, not
  // UTF-8: those two take the numeric form.
  void writeEscape(char32_t c) {
    static const std::map<char32_t, char> kShort = {
        {0x00, '0'},  {0x07, 'a'},   {0x08, 'b'},  {0x09, 't'}, {0x0A, 'n'},
        {0x0B, 'v'},  {0x0C, 'f'},   {0x0D, 'r'},  {0x1B, 'e'}, {'"', '"'},
        {'\\', '\\'}, {0x2028, 'L'}, {0x2029, 'P'}};
    put('\\');
    if (auto it = kShort.find(c); it != kShort.end()) return put(it->second);
    const int digits = c <= 0xFF ? 2 : c <= 0xFFFF ? 4 : 8;
    put(digits == 2 ? 'x' : digits == 4 ? 'u' : 'U');
    for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
      put("0123456789ABCDEF"[(c >> shift) & 0xF]);
    }
  }

  void writeDoubleQuoted(std::string_view v, bool allowBreaks) {
    writeIndicator("\"", true, false, false);
    // go-yaml's BOM test looks at the start of the text, not at the character: after a leading
    // BOM every character is escaped.
    const bool escapeAll = v.starts_with("\xEF\xBB\xBF");
    bool spaces = false;
    for (size_t i = 0; i < v.size();) {
      if (escapeAll || !isPrintable(v, i) || isBreak(v, i) || v[i] == '"' || v[i] == '\\') {
        writeEscape(codePointAt(v, i));
        i += utf8Width(byteAt(v, i));
        spaces = false;
      } else if (isSpace(v, i)) {
        if (allowBreaks && !spaces && column_ > kBestWidth && i != 0 && i != v.size() - 1) {
          writeIndent();
          if (isSpace(v, i + 1)) put('\\');  // keep the next space from reading as indentation
          ++i;
        } else {
          write(v, i);
        }
        spaces = true;
      } else {
        write(v, i);
        spaces = false;
      }
    }
    writeIndicator("\"", false, false, false);
    whitespace_ = indention_ = false;
  }

  // "|" plus an indentation indicator when the text starts with a space or break, and the
  // chomping indicator: "-" without a final break, none for one, "+" for more.
  void writeBlockScalarHints(std::string_view v) {
    if (isSpace(v, 0) || isBreak(v, 0)) writeIndicator("2", false, false, false);
    auto characterBefore = [&v](size_t end) {
      size_t i = end - 1;
      while (i > 0 && (byteAt(v, i) & 0xC0) == 0x80) --i;
      return i;
    };
    const size_t last = characterBefore(v.size());
    if (!isBreak(v, last)) {
      writeIndicator("-", false, false, false);
    } else if (last == 0 || isBreak(v, characterBefore(last))) {
      writeIndicator("+", false, false, false);
    }
  }

  void writeLiteral(std::string_view v) {
    writeIndicator("|", true, false, false);
    writeBlockScalarHints(v);
    putBreak();
    indention_ = whitespace_ = true;
    bool breaks = true;
    for (size_t i = 0; i < v.size();) {
      if (isBreak(v, i)) {
        writeBreak(v, i);
        indention_ = breaks = true;
      } else {
        if (breaks) writeIndent();
        write(v, i);
        indention_ = breaks = false;
      }
    }
  }
};

}  // namespace

std::string toYaml(const json& value) {
  return GoYamlWriter().document(value);
}

}  // namespace kd::api

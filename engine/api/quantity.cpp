#include "engine/api/quantity.h"

#include <cctype>
#include <cmath>
#include <limits>
#include <optional>

namespace kd::api {
namespace {

constexpr int kMaxDigits = 36;  // fits a QuantityInt with room to scale
constexpr QuantityInt kInt128Max = ~(QuantityInt(1) << 127);

struct Suffix {
  std::string_view text;
  int exp10, exp2;
};

constexpr Suffix kSuffixes[] = {
    {"Ki", 0, 10}, {"Mi", 0, 20}, {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60},
    {"n", -9, 0},  {"u", -6, 0},  {"m", -3, 0},  {"", 0, 0},    {"k", 3, 0},   {"M", 6, 0},
    {"G", 9, 0},   {"T", 12, 0},  {"P", 15, 0},  {"E", 18, 0},
};

Status badQuantity(std::string_view text) {
  return Status::badRequest(
      "quantities must match the regular expression "
      "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': \"" +
      std::string(text) + "\"");
}

// "e3", "E-2": a decimal exponent suffix.
std::optional<int> decimalExponent(std::string_view s) {
  if (s.size() < 2 || (s[0] != 'e' && s[0] != 'E')) return std::nullopt;
  size_t i = 1;
  bool negative = false;
  if (s[i] == '+' || s[i] == '-') negative = s[i++] == '-';
  if (i == s.size() || s.size() - i > 4) return std::nullopt;
  int e = 0;
  for (; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    e = e * 10 + (s[i] - '0');
  }
  return negative ? -e : e;
}

QuantityInt pow10(int k) {
  QuantityInt p = 1;
  while (k-- > 0) p *= 10;
  return p;
}

int64_t saturate(QuantityInt v) {
  if (v > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  if (v < std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

}  // namespace

Result<Quantity> Quantity::parse(std::string_view text) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  Quantity q;
  int digits = 0, significant = 0;
  bool seenPoint = false, droppedNonZero = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.' && !seenPoint) {
      seenPoint = true;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c))) break;
    ++digits;
    if (significant == kMaxDigits) {
      // Beyond the precision kept: integer digits still scale, fraction digits round up.
      if (!seenPoint) ++q.exp10_;
      droppedNonZero = droppedNonZero || (seenPoint && c != '0');
      continue;
    }
    if (q.mantissa_ != 0 || c != '0') ++significant;
    q.mantissa_ = q.mantissa_ * 10 + (c - '0');
    if (seenPoint) --q.exp10_;
  }
  if (digits == 0) return badQuantity(text);
  const std::string_view suffix = text.substr(i);
  bool known = false;
  for (const auto& s : kSuffixes) {
    if (s.text != suffix) continue;
    q.exp10_ += s.exp10;
    q.exp2_ = s.exp2;
    known = true;
    break;
  }
  if (!known) {
    auto e = decimalExponent(suffix);
    if (!e) return badQuantity(text);
    q.exp10_ += *e;
  }
  if (droppedNonZero) q.mantissa_ += 1;
  if (negative) q.mantissa_ = -q.mantissa_;
  return q;
}

Result<Quantity> Quantity::fromJson(const json& value) {
  if (value.is_string()) return parse(value.get_ref<const std::string&>());
  if (value.is_number()) return parse(value.dump());
  return Status::badRequest("a quantity must be a string or a number, not " +
                            std::string(value.type_name()));
}

int64_t Quantity::scaled(int decimals) const {
  if (mantissa_ == 0) return 0;
  const bool negative = mantissa_ < 0;
  QuantityInt a = negative ? -mantissa_ : mantissa_;
  int e10 = exp10_ + decimals;
  int e2 = exp2_;
  const QuantityInt limit = QuantityInt(std::numeric_limits<int64_t>::max());
  const int64_t saturated =
      negative ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  // Multiply first (exactly) while it cannot overflow, so division rounds only once.
  for (; e2 > 0 && a <= kInt128Max / 2; --e2) a *= 2;
  for (; e10 > 0 && a <= kInt128Max / 10; --e10) a *= 10;
  if (e2 > 0 || e10 > 0) return saturated;
  QuantityInt whole = a, rest = 0;
  if (e10 < 0) {
    if (-e10 > 38) {
      whole = 0;
      rest = 1;
    } else {
      const QuantityInt den = pow10(-e10);
      whole = a / den;
      rest = a % den;
    }
  }
  // Round toward +infinity, as Kubernetes rounds requests up.
  if (!negative && rest != 0) whole += 1;
  if (whole > limit) return saturated;
  return saturate(negative ? -whole : whole);
}

long double Quantity::approximate() const {
  return static_cast<long double>(mantissa_) * std::pow(10.0L, exp10_) * std::pow(2.0L, exp2_);
}

}  // namespace kd::api

#pragma once
// Kubernetes resource quantities ("500m", "1Gi", "128974848", "1e3", "1.5Gi"): a signed
// decimal number with an optional suffix, either binary (Ki Mi Gi Ti Pi Ei), decimal
// (n u m "" k M G T P E) or a decimal exponent (e3, E-2). Parsing is exact; conversion to
// integers rounds up as resource.Quantity's Value()/MilliValue() do, and saturates at the
// int64 range instead of overflowing.

#include <cstdint>
#include <string_view>

#include "engine/api/status.h"

namespace kd::api {

__extension__ typedef __int128 QuantityInt;  // __extension__: quiet under -Wpedantic

class Quantity {
 public:
  Quantity() = default;

  // 400 Bad Request ("quantities must match the regular expression ...") when `text` is not
  // a quantity.
  static Result<Quantity> parse(std::string_view text);
  // A quantity from a JSON value: a string as above or a plain number (as some clients send).
  static Result<Quantity> fromJson(const json& value);

  // The value in whole units, rounded up: "1.5" -> 2, "1Ki" -> 1024, "500m" -> 1.
  int64_t value() const { return scaled(0); }
  // The value in thousandths, rounded up: "500m" -> 500, "1" -> 1000, "1u" -> 1.
  int64_t milliValue() const { return scaled(3); }
  bool isZero() const { return mantissa_ == 0; }
  // The value as a long double, for ordering quantities (kubectl get --sort-by).
  long double approximate() const;

 private:
  // ceil(value * 10^decimals), saturated.
  int64_t scaled(int decimals) const;

  // value = mantissa * 10^exp10 * 2^exp2
  QuantityInt mantissa_ = 0;
  int exp10_ = 0;
  int exp2_ = 0;
};

}  // namespace kd::api

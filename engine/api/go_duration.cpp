#include "engine/api/go_duration.h"

#include <cstdint>

namespace kd::api {
namespace {

// `value` / 10^digits with the fraction's trailing zeros dropped: (1500, 3) → "1.5".
std::string decimal(uint64_t value, int digits) {
  uint64_t scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  std::string out = std::to_string(value / scale);
  if (const uint64_t fraction = value % scale; fraction != 0) {
    std::string f = std::to_string(scale + fraction).substr(1);
    f.erase(f.find_last_not_of('0') + 1);
    out += "." + f;
  }
  return out;
}

}  // namespace

std::string goDuration(std::chrono::nanoseconds d) {
  const int64_t n = d.count();
  if (n == 0) return "0s";
  // Through unsigned so the most negative value negates without overflow, as Go does.
  const uint64_t u = n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  const std::string sign = n < 0 ? "-" : "";
  if (u < 1'000) return sign + std::to_string(u) + "ns";
  if (u < 1'000'000) return sign + decimal(u, 3) + "µs";
  if (u < 1'000'000'000) return sign + decimal(u, 6) + "ms";
  const uint64_t hours = u / 3'600'000'000'000;
  const uint64_t minutes = u / 60'000'000'000 % 60;
  std::string out = sign;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  return out + decimal(u % 60'000'000'000, 9) + "s";
}

}  // namespace kd::api

#include "engine/node/timestamps.h"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace kd::node {

namespace {

std::string formatWith(Clock::time_point t, long nanos, bool withNanos) {
  const std::time_t secs = Clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (withNanos) {
    std::snprintf(buf, sizeof buf, ".%09ld", nanos);
    out += buf;
  }
  return out + "Z";
}

}  // namespace

std::string formatTime(Clock::time_point t) {
  return formatWith(t, 0, false);
}

std::string formatTimeNano(Clock::time_point t) {
  const auto sinceEpoch = t.time_since_epoch();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(sinceEpoch);
  const long nanos = static_cast<long>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(sinceEpoch - secs).count());
  return formatWith(Clock::time_point(std::chrono::duration_cast<Clock::duration>(secs)), nanos,
                    true);
}

Clock::time_point parseTime(const std::string& text) {
  std::tm tm{};
  long nanos = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return {};
  }
  if (text.size() > static_cast<size_t>(consumed) && text[consumed] == '.') {
    std::string frac;
    for (size_t i = consumed + 1; i < text.size() && std::isdigit(text[i]) && frac.size() < 9;
         ++i) {
      frac += text[i];
    }
    frac.resize(9, '0');
    nanos = std::stol(frac);
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const auto secs = Clock::from_time_t(::timegm(&tm));
  return secs + std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(nanos));
}

}  // namespace kd::node

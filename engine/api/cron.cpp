#include "engine/api/cron.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "engine/api/split.h"

namespace kd::api {

// ---------------------------------------------------------------------------------------------
// Time zones.

namespace {

constexpr int64_t kDay = 86400;

int64_t floorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

int64_t daysFromCivil(int y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return sys_days{year{y} / month{m} / day{d}}.time_since_epoch().count();
}

std::chrono::year_month_day civilFromDays(int64_t days) {
  return std::chrono::year_month_day{std::chrono::sys_days{std::chrono::days{days}}};
}

// The DST rule of a POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3"), which TZif files carry
// for instants after their last transition.
struct PosixRule {
  struct Date {
    char kind = 'M';  // 'J' (1-365, no Feb 29), 'D' (0-365), 'M' (month.week.weekday)
    int a = 0, b = 0, c = 0;
    int64_t time = 7200;  // local seconds after midnight
  };
  int stdOffset = 0;
  std::optional<int> dstOffset;
  Date start, end;

  int64_t transition(int year, const Date& d, int offsetBefore) const {
    const int64_t jan1 = daysFromCivil(year, 1, 1);
    const bool leap = std::chrono::year{year}.is_leap();
    int64_t day = 0;
    if (d.kind == 'J') {
      day = jan1 + d.a - 1 + (leap && d.a >= 60 ? 1 : 0);
    } else if (d.kind == 'D') {
      day = jan1 + d.a;
    } else {
      const int64_t first = daysFromCivil(year, static_cast<unsigned>(d.a), 1);
      const int64_t firstWeekday =
          std::chrono::weekday{std::chrono::sys_days{std::chrono::days{first}}}.c_encoding();
      day = first + (d.c - firstWeekday + 7) % 7 + (d.b - 1) * 7;
      const auto last = std::chrono::year_month_day_last{
          std::chrono::year{year} / std::chrono::month{static_cast<unsigned>(d.a)} /
          std::chrono::last};
      const int64_t monthEnd = first + static_cast<int64_t>(unsigned(last.day()));
      while (day >= monthEnd) day -= 7;
    }
    return day * kDay + d.time - offsetBefore;
  }

  int offsetAt(int64_t t) const {
    if (!dstOffset) return stdOffset;
    const int year = int(civilFromDays(floorDiv(t + stdOffset, kDay)).year());
    const int64_t s = transition(year, start, stdOffset);
    const int64_t e = transition(year, end, *dstOffset);
    const bool dst = s < e ? (t >= s && t < e) : !(t >= e && t < s);
    return dst ? *dstOffset : stdOffset;
  }
};

// A tiny reader for the POSIX TZ grammar; any failure leaves the rule unused.
class PosixParser {
 public:
  explicit PosixParser(std::string_view s) : s_(s) {}

  std::optional<PosixRule> parse() {
    PosixRule r;
    if (!name()) return std::nullopt;
    auto std = hms();
    if (!std) return std::nullopt;
    r.stdOffset = -int(*std);
    if (at_ == s_.size()) return r;
    if (!name()) return std::nullopt;
    r.dstOffset = r.stdOffset + 3600;
    if (at_ < s_.size() && s_[at_] != ',') {
      auto dst = hms();
      if (!dst) return std::nullopt;
      r.dstOffset = -int(*dst);
    }
    if (at_ == s_.size()) {
      r.start = {'M', 3, 2, 0, 7200};  // POSIX leaves this to the implementation; US rules
      r.end = {'M', 11, 1, 0, 7200};
      return r;
    }
    if (!eat(',') || !date(r.start) || !eat(',') || !date(r.end) || at_ != s_.size()) {
      return std::nullopt;
    }
    return r;
  }

 private:
  bool eat(char c) {
    if (at_ < s_.size() && s_[at_] == c) return ++at_, true;
    return false;
  }
  bool name() {
    if (eat('<')) {
      auto close = s_.find('>', at_);
      if (close == std::string_view::npos) return false;
      at_ = close + 1;
      return true;
    }
    size_t begin = at_;
    while (at_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[at_]))) ++at_;
    return at_ - begin >= 3;
  }
  std::optional<int64_t> number() {
    size_t begin = at_;
    int64_t n = 0;
    while (at_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[at_]))) {
      n = n * 10 + (s_[at_++] - '0');
    }
    if (at_ == begin) return std::nullopt;
    return n;
  }
  // [+-]hh[:mm[:ss]] in seconds.
  std::optional<int64_t> hms() {
    int sign = eat('-') ? -1 : (eat('+'), 1);
    auto h = number();
    if (!h) return std::nullopt;
    int64_t total = *h * 3600;
    for (int64_t unit : {60, 1}) {
      if (!eat(':')) break;
      auto v = number();
      if (!v) return std::nullopt;
      total += *v * unit;
    }
    return sign * total;
  }
  bool date(PosixRule::Date& d) {
    if (eat('M')) {
      auto m = number();
      if (!m || !eat('.')) return false;
      auto w = number();
      if (!w || !eat('.')) return false;
      auto wd = number();
      if (!wd || *m < 1 || *m > 12 || *w < 1 || *w > 5 || *wd > 6) return false;
      d = {'M', int(*m), int(*w), int(*wd), 7200};
    } else {
      d.kind = eat('J') ? 'J' : 'D';
      auto n = number();
      if (!n || *n > 365) return false;
      d.a = int(*n);
    }
    if (eat('/')) {
      auto t = hms();
      if (!t) return false;
      d.time = *t;
    }
    return true;
  }

  std::string_view s_;
  size_t at_ = 0;
};

int64_t bigEndian(const std::string& b, size_t at, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  if (width == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
  return static_cast<int64_t>(v);
}

}  // namespace

struct TimeZone::Data {
  std::string name;
  std::vector<int64_t> transitions;
  std::vector<int> offsets;  // in force from transitions[i]
  int firstOffset = 0;
  std::optional<PosixRule> rule;
};

namespace {

// Reads a TZif file (RFC 8536); nullopt when it is not one.
std::optional<TimeZone::Data> parseTzif(const std::string& b) {
  auto header = [&](size_t at, std::array<int64_t, 6>& counts) {
    if (b.size() < at + 44 || b.compare(at, 4, "TZif") != 0) return false;
    for (size_t i = 0; i < 6; ++i) counts[i] = bigEndian(b, at + 20 + 4 * i, 4);
    return true;
  };
  std::array<int64_t, 6> c{};  // isutcnt isstdcnt leapcnt timecnt typecnt charcnt
  if (!header(0, c)) return std::nullopt;
  size_t at = 44, width = 4;
  auto blockSize = [&](size_t w) {
    return size_t(c[3]) * (w + 1) + size_t(c[4]) * 6 + size_t(c[5]) + size_t(c[2]) * (w + 4) +
           size_t(c[1] + c[0]);
  };
  const bool v2 = b[4] >= '2';
  if (v2) {
    at += blockSize(4);
    if (!header(at, c)) return std::nullopt;
    at += 44;
    width = 8;
  }
  if (b.size() < at + blockSize(width) || c[4] < 1) return std::nullopt;
  TimeZone::Data z;
  const size_t types = at + size_t(c[3]) * width, infos = types + size_t(c[3]);
  auto utoff = [&](int64_t type) { return int(bigEndian(b, infos + size_t(type) * 6, 4)); };
  for (int64_t i = 0; i < c[3]; ++i) {
    z.transitions.push_back(bigEndian(b, at + size_t(i) * width, width));
    const auto type = static_cast<unsigned char>(b[types + size_t(i)]);
    if (type >= c[4]) return std::nullopt;
    z.offsets.push_back(utoff(type));
  }
  z.firstOffset = utoff(0);
  if (v2) {
    const size_t footer = at + blockSize(width);
    if (footer < b.size() && b[footer] == '\n') {
      const size_t endLine = b.find('\n', footer + 1);
      if (endLine != std::string::npos) {
        z.rule = PosixParser(std::string_view(b).substr(footer + 1, endLine - footer - 1)).parse();
      }
    }
  }
  return z;
}

std::optional<TimeZone::Data> readZoneFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parseTzif(bytes);
}

bool plausibleZoneName(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '/' || ch == '_' || ch == '-' ||
           ch == '+';
  });
}

std::string zoneDir() {
  const char* dir = std::getenv("ZONEINFO");
  return dir && *dir ? dir : "/usr/share/zoneinfo";
}

}  // namespace

TimeZone TimeZone::utc() {
  static const auto data = std::make_shared<const Data>(Data{"UTC", {}, {}, 0, std::nullopt});
  return TimeZone(data);
}

Result<TimeZone> TimeZone::load(std::string_view name) {
  if (name.empty() || name == "UTC") return utc();
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const Data>, std::less<>> cache;
  std::lock_guard lock(mu);
  if (auto it = cache.find(name); it != cache.end()) return TimeZone(it->second);
  std::optional<Data> data;
  if (plausibleZoneName(name) && name != "Local") {
    data = readZoneFile(zoneDir() + "/" + std::string(name));
  }
  if (!data) return Status::badRequest("unknown time zone " + std::string(name));
  data->name = std::string(name);
  auto shared = std::make_shared<const Data>(std::move(*data));
  cache.emplace(std::string(name), shared);
  return TimeZone(shared);
}

TimeZone TimeZone::local() {
  static const TimeZone zone = [] {
    const char* tz = std::getenv("TZ");
    if (tz && *tz) {
      std::string_view name(tz);
      if (name.front() == ':') name.remove_prefix(1);
      if (auto loaded = load(name); loaded.ok()) return *loaded;
      if (auto rule = PosixParser(name).parse()) {
        return TimeZone(std::make_shared<const Data>(Data{"Local", {}, {}, 0, rule}));
      }
      return utc();
    }
    auto data = readZoneFile("/etc/localtime");
    if (!data) return utc();
    data->name = "Local";
    return TimeZone(std::make_shared<const Data>(std::move(*data)));
  }();
  return zone;
}

const std::string& TimeZone::name() const {
  return data_->name;
}

int TimeZone::offsetAt(int64_t t) const {
  const Data& z = *data_;
  if (z.transitions.empty()) return z.rule ? z.rule->offsetAt(t) : z.firstOffset;
  if (t < z.transitions.front()) return z.firstOffset;
  const auto it = std::upper_bound(z.transitions.begin(), z.transitions.end(), t);
  const size_t i = size_t(it - z.transitions.begin()) - 1;
  if (i + 1 == z.transitions.size() && z.rule) return z.rule->offsetAt(t);
  return z.offsets[i];
}

// ---------------------------------------------------------------------------------------------
// Schedules.

namespace {

struct FieldRange {
  int min, max;
  std::vector<std::string> names;  // names[k] stands for min + k
};

const std::array<FieldRange, 5>& fieldRanges() {
  static const std::array<FieldRange, 5> ranges = {{
      {0, 59, {}},
      {0, 23, {}},
      {1, 31, {}},
      {1, 12, {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
      {0, 6, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
  }};
  return ranges;
}

std::string quoted(std::string_view s) {
  return json(std::string(s)).dump();
}

// Go's strconv.Atoi as robfig/cron reports it.
Result<int64_t> parseInt(std::string_view s) {
  std::string_view digits = s;
  bool negative = false;
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  const auto fail = [&](const char* why) {
    return Status::badRequest("failed to parse int from " + std::string(s) +
                              ": strconv.Atoi: parsing " + quoted(s) + ": " + why);
  };
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return fail("invalid syntax");
  }
  int64_t v = 0;
  for (char c : digits) {
    if (v > (INT64_MAX - (c - '0')) / 10) return fail("value out of range");
    v = v * 10 + (c - '0');
  }
  if (negative) {
    return Status::badRequest("negative number (-" + std::to_string(v) +
                              ") not allowed: " + std::string(s));
  }
  return v;
}

Result<int64_t> parseIntOrName(std::string_view s, const FieldRange& f) {
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  for (size_t i = 0; i < f.names.size(); ++i) {
    if (lower == f.names[i]) return f.min + int64_t(i);
  }
  return parseInt(s);
}

struct FieldBits {
  uint64_t bits = 0;
  bool star = false;
};

// One comma-separated part of a field: `*`, `?`, `a`, `a-b`, each optionally `/step`.
Result<FieldBits> parseRange(std::string_view expr, const FieldRange& f) {
  const auto rangeAndStep = splitOn(expr, '/');
  const auto lowAndHigh = splitOn(rangeAndStep[0], '-');
  int64_t start = f.min, end = f.max, step = 1;
  bool star = lowAndHigh[0] == "*" || lowAndHigh[0] == "?";
  if (!star) {
    auto lo = parseIntOrName(lowAndHigh[0], f);
    if (!lo.ok()) return lo.status();
    start = end = *lo;
    if (lowAndHigh.size() == 2) {
      auto hi = parseIntOrName(lowAndHigh[1], f);
      if (!hi.ok()) return hi.status();
      end = *hi;
    } else if (lowAndHigh.size() > 2) {
      return Status::badRequest("too many hyphens: " + std::string(expr));
    }
  }
  if (rangeAndStep.size() == 2) {
    auto s = parseInt(rangeAndStep[1]);
    if (!s.ok()) return s.status();
    step = *s;
    if (lowAndHigh.size() == 1) end = f.max;  // "a/n" runs from a to the field's end
    if (step > 1) star = false;
  } else if (rangeAndStep.size() > 2) {
    return Status::badRequest("too many slashes: " + std::string(expr));
  }
  const std::string e(expr);
  if (start < f.min) {
    return Status::badRequest("beginning of range (" + std::to_string(start) + ") below minimum (" +
                              std::to_string(f.min) + "): " + e);
  }
  if (end > f.max) {
    return Status::badRequest("end of range (" + std::to_string(end) + ") above maximum (" +
                              std::to_string(f.max) + "): " + e);
  }
  if (start > end) {
    return Status::badRequest("beginning of range (" + std::to_string(start) +
                              ") beyond end of range (" + std::to_string(end) + "): " + e);
  }
  if (step <= 0) return Status::badRequest("step of range should be a positive number: " + e);
  FieldBits r{0, star};
  for (int64_t v = start; v <= end; v += step) r.bits |= uint64_t{1} << v;
  return r;
}

Result<FieldBits> parseField(std::string_view field, const FieldRange& f) {
  FieldBits all;
  for (std::string_view part : splitOn(field, ',')) {
    auto r = parseRange(part, f);
    if (!r.ok()) return r.status();
    all.bits |= r->bits;
    all.star = all.star || r->star;
  }
  return all;
}

// Go's time.ParseDuration, for @every.
std::optional<std::chrono::nanoseconds> parseGoDuration(std::string_view s) {
  static const std::map<std::string, double, std::less<>> units = {
      {"ns", 1},   {"us", 1e3}, {"\xC2\xB5s", 1e3}, {"\xCE\xBCs", 1e3},
      {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
  double sign = 1;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    sign = s.front() == '-' ? -1 : 1;
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return std::nullopt;
  double total = 0;
  while (!s.empty()) {
    size_t n = 0;
    while (n < s.size() && (std::isdigit(static_cast<unsigned char>(s[n])) || s[n] == '.')) ++n;
    const std::string number(s.substr(0, n));
    if (number.empty() || number == "." || std::count(number.begin(), number.end(), '.') > 1) {
      return std::nullopt;
    }
    size_t u = n;
    while (u < s.size() && !std::isdigit(static_cast<unsigned char>(s[u])) && s[u] != '.') ++u;
    auto unit = units.find(s.substr(n, u - n));
    if (unit == units.end()) return std::nullopt;
    total += std::strtod(number.c_str(), nullptr) * unit->second;
    s.remove_prefix(u);
  }
  return std::chrono::nanoseconds(static_cast<int64_t>(sign * total));
}

const std::map<std::string, std::string, std::less<>>& descriptors() {
  static const std::map<std::string, std::string, std::less<>> d = {
      {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"}};
  return d;
}

}  // namespace

Result<CronSchedule> CronSchedule::parse(std::string_view spec) {
  if (spec.empty()) return Status::badRequest("empty spec string");
  if (spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=")) {
    return Status::badRequest("cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
  }
  CronSchedule s;
  s.spec_ = std::string(spec);
  std::string fields(spec);
  if (spec.front() == '@') {
    if (spec.starts_with("@every ")) {
      auto d = parseGoDuration(spec.substr(7));
      if (!d) {
        return Status::badRequest("failed to parse duration " + std::string(spec) +
                                  ": time: invalid duration " + quoted(spec.substr(7)));
      }
      using namespace std::chrono;
      s.every_ = std::max(duration_cast<seconds>(*d), seconds(1));
      return s;
    }
    auto it = descriptors().find(spec);
    if (it == descriptors().end()) {
      return Status::badRequest("unrecognized descriptor: " + std::string(spec));
    }
    fields = it->second;
  }
  std::vector<std::string> parts;
  std::istringstream in(fields);
  for (std::string f; in >> f;) parts.push_back(f);
  if (parts.size() != 5) {
    std::string joined;
    for (const auto& p : parts) joined += (joined.empty() ? "" : " ") + p;
    return Status::badRequest("expected exactly 5 fields, found " + std::to_string(parts.size()) +
                              ": [" + joined + "]");
  }
  std::array<FieldBits, 5> bits;
  for (size_t i = 0; i < 5; ++i) {
    auto r = parseField(parts[i], fieldRanges()[i]);
    if (!r.ok()) return r.status();
    bits[i] = *r;
  }
  s.minutes_ = bits[0].bits;
  s.hours_ = bits[1].bits;
  s.daysOfMonth_ = bits[2].bits;
  s.months_ = bits[3].bits;
  s.daysOfWeek_ = bits[4].bits;
  s.domStar_ = bits[2].star;
  s.dowStar_ = bits[4].star;
  return s;
}

bool CronSchedule::dayMatches(int64_t localMidnight) const {
  const int64_t days = floorDiv(localMidnight, kDay);
  const auto ymd = civilFromDays(days);
  if (!(months_ & (uint64_t{1} << unsigned(ymd.month())))) return false;
  const unsigned wd =
      std::chrono::weekday{std::chrono::sys_days{std::chrono::days{days}}}.c_encoding();
  const bool dom = daysOfMonth_ & (uint64_t{1} << unsigned(ymd.day()));
  const bool dow = daysOfWeek_ & (uint64_t{1} << wd);
  return (domStar_ || dowStar_) ? (dom && dow) : (dom || dow);
}

std::optional<int64_t> CronSchedule::nextInDay(int64_t midnight, int64_t after,
                                               const TimeZone& zone) const {
  // The offsets that can be in force on this local day; an instant belongs to a local time
  // when the zone's offset at that instant is the one used to reach it.
  std::set<int> offsets;
  for (int64_t probe : {-kDay, int64_t{0}, kDay, 2 * kDay}) {
    offsets.insert(zone.offsetAt(midnight + probe));
  }
  const int maxOffset = *offsets.rbegin();
  std::optional<int64_t> best;
  for (int h = 0; h < 24; ++h) {
    if (!(hours_ & (uint64_t{1} << h))) continue;
    for (int m = 0; m < 60; ++m) {
      if (!(minutes_ & (uint64_t{1} << m))) continue;
      const int64_t local = midnight + h * 3600 + m * 60;
      if (best && local - maxOffset > *best) return best;
      for (int off : offsets) {
        const int64_t t = local - off;
        if (t > after && zone.offsetAt(t) == off && (!best || t < *best)) best = t;
      }
    }
  }
  return best;
}

std::optional<WallTime> CronSchedule::next(WallTime after, const TimeZone& zone) const {
  using namespace std::chrono;
  const int64_t afterSeconds = floor<seconds>(after).time_since_epoch().count();
  if (every_.count() > 0) return WallTime(seconds(afterSeconds) + every_);
  const int64_t today = floorDiv(afterSeconds + zone.offsetAt(afterSeconds), kDay);
  std::optional<int64_t> best;
  int64_t foundOn = 0;
  // A local day's instants can overlap the next day's by the size of an offset change, so
  // the day after the first hit is looked at too.
  for (int64_t day = today - 1; day <= today + 366 * 5 + 1; ++day) {
    if (best && day > foundOn + 1) break;
    if (!dayMatches(day * kDay)) continue;
    if (auto t = nextInDay(day * kDay, afterSeconds, zone); t && (!best || *t < *best)) {
      if (!best) foundOn = day;
      best = t;
    }
  }
  if (!best) return std::nullopt;
  return WallTime(seconds(*best));
}

}  // namespace kd::api

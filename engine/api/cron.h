#pragma once
// Cron schedules as Kubernetes CronJobs understand them (the robfig/cron "standard" parser):
//   - five fields: minute hour day-of-month month day-of-week, each a comma list of `*`, `?`,
//     values, ranges `a-b` and steps `*/n`, `a-b/n`, `a/n` (= a-max/n); months JAN-DEC and
//     weekdays SUN-SAT by name (case-insensitive); day-of-week 0-6 with 0 = Sunday;
//   - when both day-of-month and day-of-week are restricted (neither starts with `*`/`?`),
//     a day matches if EITHER matches, as in classic cron;
//   - descriptors @yearly @annually @monthly @weekly @daily @midnight @hourly, and
//     `@every <Go duration>` (accepted by the Kubernetes API since it uses the same parser);
//   - `TZ=`/`CRON_TZ=` prefixes are not handled here: the API rejects them in favour of
//     spec.timeZone.
// Parse errors carry robfig/cron's messages, which the API returns to kubectl verbatim.
//
// Time zones are read from the system tzdata (TZif files under /usr/share/zoneinfo, including
// the POSIX rule in their footer for instants after the last listed transition).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/api/status.h"

namespace kd::api {

using WallTime = std::chrono::system_clock::time_point;

// An IANA time zone: the UTC offset in force at any instant. Cheap to copy, immutable,
// thread-safe.
class TimeZone {
 public:
  struct Data;

  static TimeZone utc();
  // The zone named `name` ("Europe/Berlin", "UTC", "Etc/GMT+3"); 400-style error "unknown time
  // zone <name>" when there is no such zone. "" means UTC. Loaded zones are cached.
  static Result<TimeZone> load(std::string_view name);
  // The zone this process runs in (TZ, else /etc/localtime, else UTC) — what Kubernetes uses
  // for a CronJob without spec.timeZone (the controller manager's local time).
  static TimeZone local();

  const std::string& name() const;
  // Seconds east of UTC in force at `utcSeconds` (seconds since the Unix epoch).
  int offsetAt(int64_t utcSeconds) const;

 private:
  explicit TimeZone(std::shared_ptr<const Data> data) : data_(std::move(data)) {}
  std::shared_ptr<const Data> data_;
};

class CronSchedule {
 public:
  // Parses a schedule; on error the Status message is robfig/cron's (e.g. "expected exactly 5
  // fields, found 4: [* * * *]", "end of range (60) above maximum (59): 0-60").
  static Result<CronSchedule> parse(std::string_view spec);

  // The first activation strictly after `after`, with the fields read as wall-clock time in
  // `zone`. A wall-clock time skipped by a DST change does not fire that day; one repeated by
  // a DST change fires at both instants. nullopt when nothing matches within five years
  // (e.g. "0 0 30 2 *").
  std::optional<WallTime> next(WallTime after, const TimeZone& zone) const;

  const std::string& spec() const { return spec_; }

 private:
  CronSchedule() = default;
  std::optional<int64_t> nextInDay(int64_t localMidnight, int64_t after,
                                   const TimeZone& zone) const;
  bool dayMatches(int64_t localMidnight) const;

  std::string spec_;
  uint64_t minutes_ = 0, hours_ = 0, daysOfMonth_ = 0, months_ = 0, daysOfWeek_ = 0;
  bool domStar_ = false, dowStar_ = false;
  std::chrono::seconds every_{0};  // non-zero for @every
};

}  // namespace kd::api

#include "engine/api/cron.h"

#include <QtTest>
#include <cstdio>

using kd::api::CronSchedule;
using kd::api::TimeZone;
using kd::api::WallTime;

namespace {

// "2024-03-10T06:30:00Z" (optionally with ".5" fractions) to a time point.
WallTime at(const QString& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, frac = 0;
  const std::string str = text.toStdString();
  if (std::sscanf(str.c_str(), "%d-%d-%dT%d:%d:%d.%d", &y, &mo, &d, &h, &mi, &s, &frac) < 6) {
    qFatal("bad time %s", str.c_str());
  }
  using namespace std::chrono;
  const sys_days day = year{y} / month{unsigned(mo)} / ::std::chrono::day{unsigned(d)};
  return WallTime(day) + hours(h) + minutes(mi) + seconds(s) + milliseconds(frac * 100);
}

QString format(WallTime t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd(day);
  const hh_mm_ss hms(floor<seconds>(t - day));
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ldZ", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), long(hms.hours().count()),
                long(hms.minutes().count()), long(hms.seconds().count()));
  return buf;
}

}  // namespace

class CronTest : public QObject {
  Q_OBJECT
 private slots:
  void next_data() {
    QTest::addColumn<QString>("spec");
    QTest::addColumn<QString>("zone");
    QTest::addColumn<QString>("after");
    QTest::addColumn<QString>("expected");  // "" = never
    // clang-format off
    QTest::newRow("step") << "*/5 * * * *" << "UTC" << "2024-01-01T00:01:30" << "2024-01-01T00:05:00Z";
    QTest::newRow("strictly after") << "0 * * * *" << "UTC" << "2024-01-01T01:00:00" << "2024-01-01T02:00:00Z";
    QTest::newRow("fraction of a second") << "0 * * * *" << "UTC" << "2024-01-01T00:59:59.5" << "2024-01-01T01:00:00Z";
    QTest::newRow("range with step") << "1-10/2 3 * * *" << "UTC" << "2024-01-01T03:03:00" << "2024-01-01T03:05:00Z";
    QTest::newRow("start with step runs to max") << "50/4 * * * *" << "UTC" << "2024-01-01T00:55:00" << "2024-01-01T00:58:00Z";
    QTest::newRow("list") << "15,45 * * * *" << "UTC" << "2024-01-01T00:16:00" << "2024-01-01T00:45:00Z";
    QTest::newRow("weekday name") << "0 0 * * MON" << "UTC" << "2024-01-03T00:00:00" << "2024-01-08T00:00:00Z";
    QTest::newRow("names any case") << "0 0 * jan-Mar Sat,sun" << "UTC" << "2024-03-31T00:00:01" << "2025-01-04T00:00:00Z";
    QTest::newRow("dom or dow when both set") << "0 0 13 * FRI" << "UTC" << "2024-01-01T00:00:00" << "2024-01-05T00:00:00Z";
    QTest::newRow("dom or dow takes dom") << "0 0 13 * FRI" << "UTC" << "2024-01-12T00:00:00" << "2024-01-13T00:00:00Z";
    QTest::newRow("dom star means dow only") << "0 0 * * 5" << "UTC" << "2024-01-01T00:00:00" << "2024-01-05T00:00:00Z";
    QTest::newRow("question mark is star") << "0 0 ? * 5" << "UTC" << "2024-01-01T00:00:00" << "2024-01-05T00:00:00Z";
    QTest::newRow("star step is still a restriction") << "0 0 */10 * 5" << "UTC" << "2024-01-01T00:00:00" << "2024-01-05T00:00:00Z";
    QTest::newRow("leap day") << "0 0 29 2 *" << "UTC" << "2024-03-01T00:00:00" << "2028-02-29T00:00:00Z";
    QTest::newRow("never") << "0 0 30 2 *" << "UTC" << "2024-01-01T00:00:00" << "";
    QTest::newRow("@yearly") << "@yearly" << "UTC" << "2024-06-01T00:00:00" << "2025-01-01T00:00:00Z";
    QTest::newRow("@monthly") << "@monthly" << "UTC" << "2024-01-31T10:00:00" << "2024-02-01T00:00:00Z";
    QTest::newRow("@weekly") << "@weekly" << "UTC" << "2024-01-01T00:00:00" << "2024-01-07T00:00:00Z";
    QTest::newRow("@daily") << "@daily" << "UTC" << "2024-01-01T00:00:00" << "2024-01-02T00:00:00Z";
    QTest::newRow("@midnight") << "@midnight" << "UTC" << "2024-01-01T23:59:59" << "2024-01-02T00:00:00Z";
    QTest::newRow("@hourly") << "@hourly" << "UTC" << "2024-01-01T00:30:00" << "2024-01-01T01:00:00Z";
    QTest::newRow("@every") << "@every 1m30s" << "UTC" << "2024-01-01T00:00:00.5" << "2024-01-01T00:01:30Z";
    QTest::newRow("half-hour zone") << "0 0 * * *" << "Asia/Kolkata" << "2024-01-01T00:00:00" << "2024-01-01T18:30:00Z";
    QTest::newRow("berlin winter") << "0 9 * * *" << "Europe/Berlin" << "2024-03-29T12:00:00" << "2024-03-30T08:00:00Z";
    QTest::newRow("berlin summer starts") << "0 9 * * *" << "Europe/Berlin" << "2024-03-30T12:00:00" << "2024-03-31T07:00:00Z";
    QTest::newRow("time skipped by spring forward") << "30 2 * * *" << "America/New_York" << "2024-03-09T08:00:00" << "2024-03-11T06:30:00Z";
    QTest::newRow("repeated time first") << "30 1 * * *" << "America/New_York" << "2024-11-03T04:00:00" << "2024-11-03T05:30:00Z";
    QTest::newRow("repeated time second") << "30 1 * * *" << "America/New_York" << "2024-11-03T05:30:00" << "2024-11-03T06:30:00Z";
    QTest::newRow("after repeated time") << "30 1 * * *" << "America/New_York" << "2024-11-03T06:30:00" << "2024-11-04T06:30:00Z";
    QTest::newRow("hourly across fall back") << "0 * * * *" << "America/New_York" << "2024-11-03T05:00:00" << "2024-11-03T06:00:00Z";
    QTest::newRow("footer rule summer") << "0 12 * * *" << "America/New_York" << "2050-07-01T00:00:00" << "2050-07-01T16:00:00Z";
    QTest::newRow("footer rule winter") << "0 12 * * *" << "America/New_York" << "2050-12-01T00:00:00" << "2050-12-01T17:00:00Z";
    QTest::newRow("southern summer") << "0 12 * * *" << "Australia/Sydney" << "2050-01-15T00:00:00" << "2050-01-15T01:00:00Z";
    QTest::newRow("southern winter") << "0 12 * * *" << "Australia/Sydney" << "2050-07-15T00:00:00" << "2050-07-15T02:00:00Z";
    // clang-format on
  }

  void next() {
    QFETCH(QString, spec);
    QFETCH(QString, zone);
    QFETCH(QString, after);
    QFETCH(QString, expected);
    auto schedule = CronSchedule::parse(spec.toStdString());
    QVERIFY2(schedule.ok(), schedule.status().message().c_str());
    auto tz = TimeZone::load(zone.toStdString());
    QVERIFY2(tz.ok(), tz.status().message().c_str());
    auto got = schedule->next(at(after), *tz);
    QCOMPARE(got ? format(*got) : QString(), expected);
  }

  void parseErrors_data() {
    QTest::addColumn<QString>("spec");
    QTest::addColumn<QString>("message");
    // clang-format off
    QTest::newRow("empty") << "" << "empty spec string";
    QTest::newRow("four fields") << "* * * *" << "expected exactly 5 fields, found 4: [* * * *]";
    QTest::newRow("six fields") << "0 * * * * *" << "expected exactly 5 fields, found 6: [0 * * * * *]";
    QTest::newRow("minute too big") << "60 * * * *" << "end of range (60) above maximum (59): 60";
    QTest::newRow("day zero") << "* * 0 * *" << "beginning of range (0) below minimum (1): 0";
    QTest::newRow("weekday seven") << "* * * * 7" << "end of range (7) above maximum (6): 7";
    QTest::newRow("backwards range") << "5-1 * * * *" << "beginning of range (5) beyond end of range (1): 5-1";
    QTest::newRow("zero step") << "*/0 * * * *" << "step of range should be a positive number: */0";
    QTest::newRow("hyphens") << "1-2-3 * * * *" << "too many hyphens: 1-2-3";
    QTest::newRow("slashes") << "*/2/3 * * * *" << "too many slashes: */2/3";
    QTest::newRow("word") << "x * * * *" << "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax";
    QTest::newRow("huge") << "99999999999999999999 * * * *" << "failed to parse int from 99999999999999999999: strconv.Atoi: parsing \"99999999999999999999\": value out of range";
    QTest::newRow("month name in minutes") << "jan * * * *" << "failed to parse int from jan: strconv.Atoi: parsing \"jan\": invalid syntax";
    QTest::newRow("descriptor") << "@fortnightly" << "unrecognized descriptor: @fortnightly";
    QTest::newRow("descriptor with field") << "@daily 5" << "unrecognized descriptor: @daily 5";
    QTest::newRow("bad every") << "@every soon" << "failed to parse duration @every soon: time: invalid duration \"soon\"";
    QTest::newRow("cron tz") << "CRON_TZ=UTC 0 * * * *" << "cannot use TZ or CRON_TZ in schedule, use timeZone field instead";
    QTest::newRow("tz") << "TZ=UTC 0 * * * *" << "cannot use TZ or CRON_TZ in schedule, use timeZone field instead";
    // clang-format on
  }

  void parseErrors() {
    QFETCH(QString, spec);
    QFETCH(QString, message);
    auto schedule = CronSchedule::parse(spec.toStdString());
    QVERIFY(!schedule.ok());
    QCOMPARE(QString::fromStdString(schedule.status().message()), message);
  }

  void unknownZones_data() {
    QTest::addColumn<QString>("zone");
    QTest::newRow("made up") << "Mars/Olympus_Mons";
    QTest::newRow("escape") << "../../etc/passwd";
    QTest::newRow("absolute") << "/etc/localtime";
    QTest::newRow("local") << "Local";
    QTest::newRow("directory") << "Europe";
  }

  void unknownZones() {
    QFETCH(QString, zone);
    auto tz = TimeZone::load(zone.toStdString());
    QVERIFY(!tz.ok());
    QCOMPARE(QString::fromStdString(tz.status().message()), "unknown time zone " + zone);
  }

  void zoneOffsets() {
    auto berlin = TimeZone::load("Europe/Berlin");
    QVERIFY(berlin.ok());
    const auto seconds = [](WallTime t) {
      return std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
    };
    QCOMPARE(berlin->offsetAt(seconds(at("2024-01-15T12:00:00"))), 3600);
    QCOMPARE(berlin->offsetAt(seconds(at("2024-07-15T12:00:00"))), 7200);
    QCOMPARE(berlin->offsetAt(seconds(at("2024-03-31T00:59:59"))), 3600);
    QCOMPARE(berlin->offsetAt(seconds(at("2024-03-31T01:00:00"))), 7200);
    QCOMPARE(TimeZone::utc().offsetAt(0), 0);
    QCOMPARE(QString::fromStdString(berlin->name()), QString("Europe/Berlin"));
  }
};

QTEST_GUILESS_MAIN(CronTest)
#include "cron_test.moc"

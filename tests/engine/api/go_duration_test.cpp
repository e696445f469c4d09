// goDuration against what Go's time.Duration.String() prints for the same values.

#include <QtTest>

#include "engine/api/go_duration.h"

class GoDurationTest : public QObject {
  Q_OBJECT

 private slots:
  void printsLikeGo_data() {
    QTest::addColumn<qint64>("nanoseconds");
    QTest::addColumn<QString>("expected");
    QTest::newRow("zero") << qint64(0) << "0s";
    QTest::newRow("nanoseconds") << qint64(999) << "999ns";
    QTest::newRow("microseconds") << qint64(1'500) << QString::fromUtf8("1.5µs");
    QTest::newRow("milliseconds") << qint64(523'000'000) << "523ms";
    QTest::newRow("fractional milliseconds") << qint64(1'234'567) << "1.234567ms";
    QTest::newRow("seconds") << qint64(10'069'000'000) << "10.069s";
    QTest::newRow("whole minute") << qint64(60'000'000'000) << "1m0s";
    QTest::newRow("minute and a half second") << qint64(60'500'000'000) << "1m0.5s";
    QTest::newRow("hours") << qint64(7'384'000'000'000) << "2h3m4s";
    QTest::newRow("whole hour") << qint64(3'600'000'000'000) << "1h0m0s";
    QTest::newRow("nanosecond precision") << qint64(61'000'000'001) << "1m1.000000001s";
    QTest::newRow("negative") << qint64(-1'500'000'000) << "-1.5s";
  }

  void printsLikeGo() {
    QFETCH(qint64, nanoseconds);
    QFETCH(QString, expected);
    QCOMPARE(QString::fromStdString(kd::api::goDuration(std::chrono::nanoseconds(nanoseconds))),
             expected);
  }
};

QTEST_GUILESS_MAIN(GoDurationTest)
#include "go_duration_test.moc"

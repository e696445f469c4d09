#include <QtTest>

#include "engine/node/cri_log.h"

using kd::node::Clock;

namespace {

Clock::time_point fixedTime() {
  // 2026-01-02T03:04:05.123456789Z
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
      std::chrono::seconds(1767323045) + std::chrono::nanoseconds(123456789)));
}

}  // namespace

class CriLogTest : public QObject {
  Q_OBJECT

 private slots:
  void formatsOneRecord() {
    QCOMPARE(kd::node::formatCriLogLine(fixedTime(), "stdout", "hello", false),
             std::string("2026-01-02T03:04:05.123456789Z stdout F hello\n"));
    QCOMPARE(kd::node::formatCriLogLine(fixedTime(), "stderr", "", true),
             std::string("2026-01-02T03:04:05.123456789Z stderr P \n"));
  }

  void splitsStreamIntoRecords_data() {
    QTest::addColumn<QStringList>("chunks");
    QTest::addColumn<QStringList>("records");  // "<tag> <content>"
    QTest::newRow("one line") << QStringList{"a\n"} << QStringList{"F a"};
    QTest::newRow("two lines one chunk") << QStringList{"a\nb\n"} << QStringList{"F a", "F b"};
    QTest::newRow("line across chunks") << QStringList{"a", "bc\n"} << QStringList{"F abc"};
    QTest::newRow("no final newline") << QStringList{"tail"} << QStringList{"F tail"};
    QTest::newRow("empty line") << QStringList{"\n"} << QStringList{"F "};
    QTest::newRow("long line") << QStringList{"abcdefghij\n"}
                               << QStringList{"P abcd", "P efgh", "F ij"};
  }
  void splitsStreamIntoRecords() {
    QFETCH(QStringList, chunks);
    QFETCH(QStringList, records);
    QStringList got;
    kd::node::CriLogWriter writer(
        "stdout",
        [&](const std::string& r) {
          const QString line = QString::fromStdString(r);
          QVERIFY(line.endsWith('\n'));
          QVERIFY(line.startsWith("2026-01-02T03:04:05.123456789Z stdout "));
          got << line.mid(38).chopped(1);
        },
        4, fixedTime);
    for (const auto& c : chunks) writer.write(c.toStdString());
    writer.flush();
    QCOMPARE(got, records);
  }
};

QTEST_GUILESS_MAIN(CriLogTest)
#include "cri_log_test.moc"

#include <QTemporaryDir>
#include <QtTest>
#include <filesystem>
#include <fstream>

#include "engine/node/cri_log.h"

using kd::node::Clock;

namespace {

Clock::time_point fixedTime() {
  // 2026-01-02T03:04:05.123456789Z
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
      std::chrono::seconds(1767323045) + std::chrono::nanoseconds(123456789)));
}

std::string readAll(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
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

  void rotatesBySizeAndKeepsMaxFiles() {
    QTemporaryDir dir;
    const std::filesystem::path live = dir.filePath("0.log").toStdString();
    int tick = 0;
    // Each call is one second later, so every rotation gets a name of its own.
    auto clock = [&] { return fixedTime() + std::chrono::seconds(tick++); };
    kd::node::RotatingLogFile log(live, 100, 3, clock);
    QVERIFY(log.open());
    const std::string record(40, 'x');
    for (int i = 0; i < 10; ++i) log.append(record + std::to_string(i) + "\n");
    // 42-byte records: two fit in 100 bytes, so the live file holds the last two.
    QCOMPARE(readAll(live), record + "8\n" + record + "9\n");
    const auto rotated = log.rotated();
    QCOMPARE(rotated.size(), size_t(2));  // 3 files kept, counting the live one
    QCOMPARE(readAll(rotated[1]), record + "6\n" + record + "7\n");
    QVERIFY2(rotated[0].filename().string().starts_with("0.log.20260102-0304"), rotated[0].c_str());
    // A record larger than the limit still lands whole, in a file of its own.
    log.append(std::string(300, 'y') + "\n");
    QCOMPARE(readAll(live).size(), size_t(301));
  }

  void reopeningAppendsAndCountsTheExistingSize() {
    QTemporaryDir dir;
    const std::filesystem::path live = dir.filePath("1.log").toStdString();
    {
      kd::node::RotatingLogFile log(live, 100, 2);
      QVERIFY(log.open());
      log.append(std::string(60, 'a') + "\n");
    }
    kd::node::RotatingLogFile again(live, 100, 2);
    QVERIFY(again.open());
    again.append(std::string(60, 'b') + "\n");  // 61 + 61 > 100: rotates first
    QCOMPARE(readAll(live), std::string(60, 'b') + "\n");
    QCOMPARE(again.rotated().size(), size_t(1));
  }
};

QTEST_GUILESS_MAIN(CriLogTest)
#include "cri_log_test.moc"

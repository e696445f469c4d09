#include "engine/api/quantity.h"

#include <QtTest>
#include <limits>

using kd::json;
using kd::api::Quantity;

class QuantityTest : public QObject {
  Q_OBJECT

 private slots:
  void parses_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<qint64>("value");
    QTest::addColumn<qint64>("milli");
    const qint64 gi = qint64(1) << 30;
    QTest::newRow("milli cpu") << "500m" << qint64(1) << qint64(500);
    QTest::newRow("whole cpu") << "2" << qint64(2) << qint64(2000);
    QTest::newRow("fraction cpu") << "0.1" << qint64(1) << qint64(100);
    QTest::newRow("leading point") << ".5" << qint64(1) << qint64(500);
    QTest::newRow("Gi") << "1Gi" << gi << gi * 1000;
    QTest::newRow("fractional Gi") << "1.5Gi" << gi * 3 / 2 << gi * 1500;
    QTest::newRow("Ki") << "1Ki" << qint64(1024) << qint64(1024000);
    QTest::newRow("Mi") << "128Mi" << qint64(134217728) << qint64(134217728000);
    QTest::newRow("plain bytes") << "128974848" << qint64(128974848) << qint64(128974848000);
    QTest::newRow("exponent") << "1e3" << qint64(1000) << qint64(1000000);
    QTest::newRow("upper exponent") << "12E6" << qint64(12000000) << qint64(12000000000);
    QTest::newRow("negative exponent") << "1e-3" << qint64(1) << qint64(1);
    QTest::newRow("decimal k") << "2k" << qint64(2000) << qint64(2000000);
    QTest::newRow("decimal M") << "129M" << qint64(129000000) << qint64(129000000000);
    QTest::newRow("decimal G") << "1G" << qint64(1000000000) << qint64(1000000000000);
    QTest::newRow("exa, not an exponent")
        << "1E" << qint64(1000000000000000000) << std::numeric_limits<qint64>::max();
    QTest::newRow("micro rounds up") << "1u" << qint64(1) << qint64(1);
    QTest::newRow("nano rounds up") << "100n" << qint64(1) << qint64(1);
    QTest::newRow("zero") << "0" << qint64(0) << qint64(0);
    QTest::newRow("zero milli") << "0m" << qint64(0) << qint64(0);
    QTest::newRow("explicit plus") << "+3" << qint64(3) << qint64(3000);
    QTest::newRow("negative") << "-1" << qint64(-1) << qint64(-1000);
    QTest::newRow("trailing point") << "3." << qint64(3) << qint64(3000);
    QTest::newRow("huge saturates")
        << "100Ei" << std::numeric_limits<qint64>::max() << std::numeric_limits<qint64>::max();
    QTest::newRow("many digits") << "123456789012345678901234567890123456789012"
                                 << std::numeric_limits<qint64>::max()
                                 << std::numeric_limits<qint64>::max();
  }
  void parses() {
    QFETCH(QString, text);
    QFETCH(qint64, value);
    QFETCH(qint64, milli);
    auto q = Quantity::parse(text.toStdString());
    QVERIFY2(q.ok(), q.status().message().c_str());
    QCOMPARE(qint64(q->value()), value);
    QCOMPARE(qint64(q->milliValue()), milli);
  }

  void rejects_data() {
    QTest::addColumn<QString>("text");
    for (const char* bad : {"", "abc", "1Gb", "1 Gi", "Gi", "1..2", "1e", "--1", "1KiB", "m"}) {
      QTest::newRow(bad) << bad;
    }
  }
  void rejects() {
    QFETCH(QString, text);
    auto q = Quantity::parse(text.toStdString());
    QVERIFY(!q.ok());
    QCOMPARE(q.status().code(), 400);
    QVERIFY(q.status().message().find("quantities must match") != std::string::npos);
  }

  void acceptsJsonNumbers() {
    auto whole = Quantity::fromJson(json(4));
    QVERIFY(whole.ok());
    QCOMPARE(whole->milliValue(), int64_t(4000));
    auto fraction = Quantity::fromJson(json(0.25));
    QVERIFY(fraction.ok());
    QCOMPARE(fraction->milliValue(), int64_t(250));
    QVERIFY(!Quantity::fromJson(json::array()).ok());
  }
};

QTEST_GUILESS_MAIN(QuantityTest)
#include "quantity_test.moc"

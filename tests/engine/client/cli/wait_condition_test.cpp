// `wait --for` parsing and evaluation, and the Go durations --timeout/--since take.

#include <QtTest>

#include "engine/client/cli/args.h"
#include "engine/client/cli/wait_condition.h"

using kd::json;
using namespace kd::cli;

namespace {

json deployment() {
  return {{"spec", {{"replicas", 2}}},
          {"status",
           {{"phase", "Running"},
            {"conditions", json::array({{{"type", "Available"}, {"status", "True"}},
                                        {{"type", "Progressing"}, {"status", "False"}}})}}}};
}

}  // namespace

class WaitConditionTest : public QObject {
  Q_OBJECT

 private slots:
  void conditions_data() {
    QTest::addColumn<QString>("forFlag");
    QTest::addColumn<bool>("met");
    QTest::newRow("condition default true") << "condition=Available" << true;
    QTest::newRow("condition case-insensitive") << "condition=available=true" << true;
    QTest::newRow("condition false wanted") << "condition=Progressing=False" << true;
    QTest::newRow("condition not met") << "condition=Progressing" << false;
    QTest::newRow("condition absent") << "condition=Ready" << false;
    QTest::newRow("jsonpath value") << "jsonpath={.spec.replicas}=2" << true;
    QTest::newRow("jsonpath quoted") << "jsonpath='{.status.phase}'=Running" << true;
    QTest::newRow("jsonpath other value") << "jsonpath={.status.phase}=Pending" << false;
    QTest::newRow("jsonpath exists") << "jsonpath={.status.phase}" << true;
    QTest::newRow("jsonpath missing") << "jsonpath={.status.nope}" << false;
    QTest::newRow("create") << "create" << true;
  }
  void conditions() {
    QFETCH(QString, forFlag);
    QFETCH(bool, met);
    auto c = parseWaitCondition(forFlag.toStdString());
    QVERIFY2(c.ok(), c.status().message().c_str());
    QCOMPARE(conditionMet(*c, deployment()), met);
  }

  void rejects_data() {
    QTest::addColumn<QString>("forFlag");
    QTest::addColumn<QString>("message");
    QTest::newRow("unknown") << "bogus"
                             << "unrecognized condition: \"bogus\"";
    QTest::newRow("empty condition") << "condition="
                                     << "unrecognized condition: \"condition=\"";
    QTest::newRow("not set") << ""
                             << "--for must be set";
  }
  void rejects() {
    QFETCH(QString, forFlag);
    QFETCH(QString, message);
    auto c = parseWaitCondition(forFlag.toStdString());
    QVERIFY(!c.ok());
    QCOMPARE(QString::fromStdString(c.status().message()), message);
  }

  void durations_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<qint64>("ms");
    QTest::newRow("seconds") << "30s" << qint64(30000);
    QTest::newRow("compound") << "1m30s" << qint64(90000);
    QTest::newRow("fraction") << "1.5h" << qint64(5400000);
    QTest::newRow("millis") << "250ms" << qint64(250);
    QTest::newRow("bare number") << "60" << qint64(60000);
    QTest::newRow("zero") << "0" << qint64(0);
    QTest::newRow("bad unit") << "5x" << qint64(-1);
    QTest::newRow("no number") << "s" << qint64(-1);
  }
  void durations() {
    QFETCH(QString, text);
    QFETCH(qint64, ms);
    auto d = parseDuration(text.toStdString());
    QCOMPARE(d.ok() ? qint64(d->count()) : qint64(-1), ms);
  }
};

QTEST_GUILESS_MAIN(WaitConditionTest)
#include "wait_condition_test.moc"

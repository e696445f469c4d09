// Table rendering in kubectl's layout: column widths, priorities, NAMESPACE/LABELS columns.

#include <QtTest>

#include "engine/client/cli/table_printer.h"

using kd::json;
using namespace kd::cli;

namespace {

json podTable() {
  return json::parse(R"({
    "kind": "Table", "apiVersion": "meta.k8s.io/v1",
    "columnDefinitions": [
      {"name": "Name", "type": "string", "format": "name", "priority": 0},
      {"name": "Ready", "type": "string", "format": "", "priority": 0},
      {"name": "Status", "type": "string", "format": "", "priority": 0},
      {"name": "Age", "type": "string", "format": "", "priority": 0},
      {"name": "Nominated Node", "type": "string", "format": "", "priority": 1}],
    "rows": [
      {"cells": ["web-7d4b9c-abcde", "0/1", "Pending", "5s", "<none>"],
       "object": {"metadata": {"name": "web-7d4b9c-abcde", "namespace": "shop",
                               "labels": {"app": "web", "pod-template-hash": "7d4b9c"}}}},
      {"cells": ["db", "1/1", "Running", "12m", "<none>"],
       "object": {"metadata": {"name": "db", "namespace": "default"}}}]
  })");
}

}  // namespace

class TablePrinterTest : public QObject {
  Q_OBJECT

 private slots:
  void renders_data() {
    QTest::addColumn<bool>("wide");
    QTest::addColumn<bool>("withNamespace");
    QTest::addColumn<bool>("showLabels");
    QTest::addColumn<bool>("noHeaders");
    QTest::addColumn<QString>("prefix");
    QTest::addColumn<QString>("expected");
    QTest::newRow("plain") << false << false << false << false << ""
                           << "NAME               READY   STATUS    AGE\n"
                              "web-7d4b9c-abcde   0/1     Pending   5s\n"
                              "db                 1/1     Running   12m\n";
    QTest::newRow("wide adds priority columns")
        << true << false << false << false << ""
        << "NAME               READY   STATUS    AGE   NOMINATED NODE\n"
           "web-7d4b9c-abcde   0/1     Pending   5s    <none>\n"
           "db                 1/1     Running   12m   <none>\n";
    QTest::newRow("all namespaces") << false << true << false << false << ""
                                    << "NAMESPACE   NAME               READY   STATUS    AGE\n"
                                       "shop        web-7d4b9c-abcde   0/1     Pending   5s\n"
                                       "default     db                 1/1     Running   12m\n";
    QTest::newRow("labels")
        << false << false << true << false << ""
        << "NAME               READY   STATUS    AGE   LABELS\n"
           "web-7d4b9c-abcde   0/1     Pending   5s    app=web,pod-template-hash=7d4b9c\n"
           "db                 1/1     Running   12m   <none>\n";
    QTest::newRow("kind prefix, no headers") << false << false << false << true << "pod"
                                             << "pod/web-7d4b9c-abcde   0/1   Pending   5s\n"
                                                "pod/db                 1/1   Running   12m\n";
  }

  void renders() {
    QFETCH(bool, wide);
    QFETCH(bool, withNamespace);
    QFETCH(bool, showLabels);
    QFETCH(bool, noHeaders);
    QFETCH(QString, prefix);
    QFETCH(QString, expected);
    TablePrintOptions o{wide, withNamespace, showLabels, noHeaders, prefix.toStdString()};
    QCOMPARE(QString::fromStdString(renderTable(podTable(), o)), expected);
  }

  void shortColumnsStillGetSixColumns() {
    TabWriter w;
    w.addRow({"A", "B", "C"});
    QCOMPARE(QString::fromStdString(w.flush()), QString("A     B     C\n"));
  }

  void widthsAreRememberedAcrossFlushes() {
    TabWriter w;
    w.addRow({"NAME", "STATUS", "AGE"});
    w.addRow({"a-long-name", "Running", "1s"});
    QCOMPARE(QString::fromStdString(w.flush()),
             QString("NAME          STATUS    AGE\na-long-name   Running   1s\n"));
    w.addRow({"b", "Pending", "2s"});
    QCOMPARE(QString::fromStdString(w.flush()), QString("b             Pending   2s\n"));
  }

  void multibyteCellsCountCharacters() {
    TabWriter w;
    w.addRow({"é", "x"});
    w.addRow({"ab", "y"});
    QCOMPARE(QString::fromStdString(w.flush()), QString::fromUtf8("é     x\nab    y\n"));
  }

  void emptyTableHasOnlyAHeader() {
    json t = podTable();
    t["rows"] = json::array();
    QCOMPARE(QString::fromStdString(renderTable(t, {})), QString("NAME   READY   STATUS   AGE\n"));
  }
};

QTEST_GUILESS_MAIN(TablePrinterTest)
#include "table_printer_test.moc"

// kubectl-style JSONPath templates.

#include <QtTest>

#include "engine/client/cli/jsonpath.h"

using kd::json;

class JsonPathTest : public QObject {
  Q_OBJECT

  const json list_ = json::parse(R"({"kind": "List", "items": [
      {"metadata": {"name": "a", "labels": {"app": "web"}}, "spec": {"replicas": 1},
       "status": {"phase": "Running"}},
      {"metadata": {"name": "b"}, "spec": {"replicas": 3}, "status": {"phase": "Pending"}}]})");

 private slots:
  void renders_data() {
    QTest::addColumn<QString>("templ");
    QTest::addColumn<QString>("expected");
    QTest::newRow("field") << "{.kind}"
                           << "List";
    QTest::newRow("index") << "{.items[0].metadata.name}"
                           << "a";
    QTest::newRow("negative index") << "{.items[-1].metadata.name}"
                                    << "b";
    QTest::newRow("wildcard joins with spaces") << "{.items[*].metadata.name}"
                                                << "a b";
    QTest::newRow("slice") << "{.items[0:1].metadata.name}"
                           << "a";
    QTest::newRow("recursive") << "{..name}"
                               << "a b";
    QTest::newRow("filter") << "{.items[?(@.status.phase==\"Pending\")].metadata.name}"
                            << "b";
    QTest::newRow("numeric filter") << "{.items[?(@.spec.replicas>2)].metadata.name}"
                                    << "b";
    QTest::newRow("existence filter") << "{.items[?(@.metadata.labels)].metadata.name}"
                                      << "a";
    QTest::newRow("quoted key") << "{.items[0].metadata.labels['app']}"
                                << "web";
    QTest::newRow("numbers print plain") << "{.items[1].spec.replicas}"
                                         << "3";
    QTest::newRow("objects print as json") << "{.items[0].spec}"
                                           << "{\"replicas\":1}";
    QTest::newRow("literal text and escapes") << "n={.items[0].metadata.name}{\"\\n\"}"
                                              << "n=a\n";
    QTest::newRow("range") << "{range .items[*]}{.metadata.name}:{.status.phase};{end}"
                           << "a:Running;b:Pending;";
  }

  void renders() {
    QFETCH(QString, templ);
    QFETCH(QString, expected);
    auto out = kd::cli::renderJsonPath(templ.toStdString(), list_);
    QVERIFY2(out.ok(), out.status().message().c_str());
    QCOMPARE(QString::fromStdString(*out), expected);
  }

  void missingKeyIsAnError() {
    auto out = kd::cli::renderJsonPath("{.nope}", list_);
    QVERIFY(!out.ok());
    QVERIFY(out.status().message().find("is not found") != std::string::npos);
  }

  void unclosedActionIsAnError() { QVERIFY(!kd::cli::renderJsonPath("{.kind", list_).ok()); }
};

QTEST_GUILESS_MAIN(JsonPathTest)
#include "jsonpath_test.moc"

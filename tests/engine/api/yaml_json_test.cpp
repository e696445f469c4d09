#include "engine/api/yaml_json.h"

#include <QtTest>

using kd::json;
using kd::api::parseDocument;
using kd::api::parseYamlDocuments;

class YamlJsonTest : public QObject {
  Q_OBJECT
 private slots:
  void scalarsResolvePerYaml12Core_data() {
    QTest::addColumn<QString>("yaml");
    QTest::addColumn<QString>("expectedJson");
    QTest::newRow("quoted int stays string") << "v: \"8080\""
                                             << R"({"v":"8080"})";
    QTest::newRow("single-quoted stays string") << "v: 'true'"
                                                << R"({"v":"true"})";
    QTest::newRow("plain int") << "v: 8080"
                               << R"({"v":8080})";
    QTest::newRow("negative int") << "v: -3"
                                  << R"({"v":-3})";
    QTest::newRow("hex int") << "v: 0x1F"
                             << R"({"v":31})";
    QTest::newRow("octal int 1.2 style") << "v: 0o17"
                                         << R"({"v":15})";
    QTest::newRow("leading zero is decimal in 1.2") << "v: 0644"
                                                    << R"({"v":644})";
    QTest::newRow("float") << "v: 1.5"
                           << R"({"v":1.5})";
    QTest::newRow("bool") << "v: true"
                          << R"({"v":true})";
    QTest::newRow("yes is a string in 1.2") << "v: yes"
                                            << R"({"v":"yes"})";
    QTest::newRow("null tilde") << "v: ~"
                                << R"({"v":null})";
    QTest::newRow("empty value is null") << "v:"
                                         << R"({"v":null})";
    QTest::newRow("string") << "v: nginx:1.25"
                            << R"({"v":"nginx:1.25"})";
    QTest::newRow("quantity string") << "v: 500m"
                                     << R"({"v":"500m"})";
    QTest::newRow("literal block") << "v: |\n  a\n  b\n"
                                   << R"({"v":"a\nb\n"})";
    QTest::newRow("explicit str tag") << "v: !!str 12"
                                      << R"({"v":"12"})";
    QTest::newRow("flow sequence") << "v: [1, \"2\", x]"
                                   << R"({"v":[1,"2","x"]})";
  }
  void scalarsResolvePerYaml12Core() {
    QFETCH(QString, yaml);
    QFETCH(QString, expectedJson);
    auto parsed = parseDocument(yaml.toStdString());
    QVERIFY2(parsed.ok(), parsed.status().message().c_str());
    QCOMPARE(QString::fromStdString(parsed->dump()), expectedJson);
  }

  void multipleDocumentsSkipEmptyOnes() {
    auto docs = parseYamlDocuments("---\na: 1\n---\n---\nb: 2\n...\n");
    QVERIFY(docs.ok());
    QCOMPARE(docs->size(), size_t(2));
    QCOMPARE((*docs)[1]["b"].get<int>(), 2);
  }

  void yamlErrorsNameLineAndColumn() {
    auto parsed = parseDocument("a: 1\nb: [1, 2\nc: 3\n");
    QVERIFY(!parsed.ok());
    QCOMPARE(parsed.status().code(), 400);
    QVERIFY2(parsed.status().message().find("line ") != std::string::npos,
             parsed.status().message().c_str());
  }

  void duplicateKeysAreRejected() {
    auto parsed = parseDocument("a: 1\na: 2\n");
    QVERIFY(!parsed.ok());
    QVERIFY(parsed.status().message().find("\"a\" already defined") != std::string::npos);
  }

  void jsonErrorsNameLineAndColumn() {
    auto parsed = parseDocument("{\n  \"a\": 1,\n  \"b\": }\n");
    QVERIFY(!parsed.ok());
    QVERIFY2(parsed.status().message().find("line 3") != std::string::npos,
             parsed.status().message().c_str());
  }

  void absurdNestingIsRefusedNotFatal() {
    std::string deepJson(100000, '[');
    auto j = kd::api::parseJson(deepJson + std::string(100000, ']'));
    QVERIFY(!j.ok());
    QVERIFY(j.status().message().find("nest deeper") != std::string::npos);
    std::string deepYaml;
    for (int i = 0; i < 300; ++i) deepYaml += std::string(i * 2, ' ') + "a:\n";
    auto y = parseDocument(deepYaml + std::string(600, ' ') + "b: 1\n");
    QVERIFY(!y.ok());
    QCOMPARE(y.status().code(), 400);
  }

  void toYamlRoundTrips() {
    json v = json::parse(
        R"({"a":"8080","b":8080,"c":"true","d":null,"e":["x",{"f":"multi\nline"}],"g":"",)"
        R"("h":"- dash","i":{}})");
    std::string yaml = kd::api::toYaml(v);
    auto back = parseDocument(yaml);
    QVERIFY2(back.ok(), yaml.c_str());
    QCOMPARE(QString::fromStdString(back->dump()), QString::fromStdString(v.dump()));
  }
};

QTEST_GUILESS_MAIN(YamlJsonTest)
#include "yaml_json_test.moc"

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

  // The fuzzer's find: the parser throws out_of_range (not parse_error) for these.
  void numbersBeyondADoubleAreABadRequest() {
    for (const char* text : {"{\"a\": 1E400}", "[-3333333333333333E3333]", "{\"x\": [0, 1e999]}"}) {
      auto j = kd::api::parseJson(text);
      QVERIFY2(!j.ok(), text);
      QCOMPARE(j.status().code(), 400);
      QVERIFY2(j.status().message().find("out of range") != std::string::npos,
               j.status().message().c_str());
    }
    auto j = kd::api::parseJson("{\"a\": 1E400}");
    QCOMPARE(j.status().message(),
             std::string("error decoding JSON: cannot unmarshal number 1E400 into a float64: it is "
                         "out of range"));
    QVERIFY(kd::api::parseJson("{\"a\": 1E300, \"b\": 1E-400}").ok());  // underflow is zero
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

  // Each row is what the real kubectl 1.32 printed (`get -o yaml`, through sigs.k8s.io/yaml and
  // go-yaml v2) for the same JSON; every printout also reads back as the value it came from.
  void toYamlPrintsWhatKubectlPrints_data() {
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QString>("expected");
    auto row = [](const char* name, const json& v, const std::string& yaml) {
      QTest::newRow(name) << QByteArray::fromStdString(v.dump()) << QString::fromStdString(yaml);
    };
    const std::string words =
        "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt "
        "ut labore et dolore magna aliqua";
    // Strings that would read back as another type (YAML 1.1) are double-quoted.
    row("int-like string", {{"v", "8080"}}, "v: \"8080\"\n");
    row("1.1 booleans", {{"a", "true"}, {"b", "y"}, {"c", "no"}, {"d", "On"}},
        "a: \"true\"\nb: \"y\"\nc: \"no\"\nd: \"On\"\n");
    row("null words and empty", {{"a", "null"}, {"b", "~"}, {"c", ""}},
        "a: \"null\"\nb: \"~\"\nc: \"\"\n");
    row("float-like", {{"a", "1.5"}, {"b", "1e3"}, {"c", ".5"}, {"d", "-.5"}, {"e", ".inf"}},
        "a: \"1.5\"\nb: \"1e3\"\nc: \".5\"\nd: \"-.5\"\ne: \".inf\"\n");
    row("Go integer syntax",
        {{"a", "0x1F"}, {"b", "0o17"}, {"c", "0b101"}, {"d", "1_000"}, {"e", "0777"}, {"f", "08"}},
        "a: \"0x1F\"\nb: \"0o17\"\nc: \"0b101\"\nd: \"1_000\"\ne: \"0777\"\nf: \"08\"\n");
    row("base 60", {{"a", "1:20"}, {"b", "1:60"}}, "a: \"1:20\"\nb: 1:60\n");
    row("timestamps",
        {{"a", "2024-01-02"},
         {"b", "2024-01-02T03:04:05Z"},
         {"c", "2024-01-02 03:04:05"},
         {"d", "2024-1-2"},
         {"e", "2024-13-02"},
         {"f", "2024-02-30"},
         {"g", "2024-01-02T03:04:05"}},
        "a: \"2024-01-02\"\nb: \"2024-01-02T03:04:05Z\"\nc: \"2024-01-02 03:04:05\"\n"
        "d: \"2024-1-2\"\ne: 2024-13-02\nf: 2024-02-30\ng: 2024-01-02T03:04:05\n");
    row("look-alikes stay plain",
        {{"a", "1.2.3"}, {"b", "0x"}, {"c", "500m"}, {"d", "<<"}, {"e", "1e999"}, {"f", "._5"}},
        "a: 1.2.3\nb: 0x\nc: 500m\nd: <<\ne: 1e999\nf: ._5\n");
    // Indicators make a plain scalar impossible: single quotes.
    row("dash", {{"a", "-"}, {"b", "- x"}, {"c", "-x"}, {"d", "---"}},
        "a: '-'\nb: '- x'\nc: -x\nd: '---'\n");
    row("colon and question mark",
        {{"a", "a: b"}, {"b", "a:b"}, {"c", "a:"}, {"d", ":x"}, {"e", "? x"}, {"f", "?x"}},
        "a: 'a: b'\nb: a:b\nc: 'a:'\nd: :x\ne: '? x'\nf: ?x\n");
    row("hash", {{"a", "a #b"}, {"b", "a#b"}, {"c", "#x"}}, "a: 'a #b'\nb: a#b\nc: '#x'\n");
    row("leading indicators", {{"a", "!x"}, {"b", "&x"}, {"c", "[x"}, {"d", "x]"}, {"e", "x,y"}},
        "a: '!x'\nb: '&x'\nc: '[x'\nd: x]\ne: x,y\n");
    row("quotes", {{"a", "'x"}, {"b", "it's"}, {"c", "\"x"}, {"d", "quote\"x"}},
        "a: '''x'\nb: it's\nc: '\"x'\nd: quote\"x\n");
    row("edge spaces", {{"a", " lead"}, {"b", "trail "}, {"c", "in  side"}},
        "a: ' lead'\nb: 'trail '\nc: in  side\n");
    // Non-printable characters (and anything beyond the BMP) force escapes in double quotes.
    row("escapes",
        {{"a", "tab\there"}, {"b", "bell\a"}, {"c", "back\\slash"}, {"d", "bom\xEF\xBB\xBFx"}},
        "a: \"tab\\there\"\nb: \"bell\\a\"\nc: back\\slash\nd: \"bom\\uFEFFx\"\n");
    // Not kubectl's: it writes LINE and PARAGRAPH SEPARATOR raw, which yaml-cpp reads as text.
    row("separators escaped", {{"a", "x\xE2\x80\xA8y"}, {"b", "x\xE2\x80\xA9y"}},
        "a: \"x\\Ly\"\nb: \"x\\Py\"\n");
    // kubectl writes \N for NEL; yaml-cpp would read that back as a lone byte.
    row("next line", {{"a", "x\xC2\x85y"}}, "a: \"x\\x85y\"\n");
    row("unicode", {{"a", "caf\xC3\xA9"}, {"b", "smile \xF0\x9F\x98\x80"}},
        "a: caf\xC3\xA9\nb: \"smile \\U0001F600\"\n");
    // Past column 80 a single space becomes a line break, in each flow style.
    row("folded plain", {{"v", words + " " + words}},
        "v: lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
        "incididunt\n  ut labore et dolore magna aliqua lorem ipsum dolor sit amet consectetur "
        "adipiscing\n  elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua\n");
    row("folded single-quoted", {{"v", "- " + words}},
        "v: '- lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\n"
        "  incididunt ut labore et dolore magna aliqua'\n");
    row("folded double-quoted", {{"v", words + "\t"}},
        "v: \"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
        "incididunt\n  ut labore et dolore magna aliqua\\t\"\n");
    row("double spaces never fold", {{"v", std::string(90, 'x') + "  y"}},
        "v: " + std::string(90, 'x') + "  y\n");
    row("one long word, then a fold", {{"v", std::string(81, 'x') + " y"}},
        "v: " + std::string(81, 'x') + "\n  y\n");
    // Multi-line strings are literal blocks; chomping follows the trailing newlines.
    row("literal strip", {{"v", "a\nb"}}, "v: |-\n  a\n  b\n");
    row("literal clip", {{"v", "a\nb\n"}}, "v: |\n  a\n  b\n");
    row("literal keep", {{"v", "a\nb\n\n"}, {"w", 1}}, "v: |+\n  a\n  b\n\nw: 1\n");
    row("literal, only a newline", {{"v", "\n"}}, "v: |2+\n\n");
    row("literal, leading space", {{"v", " x\ny"}}, "v: |2-\n   x\n  y\n");
    row("literal, inner indentation and blank lines", {{"v", "x\n y\n\n\nz"}},
        "v: |-\n  x\n   y\n\n\n  z\n");
    row("literal lines never fold", {{"v", words + " " + words + "\n"}},
        "v: |\n  " + words + " " + words + "\n");
    row("space before a break: double quotes", {{"a", "x \ny"}, {"b", "x\ny "}},
        "a: \"x \\ny\"\nb: \"x\\ny \"\n");
    row("control characters in lines: double quotes", {{"a", "x\r\ny"}, {"b", "x\n\ty"}},
        "a: \"x\\r\\ny\"\nb: \"x\\n\\ty\"\n");
    // Other scalars, as kubectl's JSON round trip leaves them.
    row("null and booleans", {{"a", nullptr}, {"b", true}, {"c", false}},
        "a: null\nb: true\nc: false\n");
    row("integers", {{"a", INT64_MAX}, {"b", INT64_MIN}, {"c", -3}},
        "a: 9223372036854775807\nb: -9223372036854775808\nc: -3\n");
    row("whole floats print as integers", {{"a", 3.0}, {"b", 1e6}, {"c", -0.0}, {"d", 1e19}},
        "a: 3\nb: 1000000\nc: 0\nd: 10000000000000000000\n");
    row("floats, %f from 1e-4 below 1e6", {{"a", 0.5}, {"b", 0.1}, {"c", 0.0001}, {"d", 123456.5}},
        "a: 0.5\nb: 0.1\nc: 0.0001\nd: 123456.5\n");
    row("floats, %e outside",
        {{"a", 1234567.5},
         {"b", 1e21},
         {"c", 1e-7},
         {"d", 0.00001},
         {"e", -2.5e-5},
         {"f", 1e20},
         {"g", UINT64_MAX}},
        "a: 1.2345675e+06\nb: 1e+21\nc: 1e-07\nd: 1e-05\ne: -2.5e-05\nf: 1e+20\n"
        "g: 1.8446744073709552e+19\n");
    // Collections: empty ones in flow style, sequences not indented under their key.
    row("empty collections", {{"a", json::object()}, {"b", json::array()}}, "a: {}\nb: []\n");
    row("maps in a list",
        {{"containers", {{{"image", "nginx"}, {"name", "web"}, {"ports", {{{"port", 80}}}}}}}},
        "containers:\n- image: nginx\n  name: web\n  ports:\n  - port: 80\n");
    row("lists in lists", {{"v", {json::array(), json::object(), {{1, {2}}}, {nullptr}}}},
        "v:\n- []\n- {}\n- - - 1\n    - - 2\n- - null\n");
    row("nested maps", {{"a", {{"b", {{"c", "d"}}}}}}, "a:\n  b:\n    c: d\n");
    row("folds in a nested list item", {{"a", {{{"k", words + " " + words}}}}},
        "a:\n- k: lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\n"
        "    incididunt ut labore et dolore magna aliqua lorem ipsum dolor sit amet consectetur\n"
        "    adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua\n");
    // Keys: go-yaml's order, quoted like values, "? " past 128 bytes or over several lines.
    row("key order",
        {{"a10", 1},
         {"a9", 2},
         {"a_b", 3},
         {"aB", 4},
         {"A", 5},
         {"b.c", 6},
         {"b-c", 7},
         {"b0", 8},
         {"b00", 9},
         {"1", 10},
         {"01", 11},
         {"_u", 12}},
        "_u: 12\n\"1\": 10\n\"01\": 11\nA: 5\na_b: 3\na9: 2\na10: 1\naB: 4\nb-c: 7\nb.c: 6\n"
        "b0: 8\nb00: 9\n");
    row("quoted keys", {{"true", 1}, {"8080", 2}, {"", 3}, {"- x", 4}, {"tab\tk", 5}},
        "\"\": 3\n'- x': 4\n\"8080\": 2\n\"tab\\tk\": 5\n\"true\": 1\n");
    row("long keys", {{std::string(128, 'k'), 1}, {std::string(129, 'l'), 2}},
        std::string(128, 'k') + ": 1\n? " + std::string(129, 'l') + "\n: 2\n");
    row("multi-line keys", {{"a\nb", 1}, {"c\n", {{"x", 1}}}},
        "? |-\n  a\n  b\n: 1\n? |\n  c\n: x: 1\n");
  }
  void toYamlPrintsWhatKubectlPrints() {
    QFETCH(QByteArray, input);
    QFETCH(QString, expected);
    const json value = json::parse(input.toStdString());
    const std::string yaml = kd::api::toYaml(value);
    QCOMPARE(QString::fromStdString(yaml), expected);
    auto back = parseDocument(yaml);
    QVERIFY2(back.ok(), yaml.c_str());
    QCOMPARE(*back, value);
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

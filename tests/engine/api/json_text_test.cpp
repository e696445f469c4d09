// jsonText against json::dump(): the store writes jsonText's text where it wrote dump()'s, so
// the two must agree byte for byte, and fail alike on invalid UTF-8.

#include <QtTest>

#include <random>

#include "engine/api/json_text.h"

using kd::json;

namespace {

// A random document mixing every JSON type, for a differential check beyond the table.
json randomValue(std::minstd_rand& rng, int depth) {
  static const char* const kStrings[] = {
      "",          "plain",        "with \"quotes\"", "back\\slash",
      "tab\tnl\n", "\x01\x1f\x7f", "caf\xc3\xa9",     "\xf0\x9f\x98\x80",
      "/slash"};
  switch (rng() % (depth > 3 ? 6 : 8)) {
    case 0:
      return nullptr;
    case 1:
      return rng() % 2 == 0;
    case 2:
      return static_cast<int64_t>(rng()) - 1'000'000'000;
    case 3:
      return static_cast<uint64_t>(rng()) * 4'294'967'296ull;
    case 4:
      return static_cast<double>(rng()) / 7.0;
    case 5:
      return kStrings[rng() % std::size(kStrings)];
    case 6: {
      json a = json::array();
      for (unsigned i = rng() % 5; i > 0; --i) a.push_back(randomValue(rng, depth + 1));
      return a;
    }
    default: {
      json o = json::object();
      for (unsigned i = rng() % 6; i > 0; --i) {
        o[kStrings[rng() % std::size(kStrings)] + std::to_string(i)] = randomValue(rng, depth + 1);
      }
      return o;
    }
  }
}

}  // namespace

class JsonTextTest : public QObject {
  Q_OBJECT

 private slots:
  void writesWhatDumpWrites_data() {
    QTest::addColumn<QByteArray>("document");
    QTest::newRow("null") << QByteArray("null");
    QTest::newRow("booleans") << QByteArray("[true,false]");
    QTest::newRow("integers") << QByteArray("[0,-1,9223372036854775807,-9223372036854775808]");
    QTest::newRow("unsigned") << QByteArray("18446744073709551615");
    QTest::newRow("floats") << QByteArray("[0.1,1.0,-2.5e-300,1e100,3.141592653589793]");
    QTest::newRow("empty containers") << QByteArray("{\"a\":{},\"b\":[],\"c\":\"\"}");
    QTest::newRow("escapes") << QByteArray(
        "[\"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\",\"\\u0000\\u0001\\u001f\\u007f\"]");
    QTest::newRow("utf-8 values and keys")
        << QByteArray("{\"café\":\"naïve ☃\",\"emoji\":\"😀\",\"ascii\":\"x\"}");
    QTest::newRow("pod") << QByteArray(
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p-1\",\"namespace\":"
        "\"default\","
        "\"labels\":{\"app\":\"bench\"},\"annotations\":{\"kubectl.kubernetes.io/"
        "last-applied-configuration\":"
        "\"{\\\"kind\\\":\\\"Pod\\\"}\\n\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
        "\"busybox\","
        "\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"}}}],\"nodeName\":\"sim-"
        "0001\"},"
        "\"status\":{\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"True\","
        "\"lastProbeTime\":null}]}}");
  }

  void writesWhatDumpWrites() {
    QFETCH(QByteArray, document);
    const json value = json::parse(document.toStdString());
    QCOMPARE(QByteArray::fromStdString(kd::api::jsonText(value)),
             QByteArray::fromStdString(value.dump()));
  }

  void agreesOnRandomDocuments() {
    std::minstd_rand rng(20261124);
    for (int i = 0; i < 2000; ++i) {
      const json value = randomValue(rng, 0);
      const std::string expected = value.dump();
      QCOMPARE(QByteArray::fromStdString(kd::api::jsonText(value)),
               QByteArray::fromStdString(expected));
    }
  }

  void appendsAfterWhatIsThere() {
    std::string out = "[";
    kd::api::appendJsonText(out, json{{"k", "v"}});
    QCOMPARE(QByteArray::fromStdString(out), QByteArray("[{\"k\":\"v\"}"));
  }

  void refusesInvalidUtf8AsDumpDoes() {
    for (const std::string& bad :
         {std::string("\xff"), std::string("ok\xc3"), std::string("\xc0\xaf")}) {
      const json value = json::object({{"k", bad}});
      QVERIFY_THROWS_EXCEPTION(json::type_error, value.dump());
      QVERIFY_THROWS_EXCEPTION(json::type_error, kd::api::jsonText(value));
      const json key = json::object({{bad, 1}});
      QVERIFY_THROWS_EXCEPTION(json::type_error, kd::api::jsonText(key));
    }
  }
};

QTEST_GUILESS_MAIN(JsonTextTest)
#include "json_text_test.moc"

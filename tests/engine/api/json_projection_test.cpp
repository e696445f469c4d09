// JsonProjection: what project() keeps of a parsed document, and that parseProjected() builds
// the same document while parsing (the dashboard's pods and events caches are filled by it).

#include <QtTest>

#include "engine/api/json_projection.h"

using kd::json;
using kd::api::JsonProjection;

Q_DECLARE_METATYPE(JsonProjection)

class JsonProjectionTest : public QObject {
  Q_OBJECT

 private slots:
  void projects_data();
  void projects();
  void invalidTextIsDiscarded();
};

void JsonProjectionTest::projects_data() {
  QTest::addColumn<QString>("text");
  QTest::addColumn<JsonProjection>("projection");
  QTest::addColumn<QString>("expected");

  const QString pod = R"({"apiVersion":"v1","kind":"Pod",
    "metadata":{"name":"p","namespace":"a","managedFields":[{"manager":"m","fieldsV1":{"f:x":{}}}],
                "annotations":{"keep":"1","kubectl.kubernetes.io/last-applied-configuration":"{...}"}},
    "spec":{"nodeName":"n1","containers":[{"name":"c","image":"busybox","ports":[{"containerPort":80}],
            "env":[{"name":"E","value":"v"}]},{"name":"d","image":"x"}],"volumes":[{"name":"v"}]},
    "status":{"phase":"Running","conditions":[{"type":"Ready","status":"True","lastProbeTime":null}]}})";
  const JsonProjection compact =
      JsonProjection::only({"apiVersion", "kind", "metadata", "spec", "status"})
          .with("metadata",
                JsonProjection::only({"name", "namespace", "annotations"})
                    .with("annotations", JsonProjection::allBut({"kubectl.kubernetes.io/"
                                                                 "last-applied-configuration"})))
          .with("spec", JsonProjection::only({"nodeName", "containers"})
                            .with("containers", JsonProjection::only({"name", "ports"})))
          .with("status", JsonProjection::only({"phase", "conditions"})
                              .with("conditions", JsonProjection::only({"type", "status"})));
  QTest::newRow("a pod, compact") << pod << compact << R"({"apiVersion":"v1","kind":"Pod",
    "metadata":{"name":"p","namespace":"a","annotations":{"keep":"1"}},
    "spec":{"nodeName":"n1","containers":[{"name":"c","ports":[{"containerPort":80}]},{"name":"d"}]},
    "status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}})";
  QTest::newRow("a list: each item cut")
      << R"({"kind":"PodList","metadata":{"continue":"x"},"items":[)" + pod + "," + pod + "]}"
      << JsonProjection::whole().with("items",
                                      JsonProjection::only({"kind", "spec"})
                                          .with("spec", JsonProjection::only({"nodeName"})))
      << R"({"kind":"PodList","metadata":{"continue":"x"},
             "items":[{"kind":"Pod","spec":{"nodeName":"n1"}},{"kind":"Pod","spec":{"nodeName":"n1"}}]})";
  QTest::newRow("whole keeps everything") << pod << JsonProjection::whole() << pod;
  QTest::newRow("all but") << R"({"a":1,"b":{"c":[1,2]},"d":[{"e":null}],"f":"g"})"
                           << JsonProjection::allBut({"b", "d"}) << R"({"a":1,"f":"g"})";
  QTest::newRow("nothing named is there")
      << R"({"a":{"b":1}})" << JsonProjection::only({"x"}) << "{}";
  QTest::newRow("a scalar where an object was expected")
      << R"({"a":"text","b":[1,{"c":1,"d":2}]})"
      << JsonProjection::only({"a", "b"})
             .with("a", JsonProjection::only({"x"}))
             .with("b", JsonProjection::only({"c"}))
      << R"({"a":"text","b":[1,{"c":1}]})";
  QTest::newRow("an array at the top")
      << R"([{"a":1,"b":2},{"b":3},[{"a":4,"c":5}]])" << JsonProjection::only({"a"})
      << R"([{"a":1},{},[{"a":4}]])";
  QTest::newRow("every type, numbers kept exactly")
      << R"({"keep":{"i":-3,"u":18446744073709551615,"f":1.5,"t":true,"n":null,"s":"\u00e9\n","e":[],"o":{}},
             "drop":{"deep":[[[{"x":[1,{"y":{}}]}]]],"s":"}]"}})"
      << JsonProjection::only({"keep"})
      << R"({"keep":{"i":-3,"u":18446744073709551615,"f":1.5,"t":true,"n":null,"s":"\u00e9\n","e":[],"o":{}}})";
}

void JsonProjectionTest::projects() {
  QFETCH(QString, text);
  QFETCH(JsonProjection, projection);
  QFETCH(QString, expected);
  const std::string source = text.toStdString();
  const json want = json::parse(expected.toStdString());
  json cut = json::parse(source);
  kd::api::project(cut, projection);
  QCOMPARE(QString::fromStdString(cut.dump()), QString::fromStdString(want.dump()));
  const json parsed = kd::api::parseProjected(source, projection);
  QCOMPARE(QString::fromStdString(parsed.dump()), QString::fromStdString(want.dump()));
  // dump() prints 1.5 and 1 alike for some types; the number types themselves must agree.
  if (want.is_object() && want.contains("keep")) {
    for (const char* n : {"i", "u", "f"})
      QCOMPARE(int(parsed["keep"][n].type()), int(want["keep"][n].type()));
  }
}

void JsonProjectionTest::invalidTextIsDiscarded() {
  for (const char* bad : {R"({"a":1)", R"({"a":{"b":[1,}]}})", "", R"({"drop":{"x":tru}})"}) {
    QVERIFY2(kd::api::parseProjected(bad, JsonProjection::only({"a"})).is_discarded(), bad);
  }
}

QTEST_GUILESS_MAIN(JsonProjectionTest)
#include "json_projection_test.moc"

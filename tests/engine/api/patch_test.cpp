#include "engine/api/patch.h"

#include <QtTest>

using kd::json;
using kd::api::applyPatch;
using kd::api::createThreeWayMergePatch;
using kd::api::field;
using kd::api::PatchType;
using kd::api::SchemaRegistry;
using kd::api::TypeDef;

namespace {

// A small schema in the shape of core.v1.Pod, so these tests do not depend on the real tables.
// "dnsConfig" carries a synthetic "replace" strategy to cover that case.
const SchemaRegistry& testSchemas() {
  static const SchemaRegistry registry({
      TypeDef{"test.v1.Pod",
              "",
              {field("metadata", "test.v1.ObjectMeta", ""), field("spec", "test.v1.PodSpec", ""),
               field("status", "test.v1.PodStatus", "")}},
      TypeDef{"test.v1.ObjectMeta",
              "",
              {field("name", "string", ""), field("labels", "map[string]string", ""),
               field("annotations", "map[string]string", ""),
               field("finalizers", "[]string", "").strategy("merge")}},
      TypeDef{
          "test.v1.PodSpec",
          "",
          {field("containers", "[]test.v1.Container", "").mergeKey("name"),
           field("volumes", "[]test.v1.Volume", "").mergeKey("name").strategy("merge,retainKeys"),
           field("tolerations", "[]test.v1.Toleration", ""),
           field("nodeSelector", "map[string]string", ""),
           field("dnsConfig", "test.v1.DNSConfig", "").strategy("replace")}},
      TypeDef{"test.v1.Container",
              "",
              {field("name", "string", ""), field("image", "string", ""),
               field("args", "[]string", ""), field("env", "[]test.v1.EnvVar", "").mergeKey("name"),
               field("ports", "[]test.v1.ContainerPort", "").mergeKey("containerPort"),
               field("resources", "test.v1.ResourceRequirements", "")}},
      TypeDef{"test.v1.EnvVar", "", {field("name", "string", ""), field("value", "string", "")}},
      TypeDef{"test.v1.ContainerPort",
              "",
              {field("containerPort", "integer", ""), field("name", "string", ""),
               field("protocol", "string", "")}},
      TypeDef{"test.v1.ResourceRequirements",
              "",
              {field("limits", "map[string]Quantity", ""),
               field("requests", "map[string]Quantity", "")}},
      TypeDef{"test.v1.Volume",
              "",
              {field("name", "string", ""), field("emptyDir", "test.v1.EmptyDirVolumeSource", ""),
               field("configMap", "test.v1.ConfigMapVolumeSource", "")}},
      TypeDef{"test.v1.EmptyDirVolumeSource",
              "",
              {field("medium", "string", ""), field("sizeLimit", "Quantity", "")}},
      TypeDef{"test.v1.ConfigMapVolumeSource", "", {field("name", "string", "")}},
      TypeDef{"test.v1.Toleration",
              "",
              {field("key", "string", ""), field("operator", "string", ""),
               field("effect", "string", "")}},
      TypeDef{"test.v1.DNSConfig",
              "",
              {field("nameservers", "[]string", ""), field("searches", "[]string", "")}},
      TypeDef{"test.v1.PodStatus", "", {field("phase", "string", "")}},
  });
  return registry;
}

json parse(const QString& text) {
  return json::parse(text.toStdString());
}

QString show(const json& value) {
  return QString::fromStdString(value.dump());
}

// Pod-shaped documents stay readable in the tables below.
QString containers(const QString& items) {
  return QStringLiteral(R"({"spec":{"containers":%1}})").arg(items);
}

}  // namespace

class PatchTest : public QObject {
  Q_OBJECT
 private slots:
  void contentTypes_data() {
    QTest::addColumn<QString>("contentType");
    QTest::addColumn<int>("expected");  // a PatchType, or -1 for 415
    QTest::newRow("json patch") << "application/json-patch+json" << int(PatchType::Json);
    QTest::newRow("merge patch") << "application/merge-patch+json" << int(PatchType::Merge);
    QTest::newRow("strategic merge")
        << "application/strategic-merge-patch+json" << int(PatchType::StrategicMerge);
    QTest::newRow("charset parameter ignored")
        << "application/merge-patch+json; charset=utf-8" << int(PatchType::Merge);
    QTest::newRow("case and spaces ignored")
        << " Application/JSON-Patch+JSON ;charset=UTF-8" << int(PatchType::Json);
    QTest::newRow("server-side apply is not served") << "application/apply-patch+yaml" << -1;
    QTest::newRow("plain json is not a patch") << "application/json" << -1;
    QTest::newRow("empty") << "" << -1;
  }
  void contentTypes() {
    QFETCH(QString, contentType);
    QFETCH(int, expected);
    auto type = kd::api::patchTypeFromContentType(contentType.toStdString());
    if (expected >= 0) {
      QVERIFY2(type.ok(), type.status().message().c_str());
      QCOMPARE(int(*type), expected);
      return;
    }
    QVERIFY(!type.ok());
    QCOMPARE(type.status().code(), 415);
    QCOMPARE(QString::fromStdString(type.status().reason()),
             QStringLiteral("UnsupportedMediaType"));
    for (const char* supported : {"application/json-patch+json", "application/merge-patch+json",
                                  "application/strategic-merge-patch+json"}) {
      QVERIFY(type.status().message().find(supported) != std::string::npos);
    }
  }

  void strategicMerge_data() {
    QTest::addColumn<QString>("typeName");
    QTest::addColumn<QString>("original");
    QTest::addColumn<QString>("patch");
    QTest::addColumn<QString>("expected");
    const QString pod = "test.v1.Pod";
    QTest::newRow("containers merge by name")
        << pod << containers(R"([{"name":"a","image":"x"},{"name":"b","image":"y"}])")
        << containers(R"([{"name":"b","image":"z"}])")
        << containers(R"([{"image":"x","name":"a"},{"image":"z","name":"b"}])");
    QTest::newRow("new item goes before the server's items without $setElementOrder")
        << pod << containers(R"([{"name":"a"}])") << containers(R"([{"name":"b"}])")
        << containers(R"([{"name":"b"},{"name":"a"}])");
    QTest::newRow("changed item keeps its place")
        << pod << containers(R"([{"name":"a"},{"name":"b"},{"name":"c"}])")
        << containers(R"([{"name":"b","image":"i"}])")
        << containers(R"([{"name":"a"},{"image":"i","name":"b"},{"name":"c"}])");
    QTest::newRow("env item deleted by $patch delete")
        << pod << containers(R"([{"name":"c","env":[{"name":"A","value":"1"},{"name":"B"}]}])")
        << containers(R"([{"name":"c","env":[{"name":"A","$patch":"delete"}]}])")
        << containers(R"([{"env":[{"name":"B"}],"name":"c"}])");
    QTest::newRow("$patch delete of a missing item is a no-op")
        << pod << containers(R"([{"name":"a"}])")
        << containers(R"([{"name":"zz","$patch":"delete"}])") << containers(R"([{"name":"a"}])");
    QTest::newRow("ports keyed by containerPort")
        << pod
        << containers(
               R"([{"name":"c","ports":[{"containerPort":80,"name":"http"},{"containerPort":443}]}])")
        << containers(R"([{"name":"c","ports":[{"containerPort":80,"protocol":"TCP"}]}])")
        << containers(
               R"([{"name":"c","ports":[{"containerPort":80,"name":"http","protocol":"TCP"},)"
               R"({"containerPort":443}]}])");
    QTest::newRow("nested keyed list inside a keyed list item")
        << pod << containers(R"([{"name":"c","image":"i","env":[{"name":"X","value":"1"}]}])")
        << containers(R"([{"name":"c","env":[{"name":"X","value":"2"}]}])")
        << containers(R"([{"env":[{"name":"X","value":"2"}],"image":"i","name":"c"}])");
    QTest::newRow("volumes retainKeys switch from emptyDir to configMap")
        << pod << R"({"spec":{"volumes":[{"name":"v","emptyDir":{"medium":"Memory"}}]}})"
        << R"({"spec":{"volumes":[{"name":"v","configMap":{"name":"cm"},)"
           R"("$retainKeys":["configMap","name"]}]}})"
        << R"({"spec":{"volumes":[{"configMap":{"name":"cm"},"name":"v"}]}})";
    QTest::newRow("null removes a map key") << pod << R"({"metadata":{"labels":{"a":"1","b":"2"}}})"
                                            << R"({"metadata":{"labels":{"a":null}}})"
                                            << R"({"metadata":{"labels":{"b":"2"}}})";
    QTest::newRow("null for a missing key changes nothing") << pod << R"({"metadata":{"name":"n"}})"
                                                            << R"({"metadata":{"labels":null}})"
                                                            << R"({"metadata":{"name":"n"}})";
    QTest::newRow("nulls inside a new map are dropped")
        << pod << R"({"metadata":{}})"
        << R"({"metadata":{"labels":{"a":"1","b":null}}})"
        << R"({"metadata":{"labels":{"a":"1"}}})";
    QTest::newRow("primitive list replaced when no strategy")
        << pod << containers(R"([{"name":"c","args":["x","y"]}])")
        << containers(R"([{"name":"c","args":["z"]}])")
        << containers(R"([{"args":["z"],"name":"c"}])");
    QTest::newRow("list of objects replaced when no strategy")
        << pod << R"({"spec":{"tolerations":[{"key":"a"},{"key":"b"}]}})"
        << R"({"spec":{"tolerations":[{"key":"c"}]}})"
        << R"({"spec":{"tolerations":[{"key":"c"}]}})";
    QTest::newRow("primitive merge list is a union")
        << pod << R"({"metadata":{"finalizers":["a","b"]}})"
        << R"({"metadata":{"finalizers":["b","c"]}})"
        << R"({"metadata":{"finalizers":["a","b","c"]}})";
    QTest::newRow("new primitive value goes first without $setElementOrder")
        << pod << R"({"metadata":{"finalizers":["a","b"]}})"
        << R"({"metadata":{"finalizers":["c"]}})"
        << R"({"metadata":{"finalizers":["c","a","b"]}})";
    QTest::newRow("$deleteFromPrimitiveList removes values")
        << pod << R"({"metadata":{"finalizers":["a","b","c"]}})"
        << R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["b","zz"]}})"
        << R"({"metadata":{"finalizers":["a","c"]}})";
    QTest::newRow("$setElementOrder reorders")
        << pod << containers(R"([{"name":"a"},{"name":"b"},{"name":"c"}])")
        << R"({"spec":{"$setElementOrder/containers":[{"name":"c"},{"name":"a"},{"name":"b"}]}})"
        << containers(R"([{"name":"c"},{"name":"a"},{"name":"b"}])");
    QTest::newRow("$setElementOrder places a new item")
        << pod << containers(R"([{"name":"a"},{"name":"b"}])")
        << R"({"spec":{"containers":[{"name":"c"}],)"
           R"("$setElementOrder/containers":[{"name":"a"},{"name":"b"},{"name":"c"}]}})"
        << containers(R"([{"name":"a"},{"name":"b"},{"name":"c"}])");
    QTest::newRow("$setElementOrder keeps server-only items in their place")
        << pod << containers(R"([{"name":"a"},{"name":"side"},{"name":"b"}])")
        << R"({"spec":{"containers":[{"name":"c"}],)"
           R"("$setElementOrder/containers":[{"name":"a"},{"name":"b"},{"name":"c"}]}})"
        << containers(R"([{"name":"a"},{"name":"side"},{"name":"b"},{"name":"c"}])");
    QTest::newRow("$setElementOrder on a primitive list")
        << pod << R"({"metadata":{"finalizers":["a","b"]}})"
        << R"({"metadata":{"finalizers":["c"],"$setElementOrder/finalizers":["b","c","a"]}})"
        << R"({"metadata":{"finalizers":["b","c","a"]}})";
    QTest::newRow("$patch replace on a list")
        << pod << containers(R"([{"name":"a"},{"name":"b"}])")
        << containers(R"([{"name":"c"},{"$patch":"replace"}])") << containers(R"([{"name":"c"}])");
    QTest::newRow("$patch replace on a map")
        << pod << R"({"spec":{"nodeSelector":{"a":"1","b":"2"}}})"
        << R"({"spec":{"nodeSelector":{"$patch":"replace","c":"3"}}})"
        << R"({"spec":{"nodeSelector":{"c":"3"}}})";
    QTest::newRow("$patch delete on a map empties it")
        << pod << R"({"spec":{"nodeSelector":{"a":"1"}}})"
        << R"({"spec":{"nodeSelector":{"$patch":"delete"}}})"
        << R"({"spec":{"nodeSelector":{}}})";
    QTest::newRow("replace strategy replaces the whole map")
        << pod << R"({"spec":{"dnsConfig":{"nameservers":["1.1.1.1"],"searches":["a"]}}})"
        << R"({"spec":{"dnsConfig":{"searches":["b"]}}})"
        << R"({"spec":{"dnsConfig":{"searches":["b"]}}})";
    QTest::newRow("map values of map[string]T merge")
        << pod << containers(R"([{"name":"c","resources":{"limits":{"cpu":"1","memory":"1Gi"}}}])")
        << containers(R"([{"name":"c","resources":{"limits":{"cpu":"2"}}}])")
        << containers(R"([{"name":"c","resources":{"limits":{"cpu":"2","memory":"1Gi"}}}])");
    QTest::newRow("new keyed list on an object without one")
        << pod << R"({"spec":{}})"
        << containers(R"([{"name":"a"},{"name":"gone","$patch":"delete"}])")
        << containers(R"([{"name":"a"}])");
    QTest::newRow("unknown field falls back to merge patch")
        << pod << R"({"spec":{"extra":{"list":[{"name":"a","x":1}],"keep":1}}})"
        << R"({"spec":{"extra":{"list":[{"name":"a","y":2}],"drop":null}}})"
        << R"({"spec":{"extra":{"keep":1,"list":[{"name":"a","y":2}]}}})";
    QTest::newRow("unknown type name replaces lists")
        << "" << containers(R"([{"name":"a"}])") << containers(R"([{"name":"b"}])")
        << containers(R"([{"name":"b"}])");
    QTest::newRow("unknown type name still merges maps") << "no.such.Type"
                                                         << R"({"a":{"b":1,"c":2}})"
                                                         << R"({"a":{"b":null,"d":3}})"
                                                         << R"({"a":{"c":2,"d":3}})";
  }
  void strategicMerge() {
    QFETCH(QString, typeName);
    QFETCH(QString, original);
    QFETCH(QString, patch);
    QFETCH(QString, expected);
    auto result = applyPatch(PatchType::StrategicMerge, parse(original), parse(patch),
                             testSchemas(), typeName.toStdString());
    QVERIFY2(result.ok(), result.status().message().c_str());
    QCOMPARE(show(*result), show(parse(expected)));
  }

  void badPatches_data() {
    QTest::addColumn<int>("type");
    QTest::addColumn<QString>("original");
    QTest::addColumn<QString>("patch");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("messagePart");
    const int smp = int(PatchType::StrategicMerge), jp = int(PatchType::Json),
              mp = int(PatchType::Merge);
    const QString pod = containers(R"([{"name":"a","args":["x"]}])");
    QTest::newRow("list item without merge key")
        << smp << pod << containers(R"([{"image":"x"}])") << 400 << "merge key \"name\"";
    QTest::newRow("$patch merge is not accepted in a map")
        << smp << pod << R"({"spec":{"$patch":"merge"}})" << 400 << "$patch";
    QTest::newRow("unknown $patch in a list item")
        << smp << pod << containers(R"([{"name":"a","$patch":"bogus"}])") << 400 << "bogus";
    QTest::newRow("lists of lists cannot merge")
        << smp << pod << containers(R"([["a"]])") << 422 << "lists of lists";
    QTest::newRow("objects and scalars mixed in a merged list")
        << smp << pod << containers(R"(["a"])") << 400 << "all objects or all scalars";
    QTest::newRow("field missing from $retainKeys")
        << smp << pod << R"({"spec":{"nodeSelector":{"a":"1"},"$retainKeys":["containers"]}})"
        << 400 << "nodeSelector";
    QTest::newRow("$retainKeys not a list")
        << smp << pod << R"({"spec":{"$retainKeys":"containers"}})" << 400 << "$retainKeys";
    QTest::newRow("$setElementOrder disagrees with the patch list")
        << smp << pod
        << R"({"spec":{"containers":[{"name":"b"},{"name":"a"}],)"
           R"("$setElementOrder/containers":[{"name":"a"},{"name":"b"}]}})"
        << 400 << "order";
    QTest::newRow("directive without a field name")
        << smp << pod << R"({"spec":{"$setElementOrder":[]}})" << 400 << "malformed directive";
    QTest::newRow("strategic patch not an object") << smp << pod << "[]" << 400 << "object";
    QTest::newRow("merge patch not an object") << mp << pod << "\"x\"" << 400 << "object";
    QTest::newRow("json-patch test op failure")
        << jp << R"({"a":1})"
        << R"([{"op":"test","path":"/a","value":2}])" << 422 << "test failed";
    QTest::newRow("json-patch not a list") << jp << "{}"
                                           << R"({"op":"add"})" << 400 << "list";
    QTest::newRow("json-patch operation not an object") << jp << "{}"
                                                        << "[1]" << 400 << "must be an object";
    QTest::newRow("json-patch replace of a missing path")
        << jp << R"({"a":1})"
        << R"([{"op":"replace","path":"/b","value":2}])" << 422 << "'b'";
    QTest::newRow("json-patch add under a scalar")
        << jp << R"({"a":1})"
        << R"([{"op":"add","path":"/a/b","value":2}])" << 422 << "not an object or a list";
    QTest::newRow("json-patch add with a missing parent")
        << jp << R"({"a":{}})"
        << R"([{"op":"add","path":"/x/y","value":2}])" << 422 << "'x'";
    QTest::newRow("json-patch remove under null")
        << jp << R"({"a":null})"
        << R"([{"op":"remove","path":"/a/b"}])" << 422 << "not an object or a list";
    QTest::newRow("json-patch move into itself")
        << jp << R"({"a":{"b":1}})"
        << R"([{"op":"move","from":"/a","path":"/a/c"}])" << 422 << "into itself";
    QTest::newRow("json-patch unknown op")
        << jp << "{}"
        << R"([{"op":"frob","path":"/a"}])" << 422 << "unknown operation";
    QTest::newRow("json-patch index with leading zero")
        << jp << R"({"l":[1,2]})"
        << R"([{"op":"remove","path":"/l/01"}])" << 422 << "01";
    QTest::newRow("json-patch index past the end")
        << jp << R"({"l":[1]})"
        << R"([{"op":"add","path":"/l/2","value":0}])" << 422 << "out of range";
    QTest::newRow("json-patch path not a pointer")
        << jp << "{}"
        << R"([{"op":"add","path":"a","value":0}])" << 422 << "pointer";
    QTest::newRow("json-patch missing value")
        << jp << "{}"
        << R"([{"op":"add","path":"/a"}])" << 422 << "\"value\"";
  }
  void badPatches() {
    QFETCH(int, type);
    QFETCH(QString, original);
    QFETCH(QString, patch);
    QFETCH(int, code);
    QFETCH(QString, messagePart);
    auto result =
        applyPatch(PatchType(type), parse(original), parse(patch), testSchemas(), "test.v1.Pod");
    QVERIFY2(!result.ok(), result.ok() ? show(*result).toUtf8().constData() : "");
    QCOMPARE(result.status().code(), code);
    QVERIFY2(result.status().message().find(messagePart.toStdString()) != std::string::npos,
             result.status().message().c_str());
  }

  void jsonPatch_data() {
    QTest::addColumn<QString>("original");
    QTest::addColumn<QString>("patch");
    QTest::addColumn<QString>("expected");
    QTest::newRow("add, replace, remove")
        << R"({"a":1,"b":2})"
        << R"([{"op":"add","path":"/c","value":3},{"op":"replace","path":"/a","value":9},)"
           R"({"op":"remove","path":"/b"}])"
        << R"({"a":9,"c":3})";
    QTest::newRow("add into a list by index and at the end")
        << R"({"l":[1,3]})"
        << R"([{"op":"add","path":"/l/1","value":2},{"op":"add","path":"/l/-","value":4}])"
        << R"({"l":[1,2,3,4]})";
    QTest::newRow("move and copy")
        << R"({"a":{"x":1},"b":{}})"
        << R"([{"op":"copy","from":"/a/x","path":"/b/y"},{"op":"move","from":"/a","path":"/c"}])"
        << R"({"b":{"y":1},"c":{"x":1}})";
    QTest::newRow("escaped pointer tokens")
        << R"({"metadata":{"labels":{"app.kubernetes.io/name":"x"}}})"
        << R"([{"op":"replace","path":"/metadata/labels/app.kubernetes.io~1name","value":"y"}])"
        << R"({"metadata":{"labels":{"app.kubernetes.io/name":"y"}}})";
    QTest::newRow("test op passes, numbers compare by value")
        << R"({"n":1})"
        << R"([{"op":"test","path":"/n","value":1.0},{"op":"add","path":"/ok","value":true}])"
        << R"({"n":1,"ok":true})";
    QTest::newRow("add at the root replaces the document")
        << R"({"a":1})"
        << R"([{"op":"add","path":"","value":{"b":2}}])"
        << R"({"b":2})";
  }
  void jsonPatch() {
    QFETCH(QString, original);
    QFETCH(QString, patch);
    QFETCH(QString, expected);
    auto result = applyPatch(PatchType::Json, parse(original), parse(patch), testSchemas(), "");
    QVERIFY2(result.ok(), result.status().message().c_str());
    QCOMPARE(show(*result), show(parse(expected)));
  }

  void jsonPatchFailureLeavesNoPartialResultAndNamesTheOperation() {
    auto result =
        applyPatch(PatchType::Json, parse(R"({"a":1})"),
                   parse(R"([{"op":"add","path":"/b","value":2},{"op":"remove","path":"/zz"}])"),
                   testSchemas(), "");
    QVERIFY(!result.ok());
    QCOMPARE(result.status().code(), 422);
    QCOMPARE(QString::fromStdString(result.status().reason()), QStringLiteral("Invalid"));
    QVERIFY2(result.status().message().find("operation 1") != std::string::npos,
             result.status().message().c_str());
  }

  void jsonPatchOperationLimit() {
    json ops = json::array();
    for (int i = 0; i < 10001; ++i) ops.push_back({{"op", "test"}, {"path", ""}, {"value", 0}});
    auto result = applyPatch(PatchType::Json, json::object(), ops, testSchemas(), "");
    QVERIFY(!result.ok());
    QCOMPARE(result.status().code(), 413);
  }

  void mergePatch_data() {
    QTest::addColumn<QString>("original");
    QTest::addColumn<QString>("patch");
    QTest::addColumn<QString>("expected");
    // Cases from RFC 7386 appendix A.
    QTest::newRow("replace a value") << R"({"a":"b"})"
                                     << R"({"a":"c"})"
                                     << R"({"a":"c"})";
    QTest::newRow("add a value") << R"({"a":"b"})"
                                 << R"({"b":"c"})"
                                 << R"({"a":"b","b":"c"})";
    QTest::newRow("null removes") << R"({"a":"b","b":"c"})"
                                  << R"({"a":null})"
                                  << R"({"b":"c"})";
    QTest::newRow("lists are replaced") << R"({"a":[{"b":"c"}]})"
                                        << R"({"a":[1]})"
                                        << R"({"a":[1]})";
    QTest::newRow("nested nulls are dropped") << R"({"e":null})"
                                              << R"({"a":{"bb":{"ccc":null}}})"
                                              << R"({"a":{"bb":{}},"e":null})";
    QTest::newRow("keyed lists are replaced too, unlike strategic merge")
        << containers(R"([{"name":"a"}])") << containers(R"([{"name":"b"}])")
        << containers(R"([{"name":"b"}])");
  }
  void mergePatch() {
    QFETCH(QString, original);
    QFETCH(QString, patch);
    QFETCH(QString, expected);
    auto result =
        applyPatch(PatchType::Merge, parse(original), parse(patch), testSchemas(), "test.v1.Pod");
    QVERIFY2(result.ok(), result.status().message().c_str());
    QCOMPARE(show(*result), show(parse(expected)));
  }

  // Each case applies the computed patch to the live object, as the server does after
  // `kubectl apply`, and checks what the live object becomes.
  void threeWay_data() {
    QTest::addColumn<QString>("lastApplied");
    QTest::addColumn<QString>("manifest");
    QTest::addColumn<QString>("live");
    QTest::addColumn<QString>("expected");
    QTest::newRow("three-way: field removed from manifest is removed live")
        << R"({"spec":{"nodeSelector":{"disk":"ssd"},"containers":[{"name":"c","image":"x"}]}})"
        << containers(R"([{"name":"c","image":"x"}])")
        << R"({"spec":{"nodeSelector":{"disk":"ssd"},"containers":[{"name":"c","image":"x"}]},)"
           R"("status":{"phase":"Running"}})"
        << R"({"spec":{"containers":[{"name":"c","image":"x"}]},"status":{"phase":"Running"}})";
    QTest::newRow("three-way: field added by controller is kept")
        << containers(R"([{"name":"c","image":"x"}])")
        << containers(R"([{"name":"c","image":"x"}])")
        << R"({"metadata":{"labels":{"ctl":"yes"}},)"
           R"("spec":{"containers":[{"name":"c","image":"x","args":["d"]}]}})"
        << R"({"metadata":{"labels":{"ctl":"yes"}},)"
           R"("spec":{"containers":[{"name":"c","image":"x","args":["d"]}]}})";
    QTest::newRow("three-way: container image change")
        << containers(R"([{"name":"c","image":"x"}])")
        << containers(R"([{"name":"c","image":"y"}])")
        << containers(R"([{"name":"c","image":"x","args":["d"]}])")
        << containers(R"([{"name":"c","image":"y","args":["d"]}])");
    QTest::newRow("three-way: container removed, injected sidecar stays")
        << containers(R"([{"name":"a"},{"name":"b"}])") << containers(R"([{"name":"a"}])")
        << containers(R"([{"name":"a"},{"name":"b"},{"name":"side"}])")
        << containers(R"([{"name":"a"},{"name":"side"}])");
    QTest::newRow("three-way: container added follows manifest order")
        << containers(R"([{"name":"a"}])") << containers(R"([{"name":"a"},{"name":"b"}])")
        << containers(R"([{"name":"a"}])") << containers(R"([{"name":"a"},{"name":"b"}])");
    QTest::newRow("three-way: containers reordered in manifest")
        << containers(R"([{"name":"a"},{"name":"b"}])")
        << containers(R"([{"name":"b"},{"name":"a"}])")
        << containers(R"([{"name":"a"},{"name":"b"}])")
        << containers(R"([{"name":"b"},{"name":"a"}])");
    QTest::newRow("three-way: env var removed from manifest")
        << containers(R"([{"name":"c","env":[{"name":"X","value":"1"},{"name":"Y"}]}])")
        << containers(R"([{"name":"c","env":[{"name":"X","value":"1"}]}])")
        << containers(R"([{"name":"c","env":[{"name":"X","value":"1"},{"name":"Y"}]}])")
        << containers(R"([{"name":"c","env":[{"name":"X","value":"1"}]}])");
    QTest::newRow("three-way: field removed inside a list item")
        << containers(R"([{"name":"c","image":"x","args":["a"]}])")
        << containers(R"([{"name":"c","image":"x"}])")
        << containers(R"([{"name":"c","image":"x","args":["a"],"env":[{"name":"K"}]}])")
        << containers(R"([{"name":"c","image":"x","env":[{"name":"K"}]}])");
    QTest::newRow("three-way: finalizer swapped, another manager's finalizer kept")
        << R"({"metadata":{"finalizers":["mine"]}})"
        << R"({"metadata":{"finalizers":["new"]}})"
        << R"({"metadata":{"finalizers":["other","mine"]}})"
        << R"({"metadata":{"finalizers":["new","other"]}})";
    QTest::newRow("three-way: volumes switch from emptyDir to configMap")
        << R"({"spec":{"volumes":[{"name":"v","emptyDir":{}}]}})"
        << R"({"spec":{"volumes":[{"name":"v","configMap":{"name":"cm"}}]}})"
        << R"({"spec":{"volumes":[{"name":"v","emptyDir":{}}]}})"
        << R"({"spec":{"volumes":[{"name":"v","configMap":{"name":"cm"}}]}})";
    QTest::newRow("three-way: list without strategy replaced")
        << containers(R"([{"name":"c","args":["a","b"]}])")
        << containers(R"([{"name":"c","args":["b"]}])")
        << containers(R"([{"name":"c","args":["a","b"]}])")
        << containers(R"([{"name":"c","args":["b"]}])");
    QTest::newRow("three-way: no last-applied configuration")
        << "null"
        << R"({"metadata":{"labels":{"a":"1"}}})"
        << R"({"metadata":{"labels":{"b":"2"}}})"
        << R"({"metadata":{"labels":{"a":"1","b":"2"}}})";
    QTest::newRow("three-way: live value changed by someone is put back")
        << R"({"spec":{"nodeSelector":{"a":"1"}}})"
        << R"({"spec":{"nodeSelector":{"a":"1"}}})"
        << R"({"spec":{"nodeSelector":{"a":"2","b":"3"}}})"
        << R"({"spec":{"nodeSelector":{"a":"1","b":"3"}}})";
    QTest::newRow("three-way: value changes type") << R"({"spec":{"extra":{"x":1}}})"
                                                   << R"({"spec":{"extra":"flat"}})"
                                                   << R"({"spec":{"extra":{"x":1}}})"
                                                   << R"({"spec":{"extra":"flat"}})";
  }
  void threeWay() {
    QFETCH(QString, lastApplied);
    QFETCH(QString, manifest);
    QFETCH(QString, live);
    QFETCH(QString, expected);
    auto patch = createThreeWayMergePatch(parse(lastApplied), parse(manifest), parse(live),
                                          testSchemas(), "test.v1.Pod");
    QVERIFY2(patch.ok(), patch.status().message().c_str());
    auto result =
        applyPatch(PatchType::StrategicMerge, parse(live), *patch, testSchemas(), "test.v1.Pod");
    QVERIFY2(result.ok(), (result.status().message() + " patch: " + patch->dump()).c_str());
    QVERIFY2(show(*result) == show(parse(expected)), ("patch: " + patch->dump()).c_str());
  }

  // The patch itself, where its shape is what kubectl sends.
  void threeWayPatchShape_data() {
    QTest::addColumn<QString>("lastApplied");
    QTest::addColumn<QString>("manifest");
    QTest::addColumn<QString>("live");
    QTest::addColumn<QString>("expectedPatch");
    QTest::newRow("nothing changed gives an empty patch")
        << containers(R"([{"name":"c"}])") << containers(R"([{"name":"c"}])")
        << R"({"spec":{"containers":[{"name":"c","args":["x"]}]},"status":{"phase":"Running"}})"
        << "{}";
    QTest::newRow("image change") << containers(R"([{"name":"c","image":"x"}])")
                                  << containers(R"([{"name":"c","image":"y"}])")
                                  << containers(R"([{"name":"c","image":"x"}])")
                                  << R"({"spec":{"$setElementOrder/containers":[{"name":"c"}],)"
                                     R"("containers":[{"image":"y","name":"c"}]}})";
    QTest::newRow("removed field and removed list item")
        << R"({"spec":{"nodeSelector":{"a":"1"},"containers":[{"name":"a"},{"name":"b"}]}})"
        << containers(R"([{"name":"a"}])")
        << R"({"spec":{"nodeSelector":{"a":"1"},"containers":[{"name":"a"},{"name":"b"}]}})"
        << R"({"spec":{"$setElementOrder/containers":[{"name":"a"}],)"
           R"("containers":[{"$patch":"delete","name":"b"}],"nodeSelector":null}})";
    QTest::newRow("primitive merge list deletion")
        << R"({"metadata":{"finalizers":["a","b"]}})"
        << R"({"metadata":{"finalizers":["a"]}})"
        << R"({"metadata":{"finalizers":["a","b"]}})"
        << R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["b"],)"
           R"("$setElementOrder/finalizers":["a"]}})";
    QTest::newRow("retainKeys directive for a volume source switch")
        << R"({"spec":{"volumes":[{"name":"v","emptyDir":{}}]}})"
        << R"({"spec":{"volumes":[{"name":"v","configMap":{"name":"cm"}}]}})"
        << R"({"spec":{"volumes":[{"name":"v","emptyDir":{}}]}})"
        << R"({"spec":{"$setElementOrder/volumes":[{"name":"v"}],"volumes":[{"$retainKeys":)"
           R"(["configMap","name"],"configMap":{"name":"cm"},"emptyDir":null,"name":"v"}]}})";
  }
  void threeWayPatchShape() {
    QFETCH(QString, lastApplied);
    QFETCH(QString, manifest);
    QFETCH(QString, live);
    QFETCH(QString, expectedPatch);
    auto patch = createThreeWayMergePatch(parse(lastApplied), parse(manifest), parse(live),
                                          testSchemas(), "test.v1.Pod");
    QVERIFY2(patch.ok(), patch.status().message().c_str());
    QCOMPARE(show(*patch), show(parse(expectedPatch)));
  }

  void threeWayRejectsWhatItCannotPatch() {
    auto notObject = createThreeWayMergePatch(json::object(), json::array(), json::object(),
                                              testSchemas(), "test.v1.Pod");
    QVERIFY(!notObject.ok());
    QCOMPARE(notObject.status().code(), 400);

    auto unkeyed = createThreeWayMergePatch(json::object(), parse(containers(R"([{"image":"x"}])")),
                                            parse(containers(R"([{"name":"a"}])")), testSchemas(),
                                            "test.v1.Pod");
    QVERIFY(!unkeyed.ok());
    QCOMPARE(unkeyed.status().code(), 400);
    QVERIFY2(unkeyed.status().message().find("spec.containers") != std::string::npos,
             unkeyed.status().message().c_str());
  }

  void deepPatchesAreRefusedNotCrashing() {
    json patch = json::object();
    for (int i = 0; i < 2000; ++i) patch = json{{"a", std::move(patch)}};
    for (PatchType type : {PatchType::Merge, PatchType::StrategicMerge}) {
      auto result = applyPatch(type, json::object(), patch, testSchemas(), "");
      QVERIFY(!result.ok());
      QCOMPARE(result.status().code(), 400);
    }
  }

  // The real core.v1 tables, once they describe pods.
  void builtinPodSchema() {
    const auto& builtin = SchemaRegistry::builtin();
    const auto* podSpec = builtin.type("core.v1.PodSpec");
    if (!podSpec || !podSpec->field("containers")) QSKIP("core.v1.PodSpec is not defined yet");
    const json live = parse(
        containers(R"([{"name":"a","image":"x","env":[{"name":"E","value":"1"}]},{"name":"b"}])"));
    auto merged = applyPatch(PatchType::StrategicMerge, live,
                             parse(containers(R"([{"name":"a","env":[{"name":"F"}]}])")), builtin,
                             "core.v1.Pod");
    QVERIFY2(merged.ok(), merged.status().message().c_str());
    QCOMPARE(show(*merged), show(parse(containers(R"([{"name":"a","image":"x","env":[{"name":"F"},)"
                                                  R"({"name":"E","value":"1"}]},{"name":"b"}])"))));

    auto patch = createThreeWayMergePatch(
        parse(containers(R"([{"name":"a","image":"x"},{"name":"b"}])")),
        parse(containers(R"([{"name":"a","image":"y"}])")), live, builtin, "core.v1.Pod");
    QVERIFY2(patch.ok(), patch.status().message().c_str());
    auto applied = applyPatch(PatchType::StrategicMerge, live, *patch, builtin, "core.v1.Pod");
    QVERIFY2(applied.ok(), applied.status().message().c_str());
    QCOMPARE(
        show(*applied),
        show(parse(containers(R"([{"name":"a","image":"y","env":[{"name":"E","value":"1"}]}])"))));
  }
};

QTEST_GUILESS_MAIN(PatchTest)
#include "patch_test.moc"

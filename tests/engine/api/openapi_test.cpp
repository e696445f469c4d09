#include "engine/api/openapi.h"

#include <QtTest>
#include <cstdint>
#include <map>
#include <set>

using kd::json;
using kd::api::KindInfo;
using kd::api::KindsRegistry;
using kd::api::SchemaRegistry;

namespace {

const json& v2() {
  static const json doc =
      kd::api::buildOpenApiV2(KindsRegistry::builtin(), SchemaRegistry::builtin());
  return doc;
}

json v3(const std::string& gvPath) {
  auto doc = kd::api::buildOpenApiV3(KindsRegistry::builtin(), SchemaRegistry::builtin(), gvPath);
  return doc.ok() ? *doc : json();
}

std::string gvPath(const KindInfo& k) {
  return k.group.empty() ? "api/" + k.version : "apis/" + k.group + "/" + k.version;
}

std::string definitionName(const KindInfo& k) {
  std::string prefix = k.group.empty() ? "core" : k.group.substr(0, k.group.find('.'));
  return "io.k8s.api." + prefix + "." + k.version + "." + k.kind;
}

// The schemas of a document, wherever its OpenAPI version keeps them.
const json& schemasOf(const json& doc) {
  return doc.contains("definitions") ? doc["definitions"] : doc["components"]["schemas"];
}

std::string refName(const std::string& ref) {
  return ref.substr(ref.rfind('/') + 1);
}

void collectRefs(const json& j, std::set<std::string>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "$ref" && it->is_string()) {
        out.insert(refName(it->get<std::string>()));
      } else {
        collectRefs(*it, out);
      }
    }
  } else if (j.is_array()) {
    for (const auto& e : j) collectRefs(e, out);
  }
}

// Names referenced somewhere in the document but not defined in it, comma separated.
QString danglingRefs(const json& doc) {
  std::set<std::string> refs;
  collectRefs(doc, refs);
  QStringList missing;
  for (const auto& r : refs) {
    if (!schemasOf(doc).contains(r)) missing << QString::fromStdString(r);
  }
  return missing.join(", ");
}

// Follows $ref and single-element allOf the way kubectl explain does.
const json* resolve(const json& doc, const json& schema) {
  if (schema.contains("$ref")) {
    auto name = refName(schema["$ref"].get<std::string>());
    return schemasOf(doc).contains(name) ? &schemasOf(doc)[name] : nullptr;
  }
  if (schema.contains("allOf") && schema["allOf"].size() == 1) {
    return resolve(doc, schema["allOf"][0]);
  }
  return &schema;
}

// A dotted path from a schema, looking through references and array items.
const json* fieldAt(const json& doc, const json& root, const QString& dotted) {
  const json* current = &root;
  for (const auto& segment : dotted.split('.')) {
    current = resolve(doc, *current);
    if (current && current->contains("items")) current = resolve(doc, (*current)["items"]);
    if (!current || !current->contains("properties")) return nullptr;
    const auto& props = (*current)["properties"];
    if (!props.contains(segment.toStdString())) return nullptr;
    current = &props[segment.toStdString()];
  }
  return current;
}

json gvkOf(const KindInfo& k) {
  return {{"group", k.group}, {"kind", k.kind}, {"version", k.version}};
}

// What kubectl does to learn whether the server validates fields: every PATCH operation for
// the kind must list the parameter among its own query parameters.
QString patchParamProblems(const json& doc, const KindInfo& k, const std::string& param) {
  int patches = 0;
  QStringList problems;
  for (const auto& [path, item] : doc["paths"].items()) {
    if (!item.contains("patch") || item["patch"]["x-kubernetes-group-version-kind"] != gvkOf(k)) {
      continue;
    }
    ++patches;
    bool found = false;
    for (const auto& p : item["patch"].value("parameters", json::array())) {
      found = found || (p["name"] == param && p["in"] == "query");
    }
    if (!found) problems << QString::fromStdString(path);
  }
  if (patches == 0) return "no patch operation";
  return problems.join(", ");
}

// A minimal protobuf reader: the length-delimited fields of one message, by field number.
std::multimap<int, std::string> protoFields(std::string_view data) {
  std::multimap<int, std::string> out;
  auto varint = [&data]() {
    uint64_t v = 0;
    for (int shift = 0; !data.empty(); shift += 7) {
      auto b = static_cast<unsigned char>(data.front());
      data.remove_prefix(1);
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    return v;
  };
  while (!data.empty()) {
    uint64_t key = varint();
    switch (key & 7) {
      case 0:
        varint();
        break;
      case 1:
        data.remove_prefix(8);
        break;
      case 5:
        data.remove_prefix(4);
        break;
      case 2: {
        auto len = static_cast<size_t>(varint());
        out.emplace(static_cast<int>(key >> 3), std::string(data.substr(0, len)));
        data.remove_prefix(len);
        break;
      }
      default:
        return {};
    }
  }
  return out;
}

std::string protoField(std::string_view message, int field) {
  auto fields = protoFields(message);
  auto it = fields.find(field);
  return it == fields.end() ? std::string() : it->second;
}

// The value of a repeated {name = 1, value = 2} entry with the given name.
std::string protoNamed(std::string_view message, int field, const std::string& name) {
  auto fields = protoFields(message);
  auto [begin, end] = fields.equal_range(field);
  for (auto it = begin; it != end; ++it) {
    if (protoField(it->second, 1) == name) return protoField(it->second, 2);
  }
  return {};
}

void addKindRows() {
  QTest::addColumn<int>("index");
  const auto& kinds = KindsRegistry::builtin().all();
  for (size_t i = 0; i < kinds.size(); ++i) {
    QTest::newRow(kinds[i].apiVersion().append("/").append(kinds[i].kind).c_str())
        << static_cast<int>(i);
  }
}

const KindInfo& kindAt(int index) {
  return KindsRegistry::builtin().all()[index];
}

}  // namespace

class OpenApiTest : public QObject {
  Q_OBJECT
 private slots:
  void v2DefinesEveryKindWithItsGvk_data() { addKindRows(); }
  void v2DefinesEveryKindWithItsGvk() {
    QFETCH(int, index);
    const auto& k = kindAt(index);
    const auto& defs = v2()["definitions"];
    for (const auto& name : {definitionName(k), definitionName(k) + "List"}) {
      QVERIFY2(defs.contains(name), name.c_str());
      const auto& gvks = defs[name]["x-kubernetes-group-version-kind"];
      QCOMPARE(gvks.size(), size_t(1));
      QCOMPARE(gvks[0]["group"].get<std::string>(), k.group);
      QCOMPARE(gvks[0]["version"].get<std::string>(), k.version);
    }
    QCOMPARE(defs[definitionName(k)]["x-kubernetes-group-version-kind"][0]["kind"], k.kind);
    QCOMPARE(defs[definitionName(k)]["properties"]["metadata"]["$ref"],
             "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
  }

  void v2PatchOperationsOfferFieldValidationAndDryRun_data() { addKindRows(); }
  void v2PatchOperationsOfferFieldValidationAndDryRun() {
    QFETCH(int, index);
    for (const auto* param : {"fieldValidation", "dryRun"}) {
      QString problems = patchParamProblems(v2(), kindAt(index), param);
      QVERIFY2(problems.isEmpty(), qPrintable(QString(param) + " missing: " + problems));
    }
  }

  void v3PatchOperationsOfferFieldValidation_data() { addKindRows(); }
  void v3PatchOperationsOfferFieldValidation() {
    QFETCH(int, index);
    const auto& k = kindAt(index);
    QString problems = patchParamProblems(v3(gvPath(k)), k, "fieldValidation");
    QVERIFY2(problems.isEmpty(), qPrintable(problems));
  }

  void v2OperationsCarryActions() {
    const auto& item = v2()["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"];
    QCOMPARE(item["get"]["x-kubernetes-action"], "get");
    QCOMPARE(item["put"]["x-kubernetes-action"], "put");
    QCOMPARE(item["patch"]["x-kubernetes-action"], "patch");
    QCOMPARE(item["delete"]["x-kubernetes-action"], "delete");
    QCOMPARE(item["patch"]["operationId"], "patchAppsV1NamespacedDeployment");
    const auto& collection = v2()["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"];
    QCOMPARE(collection["get"]["x-kubernetes-action"], "list");
    QCOMPARE(collection["post"]["x-kubernetes-action"], "post");
    QCOMPARE(collection["delete"]["x-kubernetes-action"], "deletecollection");
    QVERIFY(v2()["paths"].contains("/apis/apps/v1/deployments"));
    QVERIFY(
        v2()["paths"].contains("/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status"));
    QVERIFY(
        !v2()["paths"].contains("/apis/storage.k8s.io/v1/namespaces/{namespace}/storageclasses"));
    QVERIFY(v2()["paths"].contains("/apis/storage.k8s.io/v1/storageclasses/{name}"));
  }

  void v2FieldsCarryPatchMetadata_data() {
    QTest::addColumn<QString>("definition");
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("strategy");
    QTest::addColumn<QString>("mergeKey");
    QTest::addColumn<QString>("listType");
    QTest::newRow("pod containers") << "io.k8s.api.core.v1.PodSpec"
                                    << "containers"
                                    << "merge"
                                    << "name"
                                    << "map";
    QTest::newRow("deployment conditions") << "io.k8s.api.apps.v1.DeploymentStatus"
                                           << "conditions"
                                           << "merge"
                                           << "type"
                                           << "map";
    QTest::newRow("statefulset conditions") << "io.k8s.api.apps.v1.StatefulSetStatus"
                                            << "conditions"
                                            << "merge"
                                            << "type"
                                            << "map";
    QTest::newRow("deployment strategy") << "io.k8s.api.apps.v1.DeploymentSpec"
                                         << "strategy"
                                         << "retainKeys"
                                         << ""
                                         << "";
    QTest::newRow("job conditions") << "io.k8s.api.batch.v1.JobStatus"
                                    << "conditions"
                                    << "merge"
                                    << "type"
                                    << "atomic";
    QTest::newRow("slice endpoints") << "io.k8s.api.discovery.v1.EndpointSlice"
                                     << "endpoints"
                                     << ""
                                     << ""
                                     << "atomic";
  }
  void v2FieldsCarryPatchMetadata() {
    QFETCH(QString, definition);
    QFETCH(QString, field);
    QFETCH(QString, strategy);
    QFETCH(QString, mergeKey);
    QFETCH(QString, listType);
    const auto& defs = v2()["definitions"];
    QVERIFY2(defs.contains(definition.toStdString()), qPrintable(definition + " not defined"));
    const auto& props = defs[definition.toStdString()]["properties"];
    QVERIFY2(props.contains(field.toStdString()), qPrintable(field + " not a property"));
    const auto& f = props[field.toStdString()];
    QCOMPARE(QString::fromStdString(f.value("x-kubernetes-patch-strategy", "")), strategy);
    QCOMPARE(QString::fromStdString(f.value("x-kubernetes-patch-merge-key", "")), mergeKey);
    QCOMPARE(QString::fromStdString(f.value("x-kubernetes-list-type", "")), listType);
    if (listType == "map") {
      QCOMPARE(f["x-kubernetes-list-map-keys"], json::array({mergeKey.toStdString()}));
    } else {
      QVERIFY(!f.contains("x-kubernetes-list-map-keys"));
    }
  }

  void v2RequiredAndEnumsFollowKubernetes() {
    const auto& defs = v2()["definitions"];
    QCOMPARE(defs["io.k8s.api.apps.v1.DeploymentSpec"]["required"],
             json::array({"selector", "template"}));
    QCOMPARE(defs["io.k8s.api.batch.v1.CronJobSpec"]["required"],
             json::array({"schedule", "jobTemplate"}));
    QCOMPARE(defs["io.k8s.api.batch.v1.CronJobSpec"]["properties"]["concurrencyPolicy"]["enum"],
             json::array({"Allow", "Forbid", "Replace"}));
    QVERIFY(!defs["io.k8s.api.apps.v1.DeploymentStatus"].contains("required"));
  }

  void v2ScalarsUseKubernetesDefinitions() {
    const auto& defs = v2()["definitions"];
    const auto& surge =
        defs["io.k8s.api.apps.v1.RollingUpdateDeployment"]["properties"]["maxSurge"];
    QCOMPARE(surge["$ref"], "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString");
    QCOMPARE(defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"], "int-or-string");
    QCOMPARE(defs["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["format"], "date-time");
    QCOMPARE(defs["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"], "string");
    const auto& deadline =
        defs["io.k8s.api.batch.v1.CronJobSpec"]["properties"]["startingDeadlineSeconds"];
    QCOMPARE(deadline["format"], "int64");
  }

  void v2DeploymentTemplateResolves() {
    const auto& deploy = v2()["definitions"]["io.k8s.api.apps.v1.Deployment"];
    const json* tmpl = fieldAt(v2(), deploy, "spec.template");
    QVERIFY(tmpl);
    QCOMPARE((*tmpl)["$ref"], "#/definitions/io.k8s.api.core.v1.PodTemplateSpec");
    QVERIFY2(resolve(v2(), *tmpl), "core.v1.PodTemplateSpec is not defined yet");
  }

  void v2ReferencesOnlyWhatItDefines() {
    QString missing = danglingRefs(v2());
    QVERIFY2(missing.isEmpty(), qPrintable("undefined: " + missing));
  }

  void v3IndexListsEveryGroupVersion() {
    json index = kd::api::buildOpenApiV3Index(KindsRegistry::builtin(), SchemaRegistry::builtin());
    std::set<std::string> expected, listed;
    for (const auto& k : KindsRegistry::builtin().served()) expected.insert(gvPath(k));
    for (const auto& [path, entry] : index["paths"].items()) {
      listed.insert(path);
      std::string url = entry["serverRelativeURL"];
      QVERIFY2(url.starts_with("/openapi/v3/" + path + "?hash="), url.c_str());
      QVERIFY(url.size() > ("/openapi/v3/" + path + "?hash=").size());
    }
    QVERIFY(listed == expected);
    QVERIFY(listed.contains("api/v1") && listed.contains("apis/apps/v1"));
  }

  void v3IndexHashFollowsTheDocument() {
    const auto& kinds = KindsRegistry::builtin();
    auto types = SchemaRegistry::builtin().all();
    json before = kd::api::buildOpenApiV3Index(kinds, SchemaRegistry(types));
    QCOMPARE(kd::api::buildOpenApiV3Index(kinds, SchemaRegistry(types)), before);
    for (auto& t : types) {
      if (t.name == "batch.v1.JobSpec") t.description += " Changed.";
    }
    json after = kd::api::buildOpenApiV3Index(kinds, SchemaRegistry(types));
    QVERIFY(after["paths"]["apis/batch/v1"] != before["paths"]["apis/batch/v1"]);
    QCOMPARE(after["paths"]["apis/apps/v1"], before["paths"]["apis/apps/v1"]);
  }

  void v3DocumentsParseAndReferenceOnlyWhatTheyDefine_data() {
    QTest::addColumn<QString>("path");
    std::set<std::string> seen;
    for (const auto& k : KindsRegistry::builtin().all()) {
      if (seen.insert(gvPath(k)).second)
        QTest::newRow(gvPath(k).c_str()) << QString::fromStdString(gvPath(k));
    }
  }
  void v3DocumentsParseAndReferenceOnlyWhatTheyDefine() {
    QFETCH(QString, path);
    json doc = json::parse(v3(path.toStdString()).dump());
    QCOMPARE(doc["openapi"], "3.0.0");
    QVERIFY(!doc["paths"].empty());
    QString missing = danglingRefs(doc);
    QVERIFY2(missing.isEmpty(), qPrintable("undefined: " + missing));
    QStringList undescribed;
    for (const auto& [name, schema] : doc["components"]["schemas"].items()) {
      if (schema.value("description", "").empty()) undescribed << QString::fromStdString(name);
      const json props = schema.value("properties", json::object());
      for (const auto& [field, prop] : props.items()) {
        if (prop.value("description", "").empty()) {
          undescribed << QString::fromStdString(name + "." + field);
        }
      }
    }
    QVERIFY2(undescribed.isEmpty(), qPrintable("no description: " + undescribed.join(", ")));
  }

  void v3UnknownGroupVersionIsNotFound() {
    auto doc = kd::api::buildOpenApiV3(KindsRegistry::builtin(), SchemaRegistry::builtin(),
                                       "apis/frobs.example.com/v1");
    QVERIFY(!doc.ok());
    QCOMPARE(doc.status().code(), 404);
  }

  // kubectl explain finds the GVK on an operation of the resource's path, then the schema with
  // that GVK in the group-version document, then walks the fields through allOf and $ref.
  void v3SupportsKubectlExplain_data() {
    QTest::addColumn<QString>("resource");
    QTest::addColumn<QString>("fieldPath");
    QTest::addColumn<QString>("type");
    QTest::newRow("deployment.spec.replicas") << "deployments"
                                              << "spec.replicas"
                                              << "integer";
    QTest::newRow("pods.spec.containers") << "pods"
                                          << "spec.containers"
                                          << "array";
    QTest::newRow("cronjob schedule") << "cronjobs"
                                      << "spec.schedule"
                                      << "string";
    QTest::newRow("hpa metric target") << "horizontalpodautoscalers"
                                       << "spec.metrics.resource.target.type"
                                       << "string";
  }
  void v3SupportsKubectlExplain() {
    QFETCH(QString, resource);
    QFETCH(QString, fieldPath);
    QFETCH(QString, type);
    const KindInfo* k = KindsRegistry::builtin().resolve(resource.toStdString());
    QVERIFY(k);
    json doc = v3(gvPath(*k));
    std::string listPath = "/" + gvPath(*k) + "/" + k->resource;
    QVERIFY2(doc["paths"].contains(listPath), listPath.c_str());
    json gvk = doc["paths"][listPath]["get"]["x-kubernetes-group-version-kind"];
    QCOMPARE(gvk, gvkOf(*k));
    const json* root = nullptr;
    for (const auto& [name, schema] : doc["components"]["schemas"].items()) {
      for (const auto& g : schema.value("x-kubernetes-group-version-kind", json::array())) {
        if (g == gvk) root = &doc["components"]["schemas"][name];
      }
    }
    QVERIFY(root);
    const json* f = fieldAt(doc, *root, fieldPath);
    QVERIFY2(f, qPrintable(fieldPath + " not found"));
    QCOMPARE(QString::fromStdString(f->value("type", "")), type);
    QVERIFY(!f->value("description", "").empty());
  }

  void v3ReferencesWithDescriptionsUseAllOf() {
    json doc = v3("apis/apps/v1");
    const auto& spec =
        doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"]["properties"]["spec"];
    QVERIFY(!spec.contains("$ref"));
    QCOMPARE(spec["allOf"][0]["$ref"], "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec");
    QVERIFY(spec.contains("description"));
  }

  // kubectl 1.27/1.28 read only this form: it decides on server-side validation from the patch
  // operation's query parameters and finds models by their GVK extension.
  void v2ProtobufCarriesWhatKubectlReads() {
    std::string pb = kd::api::encodeOpenApiV2Protobuf(v2());
    QCOMPARE(protoField(pb, 1), std::string("2.0"));
    auto definitions = protoFields(protoField(pb, 9));
    QCOMPARE(definitions.count(1), v2()["definitions"].size());
    std::string deployment = protoNamed(protoField(pb, 9), 1, "io.k8s.api.apps.v1.Deployment");
    std::string gvkYaml =
        protoField(protoNamed(deployment, 31, "x-kubernetes-group-version-kind"), 2);
    QCOMPARE(json::parse(gvkYaml),
             json::array({gvkOf(*KindsRegistry::builtin().byKind("apps/v1", "Deployment"))}));

    std::string item =
        protoNamed(protoField(pb, 8), 2, "/apis/apps/v1/namespaces/{namespace}/deployments/{name}");
    std::string patch = protoField(item, 8);
    QVERIFY(!patch.empty());
    QStringList queryParams;
    auto params = protoFields(patch);
    auto [begin, end] = params.equal_range(8);
    for (auto it = begin; it != end; ++it) {
      std::string query = protoField(protoField(protoField(it->second, 1), 2), 3);
      if (!query.empty()) queryParams << QString::fromStdString(protoField(query, 4));
    }
    QVERIFY2(queryParams.contains("fieldValidation"), qPrintable(queryParams.join(",")));
    QVERIFY(queryParams.contains("dryRun"));
  }

  void schemaRegistryDefinesEveryReferencedType() {
    const auto& registry = SchemaRegistry::builtin();
    QStringList missing;
    for (const auto& t : registry.all()) {
      for (const auto& f : t.fields) {
        std::string named = SchemaRegistry::elementTypeName(f);
        if (!named.empty() && !registry.type(named)) {
          missing << QString::fromStdString(t.name + "." + f.name + " -> " + named);
        }
      }
    }
    QVERIFY2(missing.isEmpty(), qPrintable("undefined: " + missing.join(", ")));
  }

  // One missing type must not make kubectl reject the whole document.
  void undefinedTypesGetAnOpenPlaceholder() {
    auto types = SchemaRegistry::builtin().all();
    for (auto& t : types) {
      if (t.name == "apps.v1.DeploymentSpec")
        t.fields.push_back(kd::api::field("x", "apps.v1.Nowhere", "d"));
    }
    SchemaRegistry registry(types);
    json doc = kd::api::buildOpenApiV2(KindsRegistry::builtin(), registry);
    QVERIFY(danglingRefs(doc).isEmpty());
    QCOMPARE(
        doc["definitions"]["io.k8s.api.apps.v1.Nowhere"]["x-kubernetes-preserve-unknown-fields"],
        true);
    auto v3doc = kd::api::buildOpenApiV3(KindsRegistry::builtin(), registry, "apis/apps/v1");
    QVERIFY(v3doc.ok());
    QVERIFY(danglingRefs(*v3doc).isEmpty());
    QVERIFY(v3doc->at("components").at("schemas").contains("io.k8s.api.apps.v1.Nowhere"));
  }
};

QTEST_GUILESS_MAIN(OpenApiTest)
#include "openapi_test.moc"

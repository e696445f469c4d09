#include "engine/api/openapi.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <map>

namespace kd::api {
namespace {

// Both documents share one generator; they differ in where definitions live, how a described
// reference is spelled and how parameters and bodies are written.
enum class Flavor { V2, V3 };

std::string refPrefix(Flavor fl) {
  return fl == Flavor::V2 ? "#/definitions/" : "#/components/schemas/";
}

const std::string kPatchDef = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";

// "apps.v1.Deployment" → "io.k8s.api.apps.v1.Deployment"; meta types live in apimachinery.
std::string definitionName(std::string_view typeName) {
  if (typeName.starts_with("meta.")) {
    return "io.k8s.apimachinery.pkg.apis." + std::string(typeName);
  }
  return "io.k8s.api." + std::string(typeName);
}

std::string listDefinitionName(const KindInfo& k) {
  return definitionName(k.schemaType) + "List";
}

json gvk(const KindInfo& k) {
  return {{"group", k.group}, {"kind", k.kind}, {"version", k.version}};
}

json ref(Flavor fl, const std::string& defName) {
  return {{"$ref", refPrefix(fl) + defName}};
}

// Scalars with a definition of their own in Kubernetes are referenced; the rest are inline.
struct WellKnown {
  std::string_view scalar;
  std::string_view defName;
  std::string_view description;
  const char* v2;
  const char* v3;
};

const std::vector<WellKnown>& wellKnown() {
  static const std::vector<WellKnown> table = {
      {"IntOrString", "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
       "A value that is either a whole number or a string, such as a port number or name.",
       R"({"type":"string","format":"int-or-string"})",
       R"({"type":"string","format":"int-or-string"})"},
      {"Quantity", "io.k8s.apimachinery.pkg.api.resource.Quantity",
       "An amount written as a decimal number with an optional SI or binary suffix, such as "
       "\"500m\", \"2\" or \"1Gi\".",
       R"({"type":"string"})", R"({"oneOf":[{"type":"string"},{"type":"number"}]})"},
      {"Time", "io.k8s.apimachinery.pkg.apis.meta.v1.Time",
       "A point in time written as an RFC 3339 string with second precision.",
       R"({"type":"string","format":"date-time"})", R"({"type":"string","format":"date-time"})"},
      {"MicroTime", "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime",
       "A point in time written as an RFC 3339 string with microsecond precision.",
       R"({"type":"string","format":"date-time"})", R"({"type":"string","format":"date-time"})"},
      {"", kPatchDef,
       "The body of a PATCH request; its format depends on the request's content type.",
       R"({"type":"object"})", R"({"type":"object"})"},
  };
  return table;
}

json inlineScalar(std::string_view name) {
  static const std::map<std::string_view, const char*> table = {
      {"string", R"({"type":"string"})"},
      {"integer", R"({"type":"integer","format":"int32"})"},
      {"int64", R"({"type":"integer","format":"int64"})"},
      {"number", R"({"type":"number","format":"double"})"},
      {"boolean", R"({"type":"boolean"})"},
      {"byte", R"({"type":"string","format":"byte"})"},
      {"Duration", R"({"type":"string"})"},
      {"RawJSON", R"({"x-kubernetes-preserve-unknown-fields":true})"},
  };
  auto it = table.find(name);
  return json::parse(it == table.end() ? "{}" : it->second);
}

json valueSchema(Flavor fl, std::string_view type) {
  TypeExpr e = TypeExpr::parse(type);
  switch (e.shape) {
    case TypeExpr::Shape::Array:
      return {{"type", "array"}, {"items", valueSchema(fl, e.name)}};
    case TypeExpr::Shape::Map:
      return {{"type", "object"}, {"additionalProperties", valueSchema(fl, e.name)}};
    case TypeExpr::Shape::Named:
      return ref(fl, definitionName(e.name));
    case TypeExpr::Shape::Scalar:
      break;
  }
  for (const auto& w : wellKnown()) {
    if (w.scalar == e.name) return ref(fl, std::string(w.defName));
  }
  return inlineScalar(e.name);
}

// A reference cannot carry siblings in OpenAPI 3.0, so v3 wraps it in allOf as Kubernetes does.
json describedValue(Flavor fl, std::string_view type, const std::string& description) {
  json s = valueSchema(fl, type);
  if (fl == Flavor::V3 && s.contains("$ref")) s = {{"allOf", json::array({s})}};
  s["description"] = description;
  return s;
}

json fieldSchema(Flavor fl, const FieldDef& f) {
  json s = describedValue(fl, f.type, f.description);
  if (!f.enumValues.empty()) (s.contains("items") ? s["items"] : s)["enum"] = f.enumValues;
  if (!f.patchStrategy.empty()) s["x-kubernetes-patch-strategy"] = f.patchStrategy;
  if (!f.patchMergeKey.empty()) s["x-kubernetes-patch-merge-key"] = f.patchMergeKey;
  if (!f.listType.empty()) s["x-kubernetes-list-type"] = f.listType;
  if (!f.listMapKeys.empty()) s["x-kubernetes-list-map-keys"] = f.listMapKeys;
  return s;
}

json typeSchema(Flavor fl, const TypeDef& t, const std::vector<const KindInfo*>& kinds) {
  json s = {{"description", t.description}, {"type", "object"}};
  json props = json::object(), required = json::array();
  for (const auto& f : t.fields) {
    props[f.name] = fieldSchema(fl, f);
    if (f.required) required.push_back(f.name);
  }
  if (!props.empty()) s["properties"] = std::move(props);
  if (!required.empty()) s["required"] = std::move(required);
  if (t.preserveUnknownFields) s["x-kubernetes-preserve-unknown-fields"] = true;
  if (!kinds.empty()) {
    json gvks = json::array();
    for (const auto* k : kinds) gvks.push_back(gvk(*k));
    s["x-kubernetes-group-version-kind"] = std::move(gvks);
  }
  return s;
}

json listSchema(Flavor fl, const KindInfo& k) {
  json s = {
      {"description", "A list of " + k.kind + " objects."},
      {"type", "object"},
      {"required", {"items"}},
      {"x-kubernetes-group-version-kind",
       {{{"group", k.group}, {"kind", k.kind + "List"}, {"version", k.version}}}},
  };
  s["properties"] = {
      {"apiVersion", describedValue(fl, "string", "The versioned schema of this list.")},
      {"kind", describedValue(fl, "string", "The kind of this list, \"" + k.kind + "List\".")},
      {"metadata", describedValue(fl, "meta.v1.ListMeta",
                                  "List metadata: the resourceVersion and continue token.")},
      {"items", describedValue(fl, "[]" + k.schemaType, "The " + k.resource + " in the list.")},
  };
  return s;
}

// Every definition either document may hold, by its Kubernetes name.
class Catalog {
 public:
  Catalog(Flavor fl, const KindsRegistry& kinds, const SchemaRegistry& schemas) {
    std::map<std::string, std::vector<const KindInfo*>> kindsByType;
    for (const auto& k : kinds.served()) kindsByType[k.schemaType].push_back(&k);
    for (const auto& t : schemas.all()) {
      defs_[definitionName(t.name)] = typeSchema(fl, t, kindsByType[t.name]);
    }
    for (const auto& k : kinds.served()) defs_[listDefinitionName(k)] = listSchema(fl, k);
    for (const auto& w : wellKnown()) {
      json s = json::parse(fl == Flavor::V2 ? w.v2 : w.v3);
      s["description"] = w.description;
      defs_[std::string(w.defName)] = std::move(s);
    }
  }

  const json& all() const { return defs_; }

  // The definitions reachable from `roots` through $ref. A name the schema registry lacks gets
  // an open placeholder: kubectl rejects a whole document over one unresolvable reference.
  json closure(const json& roots, Flavor fl) const {
    json out = json::object();
    std::vector<std::string> pending;
    collectRefs(roots, fl, pending);
    while (!pending.empty()) {
      std::string name = std::move(pending.back());
      pending.pop_back();
      if (out.contains(name)) continue;
      if (!defs_.contains(name)) {
        out[name] = {{"description", "Not described by this server; any value is kept."},
                     {"type", "object"},
                     {"x-kubernetes-preserve-unknown-fields", true}};
        continue;
      }
      out[name] = defs_.at(name);
      collectRefs(out[name], fl, pending);
    }
    return out;
  }

 private:
  static void collectRefs(const json& j, Flavor fl, std::vector<std::string>& out) {
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.key() == "$ref" && it->is_string()) {
          out.push_back(it->get<std::string>().substr(refPrefix(fl).size()));
        } else {
          collectRefs(*it, fl, out);
        }
      }
    } else if (j.is_array()) {
      for (const auto& e : j) collectRefs(e, fl, out);
    }
  }

  json defs_ = json::object();
};

// ---- paths ----

struct Param {
  const char* name;
  const char* type;
  const char* description;
};

const Param kDryRun{"dryRun", "string",
                    "When \"All\", the request is checked and processed but nothing is stored."};
const Param kFieldManager{"fieldManager", "string",
                          "The name of the actor making the change, recorded in managedFields."};
const Param kFieldValidation{
    "fieldValidation", "string",
    "How to treat unknown or duplicate fields in the body: Ignore, Warn (the default) or Strict."};
const Param kForce{"force", "boolean",
                   "Apply requests only: take over fields that other managers own."};
const Param kGracePeriod{"gracePeriodSeconds", "integer",
                         "Seconds to wait before the object is removed; 0 means at once."};
const Param kOrphan{"orphanDependents", "boolean",
                    "Deprecated; use propagationPolicy. Whether dependents are left behind."};
const Param kPropagation{"propagationPolicy", "string",
                         "How dependents are deleted: Orphan, Background or Foreground."};
const Param kContinue{"continue", "string", "The token of a previous page to continue from."};
const Param kFieldSelector{"fieldSelector", "string",
                           "Only objects whose fields match, such as spec.nodeName=n1."};
const Param kLabelSelector{"labelSelector", "string",
                           "Only objects whose labels match, such as app=web,tier!=db."};
const Param kLimit{"limit", "integer", "The largest number of objects to return in one page."};
const Param kResourceVersion{"resourceVersion", "string",
                             "The revision the list or watch starts from."};
const Param kResourceVersionMatch{"resourceVersionMatch", "string",
                                  "How resourceVersion is interpreted: Exact or NotOlderThan."};
const Param kSendInitialEvents{"sendInitialEvents", "boolean",
                               "Watch only: first send the current objects as ADDED events."};
const Param kTimeoutSeconds{"timeoutSeconds", "integer",
                            "Longest time a list or watch call may take."};
const Param kWatch{"watch", "boolean", "Stream changes as watch events instead of one list."};
const Param kBookmarks{"allowWatchBookmarks", "boolean",
                       "Watch only: ask for BOOKMARK events that carry the latest revision."};

// clang-format off
const std::vector<Param> kWriteParams = {kDryRun, kFieldManager, kFieldValidation};
const std::vector<Param> kPatchParams = {kDryRun, kFieldManager, kFieldValidation, kForce};
const std::vector<Param> kDeleteParams = {kDryRun, kGracePeriod, kOrphan, kPropagation};
const std::vector<Param> kListParams = {
    kBookmarks, kContinue, kFieldSelector, kLabelSelector, kLimit, kResourceVersion,
    kResourceVersionMatch, kSendInitialEvents, kTimeoutSeconds, kWatch};
const std::vector<Param> kDeleteCollectionParams = {
    kContinue, kDryRun, kFieldSelector, kGracePeriod, kLabelSelector, kLimit, kOrphan,
    kPropagation, kResourceVersion, kResourceVersionMatch, kSendInitialEvents, kTimeoutSeconds};
// clang-format on

enum class Body { None, Object, Patch, DeleteOptions };
enum class Reply { Object, List, Status };

struct Operation {
  const char* method;   // get, post, put, patch, delete
  const char* action;   // x-kubernetes-action
  const char* idVerb;   // operationId prefix
  const char* summary;  // "%s" is replaced by the kind
  Body body;
  const std::vector<Param>* params;
  Reply reply;
  std::vector<int> codes;
};

const std::vector<Param> kNoParams;

// clang-format off
// method, x-kubernetes-action, operationId verb, summary, body, parameters, reply, codes
const Operation kRead{"get", "get", "read", "read the specified %s",
    Body::None, &kNoParams, Reply::Object, {200}};
const Operation kList{"get", "list", "list", "list or watch objects of kind %s",
    Body::None, &kListParams, Reply::List, {200}};
const Operation kCreate{"post", "post", "create", "create a %s",
    Body::Object, &kWriteParams, Reply::Object, {200, 201, 202}};
const Operation kReplace{"put", "put", "replace", "replace the specified %s",
    Body::Object, &kWriteParams, Reply::Object, {200, 201}};
const Operation kPatch{"patch", "patch", "patch", "partially update the specified %s",
    Body::Patch, &kPatchParams, Reply::Object, {200, 201}};
const Operation kDelete{"delete", "delete", "delete", "delete a %s",
    Body::DeleteOptions, &kDeleteParams, Reply::Status, {200, 202}};
const Operation kDeleteCollection{"delete", "deletecollection", "deleteCollection",
    "delete collection of %s", Body::DeleteOptions, &kDeleteCollectionParams, Reply::Status, {200}};
// clang-format on

// One URL shape of a resource and the operations served there.
struct PathShape {
  bool item;           // ends in /{name}
  bool allNamespaces;  // the cross-namespace list of a namespaced kind
  const char* subresource;
  std::vector<const Operation*> ops;
};

const std::vector<PathShape>& pathShapes() {
  static const std::vector<PathShape> shapes = {
      {false, false, "", {&kList, &kCreate, &kDeleteCollection}},
      {true, false, "", {&kRead, &kReplace, &kPatch, &kDelete}},
      {false, true, "", {&kList}},
      {true, false, "status", {&kRead, &kReplace, &kPatch}},
  };
  return shapes;
}

// "coordination.k8s.io" v1 → "CoordinationV1"; the core group is "Core".
std::string groupVersionWord(const KindInfo& k) {
  std::string g = k.group.empty() ? "core" : k.group.substr(0, k.group.find('.'));
  std::string v = k.version;
  g[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(g[0])));
  v[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(v[0])));
  return g + v;
}

std::string tag(const KindInfo& k) {
  std::string g = k.group.empty() ? "core" : k.group.substr(0, k.group.find('.'));
  return g + "_" + k.version;
}

std::string groupVersionPath(const KindInfo& k) {
  return k.group.empty() ? "api/" + k.version : "apis/" + k.group + "/" + k.version;
}

std::string operationId(const Operation& op, const PathShape& shape, const KindInfo& k) {
  std::string id = op.idVerb;
  std::string gv = groupVersionWord(k);
  if (id == "deleteCollection") {
    id = "delete" + gv + "Collection";
  } else {
    id += gv;
  }
  if (k.namespaced && !shape.allNamespaces) id += "Namespaced";
  id += k.kind;
  if (*shape.subresource) {
    std::string sub = shape.subresource;
    sub[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(sub[0])));
    id += sub;
  }
  if (shape.allNamespaces) id += "ForAllNamespaces";
  return id;
}

json parameter(Flavor fl, const Param& p, const char* in, bool required) {
  json s = {{"type", p.type}};
  if (std::string_view(p.type) == "string" && std::string_view(in) == "query") {
    s["uniqueItems"] = true;
  }
  json out = {{"name", p.name}, {"in", in}, {"description", p.description}};
  if (required) out["required"] = true;
  if (fl == Flavor::V2) {
    out.update(s);
  } else {
    out["schema"] = std::move(s);
  }
  return out;
}

std::vector<std::string> consumes(Body body) {
  if (body == Body::Patch) {
    return {"application/json-patch+json", "application/merge-patch+json",
            "application/strategic-merge-patch+json", "application/apply-patch+yaml"};
  }
  return {"*/*"};
}

std::vector<std::string> produces(const Operation& op) {
  if (op.reply == Reply::List) {
    return {"application/json", "application/yaml", "application/json;stream=watch"};
  }
  return {"application/json", "application/yaml"};
}

json bodySchema(Flavor fl, Body body, const KindInfo& k) {
  switch (body) {
    case Body::Object:
      return ref(fl, definitionName(k.schemaType));
    case Body::Patch:
      return ref(fl, kPatchDef);
    case Body::DeleteOptions:
      return ref(fl, definitionName("meta.v1.DeleteOptions"));
    case Body::None:
      break;
  }
  return nullptr;
}

json replySchema(Flavor fl, Reply reply, const KindInfo& k) {
  switch (reply) {
    case Reply::Object:
      return ref(fl, definitionName(k.schemaType));
    case Reply::List:
      return ref(fl, listDefinitionName(k));
    case Reply::Status:
      break;
  }
  return ref(fl, definitionName("meta.v1.Status"));
}

json responses(Flavor fl, const Operation& op, const KindInfo& k) {
  static const std::map<int, const char*> kText = {
      {200, "OK"}, {201, "Created"}, {202, "Accepted"}};
  json out = {{"401", {{"description", "Unauthorized"}}}};
  json schema = replySchema(fl, op.reply, k);
  for (int code : op.codes) {
    json r = {{"description", kText.at(code)}};
    if (fl == Flavor::V2) {
      r["schema"] = schema;
    } else {
      for (const auto& mime : produces(op)) r["content"][mime]["schema"] = schema;
    }
    out[std::to_string(code)] = std::move(r);
  }
  return out;
}

json operation(Flavor fl, const Operation& op, const PathShape& shape, const KindInfo& k) {
  std::string summary = op.summary;
  summary.replace(summary.find("%s"), 2, k.kind);
  json o = {{"description", summary},
            {"operationId", operationId(op, shape, k)},
            {"tags", {tag(k)}},
            {"x-kubernetes-action", op.action},
            {"x-kubernetes-group-version-kind", gvk(k)},
            {"responses", responses(fl, op, k)}};
  json params = json::array();
  // kubectl looks for fieldValidation among the operation's own parameters, not the path's.
  for (const auto& p : *op.params) params.push_back(parameter(fl, p, "query", false));
  if (op.body != Body::None) {
    json schema = bodySchema(fl, op.body, k);
    bool required = op.body != Body::DeleteOptions;
    if (fl == Flavor::V2) {
      json b = {{"name", "body"}, {"in", "body"}, {"schema", schema}};
      if (required) b["required"] = true;
      params.insert(params.begin(), std::move(b));
      o["consumes"] = consumes(op.body);
    } else {
      json content = json::object();
      for (const auto& mime : consumes(op.body)) content[mime]["schema"] = schema;
      o["requestBody"] = {{"content", std::move(content)}, {"required", required}};
    }
  }
  if (fl == Flavor::V2) {
    o["produces"] = produces(op);
    o["schemes"] = {"https"};
  }
  if (!params.empty()) o["parameters"] = std::move(params);
  return o;
}

const Param kNameParam{"name", "string", "The name of the object."};
const Param kNamespaceParam{"namespace", "string", "The namespace of the object."};
const Param kPrettyParam{"pretty", "string", "When \"true\", the output is indented."};

void addPaths(Flavor fl, const KindInfo& k, json& paths) {
  std::string base = "/" + groupVersionPath(k);
  for (const auto& shape : pathShapes()) {
    if (shape.allNamespaces && !k.namespaced) continue;
    if (*shape.subresource && !k.hasSubresource(shape.subresource)) continue;
    bool scoped = k.namespaced && !shape.allNamespaces;
    std::string path = base + (scoped ? "/namespaces/{namespace}/" : "/") + k.resource;
    if (shape.item) path += "/{name}";
    if (*shape.subresource) path += std::string("/") + shape.subresource;
    json item = json::object();
    for (const auto* op : shape.ops) item[op->method] = operation(fl, *op, shape, k);
    json params = json::array();
    if (shape.item) params.push_back(parameter(fl, kNameParam, "path", true));
    if (scoped) params.push_back(parameter(fl, kNamespaceParam, "path", true));
    params.push_back(parameter(fl, kPrettyParam, "query", false));
    item["parameters"] = std::move(params);
    paths[path] = std::move(item);
  }
}

json info() {
  return {{"title", "KubeDesk"}, {"version", "v1.30.0"}};
}

std::string stableHash(const std::string& text) {
  // FNV-1a, 64 bits: the hash only has to change when the document does.
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llX", static_cast<unsigned long long>(h));
  return buf;
}

json v3Document(const KindsRegistry& kinds, const Catalog& catalog, std::string_view gvPath) {
  json paths = json::object();
  for (const auto& k : kinds.served()) {
    if (groupVersionPath(k) == gvPath) addPaths(Flavor::V3, k, paths);
  }
  if (paths.empty()) return nullptr;
  json doc = {{"openapi", "3.0.0"}, {"info", info()}, {"paths", paths}};
  doc["components"]["schemas"] = catalog.closure(paths, Flavor::V3);
  return doc;
}

std::vector<std::string> groupVersionPaths(const KindsRegistry& kinds) {
  std::vector<std::string> out;
  for (const auto& k : kinds.served()) {
    std::string p = groupVersionPath(k);
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  }
  return out;
}

// ---- protobuf encoding of the Swagger document (gnostic openapi.v2) ----

// Appends protobuf fields; proto3 leaves default values out.
class ProtoWriter {
 public:
  void varint(int field, uint64_t v) {
    key(field, 0);
    raw(v);
  }
  void boolean(int field, bool v) {
    if (v) varint(field, 1);
  }
  void bytes(int field, std::string_view v) {
    key(field, 2);
    raw(v.size());
    out_.append(v);
  }
  void string(int field, const json& j, const char* key) {
    if (j.contains(key) && j[key].is_string()) bytes(field, j[key].get<std::string>());
  }
  void strings(int field, const json& j, const char* key) {
    if (!j.contains(key)) return;
    for (const auto& s : j[key]) bytes(field, s.get<std::string>());
  }
  const std::string& str() const { return out_; }

 private:
  void key(int field, int wireType) { raw(static_cast<uint64_t>(field) << 3 | wireType); }
  void raw(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  std::string out_;
};

// NamedAny{name, Any{yaml}}: extension values travel as YAML text, and JSON is YAML.
void vendorExtensions(ProtoWriter& w, int field, const json& j) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.key().starts_with("x-")) continue;
    ProtoWriter any, named;
    any.bytes(2, it->dump());
    named.bytes(1, it.key());
    named.bytes(2, any.str());
    w.bytes(field, named.str());
  }
}

std::string protoSchema(const json& s);

// Properties and Definitions are both lists of NamedSchema.
std::string namedSchemas(const json& map) {
  ProtoWriter w;
  for (auto it = map.begin(); it != map.end(); ++it) {
    ProtoWriter named;
    named.bytes(1, it.key());
    named.bytes(2, protoSchema(*it));
    w.bytes(1, named.str());
  }
  return w.str();
}

std::string protoSchema(const json& s) {
  ProtoWriter w;
  w.string(1, s, "$ref");
  w.string(2, s, "format");
  w.string(4, s, "description");
  w.strings(19, s, "required");
  for (const auto& e : s.value("enum", json::array())) {
    ProtoWriter any;
    any.bytes(2, e.dump());
    w.bytes(20, any.str());
  }
  if (s.contains("additionalProperties")) {
    ProtoWriter item;
    const auto& ap = s["additionalProperties"];
    ap.is_boolean() ? item.boolean(2, ap.get<bool>()) : item.bytes(1, protoSchema(ap));
    w.bytes(21, item.str());
  }
  if (s.contains("type")) {
    ProtoWriter type;
    type.string(1, s, "type");
    w.bytes(22, type.str());
  }
  if (s.contains("items")) {
    ProtoWriter items;
    items.bytes(1, protoSchema(s["items"]));
    w.bytes(23, items.str());
  }
  for (const auto& sub : s.value("allOf", json::array())) w.bytes(24, protoSchema(sub));
  if (s.contains("properties")) w.bytes(25, namedSchemas(s["properties"]));
  vendorExtensions(w, 31, s);
  return w.str();
}

// ParametersItem{Parameter{BodyParameter | NonBodyParameter{Query... | Path...}}}.
std::string protoParameter(const json& p) {
  ProtoWriter param;
  if (p["in"] == "body") {
    ProtoWriter body;
    body.string(2, p, "name");
    body.string(3, p, "in");
    body.boolean(4, p.value("required", false));
    body.bytes(5, protoSchema(p["schema"]));
    param.bytes(1, body.str());
  } else {
    bool path = p["in"] == "path";
    ProtoWriter sub, nonBody;
    sub.boolean(1, p.value("required", false));
    sub.string(2, p, "in");
    sub.string(3, p, "description");
    sub.string(4, p, "name");
    sub.string(path ? 5 : 6, p, "type");
    sub.boolean(path ? 19 : 20, p.value("uniqueItems", false));
    nonBody.bytes(path ? 4 : 3, sub.str());
    param.bytes(2, nonBody.str());
  }
  ProtoWriter item;
  item.bytes(1, param.str());
  return item.str();
}

std::string protoResponses(const json& responses) {
  ProtoWriter w;
  for (auto it = responses.begin(); it != responses.end(); ++it) {
    ProtoWriter response, value, named;
    response.string(1, *it, "description");
    if (it->contains("schema")) {
      ProtoWriter item;
      item.bytes(1, protoSchema((*it)["schema"]));
      response.bytes(2, item.str());
    }
    value.bytes(1, response.str());
    named.bytes(1, it.key());
    named.bytes(2, value.str());
    w.bytes(1, named.str());
  }
  return w.str();
}

std::string protoOperation(const json& op) {
  ProtoWriter w;
  w.strings(1, op, "tags");
  w.string(3, op, "description");
  w.string(5, op, "operationId");
  w.strings(6, op, "produces");
  w.strings(7, op, "consumes");
  for (const auto& p : op.value("parameters", json::array())) w.bytes(8, protoParameter(p));
  w.bytes(9, protoResponses(op["responses"]));
  w.strings(10, op, "schemes");
  vendorExtensions(w, 13, op);
  return w.str();
}

std::string protoPaths(const json& paths) {
  static const std::vector<std::pair<const char*, int>> kMethods = {
      {"get", 2}, {"put", 3}, {"post", 4}, {"delete", 5}, {"patch", 8}};
  ProtoWriter w;
  for (auto it = paths.begin(); it != paths.end(); ++it) {
    ProtoWriter item, named;
    for (const auto& [method, field] : kMethods) {
      if (it->contains(method)) item.bytes(field, protoOperation((*it)[method]));
    }
    for (const auto& p : it->value("parameters", json::array())) item.bytes(9, protoParameter(p));
    named.bytes(1, it.key());
    named.bytes(2, item.str());
    w.bytes(2, named.str());
  }
  return w.str();
}

std::string protoSecurity(const json& doc) {
  ProtoWriter defs;
  for (auto it = doc["securityDefinitions"].begin(); it != doc["securityDefinitions"].end(); ++it) {
    ProtoWriter apiKey, item, named;
    apiKey.string(1, *it, "type");
    apiKey.string(2, *it, "name");
    apiKey.string(3, *it, "in");
    apiKey.string(4, *it, "description");
    item.bytes(2, apiKey.str());
    named.bytes(1, it.key());
    named.bytes(2, item.str());
    defs.bytes(1, named.str());
  }
  return defs.str();
}

}  // namespace

json buildOpenApiV2(const KindsRegistry& kinds, const SchemaRegistry& schemas) {
  Catalog catalog(Flavor::V2, kinds, schemas);
  json paths = json::object();
  for (const auto& k : kinds.served()) addPaths(Flavor::V2, k, paths);
  json definitions = catalog.all();
  definitions.update(catalog.closure(json::array({paths, definitions}), Flavor::V2));
  return {{"swagger", "2.0"},
          {"info", info()},
          {"paths", std::move(paths)},
          {"definitions", std::move(definitions)},
          {"securityDefinitions",
           {{"BearerToken",
             {{"type", "apiKey"},
              {"name", "authorization"},
              {"in", "header"},
              {"description", "A bearer token in the authorization header."}}}}},
          {"security", {{{"BearerToken", json::array()}}}}};
}

json buildOpenApiV3Index(const KindsRegistry& kinds, const SchemaRegistry& schemas) {
  Catalog catalog(Flavor::V3, kinds, schemas);
  json index = {{"paths", json::object()}};
  for (const auto& p : groupVersionPaths(kinds)) {
    std::string hash = stableHash(v3Document(kinds, catalog, p).dump());
    index["paths"][p] = {{"serverRelativeURL", "/openapi/v3/" + p + "?hash=" + hash}};
  }
  return index;
}

std::string encodeOpenApiV2Protobuf(const json& swagger) {
  ProtoWriter w;
  w.string(1, swagger, "swagger");
  ProtoWriter info;
  info.string(1, swagger["info"], "title");
  info.string(2, swagger["info"], "version");
  w.bytes(2, info.str());
  w.bytes(8, protoPaths(swagger["paths"]));
  w.bytes(9, namedSchemas(swagger["definitions"]));
  for (const auto& requirement : swagger.value("security", json::array())) {
    ProtoWriter req;
    for (auto it = requirement.begin(); it != requirement.end(); ++it) {
      ProtoWriter scopes, named;
      scopes.strings(1, requirement, it.key().c_str());
      named.bytes(1, it.key());
      named.bytes(2, scopes.str());
      req.bytes(1, named.str());
    }
    w.bytes(12, req.str());
  }
  if (swagger.contains("securityDefinitions")) w.bytes(13, protoSecurity(swagger));
  return w.str();
}

Result<json> buildOpenApiV3(const KindsRegistry& kinds, const SchemaRegistry& schemas,
                            std::string_view groupVersionPath) {
  Catalog catalog(Flavor::V3, kinds, schemas);
  json doc = v3Document(kinds, catalog, groupVersionPath);
  if (doc.is_null()) {
    return Status::notFound("no OpenAPI v3 document for \"" + std::string(groupVersionPath) + "\"");
  }
  return doc;
}

}  // namespace kd::api

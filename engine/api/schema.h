#pragma once
// The schema registry: a description of every type the engine serves, field by field, in our
// own words. One table drives strict field validation, defaulting lookups, strategic merge
// patch (merge keys and strategies), `kubectl explain` and the served OpenAPI v2/v3 documents.
//
// Type names are "<package>.<version>.<Name>": "core.v1.Container", "apps.v1.DeploymentSpec",
// "meta.v1.ObjectMeta". A field's type is written the Go way:
//   scalars   string, integer (int32), int64, number, boolean, byte (base64 string),
//             IntOrString, Quantity ("500m", "1Gi" or a number), Time (RFC 3339), MicroTime,
//             RawJSON (any JSON value, kept as is)
//   []T       a list of T                map[string]T   an object with free keys, values T
//   Name      a named type from this registry
// The registry is immutable after construction and safe to read from any thread.

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kd::api {

struct FieldDef {
  std::string name;
  std::string type;
  std::string description;
  bool required = false;
  // Strategic merge patch (x-kubernetes-patch-strategy, x-kubernetes-patch-merge-key).
  std::string patchStrategy;  // "", "merge", "replace", "retainKeys", "merge,retainKeys"
  std::string patchMergeKey;  // the key that identifies list items, e.g. "name", "containerPort"
  // Server-side apply list semantics (x-kubernetes-list-type, x-kubernetes-list-map-keys).
  std::string listType;  // "", "atomic", "set", "map"
  std::vector<std::string> listMapKeys;
  std::vector<std::string> enumValues;  // the values a string field accepts, when closed

  // Builders, so schema tables read as one line per field.
  FieldDef& req() {
    required = true;
    return *this;
  }
  // A list merged by key under strategic merge patch and keyed as a map list.
  FieldDef& mergeKey(std::string key, std::vector<std::string> mapKeys = {}) {
    patchStrategy = "merge";
    patchMergeKey = key;
    listType = "map";
    listMapKeys = mapKeys.empty() ? std::vector<std::string>{key} : std::move(mapKeys);
    return *this;
  }
  FieldDef& strategy(std::string s) {
    patchStrategy = std::move(s);
    return *this;
  }
  FieldDef& list(std::string type) {
    listType = std::move(type);
    return *this;
  }
  FieldDef& oneOf(std::vector<std::string> values) {
    enumValues = std::move(values);
    return *this;
  }
};

inline FieldDef field(std::string name, std::string type, std::string description) {
  FieldDef f;
  f.name = std::move(name);
  f.type = std::move(type);
  f.description = std::move(description);
  return f;
}

struct TypeDef {
  std::string name;  // "core.v1.Container"
  std::string description;
  std::vector<FieldDef> fields;
  bool preserveUnknownFields = false;  // fields not listed are kept and never reported unknown

  const FieldDef* field(std::string_view fieldName) const;
};

// A parsed FieldDef::type.
struct TypeExpr {
  enum class Shape { Scalar, Array, Map, Named };
  Shape shape = Shape::Scalar;
  std::string name;  // Scalar: the scalar name; Array/Map: the element type; Named: type name

  static TypeExpr parse(std::string_view type);
  static bool isScalar(std::string_view name);
};

class SchemaRegistry {
 public:
  // Every type of every kind in KindsRegistry::builtin(), plus the meta.v1 types they share.
  static const SchemaRegistry& builtin();

  explicit SchemaRegistry(std::vector<TypeDef> types);

  const TypeDef* type(std::string_view name) const;
  const std::vector<TypeDef>& all() const { return types_; }

  // Follows a dotted field path from a root type ("apps.v1.Deployment",
  // "spec.template.spec.containers") through named types and list/map elements. Returns the
  // last field, or nullptr when a segment is unknown.
  const FieldDef* resolvePath(std::string_view rootType, std::string_view dottedPath) const;

  // The named type a field's values have, looking through []T and map[string]T; "" for scalars.
  static std::string elementTypeName(const FieldDef& f);

 private:
  std::vector<TypeDef> types_;
  std::map<std::string, size_t, std::less<>> index_;
};

// Each schema file contributes its package's types.
void addMetaV1Types(std::vector<TypeDef>& out);
void addCoreV1Types(std::vector<TypeDef>& out);
void addAppsV1Types(std::vector<TypeDef>& out);
void addBatchV1Types(std::vector<TypeDef>& out);
void addAutoscalingV1Types(std::vector<TypeDef>& out);
void addAutoscalingV2Types(std::vector<TypeDef>& out);
void addAuthenticationV1Types(std::vector<TypeDef>& out);
void addCoordinationV1Types(std::vector<TypeDef>& out);
void addDiscoveryV1Types(std::vector<TypeDef>& out);
void addEventsV1Types(std::vector<TypeDef>& out);
void addStorageV1Types(std::vector<TypeDef>& out);

}  // namespace kd::api

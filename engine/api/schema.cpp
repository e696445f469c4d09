#include "engine/api/schema.h"

#include <array>

namespace kd::api {

const FieldDef* TypeDef::field(std::string_view fieldName) const {
  for (const auto& f : fields) {
    if (f.name == fieldName) return &f;
  }
  return nullptr;
}

bool TypeExpr::isScalar(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kScalars = {
      "string",      "integer",  "int64", "number",    "boolean", "byte",
      "IntOrString", "Quantity", "Time",  "MicroTime", "RawJSON", "Duration"};
  for (auto s : kScalars) {
    if (s == name) return true;
  }
  return false;
}

TypeExpr TypeExpr::parse(std::string_view type) {
  TypeExpr e;
  if (type.starts_with("[]")) {
    e.shape = Shape::Array;
    e.name = std::string(type.substr(2));
  } else if (type.starts_with("map[string]")) {
    e.shape = Shape::Map;
    e.name = std::string(type.substr(11));
  } else if (isScalar(type)) {
    e.shape = Shape::Scalar;
    e.name = std::string(type);
  } else {
    e.shape = Shape::Named;
    e.name = std::string(type);
  }
  return e;
}

SchemaRegistry::SchemaRegistry(std::vector<TypeDef> types) : types_(std::move(types)) {
  for (size_t i = 0; i < types_.size(); ++i) index_[types_[i].name] = i;
}

const TypeDef* SchemaRegistry::type(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &types_[it->second];
}

std::string SchemaRegistry::elementTypeName(const FieldDef& f) {
  std::string t = f.type;
  for (;;) {
    TypeExpr e = TypeExpr::parse(t);
    if (e.shape == TypeExpr::Shape::Scalar) return "";
    if (e.shape == TypeExpr::Shape::Named) return e.name;
    t = e.name;
  }
}

const FieldDef* SchemaRegistry::resolvePath(std::string_view rootType,
                                            std::string_view dottedPath) const {
  const TypeDef* current = type(rootType);
  const FieldDef* last = nullptr;
  while (current && !dottedPath.empty()) {
    size_t dot = dottedPath.find('.');
    std::string_view segment = dottedPath.substr(0, dot);
    dottedPath = dot == std::string_view::npos ? std::string_view{} : dottedPath.substr(dot + 1);
    last = current->field(segment);
    if (!last) return nullptr;
    std::string next = elementTypeName(*last);
    current = next.empty() ? nullptr : type(next);
    if (!current && !dottedPath.empty()) return nullptr;
  }
  return last;
}

}  // namespace kd::api

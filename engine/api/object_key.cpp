#include "engine/api/object_key.h"

namespace kd::api {

const json& metadataOf(const json& obj) {
  static const json kEmpty = json::object();
  auto it = obj.find("metadata");
  return it != obj.end() && it->is_object() ? *it : kEmpty;
}

std::string_view stringAt(const json& obj, const char* outer, const char* inner) {
  const auto o = obj.find(outer);
  if (o == obj.end() || !o->is_object()) return {};
  const auto i = o->find(inner);
  if (i == o->end() || !i->is_string()) return {};
  return i->get_ref<const std::string&>();
}

std::string objectKey(std::string_view ns, std::string_view name) {
  if (ns.empty()) return std::string(name);
  std::string key(ns);
  key += '/';
  key += name;
  return key;
}

std::string objectKey(const json& obj) {
  const json& meta = metadataOf(obj);
  return objectKey(meta.value("namespace", ""), meta.value("name", ""));
}

std::pair<std::string, std::string> splitObjectKey(std::string_view key) {
  const auto slash = key.find('/');
  if (slash == std::string_view::npos) return {"", std::string(key)};
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

}  // namespace kd::api

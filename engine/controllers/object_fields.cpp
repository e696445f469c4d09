#include "engine/controllers/object_fields.h"

namespace kd::controllers {

const json& fieldOf(const json& obj, const char* name) {
  static const json empty = json::object();
  if (!obj.is_object()) return empty;
  auto it = obj.find(name);
  return it != obj.end() && it->is_object() ? *it : empty;
}

std::string nameOf(const json& obj) {
  return fieldOf(obj, "metadata").value("name", "");
}

std::string namespaceOf(const json& obj) {
  return fieldOf(obj, "metadata").value("namespace", "");
}

bool beingDeleted(const json& obj) {
  return fieldOf(obj, "metadata").contains("deletionTimestamp");
}

Status writeStatusIfChanged(server::ObjectService& objects, const api::KindInfo& kind,
                            const json& obj, json status) {
  if (fieldOf(obj, "status") == status) return {};
  json body = obj;
  body["status"] = std::move(status);
  server::WriteOptions options;
  options.subresource = "status";
  auto written = objects.update(kind, namespaceOf(obj), nameOf(obj), std::move(body), options);
  return written.ok() || written.status().code() == 404 ? Status() : written.status();
}

}  // namespace kd::controllers

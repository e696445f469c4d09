// libFuzzer target for the admission path of engine/api: parseJson, then for a few kinds what
// ObjectService does with a create body (schema validation, defaulting, kind validation) and an
// update against the defaulted object itself. The body is first given the shape the server
// guarantees before admission (an object with apiVersion, kind and an object metadata), so the
// fuzzer spends its time inside validation rather than on bodies the server turns away earlier.
// Nothing may crash, hang or throw.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/api/defaulting.h"
#include "engine/api/kinds.h"
#include "engine/api/validation.h"
#include "engine/api/yaml_json.h"

namespace {

using kd::json;
using kd::api::FieldValidation;
using kd::api::KindInfo;

const std::vector<const KindInfo*>& fuzzedKinds() {
  static const std::vector<const KindInfo*> kinds = [] {
    const auto& registry = kd::api::KindsRegistry::builtin();
    std::vector<const KindInfo*> out;
    for (auto [apiVersion, kind] :
         std::array<std::pair<std::string_view, std::string_view>, 4>{{{"v1", "Pod"},
                                                                       {"apps/v1", "Deployment"},
                                                                       {"v1", "Service"},
                                                                       {"batch/v1", "CronJob"}}}) {
      out.push_back(registry.byKind(apiVersion, kind));
    }
    return out;
  }();
  return kinds;
}

void admit(const KindInfo& kind, json object) {
  object["apiVersion"] = kind.apiVersion();
  object["kind"] = kind.kind;
  if (!object.contains("metadata") || object["metadata"].is_null())
    object["metadata"] = json::object();
  if (!object["metadata"].is_object()) return;

  const auto& schemas = kd::api::SchemaRegistry::builtin();
  std::vector<std::string> warnings;
  (void)kd::api::validateAgainstSchema(kind, object, FieldValidation::Strict, schemas, &warnings);
  if (!kd::api::validateAgainstSchema(kind, object, FieldValidation::Ignore, schemas, &warnings)
           .isOk()) {
    return;
  }
  kd::api::applyDefaults(kind, object);
  (void)kd::api::validateObject(kind, object, nullptr);
  (void)kd::api::validateObject(kind, object, &object);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = kd::api::parseJson(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!parsed.ok() || !parsed->is_object()) return 0;
  for (const KindInfo* kind : fuzzedKinds()) admit(*kind, *parsed);
  return 0;
}

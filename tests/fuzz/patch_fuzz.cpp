// libFuzzer target for engine/api/patch: the first half of the input is the original document,
// the second half the patch (or, for the three-way patch, the new manifest). Every patch type runs
// with no schema and with the real Pod schema; nothing may crash, hang or throw.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/api/patch.h"

namespace {

using kd::json;
using kd::api::PatchType;
using kd::api::SchemaRegistry;

json parseQuietly(std::string_view text) {
  return json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
}

// Serialising the result also walks it; invalid UTF-8 cannot occur since the parser rejects it.
void consume(const kd::Result<json>& result) {
  if (result.ok()) (void)result->dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  json original = parseQuietly(input.substr(0, size / 2));
  json patch = parseQuietly(input.substr(size / 2));
  if (original.is_discarded() || patch.is_discarded()) return 0;

  const SchemaRegistry& schemas = SchemaRegistry::builtin();
  for (std::string_view typeName : {std::string_view{}, std::string_view{"core.v1.Pod"}}) {
    for (PatchType type : {PatchType::Json, PatchType::Merge, PatchType::StrategicMerge}) {
      consume(kd::api::applyPatch(type, original, patch, schemas, typeName));
    }
    // Last applied = live = original, manifest = patch; then apply what kubectl would send.
    auto threeWay = kd::api::createThreeWayMergePatch(original, patch, original, schemas, typeName);
    if (threeWay.ok()) {
      consume(
          kd::api::applyPatch(PatchType::StrategicMerge, original, *threeWay, schemas, typeName));
    }
  }
  return 0;
}

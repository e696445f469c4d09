// libFuzzer target for engine/api/yaml_json: any input goes through parseYamlDocuments and
// parseDocument, and every document that parses must survive a round trip through toYaml: the
// YAML we print must parse back to exactly the same JSON. A mismatch aborts with both values, so
// libFuzzer keeps the input like any other crash.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/api/yaml_json.h"

namespace {

using kd::json;

// dump() throws on strings that are not UTF-8; a finding still needs printing.
std::string show(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

[[noreturn]] void roundTripMismatch(const json& document, const std::string& yaml,
                                    const std::string& reparsed) {
  std::fprintf(stderr,
               "toYaml round trip changed the document\nparsed:   %s\nyaml:\n%s\nreparsed: %s\n",
               show(document).c_str(), yaml.c_str(), reparsed.c_str());
  std::abort();
}

void checkRoundTrip(const json& document) {
  std::string yaml = kd::api::toYaml(document);
  auto again = kd::api::parseDocument(yaml);
  if (!again.ok()) roundTripMismatch(document, yaml, "error: " + again.status().message());
  if (*again != document) roundTripMismatch(document, yaml, show(*again));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto documents = kd::api::parseYamlDocuments(input);
  if (documents.ok()) {
    for (const json& document : *documents) checkRoundTrip(document);
  }
  auto single = kd::api::parseDocument(input);
  if (single.ok()) checkRoundTrip(*single);
  return 0;
}

// libFuzzer target for engine/api/yaml_json: any input goes through parseYamlDocuments and
// parseDocument, and every document that parses must survive a round trip through toYaml: the
// YAML we print must parse back to exactly the same JSON. A mismatch aborts with both values, so
// libFuzzer keeps the input like any other crash.

#include <algorithm>
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

// Not checked: Unicode noncharacters (U+FDD0..U+FDEF and U+xFFFE/U+xFFFF), which yaml-cpp's
// emitter, once behind toYaml, replaced with U+FFFD; toYaml's own emitter has not been fuzzed
// with them yet.
bool isNoncharacter(char32_t c) {
  return (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE;
}

// Strings that parsed are valid UTF-8 (parseYamlDocuments refuses the rest).
bool hasNoncharacter(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto lead = static_cast<unsigned char>(s[i]);
    const size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    char32_t c = length == 1 ? lead : lead & (0x7F >> length);
    for (size_t k = 1; k < length && i + k < s.size(); ++k) c = (c << 6) | (s[i + k] & 0x3F);
    if (isNoncharacter(c)) return true;
    i += length;
  }
  return false;
}

bool mentionsNoncharacter(const json& value) {
  if (value.is_string()) return hasNoncharacter(value.get_ref<const std::string&>());
  if (value.is_array()) return std::any_of(value.begin(), value.end(), mentionsNoncharacter);
  if (!value.is_object()) return false;
  for (const auto& [key, item] : value.items()) {
    if (hasNoncharacter(key) || mentionsNoncharacter(item)) return true;
  }
  return false;
}

void checkRoundTrip(const json& document) {
  if (mentionsNoncharacter(document)) return;
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

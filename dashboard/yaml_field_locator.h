#pragma once
// Finds where a field named by an API error lives in the YAML a person typed, so the editor
// can mark the line: "spec.template.spec.containers[0].image" in document `doc` of `text`.

#include <string>
#include <string_view>

namespace kd::dashboard {

// The 0-based line of the field, or of the deepest part of the path that exists (an unknown
// or missing field is marked where its parent is); -1 when the document cannot be read.
int lineOfField(const std::string& text, size_t doc, std::string_view fieldPath);

}  // namespace kd::dashboard

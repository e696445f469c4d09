#pragma once
// Splitting text on a separator, keeping empty pieces: "a,,b" -> {"a", "", "b"}, "" -> {""}.
// The pieces view `s`, which must outlive them.

#include <string_view>
#include <vector>

namespace kd::api {

inline std::vector<std::string_view> splitOn(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (size_t begin = 0;;) {
    const size_t at = s.find(sep, begin);
    parts.push_back(s.substr(begin, at == std::string_view::npos ? at : at - begin));
    if (at == std::string_view::npos) return parts;
    begin = at + 1;
  }
}

}  // namespace kd::api

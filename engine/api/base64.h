#pragma once
// Base64 with the standard alphabet and padding, as Go's encoding/json writes []byte (Secret
// data, kubeconfig *-data fields, continue tokens).

#include <optional>
#include <string>
#include <string_view>

namespace kd::api {

std::string base64Encode(std::string_view in);
// Line breaks and spaces are ignored; anything else outside the alphabet is an error.
std::optional<std::string> base64Decode(std::string_view in);

}  // namespace kd::api

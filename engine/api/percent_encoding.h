#pragma once
// Percent-encoding of URL query values and path segments (RFC 3986): everything but the
// unreserved characters A-Z a-z 0-9 - . _ ~ becomes %XX.

#include <string>
#include <string_view>

namespace kd::api {

std::string percentEncode(std::string_view s);

}  // namespace kd::api

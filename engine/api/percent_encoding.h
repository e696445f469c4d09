#pragma once
// Percent-encoding of URL query values and path segments (RFC 3986): everything but the
// unreserved characters A-Z a-z 0-9 - . _ ~ becomes %XX.

#include <string>
#include <string_view>

namespace kd::api {

std::string percentEncode(std::string_view s);

// The reverse: %XX to its byte, and '+' to a space when `plusIsSpace` (a query's keys and
// values; not a path); a malformed escape stays as it is.
std::string percentDecode(std::string_view s, bool plusIsSpace = true);

}  // namespace kd::api

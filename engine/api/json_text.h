#pragma once
// An object's JSON text, exactly as json::dump() writes it (no indentation, keys in the
// object's order, UTF-8 kept as it is, invalid UTF-8 an exception), only faster: the store
// serializes every object it writes, and nlohmann's serializer spends most of its time
// pushing characters through a virtual output adapter and a UTF-8 decoder even for plain
// ASCII. Strings that hold bytes above 0x7F, floating-point numbers and binary values are
// handed to json::dump() itself, so those keep its exact spelling and checks.

#include <string>

#include "engine/api/status.h"

namespace kd::api {

std::string jsonText(const json& value);
// Appends the text of `value` to `out`.
void appendJsonText(std::string& out, const json& value);

}  // namespace kd::api

#include "engine/api/json_text.h"

#include <array>
#include <charconv>

namespace kd::api {
namespace {

// Bytes a string's text cannot copy as they are: quotes, backslashes and control characters
// (escaped) and bytes above 0x7F (UTF-8, left to dump()).
constexpr auto kSpecial = [] {
  std::array<bool, 256> special{};
  for (int c = 0; c < 256; ++c) special[size_t(c)] = c < 0x20 || c == '"' || c == '\\' || c > 0x7F;
  return special;
}();

// Appends `s` quoted and escaped as json::dump() does; false (and `out` as it was) when `s`
// holds a byte above 0x7F, which needs dump()'s UTF-8 validation.
bool appendAsciiString(std::string& out, const std::string& s) {
  const size_t before = out.size();
  out.push_back('"');
  const char* const data = s.data();
  size_t run = 0;  // start of the characters not yet appended
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    if (!kSpecial[c]) continue;
    if (c > 0x7F) {
      out.resize(before);
      return false;
    }
    out.append(data + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(escaped, sizeof escaped);
      }
    }
  }
  out.append(data + run, s.size() - run);
  out.push_back('"');
  return true;
}

template <class Integer>
void appendInteger(std::string& out, Integer v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

void appendJsonText(std::string& out, const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      out += "null";
      return;
    case json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case json::value_t::number_integer:
      appendInteger(out, value.get<json::number_integer_t>());
      return;
    case json::value_t::number_unsigned:
      appendInteger(out, value.get<json::number_unsigned_t>());
      return;
    case json::value_t::string:
      if (!appendAsciiString(out, value.get_ref<const std::string&>())) out += value.dump();
      return;
    case json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const json& item : value.get_ref<const json::array_t&>()) {
        if (!first) out.push_back(',');
        first = false;
        appendJsonText(out, item);
      }
      out.push_back(']');
      return;
    }
    case json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, member] : value.get_ref<const json::object_t&>()) {
        if (!first) out.push_back(',');
        first = false;
        if (!appendAsciiString(out, key)) out += json(key).dump();
        out.push_back(':');
        appendJsonText(out, member);
      }
      out.push_back('}');
      return;
    }
    default:  // floating point, binary, discarded: dump()'s own spelling
      out += value.dump();
      return;
  }
}

std::string jsonText(const json& value) {
  // Written into a reused buffer, then copied once at its exact size: no growing string
  // reallocated on the way, and no capacity left over in objects the store keeps.
  thread_local std::string scratch;
  scratch.clear();
  appendJsonText(scratch, value);
  std::string out(scratch);
  // Kept for the next call unless it grew for a big object: each thread keeps at most 64 KiB.
  if (scratch.capacity() > 64 * 1024) std::string().swap(scratch);
  return out;
}

}  // namespace kd::api

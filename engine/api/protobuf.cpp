#include "engine/api/protobuf.h"

#include "engine/api/base64.h"

#include <array>
#include <bit>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace kd::api {
namespace {

constexpr std::string_view kMagic{"k8s\0", 4};
constexpr int kMaxDepth = 64;
// Embedded JSON (FieldsV1, RawExtension) is bounded too: nlohmann's dump() recurses per level.
constexpr int kMaxJsonDepth = 128;

enum Wire : int { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };

// One field as it appeared on the wire: a number for varint/fixed kinds, bytes for kBytes.
struct WireValue {
  int wire = kVarint;
  uint64_t scalar = 0;
  std::string_view bytes;
};

class Reader {
 public:
  explicit Reader(std::string_view buf) : buf_(buf) {}
  bool atEnd() const { return pos_ >= buf_.size(); }

  bool varint(uint64_t& out) {
    out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (atEnd()) return false;
      auto b = static_cast<uint8_t>(buf_[pos_++]);
      out |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;  // more than 10 bytes
  }

  bool fixed(size_t width, uint64_t& out) {
    if (buf_.size() - pos_ < width) return false;
    out = 0;
    for (size_t i = 0; i < width; ++i) {
      out |= static_cast<uint64_t>(static_cast<uint8_t>(buf_[pos_ + i])) << (8 * i);
    }
    pos_ += width;
    return true;
  }

  bool bytes(std::string_view& out) {
    uint64_t len = 0;
    if (!varint(len) || len > buf_.size() - pos_) return false;
    out = buf_.substr(pos_, static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return true;
  }

  // Reads the next tag and its value; the error names what was malformed.
  Status field(int& number, WireValue& v) {
    uint64_t tag = 0;
    if (!varint(tag)) return Status::badRequest("truncated field tag");
    if ((tag >> 3) == 0 || (tag >> 3) > 536870911) {
      return Status::badRequest("invalid field number " + std::to_string(tag >> 3));
    }
    number = static_cast<int>(tag >> 3);
    v.wire = static_cast<int>(tag & 7);
    bool ok = false;
    switch (v.wire) {
      case kVarint:
        ok = varint(v.scalar);
        break;
      case kFixed64:
        ok = fixed(8, v.scalar);
        break;
      case kBytes:
        ok = bytes(v.bytes);
        break;
      case kFixed32:
        ok = fixed(4, v.scalar);
        break;
      default:
        return Status::badRequest("field " + std::to_string(number) +
                                  " uses unsupported wire type " + std::to_string(v.wire));
    }
    if (!ok) return Status::badRequest("truncated value of field " + std::to_string(number));
    return Status::ok();
  }

 private:
  std::string_view buf_;
  size_t pos_ = 0;
};

bool validUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<uint8_t>(s[i]);
    size_t extra = c < 0x80           ? 0
                   : (c >> 5) == 0x6  ? 1
                   : (c >> 4) == 0xe  ? 2
                   : (c >> 3) == 0x1e ? 3
                                      : 9;
    if (extra == 9 || s.size() - i <= extra) return extra == 0;
    uint32_t cp = extra == 0 ? c : c & (0x3f >> extra);
    for (size_t k = 1; k <= extra; ++k) {
      auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr std::array<uint32_t, 4> kMin = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

bool jsonDepthWithin(std::string_view text, int limit) {
  int depth = 0;
  bool inString = false, escaped = false;
  for (char c : text) {
    if (inString) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        inString = false;
      }
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

// RFC 3339 in UTC, as Go prints metav1.Time (seconds) and metav1.MicroTime (6 fraction digits).
Result<std::string> rfc3339(int64_t seconds, int64_t nanos, bool micro) {
  // 0001-01-01 .. 9999-12-31, the years RFC 3339 can write.
  if (seconds < -62135596800LL || seconds > 253402300799LL || nanos < 0 || nanos > 999999999) {
    return Status::badRequest("timestamp out of range: " + std::to_string(seconds) + "s " +
                              std::to_string(nanos) + "ns");
  }
  int64_t days = seconds / 86400, rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
  int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  int64_t day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
  int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  std::array<char, 40> buf{};
  int n = std::snprintf(buf.data(), buf.size(), "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld",
                        static_cast<long long>(year), static_cast<long long>(month),
                        static_cast<long long>(day), static_cast<long long>(rem / 3600),
                        static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
  std::string out(buf.data(), static_cast<size_t>(n));
  if (micro) {
    std::snprintf(buf.data(), buf.size(), ".%06lld", static_cast<long long>(nanos / 1000));
    out += buf.data();
  }
  return out + "Z";
}

class Decoder {
 public:
  explicit Decoder(const SchemaRegistry& schema) : schema_(schema) {}

  // Decodes one message of `table` type into `out`, resolving JSON field types in `schemaType`
  // (nullptr for types only the proto table knows; inline messages pass their parent's).
  Status message(std::string_view bytes, std::string_view table, const TypeDef* schemaType,
                 json& out, int depth, const std::string& path);

 private:
  Status field(const ProtoMessage& msg, const ProtoField& pf, const WireValue& v,
               const TypeDef* schemaType, json& out, int depth, const std::string& path);
  Result<json> value(const std::string& type, const WireValue& v, int depth,
                     const std::string& path);
  Result<json> scalar(const std::string& type, const WireValue& v, const std::string& path);
  Result<json> wrapped(const std::string& type, std::string_view bytes, const std::string& path);
  Status mapEntry(const std::string& valueType, std::string_view bytes, json& out, int depth,
                  const std::string& path);
  Status packed(const std::string& type, std::string_view bytes, json& out,
                const std::string& path);

  const SchemaRegistry& schema_;
};

Status bad(const std::string& path, const std::string& what) {
  return Status::badRequest(path.empty() ? what : what + " (at " + path + ")");
}

std::string join(const std::string& path, std::string_view name) {
  if (name.empty()) return path;
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}

// Scalars that travel as varints or fixed numbers, so lists of them may arrive packed.
bool isNumeric(std::string_view type) {
  return type == "integer" || type == "int64" || type == "boolean" || type == "number";
}

bool isZero(const json& v) {
  return (v.is_string() && v.get_ref<const std::string&>().empty()) || (v.is_number() && v == 0) ||
         (v.is_boolean() && !v.get<bool>());
}

Status Decoder::message(std::string_view bytes, std::string_view table, const TypeDef* schemaType,
                        json& out, int depth, const std::string& path) {
  if (depth > kMaxDepth) {
    return bad(path, "protobuf message nested deeper than " + std::to_string(kMaxDepth));
  }
  const ProtoMessage* msg = protoMessage(table);
  if (msg == nullptr) return bad(path, "no protobuf field numbers for " + std::string(table));
  if (!out.is_object()) out = json::object();
  Reader r(bytes);
  while (!r.atEnd()) {
    int number = 0;
    WireValue v;
    if (Status s = r.field(number, v); !s)
      return bad(path, s.message() + " in " + std::string(msg->type));
    const ProtoField* pf = msg->byNumber(number);
    if (pf == nullptr) {
      return bad(path, "field number " + std::to_string(number) + " of " + std::string(msg->type) +
                           " is not known to this server");
    }
    if (Status s = field(*msg, *pf, v, schemaType, out, depth, path); !s) return s;
  }
  return Status::ok();
}

Status Decoder::field(const ProtoMessage& msg, const ProtoField& pf, const WireValue& v,
                      const TypeDef* schemaType, json& out, int depth, const std::string& path) {
  if (pf.flags & kProtoInline) {
    if (v.wire != kBytes)
      return bad(path, "embedded " + std::string(pf.type) + " is not a message");
    return message(v.bytes, pf.type, schemaType, out, depth + 1, path);
  }
  std::string type(pf.type);
  if (type.empty()) {
    const FieldDef* fd = schemaType != nullptr ? schemaType->field(pf.json) : nullptr;
    if (fd == nullptr) {
      return bad(
          path, "the schema has no type for " + std::string(msg.type) + "." + std::string(pf.json));
    }
    type = fd->type;
  }
  std::string at = join(path, pf.json);
  std::string key(pf.json);
  TypeExpr te = TypeExpr::parse(type);
  if (te.shape == TypeExpr::Shape::Map) {
    if (v.wire != kBytes) return bad(at, "map entry is not a message");
    if (!out[key].is_object()) out[key] = json::object();
    return mapEntry(te.name, v.bytes, out[key], depth, at);
  }
  if (te.shape == TypeExpr::Shape::Array) {
    json& list = out[key];
    if (!list.is_array()) list = json::array();
    if (v.wire == kBytes && isNumeric(te.name)) {
      return packed(te.name, v.bytes, list, at);
    }
    auto item = value(te.name, v, depth, at + "[" + std::to_string(list.size()) + "]");
    if (!item) return item.status();
    list.push_back(std::move(*item));
    return Status::ok();
  }
  if (te.shape == TypeExpr::Shape::Named) {
    if (v.wire != kBytes) return bad(at, "expected a " + te.name + " message");
    return message(v.bytes, te.name, schema_.type(te.name), out[key], depth + 1, at);
  }
  auto val = value(te.name, v, depth, at);
  if (!val) return val.status();
  if (isZero(*val) && !(pf.flags & kProtoKeepZero) && te.name != "IntOrString" &&
      te.name != "Quantity") {
    out.erase(key);  // a later zero replaces an earlier value, as in Go
    return Status::ok();
  }
  out[key] = std::move(*val);
  return Status::ok();
}

Result<json> Decoder::value(const std::string& type, const WireValue& v, int depth,
                            const std::string& path) {
  if (TypeExpr::isScalar(type)) return scalar(type, v, path);
  if (v.wire != kBytes) return bad(path, "expected a " + type + " message");
  json obj = json::object();
  if (Status s = message(v.bytes, type, schema_.type(type), obj, depth + 1, path); !s) return s;
  return obj;
}

Result<json> Decoder::scalar(const std::string& type, const WireValue& v, const std::string& path) {
  auto wrongWire = [&] {
    return bad(path, "wire type " + std::to_string(v.wire) + " for " + type);
  };
  if (type == "integer" || type == "int64" || type == "boolean") {
    if (v.wire != kVarint) return wrongWire();
    if (type == "boolean") return json(v.scalar != 0);
    if (type == "integer") return json(static_cast<int32_t>(static_cast<uint32_t>(v.scalar)));
    return json(static_cast<int64_t>(v.scalar));
  }
  if (type == "number") {
    if (v.wire == kFixed64) return json(std::bit_cast<double>(v.scalar));
    if (v.wire == kFixed32) {
      return json(static_cast<double>(std::bit_cast<float>(static_cast<uint32_t>(v.scalar))));
    }
    return wrongWire();
  }
  if (v.wire != kBytes) return wrongWire();
  if (type == "byte") return json(base64Encode(v.bytes));
  if (type == "string") {
    if (!validUtf8(v.bytes)) return bad(path, "string is not valid UTF-8");
    return json(std::string(v.bytes));
  }
  return wrapped(type, v.bytes, path);
}

// The apimachinery scalars travel as small messages of their own.
Result<json> Decoder::wrapped(const std::string& type, std::string_view bytes,
                              const std::string& path) {
  Reader r(bytes);
  std::array<WireValue, 4> f{};
  std::array<bool, 4> seen{};
  while (!r.atEnd()) {
    int n = 0;
    WireValue v;
    if (Status s = r.field(n, v); !s) return bad(path, s.message() + " in " + type);
    if (n > 3)
      return bad(path, "field number " + std::to_string(n) + " of " + type + " is unknown");
    f[n] = v;
    seen[n] = true;
  }
  auto wireOk = [&](int n, int wire) { return !seen[n] || f[n].wire == wire; };
  if (type == "Quantity" || type == "RawJSON") {
    if (!wireOk(1, kBytes)) return bad(path, type + " value is not bytes");
    if (type == "Quantity") {
      if (!seen[1]) return json("0");
      if (!validUtf8(f[1].bytes)) return bad(path, "quantity is not valid UTF-8");
      return json(std::string(f[1].bytes));
    }
    if (!seen[1] || f[1].bytes.empty()) return json(nullptr);
    if (!jsonDepthWithin(f[1].bytes, kMaxJsonDepth)) {
      return bad(path, "embedded JSON nested deeper than " + std::to_string(kMaxJsonDepth));
    }
    json parsed = json::parse(f[1].bytes, nullptr, false);
    if (parsed.is_discarded()) return bad(path, "embedded JSON does not parse");
    return parsed;
  }
  if (type == "IntOrString") {
    if (!wireOk(1, kVarint) || !wireOk(2, kVarint) || !wireOk(3, kBytes)) {
      return bad(path, "malformed IntOrString");
    }
    if (seen[1] && f[1].scalar == 1) {
      if (!validUtf8(f[3].bytes)) return bad(path, "string is not valid UTF-8");
      return json(std::string(f[3].bytes));
    }
    return json(static_cast<int32_t>(static_cast<uint32_t>(f[2].scalar)));
  }
  if (type == "Time" || type == "MicroTime") {
    if (!wireOk(1, kVarint) || !wireOk(2, kVarint)) return bad(path, "malformed " + type);
    if (!seen[1] && !seen[2]) return json(nullptr);  // Go's zero time
    auto s = rfc3339(static_cast<int64_t>(f[1].scalar),
                     static_cast<int32_t>(static_cast<uint32_t>(f[2].scalar)), type == "MicroTime");
    if (!s) return bad(path, s.status().message());
    return json(std::move(*s));
  }
  return bad(path, "no protobuf decoding for values of type " + type);
}

Status Decoder::mapEntry(const std::string& valueType, std::string_view bytes, json& out, int depth,
                         const std::string& path) {
  Reader r(bytes);
  std::string key;
  std::optional<WireValue> val;
  while (!r.atEnd()) {
    int n = 0;
    WireValue v;
    if (Status s = r.field(n, v); !s) return bad(path, s.message() + " in a map entry");
    if (n == 1) {
      if (v.wire != kBytes || !validUtf8(v.bytes))
        return bad(path, "map key is not a UTF-8 string");
      key.assign(v.bytes);
    } else if (n == 2) {
      val = v;
    } else {
      return bad(path, "map entry has unknown field " + std::to_string(n));
    }
  }
  std::string at = path + "[" + key + "]";
  if (!val) {  // an absent value is the zero value of its type
    int wire = valueType == "number" ? kFixed64 : isNumeric(valueType) ? kVarint : kBytes;
    val = WireValue{wire, 0, {}};
  }
  auto decoded = value(valueType, *val, depth, at);
  if (!decoded) return decoded.status();
  out[key] = std::move(*decoded);
  return Status::ok();
}

Status Decoder::packed(const std::string& type, std::string_view bytes, json& out,
                       const std::string& path) {
  Reader r(bytes);
  const int wire = type == "number" ? kFixed64 : kVarint;
  while (!r.atEnd()) {
    WireValue v{wire, 0, {}};
    if (!(wire == kVarint ? r.varint(v.scalar) : r.fixed(8, v.scalar))) {
      return bad(path, "truncated packed list");
    }
    auto item = scalar(type, v, path);
    if (!item) return item.status();
    out.push_back(std::move(*item));
  }
  return Status::ok();
}

struct Envelope {
  std::string apiVersion, kind, contentEncoding;
  std::string_view raw;
};

Status readTypeMeta(std::string_view bytes, Envelope& env) {
  Reader r(bytes);
  while (!r.atEnd()) {
    int n = 0;
    WireValue v;
    if (Status s = r.field(n, v); !s) return Status::badRequest(s.message() + " in TypeMeta");
    if ((n == 1 || n == 2) && v.wire == kBytes && validUtf8(v.bytes)) {
      (n == 1 ? env.apiVersion : env.kind).assign(v.bytes);
    } else {
      return Status::badRequest("malformed TypeMeta field " + std::to_string(n));
    }
  }
  return Status::ok();
}

Result<Envelope> readEnvelope(std::string_view body) {
  if (body.substr(0, kMagic.size()) != kMagic) {
    return Status::badRequest(
        "body is not Kubernetes protobuf: it does not start with the 4-byte prefix \"k8s\\0\"");
  }
  Envelope env;
  Reader r(body.substr(kMagic.size()));
  while (!r.atEnd()) {
    int n = 0;
    WireValue v;
    if (Status s = r.field(n, v); !s) return Status::badRequest(s.message() + " in the envelope");
    if (v.wire != kBytes || n < 1 || n > 4) {
      return Status::badRequest("malformed envelope field " + std::to_string(n));
    }
    if (n == 1) {
      if (Status s = readTypeMeta(v.bytes, env); !s) return s;
    } else if (n == 2) {
      env.raw = v.bytes;
    } else if (n == 3) {
      env.contentEncoding.assign(v.bytes);
    }
  }
  if (!env.contentEncoding.empty()) {
    return Status::badRequest("protobuf content encoding \"" + env.contentEncoding +
                              "\" is not supported; send the object unencoded");
  }
  if (env.kind.empty() || env.apiVersion.empty()) {
    return Status::badRequest("protobuf body does not say its apiVersion and kind");
  }
  return env;
}

// Served kinds first; then non-resource bodies ("v1 DeleteOptions") by package name.
std::string schemaTypeFor(const Envelope& env, const KindsRegistry& kinds,
                          const SchemaRegistry& schema) {
  if (const KindInfo* k = kinds.byKind(env.apiVersion, env.kind)) return k->schemaType;
  auto slash = env.apiVersion.find('/');
  std::string group = slash == std::string::npos ? "core" : env.apiVersion.substr(0, slash);
  std::string version =
      slash == std::string::npos ? env.apiVersion : env.apiVersion.substr(slash + 1);
  group = group.substr(0, group.find('.'));
  for (const std::string& pkg : {group + "." + version, std::string("meta.v1")}) {
    std::string name = pkg + "." + env.kind;
    if (schema.type(name) != nullptr && protoMessage(name) != nullptr) return name;
  }
  return {};
}

}  // namespace

bool isKubernetesProtobuf(std::string_view contentType) {
  constexpr std::string_view kType = "application/vnd.kubernetes.protobuf";
  auto end = contentType.find(';');
  std::string_view base = contentType.substr(0, end);
  while (!base.empty() && (base.back() == ' ' || base.back() == '\t')) base.remove_suffix(1);
  while (!base.empty() && (base.front() == ' ' || base.front() == '\t')) base.remove_prefix(1);
  if (base.size() != kType.size()) return false;
  for (size_t i = 0; i < base.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(base[i])) != kType[i]) return false;
  }
  return true;
}

Result<json> decodeKubernetesProtobuf(std::string_view body, const KindsRegistry& kinds,
                                      const SchemaRegistry& schema) {
  auto env = readEnvelope(body);
  if (!env) return env.status();
  std::string type = schemaTypeFor(*env, kinds, schema);
  if (type.empty()) {
    return Status::badRequest("cannot decode protobuf for " + env->apiVersion + " " + env->kind +
                              ": this server does not serve that kind");
  }
  json obj = json::object();
  Decoder d(schema);
  if (Status s = d.message(env->raw, type, schema.type(type), obj, 1, ""); !s) {
    return Status::badRequest("cannot decode protobuf " + env->apiVersion + " " + env->kind + ": " +
                              s.message());
  }
  obj["apiVersion"] = env->apiVersion;
  obj["kind"] = env->kind;
  return obj;
}

}  // namespace kd::api

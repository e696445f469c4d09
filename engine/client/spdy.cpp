#include "engine/client/spdy.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

namespace kd::client::spdy {
namespace {

constexpr uint16_t kVersion = 3;
constexpr size_t kFrameHeader = 8;
constexpr int64_t kMaxWindow = std::numeric_limits<int32_t>::max();

// The SPDY/3 header compression dictionary (spec section 2.6.10.1): length-prefixed header
// names and common values, then raw status lines, dates and media types.
const std::string& dictionary() {
  static const std::string dict = [] {
    static const char* const kWords[] = {"options",
                                         "head",
                                         "post",
                                         "put",
                                         "delete",
                                         "trace",
                                         "accept",
                                         "accept-charset",
                                         "accept-encoding",
                                         "accept-language",
                                         "accept-ranges",
                                         "age",
                                         "allow",
                                         "authorization",
                                         "cache-control",
                                         "connection",
                                         "content-base",
                                         "content-encoding",
                                         "content-language",
                                         "content-length",
                                         "content-location",
                                         "content-md5",
                                         "content-range",
                                         "content-type",
                                         "date",
                                         "etag",
                                         "expect",
                                         "expires",
                                         "from",
                                         "host",
                                         "if-match",
                                         "if-modified-since",
                                         "if-none-match",
                                         "if-range",
                                         "if-unmodified-since",
                                         "last-modified",
                                         "location",
                                         "max-forwards",
                                         "pragma",
                                         "proxy-authenticate",
                                         "proxy-authorization",
                                         "range",
                                         "referer",
                                         "retry-after",
                                         "server",
                                         "te",
                                         "trailer",
                                         "transfer-encoding",
                                         "upgrade",
                                         "user-agent",
                                         "vary",
                                         "via",
                                         "warning",
                                         "www-authenticate",
                                         "method",
                                         "get",
                                         "status",
                                         "200 OK",
                                         "version",
                                         "HTTP/1.1",
                                         "url",
                                         "public",
                                         "set-cookie",
                                         "keep-alive",
                                         "origin"};
    std::string d;
    for (const char* w : kWords) {
      const auto n = static_cast<uint32_t>(std::char_traits<char>::length(w));
      for (int shift = 24; shift >= 0; shift -= 8) d += static_cast<char>((n >> shift) & 0xff);
      d += w;
    }
    d +=
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
        "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 "
        "Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 "
        "Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, "
        "Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
        "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
        "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";
    return d;
  }();
  return dict;
}

void put32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

uint32_t get32(std::string_view s, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

uint32_t get24(std::string_view s, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(s[at])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 1])) << 8) |
         static_cast<uint8_t>(s[at + 2]);
}

std::string headerBlock(const Headers& headers) {
  std::string block;
  put32(block, static_cast<uint32_t>(headers.size()));
  for (const auto& [name, value] : headers) {
    put32(block, static_cast<uint32_t>(name.size()));
    block += name;
    put32(block, static_cast<uint32_t>(value.size()));
    block += value;
  }
  return block;
}

Result<Headers> parseHeaderBlock(std::string_view block) {
  auto malformed = [] { return Status::badRequest("spdy: malformed header block"); };
  if (block.size() < 4) return malformed();
  const uint32_t count = get32(block, 0);
  Headers headers;
  size_t at = 4;
  auto field = [&](std::string& out) {
    if (block.size() - at < 4) return false;
    const uint32_t n = get32(block, at);
    at += 4;
    if (block.size() - at < n) return false;
    out.assign(block.substr(at, n));
    at += n;
    return true;
  };
  for (uint32_t i = 0; i < count; ++i) {
    std::string name, value;
    if (!field(name) || !field(value) || name.empty()) return malformed();
    headers.emplace_back(std::move(name), std::move(value));
  }
  return headers;
}

void controlHeader(std::string& out, FrameType type, uint8_t flags, size_t length) {
  out += static_cast<char>(0x80 | (kVersion >> 8));
  out += static_cast<char>(kVersion & 0xff);
  out += static_cast<char>(static_cast<uint16_t>(type) >> 8);
  out += static_cast<char>(static_cast<uint16_t>(type) & 0xff);
  put32(out, (static_cast<uint32_t>(flags) << 24) | static_cast<uint32_t>(length));
}

}  // namespace

std::string headerValue(const Headers& headers, std::string_view name) {
  for (const auto& [n, v] : headers)
    if (n == name) return v;
  return {};
}

Frame dataFrame(uint32_t streamId, std::string data, bool fin) {
  return {.flags = fin ? kFlagFin : uint8_t(0), .streamId = streamId, .data = std::move(data)};
}
Frame synReply(uint32_t streamId, Headers headers) {
  return {.type = FrameType::SynReply, .streamId = streamId, .headers = std::move(headers)};
}
Frame rstStream(uint32_t streamId, uint32_t status) {
  return {.type = FrameType::RstStream, .streamId = streamId, .status = status};
}
Frame windowUpdate(uint32_t streamId, uint32_t delta) {
  return {.type = FrameType::WindowUpdate, .streamId = streamId, .value = delta};
}
Frame ping(uint32_t id) {
  return {.type = FrameType::Ping, .value = id};
}
Frame goAway(uint32_t lastGoodStream, uint32_t status) {
  return {.type = FrameType::GoAway, .streamId = lastGoodStream, .status = status};
}

// --- Encoder ---------------------------------------------------------------------------------

struct Encoder::Zlib {
  z_stream z{};
  bool ok = false;
  Zlib() {
    ok = deflateInit(&z, Z_BEST_COMPRESSION) == Z_OK;
    const auto& d = dictionary();
    ok = ok && deflateSetDictionary(&z, reinterpret_cast<const Bytef*>(d.data()),
                                    static_cast<uInt>(d.size())) == Z_OK;
  }
  ~Zlib() { deflateEnd(&z); }

  // One header block, ended with a sync flush so the peer can decode it at once.
  Result<std::string> compress(const std::string& in) {
    if (!ok) return Status::internal("spdy: zlib deflate unavailable");
    std::string out;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    do {
      char buf[1024];
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof buf;
      if (deflate(&z, Z_SYNC_FLUSH) == Z_STREAM_ERROR) return Status::internal("spdy: deflate");
      out.append(buf, sizeof buf - z.avail_out);
    } while (z.avail_out == 0);
    return out;
  }
};

Encoder::Encoder() : zlib_(std::make_unique<Zlib>()) {}
Encoder::~Encoder() = default;

Status Encoder::encode(const Frame& f, std::string& out) {
  const uint32_t id = f.streamId & 0x7fffffff;
  std::string body;
  switch (f.type) {
    case FrameType::Data:
      put32(out, id);
      put32(out, (static_cast<uint32_t>(f.flags) << 24) | static_cast<uint32_t>(f.data.size()));
      out += f.data;
      return {};
    case FrameType::SynStream:
      put32(body, id);
      put32(body, f.associatedId & 0x7fffffff);
      body += static_cast<char>((f.priority & 0x7) << 5);
      body += '\0';  // credential slot
      break;
    case FrameType::SynReply:
    case FrameType::Headers:
      put32(body, id);
      break;
    case FrameType::RstStream:
      put32(body, id);
      put32(body, f.status);
      break;
    case FrameType::Settings:
      put32(body, static_cast<uint32_t>(f.settings.size()));
      for (const auto& [key, value] : f.settings) {
        put32(body, key & 0xffffff);
        put32(body, value);
      }
      break;
    case FrameType::Ping:
      put32(body, f.value);
      break;
    case FrameType::GoAway:
      put32(body, id);
      put32(body, f.status);
      break;
    case FrameType::WindowUpdate:
      put32(body, id);
      put32(body, f.value & 0x7fffffff);
      break;
  }
  if (f.type == FrameType::SynStream || f.type == FrameType::SynReply ||
      f.type == FrameType::Headers) {
    auto block = zlib_->compress(headerBlock(f.headers));
    if (!block.ok()) return block.status();
    body += *block;
  }
  controlHeader(out, f.type, f.flags, body.size());
  out += body;
  return {};
}

// --- Decoder ---------------------------------------------------------------------------------

struct Decoder::Zlib {
  z_stream z{};
  bool ok = false;
  Zlib() { ok = inflateInit(&z) == Z_OK; }
  ~Zlib() { inflateEnd(&z); }

  Result<std::string> decompress(std::string_view in) {
    if (!ok) return Status::internal("spdy: zlib inflate unavailable");
    std::string out;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      char buf[1024];
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof buf;
      int rc = inflate(&z, Z_SYNC_FLUSH);
      if (rc == Z_NEED_DICT) {
        const auto& d = dictionary();
        if (inflateSetDictionary(&z, reinterpret_cast<const Bytef*>(d.data()),
                                 static_cast<uInt>(d.size())) != Z_OK) {
          return Status::badRequest("spdy: header block needs an unknown dictionary");
        }
        continue;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return Status::badRequest("spdy: bad compressed header block");
      }
      out.append(buf, sizeof buf - z.avail_out);
      if (rc == Z_BUF_ERROR || (z.avail_in == 0 && z.avail_out != 0)) break;
    }
    return out;
  }
};

Decoder::Decoder() : zlib_(std::make_unique<Zlib>()) {}
Decoder::~Decoder() = default;

void Decoder::feed(std::string_view bytes) {
  buffer_.erase(0, offset_);  // what is left is at most one partial frame
  offset_ = 0;
  buffer_.append(bytes);
}

Result<std::optional<Frame>> Decoder::next() {
  const std::string_view in = std::string_view(buffer_).substr(offset_);
  if (in.size() < kFrameHeader) return std::optional<Frame>();
  const uint32_t length = get24(in, 5);
  if (in.size() < kFrameHeader + length) return std::optional<Frame>();
  offset_ += kFrameHeader + length;
  const std::string_view body = in.substr(kFrameHeader, length);
  Frame f;
  f.flags = static_cast<uint8_t>(in[4]);
  if ((static_cast<uint8_t>(in[0]) & 0x80) == 0) {
    f.streamId = get32(in, 0) & 0x7fffffff;
    f.data.assign(body);
    return std::optional<Frame>(std::move(f));
  }
  const uint16_t version = static_cast<uint16_t>(((static_cast<uint8_t>(in[0]) & 0x7f) << 8) |
                                                 static_cast<uint8_t>(in[1]));
  if (version != kVersion) {
    return Status::badRequest("spdy: unsupported version " + std::to_string(version));
  }
  const auto type =
      static_cast<uint16_t>((static_cast<uint8_t>(in[2]) << 8) | static_cast<uint8_t>(in[3]));
  f.type = static_cast<FrameType>(type);
  // The fixed part of each control frame: (type, bytes before the header block or in all).
  static const std::map<uint16_t, size_t> kFixed = {{1, 10}, {2, 4}, {3, 8}, {4, 4},
                                                    {6, 4},  {7, 8}, {8, 4}, {9, 8}};
  const auto fixed = kFixed.find(type);
  if (fixed == kFixed.end()) return next();  // unknown control frames are ignored
  if (body.size() < fixed->second) return Status::badRequest("spdy: short control frame");
  f.streamId = get32(body, 0) & 0x7fffffff;
  switch (f.type) {
    case FrameType::SynStream:
      f.associatedId = get32(body, 4) & 0x7fffffff;
      f.priority = static_cast<uint8_t>(static_cast<uint8_t>(body[8]) >> 5);
      break;
    case FrameType::RstStream:
    case FrameType::GoAway:
      f.status = get32(body, 4);
      break;
    case FrameType::Settings: {
      f.streamId = 0;
      const uint32_t count = get32(body, 0);
      if (body.size() != 4 + 8ull * count) return Status::badRequest("spdy: bad SETTINGS frame");
      for (uint32_t i = 0; i < count; ++i) {
        f.settings.emplace_back(get32(body, 4 + 8 * i) & 0xffffff, get32(body, 8 + 8 * i));
      }
      break;
    }
    case FrameType::Ping:
      f.streamId = 0;
      f.value = get32(body, 0);
      break;
    case FrameType::WindowUpdate:
      f.value = get32(body, 4) & 0x7fffffff;
      break;
    default:
      break;
  }
  if (f.type == FrameType::SynStream || f.type == FrameType::SynReply ||
      f.type == FrameType::Headers) {
    auto block = zlib_->decompress(body.substr(fixed->second));
    if (!block.ok()) return block.status();
    auto headers = parseHeaderBlock(*block);
    if (!headers.ok()) return headers.status();
    f.headers = std::move(headers).value();
  }
  return std::optional<Frame>(std::move(f));
}

// --- FlowControl -----------------------------------------------------------------------------

void FlowControl::openStream(uint32_t id) {
  streams_[id].send = initialWindow_;
}

void FlowControl::closeStream(uint32_t id) {
  streams_.erase(id);
}

int64_t FlowControl::sendable(uint32_t id) const {
  const auto it = streams_.find(id);
  if (it == streams_.end()) return 0;
  if (!peerKeepsWindows_) return std::numeric_limits<int64_t>::max();
  return std::max<int64_t>(0, std::min(it->second.send, session_.send));
}

void FlowControl::sent(uint32_t id, size_t bytes) {
  session_.send -= static_cast<int64_t>(bytes);
  if (auto it = streams_.find(id); it != streams_.end()) {
    it->second.send -= static_cast<int64_t>(bytes);
  }
}

Status FlowControl::windowUpdate(uint32_t id, uint32_t delta) {
  peerKeepsWindows_ = true;
  Windows* w = &session_;
  if (id != 0) {
    const auto it = streams_.find(id);
    if (it == streams_.end()) return {};  // a stream already gone
    w = &it->second;
  }
  if (w->send + delta > kMaxWindow) {
    return Status::badRequest("spdy: window of stream " + std::to_string(id) +
                              " grew beyond 2^31-1");
  }
  w->send += delta;
  return {};
}

void FlowControl::settings(const std::vector<std::pair<uint32_t, uint32_t>>& values) {
  for (const auto& [key, value] : values) {
    if (key != kSettingInitialWindowSize || value > kMaxWindow) continue;
    peerKeepsWindows_ = true;
    const int64_t change = static_cast<int64_t>(value) - initialWindow_;
    initialWindow_ = value;
    for (auto& [id, w] : streams_) w.send += change;
  }
}

int64_t FlowControl::sendWindow(uint32_t id) const {
  if (id == 0) return session_.send;
  const auto it = streams_.find(id);
  return it == streams_.end() ? 0 : it->second.send;
}

std::vector<Frame> FlowControl::consumed(uint32_t id, size_t bytes) {
  std::vector<Frame> updates;
  auto grant = [&](uint32_t which, Windows& w) {
    w.unacknowledged += static_cast<int64_t>(bytes);
    if (w.unacknowledged < kDefaultWindow / 2) return;
    updates.push_back(spdy::windowUpdate(which, static_cast<uint32_t>(w.unacknowledged)));
    w.unacknowledged = 0;
  };
  if (auto it = streams_.find(id); it != streams_.end()) grant(id, it->second);
  grant(0, session_);
  return updates;
}

}  // namespace kd::client::spdy

#pragma once
// A small SPDY/3.1 framer: what kubectl (through moby/spdystream) speaks for port-forward and,
// before WebSocket, for exec/attach. Nothing here does I/O; the caller moves bytes.
//
// Frames (draft-mbelshe-httpbis-spdy-00, with the 3.1 changes): data frames, and the control
// frames SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS and WINDOW_UPDATE.
// Header blocks are zlib-compressed with the SPDY/3 dictionary, one zlib stream per direction
// for the whole session: an Encoder's header blocks must reach the peer in the order they were
// encoded, and a Decoder must see every header block the peer sent.
//
// Flow control (SPDY/3.1): every stream and the session (stream id 0) have a send window of
// 64 KiB that DATA frames consume and WINDOW_UPDATE frames replenish; a SETTINGS
// INITIAL_WINDOW_SIZE moves the windows of every stream. FlowControl keeps that accounting
// for one session, both ways.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/api/status.h"

namespace kd::client::spdy {

enum class FrameType : uint16_t {
  Data = 0,
  SynStream = 1,
  SynReply = 2,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  Headers = 8,
  WindowUpdate = 9,
};

inline constexpr uint8_t kFlagFin = 0x01;             // data, SYN_STREAM, SYN_REPLY, HEADERS
inline constexpr uint8_t kFlagUnidirectional = 0x02;  // SYN_STREAM

// RST_STREAM status codes.
inline constexpr uint32_t kProtocolError = 1;
inline constexpr uint32_t kInvalidStream = 2;
inline constexpr uint32_t kRefusedStream = 3;
inline constexpr uint32_t kCancel = 5;
inline constexpr uint32_t kInternalError = 6;
inline constexpr uint32_t kFlowControlError = 7;

inline constexpr uint32_t kSettingInitialWindowSize = 7;
inline constexpr int64_t kDefaultWindow = 64 * 1024;
// The largest data payload a frame may carry (24-bit length).
inline constexpr size_t kMaxFramePayload = (1u << 24) - 1;

// Lowercase names in the order they travel; several values of one name are joined with NUL.
using Headers = std::vector<std::pair<std::string, std::string>>;

// The value of header `name` ("" when absent).
std::string headerValue(const Headers& headers, std::string_view name);

// One frame. Which fields matter depends on the type:
//   Data:         streamId, flags (FIN), data
//   SynStream:    streamId, associatedId, priority (0-7), flags (FIN, UNIDIRECTIONAL), headers
//   SynReply, Headers: streamId, flags (FIN), headers
//   RstStream:    streamId, status
//   Settings:     settings (id -> value), flags (0x1 CLEAR_SETTINGS)
//   Ping:         value (the ping id)
//   GoAway:       streamId (the last good stream), status
//   WindowUpdate: streamId (0 = the session), value (the delta, 1 .. 2^31-1)
struct Frame {
  FrameType type = FrameType::Data;
  uint8_t flags = 0;
  uint32_t streamId = 0;
  uint32_t associatedId = 0;
  uint8_t priority = 0;
  uint32_t status = 0;
  uint32_t value = 0;
  Headers headers;
  std::vector<std::pair<uint32_t, uint32_t>> settings;
  std::string data;

  bool fin() const { return (flags & kFlagFin) != 0; }
};

// Convenience constructors for the frames a server sends.
Frame dataFrame(uint32_t streamId, std::string data, bool fin = false);
Frame synReply(uint32_t streamId, Headers headers = {});
Frame rstStream(uint32_t streamId, uint32_t status);
Frame windowUpdate(uint32_t streamId, uint32_t delta);
Frame ping(uint32_t id);
Frame goAway(uint32_t lastGoodStream, uint32_t status = 0);

// The sending half of a session. Not thread safe.
class Encoder {
 public:
  Encoder();
  ~Encoder();
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  // The frame's bytes; appends them to `out`. Fails only when zlib does.
  Status encode(const Frame& frame, std::string& out);

 private:
  struct Zlib;
  std::unique_ptr<Zlib> zlib_;
};

// The receiving half of a session. Not thread safe.
class Decoder {
 public:
  Decoder();
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Adds received bytes; frames may be split across calls anywhere.
  void feed(std::string_view bytes);
  // The next complete frame, nullopt when more bytes are needed, or an error that ends the
  // session (a malformed frame, a bad header block, a version other than 3). Control frames of
  // unknown types are skipped, as the spec asks.
  Result<std::optional<Frame>> next();

 private:
  struct Zlib;
  std::unique_ptr<Zlib> zlib_;
  std::string buffer_;
  size_t offset_ = 0;
};

// SPDY/3.1 flow control of one session, both directions.
//
// Sending: the peer's windows. moby/spdystream, which every kubectl uses, keeps no windows: it
// never sends WINDOW_UPDATE or SETTINGS and ignores ours. Honouring a window it never
// replenishes would stall every transfer after 64 KiB, so the peer's windows bind only once
// the peer has shown it keeps them (one WINDOW_UPDATE, or SETTINGS INITIAL_WINDOW_SIZE);
// until then the caller relies on TCP back-pressure, as the kubelet does. The accounting runs
// from the start either way.
//
// Receiving: our windows. consumed() answers with the WINDOW_UPDATE frames to send once the
// application has taken half a window, so a sender that keeps windows never stalls on us.
class FlowControl {
 public:
  void openStream(uint32_t id);
  void closeStream(uint32_t id);

  // How many data bytes stream `id` may send now (the smaller of its window and the
  // session's; no limit while the peer keeps no windows). 0 for unknown streams.
  int64_t sendable(uint32_t id) const;
  void sent(uint32_t id, size_t bytes);
  // A WINDOW_UPDATE from the peer. A window above 2^31-1 is the peer's protocol error.
  Status windowUpdate(uint32_t id, uint32_t delta);
  // A SETTINGS frame from the peer.
  void settings(const std::vector<std::pair<uint32_t, uint32_t>>& values);
  bool peerKeepsWindows() const { return peerKeepsWindows_; }
  int64_t sendWindow(uint32_t id) const;  // 0 = the session

  // Data the application has taken from stream `id`: the WINDOW_UPDATEs to send (for the
  // stream and the session), once half a window has been taken.
  std::vector<Frame> consumed(uint32_t id, size_t bytes);

 private:
  struct Windows {
    int64_t send = kDefaultWindow;
    int64_t unacknowledged = 0;  // received and consumed, not yet granted back
  };
  Windows session_;
  std::map<uint32_t, Windows> streams_;
  int64_t initialWindow_ = kDefaultWindow;
  bool peerKeepsWindows_ = false;
};

}  // namespace kd::client::spdy

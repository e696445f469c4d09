#pragma once
// The server side of one SPDY/3.1 session (engine/client/spdy.h frames) on the agent, shared by the
// protocols kubectl speaks over SPDY: port-forward (port_forward.h) and, for kubectl 1.29 and
// older, exec and attach (remote_command.h).
//
// The session does what every such protocol needs: it reads the client's frames, answers
// each stream the client opens with SYN_REPLY, answers PINGs, keeps the flow-control windows
// (spdy::FlowControl), ends on GOAWAY or on a malformed frame (GOAWAY PROTOCOL_ERROR), and
// writes frames in the order they were sent. What the streams mean is the subclass's: it
// implements the hooks below.
//
// Threading and lifetime: everything runs on the io_context's one thread; a session is held
// by shared_ptr and kept alive by its pending I/O (subclasses capture shared_from_this() in
// their own handlers). After end(), send() is a no-op and no more hooks run but onEnd.

#include <boost/asio/io_context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/client/spdy.h"
#include "engine/node/streaming.h"

namespace kd::node::spdy {

// The framer lives in the client library (kdctl speaks SPDY too); the agent's session core adds
// its server side under the same name.
using namespace kd::client::spdy;

// Where a session's bytes travel. One read and one write in flight at a time.
class Transport {
 public:
  using ReadHandler = std::function<void(boost::beast::error_code, std::string_view)>;
  using WriteHandler = std::function<void(boost::beast::error_code)>;
  virtual ~Transport() = default;
  virtual void read(ReadHandler handler) = 0;
  virtual void write(const std::string& bytes, WriteHandler handler) = 0;
  virtual void close() = 0;
};

// The bytes straight on the tunnel stream (after `Upgrade: SPDY/3.1`).
std::unique_ptr<Transport> rawTransport(TunnelStream& stream);
// The bytes in WebSocket binary messages, split anywhere (KEP-4006's SPDY tunnelling).
std::unique_ptr<Transport> webSocketTransport(boost::beast::websocket::stream<TunnelStream>& ws);

// True when the request asks to upgrade to SPDY/3.1.
bool isUpgrade(const boost::beast::http::request<boost::beast::http::string_body>& req);
// The values of every X-Stream-Protocol-Version header, in the client's order of preference.
std::vector<std::string> offeredProtocols(
    const boost::beast::http::request<boost::beast::http::string_body>& req);
// Answers the upgrade: 101 Switching Protocols with `X-Stream-Protocol-Version: protocol`.
// False when the client is gone.
bool acceptUpgrade(TunnelStream& stream, const std::string& protocol);

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::io_context& ioc, std::unique_ptr<Transport> transport);
  virtual ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Starts reading frames; `leftover`: bytes of the session read along with the request.
  void start(std::string_view leftover = {});

 protected:
  // A stream the client opened (the SYN_STREAM frame); its SYN_REPLY is already sent and its
  // windows open. The subclass may refuse it with RST_STREAM.
  virtual void onStream(const Frame& synStream) = 0;
  // A data frame from the client. The subclass calls consumed() once the bytes are taken.
  virtual void onData(Frame data) = 0;
  // The client reset stream `id` (RST_STREAM).
  virtual void onReset(uint32_t id) = 0;
  // The client's windows grew, or bytes queued towards it were written: sending may go on.
  virtual void onWritable() {}
  // False holds back reading from the client (back-pressure) until resumeReading().
  virtual bool acceptsInput() const { return true; }
  // The session is over: the client left, closed, misbehaved, or end() was called.
  virtual void onEnd() {}

  void send(const Frame& frame);
  // The application took `bytes` of stream `id`'s data: grants the window back when due.
  void consumed(uint32_t id, size_t bytes);
  void resumeReading();
  // Ends once everything sent so far is written.
  void endAfterFlush();
  void end();

  bool ended() const { return ended_; }
  // Bytes sent but not yet written to the client.
  size_t queuedBytes() const { return outBytes_; }
  FlowControl& flow() { return flow_; }
  boost::asio::io_context& ioc() { return ioc_; }

 private:
  void readClient();
  void processFrames();
  void handle(Frame frame);
  void flush();

  boost::asio::io_context& ioc_;
  std::unique_ptr<Transport> transport_;
  Encoder encoder_;
  Decoder decoder_;
  FlowControl flow_;
  std::deque<std::string> outq_;
  size_t outBytes_ = 0;
  uint32_t lastStream_ = 0;
  bool reading_ = false, readPaused_ = false, writing_ = false;
  bool endAfterFlush_ = false, ended_ = false;
};

}  // namespace kd::node::spdy

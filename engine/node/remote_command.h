#pragma once
// The client's end of `kubectl exec` and `kubectl attach` as the agent's sessions
// (streaming.cpp) see it: the channels of Kubernetes' remote-command protocol — stdin, stdout,
// stderr, error, resize — whichever way the client carries them.
//
//   WebSocket (kubectl 1.30+): subprotocol v5.channel.k8s.io or v4.channel.k8s.io; each binary
//     message starts with its channel number (container_io.h); v5 adds channel 255, "close",
//     whose next byte names the channel the client closed (stdin's end of input).
//   SPDY/3.1 (kubectl 1.29 and older, spdy_session.h): `X-Stream-Protocol-Version`
//     v4.channel.k8s.io, v3 or v2, the first of the client's list that the agent knows, as the
//     kubelet negotiates (channel.k8s.io, v1, is refused with 403). The client opens one
//     stream per channel, named by its `streamType` header: error, and stdin, stdout, stderr as
//     asked in the query, and resize with a terminal (v3 and v4); a terminal has no stderr.
//     The session starts once every expected stream is there — or ends if they are not within
//     the kubelet's 30 s. The stdin stream's FIN is the end of input; the resize stream carries
//     JSON {"Width","Height"} objects one per line; the error stream carries, in v4, the
//     meta/v1 Status (exit codes as cause ExitCode), in v2/v3 only a failure's message. At the
//     end the agent closes its half of every stream it writes, and the connection once the
//     client has closed it (or after a grace period).

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "engine/api/status.h"
#include "engine/node/streaming.h"

namespace kd::node {

// The client's channels. Every call runs on the session's io_context thread.
class ClientChannels {
 public:
  struct Events {
    // Every channel the client asked for is there: output may flow.
    std::function<void()> ready;
    // Input: kStdin bytes; kResize the JSON {"Width","Height"}; kClose with the payload
    // naming kStdin: the end of stdin.
    std::function<void(uint8_t channel, std::string data)> input;
    // The client left, or the connection failed, before finish().
    std::function<void()> gone;
  };
  virtual ~ClientChannels() = default;

  // Starts serving the client. The channels hold `events` until they end (finish(), abandon()
  // or the client gone), so the handlers may keep their session alive.
  virtual void open(Events events) = 0;
  // Output on kStdout or kStderr (dropped when the client opened no such channel), or on
  // kError the final meta/v1 Status as JSON.
  virtual void write(uint8_t channel, std::string_view data) = 0;
  // Ends the exchange once everything written has reached the client.
  virtual void finish() = 0;
  // Ends it at once, writing nothing more.
  virtual void abandon() = 0;
  // While held, no input is read from the client (back-pressure towards a slow stdin).
  virtual void holdInput(bool hold) = 0;
};

// The channels the request asks for (the query's stdin, stdout, stderr, tty).
struct RemoteCommandOptions {
  bool input = false, output = false, errorOutput = false, tty = false;
};

// How the client will carry the channels, agreed on before anything is written.
struct ChannelProtocol {
  bool webSocket = false;
  std::string name;  // the WebSocket subprotocol, or the X-Stream-Protocol-Version
};

// The protocol to answer `req` with (`verb`: exec or attach, for messages), or why it cannot
// be served: 400 for a request that is no upgrade or offers no known WebSocket subprotocol,
// 403 for SPDY versions the agent does not speak, as the kubelet answers.
Result<ChannelProtocol> negotiateChannels(
    const boost::beast::http::request<boost::beast::http::string_body>& req,
    const std::string& verb);

// The first of `wanted` that the request's Sec-WebSocket-Protocol offers; "" when none.
std::string chooseSubprotocol(
    const boost::beast::http::request<boost::beast::http::string_body>& req,
    std::initializer_list<const char*> wanted);

// Completes the upgrade on `stream` (taken over) and returns the client's channels, or nullptr
// when the client went away meanwhile. `leftover`: bytes read past the request.
std::shared_ptr<ClientChannels> acceptChannels(
    boost::asio::io_context& ioc, TunnelStream& stream,
    const boost::beast::http::request<boost::beast::http::string_body>& req,
    const ChannelProtocol& protocol, const RemoteCommandOptions& options, std::string leftover);

}  // namespace kd::node

#pragma once
// `kubectl port-forward` on the agent: the kubelet's port-forward protocol over SPDY/3.1
// (engine/client/spdy.h), reached through the reverse tunnel (tunnel.h, streaming.h).
//
// The upgrade comes in one of two forms; both carry the same SPDY session:
//   - WebSocket with the subprotocol `SPDY/3.1+portforward.k8s.io` (KEP-4006, kubectl 1.30+):
//     the SPDY bytes travel in binary messages, split anywhere;
//   - `Upgrade: SPDY/3.1` with `X-Stream-Protocol-Version: portforward.k8s.io` (every kubectl,
//     and 1.29 and older only), answered 101 with the same protocol version.
//
// The protocol (portforward.k8s.io): for every local connection kubectl opens two streams with
// the headers `streamType` (error | data), `port` and `requestID`. Once both streams of a
// request are there, the agent connects to 127.0.0.1:<port> inside the pod's network namespace
// and splices the data stream to that connection, half-closes included: the client's FIN
// becomes shutdown(SHUT_WR), the pod's end of file a FIN on the data stream and on the error
// stream. A connection that cannot be made is reported the kubelet's way: the message on the
// error stream ("error forwarding port 81 to pod ..."), then FIN on both streams; kubectl
// prints it (and, since 1.23, gives up the whole port-forward: "lost connection to pod").
// RST_STREAM on either stream closes the connection at once. Connections are independent;
// a session carries any number of them to any ports.

#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "engine/api/status.h"
#include "engine/node/streaming.h"

namespace kd::node {

inline constexpr const char* kPortForwardWebSocketProtocol = "SPDY/3.1+portforward.k8s.io";

struct PortForwardTarget {
  std::string ns, pod, uid;
  std::string netns;  // the pod's network namespace; "" = the agent's own (hostNetwork)
};

// Serves one port-forward request read from `stream` (`leftover`: bytes read past it). Runs
// `ioc` until the session ends. A WebSocket upgrade must offer kPortForwardWebSocketProtocol
// (the caller checks, as for exec's subprotocols). A request that is no upgrade gets a Status
// back before anything is written, for the caller to answer.
Status servePortForward(boost::asio::io_context& ioc, TunnelStream& stream,
                        const boost::beast::http::request<boost::beast::http::string_body>& req,
                        std::string leftover, const PortForwardTarget& target);

}  // namespace kd::node

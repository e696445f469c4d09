#pragma once
// The client side of pods/portforward, as kubectl 1.30+ speaks it: SPDY/3.1 (spdy.h) tunnelled
// in the binary messages of a WebSocket with the subprotocol `SPDY/3.1+portforward.k8s.io`
// (KEP-4006), on the client library's TLS connection.
//
// For every accepted local connection the forwarder opens a pair of streams, as client-go's
// port forwarder does: an error stream (headers streamtype=error, port, requestid; half-closed
// at once) and a data stream (streamtype=data) spliced to the local connection, half-closes
// included. A message on an error stream means the server could not reach the pod's port:
// like kubectl since 1.23, the forwarder then reports it and gives up the whole session ("lost
// connection to pod"). Like moby/spdystream, it keeps no flow-control windows and relies on
// TCP back-pressure.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/api/status.h"
#include "engine/client/api_client.h"

namespace kd::client {

inline constexpr const char* kPortForwardProtocol = "SPDY/3.1+portforward.k8s.io";

struct ForwardedPort {
  uint16_t local = 0;  // 0: any free port (chosen when listening)
  uint16_t remote = 0;
};

// Parses kubectl's port specs: "8080" (same port both sides), "8080:80", ":80" (a free local
// port). 400 on anything else, with kubectl's message.
Result<ForwardedPort> parsePortSpec(const std::string& spec);

// The container port of `pod` that `remote` (a port number or name) names, as kubectl
// translates it: with a `service`, its port `remote` (number or name) and that port's
// targetPort (a number, or a name looked up among the pod's container ports; none: the port
// itself); without one, a number as it is or a named container port. 400 with kubectl's
// message when there is no such port.
Result<std::string> podPortFor(const json* service, const json& pod, const std::string& remote);

struct PortForwardEvents {
  // "Forwarding from 127.0.0.1:8080 -> 80", "Handling connection for 8080" (kubectl's stdout).
  std::function<void(const std::string& line)> onOutput;
  // "an error occurred forwarding 8080 -> 80: <the server's message>" (kubectl's stderr).
  std::function<void(const std::string& line)> onError;
  // A connection the server could not make ends the whole session, as in kubectl (true); a
  // proxy carrying many clients' connections over one session closes only that one (false).
  bool endOnForwardError = true;
};

// One port-forward session. stop() may be called from any thread; the rest from one thread.
class PortForwarder {
 public:
  // Dials `path` (/api/v1/namespaces/NS/pods/NAME/portforward) and listens on every one of
  // `addresses` ("localhost" = 127.0.0.1 and ::1, either may be missing; an IP address must
  // work) for every port. A port in use or an address that cannot be had is a 400.
  static Result<std::unique_ptr<PortForwarder>> open(const ApiClient& client,
                                                     const std::string& path,
                                                     const std::vector<std::string>& addresses,
                                                     const std::vector<ForwardedPort>& ports,
                                                     PortForwardEvents events);
  ~PortForwarder();
  PortForwarder(const PortForwarder&) = delete;
  PortForwarder& operator=(const PortForwarder&) = delete;

  // The ports with their local side chosen.
  const std::vector<ForwardedPort>& ports() const;
  // Forwards a connection accepted elsewhere (`fd`, a connected TCP socket the forwarder owns
  // from now on) to port `remote` of the pod, as if a listener had accepted it. Thread-safe;
  // the connection is closed at once when the session has ended or ends before run() starts.
  void adopt(int fd, uint16_t remote);
  // Reports "Forwarding from" for each listener and forwards until the connection to the
  // server is lost or an error stream reports a failure (both: 503 "lost connection to pod"),
  // or stop() (OK).
  Status run();
  void stop();

  class Impl;
  explicit PortForwarder(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace kd::client

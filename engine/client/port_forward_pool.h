#pragma once
// Connections carried to pods' ports over pods/portforward, for a proxy that accepts them
// itself (the engine's load balancer): one port-forward session (port_forward_client.h) per
// pod, opened when the first connection to that pod arrives and shared by every later one, each
// connection a stream pair of its own. A connection that fails to reach its port closes alone;
// a session that breaks is opened again by the next connection to its pod.
//
// Sessions run on a thread each. Thread-safe; the destructor ends every session and joins it.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "engine/client/api_client.h"

namespace kd::client {

class PortForwardPool {
 public:
  // `client` gives the API client to dial with, or null while there is none (then connections
  // are closed at once); it must stay valid while the pool lives.
  explicit PortForwardPool(std::function<const ApiClient*()> client);
  ~PortForwardPool();
  PortForwardPool(const PortForwardPool&) = delete;
  PortForwardPool& operator=(const PortForwardPool&) = delete;

  // Hands `fd` (a connected IPv4 TCP socket, owned by the pool from now on) to `port` of pod
  // `ns`/`pod`. Never blocks on the network: a session still opening queues the connection.
  void forward(int fd, const std::string& ns, const std::string& pod, uint16_t port);
  // Ends the session to `ns`/`pod` (its connections close) and waits for its thread.
  void drop(const std::string& ns, const std::string& pod);
  // Sessions opening or open.
  size_t sessions() const;

 private:
  struct Session;
  void run(const std::shared_ptr<Session>& session, const std::string& path);
  static void finish(Session& session);

  std::function<const ApiClient*()> client_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;  // by "ns/pod"
};

}  // namespace kd::client

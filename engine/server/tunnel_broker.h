#pragma once
// The engine's half of the reverse tunnel to node agents (DESIGN.md, "Node agent ↔ engine").
// An agent keeps one control connection open (`GET /kubedesk/v1/nodes/<node>/tunnel`) and is
// registered here under its node's name. When a request for pods/log, exec, attach or
// portforward arrives for a pod on that node, the transport asks the broker for a stream: the
// broker sends a fresh, unguessable stream id down the control connection, the agent dials
// back with `GET /kubedesk/v1/tunnel/<id>`, and the broker hands that connection to whoever
// asked. The transport then splices the two connections together.
//
// The broker never touches connections: they are the transport's objects, type-erased.
// Thread-safe; callbacks run on the caller's thread of the triggering call, never under the
// broker's lock.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "engine/api/status.h"

namespace kd::server {

using TunnelConnection = std::shared_ptr<void>;

class TunnelBroker {
 public:
  // Asks the agent to dial back for stream `id`; must be callable from any thread.
  using RequestStream = std::function<void(const std::string& id)>;
  // Called exactly once per accepted requestStream (unless cancelled first): with the agent's
  // connection, or with the reason there is none (the agent went away).
  using StreamReady = std::function<void(Result<TunnelConnection>)>;

  // Registers the control connection of `node`'s agent, authenticated as `user`; a newer
  // registration of the same node replaces an older one. Returns a handle for unregisterAgent.
  uint64_t registerAgent(const std::string& node, const std::string& user, RequestStream request);
  // Forgets the registration `handle` (if still current) and fails its pending streams.
  void unregisterAgent(const std::string& node, uint64_t handle);
  bool connected(const std::string& node) const;

  // Asks `node`'s agent for a stream. Returns its id, or 503 ServiceUnavailable when no agent
  // of that node is connected (then `ready` is never called).
  Result<std::string> requestStream(const std::string& node, StreamReady ready);
  // Drops a pending stream (the caller gave up waiting); true when it was still pending, in
  // which case `ready` will not be called.
  bool cancel(const std::string& id);
  // An agent dialled back for stream `id` as `user`. False when no such stream is pending for
  // an agent registered as that user (unknown, expired, or another node's).
  bool deliver(const std::string& id, const std::string& user, TunnelConnection connection);

 private:
  struct Agent {
    uint64_t handle = 0;
    std::string user;
    RequestStream request;
  };
  struct Pending {
    std::string node, user;
    uint64_t handle = 0;
    StreamReady ready;
  };

  mutable std::mutex mu_;
  uint64_t nextHandle_ = 1;
  std::map<std::string, Agent> agents_;     // by node name
  std::map<std::string, Pending> pending_;  // by stream id
};

}  // namespace kd::server

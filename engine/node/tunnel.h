#pragma once
// The agent's half of the reverse tunnel (the engine's half is engine/server/tunnel_broker.h).
// Streaming requests (logs, exec, attach) start at the API server, which cannot dial the
// agent (it may sit behind a VM's NAT), so the agent dials out:
//
//   1. a control connection `GET /kubedesk/v1/nodes/<node>/tunnel` (TLS, the agent's
//      kubeconfig credentials), answered with 101; from then on the engine writes one stream id
//      per line, and empty lines as keep-alives;
//   2. for each id, a new connection `GET /kubedesk/v1/tunnel/<id>`, which the engine splices
//      to the client's; the agent then serves the kubelet request that arrives on it
//      (streaming.h).
//
// A lost or refused control connection is retried with back-off (1 s doubling to 30 s); the
// engine's silence for a minute counts as lost. Streams run on threads of their own and end
// with their exchange.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "engine/api/status.h"
#include "engine/client/kubeconfig.h"
#include "engine/node/streaming.h"

namespace kd::node {

class ReverseTunnel {
 public:
  ReverseTunnel(client::ClusterAccess access, std::string nodeName, StreamingContext streaming);
  // Stops the control connection; streams in flight finish on their own.
  ~ReverseTunnel();
  ReverseTunnel(const ReverseTunnel&) = delete;
  ReverseTunnel& operator=(const ReverseTunnel&) = delete;

  // Checks the credentials and starts the control connection on a thread of its own.
  Status start();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace kd::node

#include "engine/server/tunnel_broker.h"

#include <openssl/rand.h>

#include <vector>

namespace kd::server {
namespace {

// 128 random bits in hex: a stream id doubles as a capability, so it must not be guessable.
std::string randomStreamId() {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof bytes);
  static const char* kHex = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

}  // namespace

uint64_t TunnelBroker::registerAgent(const std::string& node, const std::string& user,
                                     RequestStream request) {
  std::lock_guard lock(mu_);
  const uint64_t handle = nextHandle_++;
  agents_[node] = Agent{handle, user, std::move(request)};
  return handle;
}

void TunnelBroker::unregisterAgent(const std::string& node, uint64_t handle) {
  std::vector<StreamReady> failed;
  {
    std::lock_guard lock(mu_);
    auto it = agents_.find(node);
    if (it != agents_.end() && it->second.handle == handle) agents_.erase(it);
    for (auto p = pending_.begin(); p != pending_.end();) {
      if (p->second.handle != handle) {
        ++p;
        continue;
      }
      failed.push_back(std::move(p->second.ready));
      p = pending_.erase(p);
    }
  }
  for (auto& ready : failed) {
    ready(Status::serviceUnavailable("the node agent of node \"" + node +
                                     "\" disconnected before it opened the stream"));
  }
}

bool TunnelBroker::connected(const std::string& node) const {
  std::lock_guard lock(mu_);
  return agents_.count(node) != 0;
}

Result<std::string> TunnelBroker::requestStream(const std::string& node, StreamReady ready) {
  RequestStream request;
  std::string id = randomStreamId();
  {
    std::lock_guard lock(mu_);
    auto it = agents_.find(node);
    if (it == agents_.end()) {
      return Status::serviceUnavailable("no node agent of node \"" + node + "\" is connected");
    }
    pending_[id] = Pending{node, it->second.user, it->second.handle, std::move(ready)};
    request = it->second.request;
  }
  request(id);
  return id;
}

bool TunnelBroker::cancel(const std::string& id) {
  std::lock_guard lock(mu_);
  return pending_.erase(id) != 0;
}

bool TunnelBroker::deliver(const std::string& id, const std::string& user,
                           TunnelConnection connection) {
  StreamReady ready;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(id);
    if (it == pending_.end() || it->second.user != user) return false;
    ready = std::move(it->second.ready);
    pending_.erase(it);
  }
  ready(std::move(connection));
  return true;
}

}  // namespace kd::server

#include "engine/client/port_forward_pool.h"

#include <unistd.h>

#include <cstdio>
#include <thread>
#include <utility>
#include <vector>

#include "engine/client/port_forward_client.h"

namespace kd::client {

struct PortForwardPool::Session {
  std::thread thread;
  std::unique_ptr<PortForwarder> forwarder;       // set once the session is open
  std::vector<std::pair<int, uint16_t>> waiting;  // connections that came while it opened
  bool stopping = false, ended = false;
};

PortForwardPool::PortForwardPool(std::function<const ApiClient*()> client)
    : client_(std::move(client)) {}

PortForwardPool::~PortForwardPool() {
  std::map<std::string, std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(mu_);
    sessions.swap(sessions_);
  }
  for (auto& [key, session] : sessions) {
    {
      std::lock_guard lock(mu_);
      session->stopping = true;
      if (session->forwarder) session->forwarder->stop();
    }
    if (session->thread.joinable()) session->thread.join();
  }
}

void PortForwardPool::forward(int fd, const std::string& ns, const std::string& pod,
                              uint16_t port) {
  std::shared_ptr<Session> ended;
  {
    std::lock_guard lock(mu_);
    std::shared_ptr<Session>& session = sessions_[ns + "/" + pod];
    if (session && session->ended) ended = std::move(session);
    if (!session) {
      session = std::make_shared<Session>();
      session->waiting.emplace_back(fd, port);
      session->thread = std::thread(
          [this, session, path = "/api/v1/namespaces/" + ns + "/pods/" + pod + "/portforward"] {
            run(session, path);
          });
    } else if (session->forwarder) {
      session->forwarder->adopt(fd, port);
    } else {
      session->waiting.emplace_back(fd, port);
    }
  }
  // Its thread has returned or is about to.
  if (ended && ended->thread.joinable()) ended->thread.join();
}

void PortForwardPool::run(const std::shared_ptr<Session>& session, const std::string& path) {
  PortForwardEvents events;
  events.endOnForwardError = false;
  events.onError = [path](const std::string& line) {
    std::fprintf(stderr, "kubedesk-engine: %s: %s\n", path.c_str(), line.c_str());
  };
  const ApiClient* client = client_();
  Result<std::unique_ptr<PortForwarder>> opened =
      client ? PortForwarder::open(*client, path, {}, {}, std::move(events))
             : Result<std::unique_ptr<PortForwarder>>(
                   Status::serviceUnavailable("the API server is not serving yet"));
  {
    std::lock_guard lock(mu_);
    if (!opened.ok() || session->stopping) {
      if (!opened.ok()) {
        std::fprintf(stderr, "kubedesk-engine: %s: %s\n", path.c_str(),
                     opened.status().message().c_str());
      }
      finish(*session);
      return;
    }
    session->forwarder = std::move(opened).value();
    for (const auto& [fd, port] : session->waiting) session->forwarder->adopt(fd, port);
    session->waiting.clear();
  }
  session->forwarder->run();
  std::lock_guard lock(mu_);
  finish(*session);
}

// With the pool's lock held.
void PortForwardPool::finish(Session& session) {
  for (const auto& [fd, port] : session.waiting) ::close(fd);
  session.waiting.clear();
  session.ended = true;
}

void PortForwardPool::drop(const std::string& ns, const std::string& pod) {
  std::shared_ptr<Session> session;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(ns + "/" + pod);
    if (it == sessions_.end()) return;
    session = std::move(it->second);
    sessions_.erase(it);
    session->stopping = true;
    if (session->forwarder) session->forwarder->stop();
  }
  if (session->thread.joinable()) session->thread.join();
}

size_t PortForwardPool::sessions() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [key, session] : sessions_) n += !session->ended;
  return n;
}

}  // namespace kd::client

#pragma once
// The transport of the API server: HTTPS (HTTP/1.1, keep-alive, chunked watch streams) on a
// loopback address with Boost.Beast. Clients authenticate with a certificate signed by the
// profile's CA (the subject's CN is the user, O the group) or a bearer token; requests without
// either are anonymous and get 401 outside the public health and version endpoints.
// A fixed pool of threads runs the I/O, each with its own io_context; a connection stays on one.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "engine/server/api_handler.h"
#include "engine/server/pki.h"

namespace kd::server {

struct ApiServerConfig {
  std::string bindAddress = "127.0.0.1";
  uint16_t port = 0;  // 0: let the system pick a free port
  PkiFiles pki;
  // The user a bearer token stands for; an unauthenticated UserInfo when it stands for none.
  std::function<UserInfo(std::string_view token)> authenticateToken;
  int threads = 2;
};

class ApiServer {
 public:
  ApiServer(ApiHandler& handler, ApiServerConfig config);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds and starts serving; fails with the reason (address in use, bad certificate, ...).
  Status start();
  // Stops accepting, closes connections and joins the threads. Idempotent.
  void stop();
  uint16_t port() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kd::server

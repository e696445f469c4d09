#pragma once
// The HTTP-independent half of the API server: one request in, one response out (or a watch
// stream to pump). Routes discovery, OpenAPI, version and health endpoints, and every resource
// verb to the ObjectService; negotiates JSON, YAML and server-side Table output; renders
// failures as meta/v1 Status objects. The transport (api_server.h) only moves bytes.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/server/object_service.h"
#include "engine/server/request_info.h"

namespace kd::server {

class MetricsApi;            // metrics: metrics_api.h
class MetricsStore;          // metrics: metrics_store.h
class ServiceAccountTokens;  // service_account_token.h

struct UserInfo {
  std::string name;                 // "kubedesk-admin", "system:node:m01", "" = anonymous
  std::vector<std::string> groups;  // "system:masters", "system:nodes", ...
  bool authenticated() const { return !name.empty(); }
};

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query
  std::string accept;
  std::string contentType;
  std::string body;
  UserInfo user;
};

struct HttpResponse {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<std::string> warnings;  // sent as `Warning: 299 - "<text>"` headers
};

// A watch the transport must stream: write `contentType` chunks as pump() produces them.
class WatchSession {
 public:
  virtual ~WatchSession() = default;
  // Serialized events ready now (one JSON document per line). Sets `ended` once the stream
  // is over (closed by the store, or a terminal ERROR event was produced).
  virtual std::string pump(bool& ended) = 0;
  // A BOOKMARK event for the latest revision, when the client asked for bookmarks; "" if not.
  virtual std::string bookmark() = 0;
  virtual int timeoutSeconds() const = 0;
};

// A streaming pod subresource (log, exec, attach, portforward) that the transport carries to
// the agent of `node` over its reverse tunnel (tunnel_broker.h) as the kubelet-style request
// `target`: /containerLogs|exec|attach/<ns>/<pod>/<uid>/<container>?<query>, or
// /portForward/<ns>/<pod>/<uid>?<query>.
struct TunnelRequest {
  std::string node;
  std::string target;
  std::string subresource;
};

struct HandlerResult {
  HttpResponse response;                // used when `watch` and `tunnel` are null
  std::unique_ptr<WatchSession> watch;  // a streaming response: status 200, chunked
  std::string watchContentType;
  std::optional<TunnelRequest> tunnel;
};

class ApiHandler {
 public:
  // `serverAddress` yields "127.0.0.1:PORT" for discovery; it is asked per request because the
  // port is known only once the transport has bound. `nodeTokenKey` signs node bearer tokens
  // (node_token.h) and service account tokens (service_account_token.h); without one,
  // POST /kubedesk/v1/nodes/<name>/token and serviceaccounts/<name>/token are unavailable.
  ApiHandler(ObjectService& objects, std::function<std::string()> serverAddress,
             std::string nodeTokenKey = {});
  ~ApiHandler();

  // `notify` is handed to a watch: called (on a store thread) when the watch has more to pump.
  HandlerResult handle(const HttpRequest& request, std::function<void()> notify);

  // The service account a bearer token stands for (service_account_token.h); nullopt when it
  // is not a live service account token. Thread safe.
  std::optional<UserInfo> authenticateServiceAccount(std::string_view token) const;

  // The node agents' usage reports (metrics_store.h); the autoscaler reads them too.
  MetricsStore& metricsStore() { return *metricsStore_; }

 private:
  HttpResponse handleResource(const RequestInfo& info, const api::KindInfo& kind,
                              const HttpRequest& request);
  HandlerResult handleWatch(const RequestInfo& info, const api::KindInfo& kind,
                            const HttpRequest& request, std::function<void()> notify);
  HttpResponse handleNonResource(const RequestInfo& info, const HttpRequest& request);
  std::optional<HttpResponse> serveTokenRequest(const RequestInfo& info,
                                                const HttpRequest& request);
  HttpResponse serveServiceAccountToken(const RequestInfo& info, const HttpRequest& request);
  HttpResponse list(const RequestInfo& info, const api::KindInfo& kind, const HttpRequest& r);
  HttpResponse render(const json& object, const HttpRequest& request, int status,
                      const api::KindInfo* kind) const;

  ObjectService& objects_;
  std::function<std::string()> serverAddress_;
  std::string nodeTokenKey_;
  // Issues and checks service account tokens; null without a key.
  std::unique_ptr<ServiceAccountTokens> serviceAccountTokens_;
  std::string openApiV2_;  // built once, on first request
  std::string openApiV2Protobuf_;
  json openApiV3Index_;
  std::mutex openApiMu_;
  // metrics: node agents' reports, served as metrics.k8s.io (metrics_api.h).
  std::unique_ptr<MetricsStore> metricsStore_;
  std::unique_ptr<MetricsApi> metrics_;
};

HttpResponse statusResponse(const Status& status);

}  // namespace kd::server

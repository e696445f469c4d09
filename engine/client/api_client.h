#pragma once
// The Kubernetes API client shared by kdctl, the dashboard, the node agent and the benchmarks.
// It talks HTTPS to any API server — a KubeDesk engine or a real cluster — as described by a
// kubeconfig context (ClusterAccess): the server is verified against the context's CA unless
// insecure-skip-tls-verify is set; the client authenticates with its certificate or a bearer
// token.
//
// Threading: an ApiClient is thread-safe. Concurrent calls use separate keep-alive TLS
// connections from a small pool; a pooled connection the server has closed is replaced
// transparently. Calls block the calling thread (bridge them off the GUI thread).
//
// Errors: every call returns Result<T>. A non-2xx answer becomes the Status the server sent
// (code, reason, message, details.causes), so callers print it as kubectl does. Failures to
// reach the server (refused, TLS verification, timeout) are Status::serviceUnavailable with a
// message that starts "unable to connect to the server".

#include <chrono>
#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/api/json_projection.h"
#include "engine/api/kinds.h"
#include "engine/api/status.h"
#include "engine/client/kubeconfig.h"

namespace kd::client {

namespace detail {
class ConnectionPool;
class TlsConnection;
}  // namespace detail

// One HTTP answer, whatever its status.
struct Response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // in arrival order
  std::string body;

  // The first header named `name` (case-insensitive), or "".
  std::string header(std::string_view name) const;
  bool ok() const { return status >= 200 && status < 300; }
};

// The Status a failed answer carries: the meta/v1 Status in `body` when there is one, else one
// built from the HTTP code with the body as message.
Status statusFromResponse(int httpStatus, std::string_view body);

struct ClientOptions {
  std::chrono::milliseconds connectTimeout{10'000};
  std::chrono::milliseconds requestTimeout{120'000};  // whole exchange, not watches
  size_t maxIdleConnections = 16;
  std::string userAgent = "kubedesk";
};

struct GetOptions {
  std::string subresource;      // "status", "scale", ... ("" = the object)
  std::string resourceVersion;  // "" = most recent
};

struct ListOptions {
  std::string labelSelector;  // "app=web,tier!=db"
  std::string fieldSelector;  // "spec.nodeName=m01"
  std::string resourceVersion;
  std::string resourceVersionMatch;  // "NotOlderThan", "Exact"
  int64_t limit = 0;                 // 0 = no paging
  std::string continueToken;
  int timeoutSeconds = 0;  // watches: the server ends the stream after this long (0 = default)
  bool allowWatchBookmarks = false;
  bool sendInitialEvents = false;  // watches: start with ADDED events for existing objects
  std::string includeObject;       // Tables: "Object" puts each row's object in it
  // Lists: each item is parsed keeping only these members (api::parseProjected); the rest of
  // the body is never built. Null = whole items. Not owned; must outlive the call.
  const api::JsonProjection* itemProjection = nullptr;
};

struct WriteOptions {
  std::string subresource;  // "status" to write only the status, "scale", ...
  bool dryRun = false;
  std::string fieldManager;
  std::string fieldValidation;  // "Strict", "Warn", "Ignore" ("" = server default)
  bool force = false;           // server-side apply: take over conflicting fields
};

struct DeleteOptions {
  std::optional<int64_t> gracePeriodSeconds;
  std::string propagationPolicy;  // "Foreground", "Background", "Orphan"
  std::string preconditionUid;
  std::string preconditionResourceVersion;
  bool dryRun = false;
};

enum class PatchType {
  Json,            // application/json-patch+json (RFC 6902)
  Merge,           // application/merge-patch+json (RFC 7386)
  StrategicMerge,  // application/strategic-merge-patch+json
  Apply,           // application/apply-patch+yaml (server-side apply; needs fieldManager)
};

// One watch event: ADDED, MODIFIED, DELETED, BOOKMARK, or ERROR (object is a meta/v1 Status).
struct WatchEvent {
  std::string type;
  json object;
};

// Callbacks run on the watch's own thread. `onClosed` runs once, after the last event, unless
// the watch was cancelled: OK when the server ended the stream (e.g. timeoutSeconds), the
// failure otherwise. Without `onEvent`, events queue for Watch::next().
struct WatchHandlers {
  std::function<void(WatchEvent)> onEvent;
  std::function<void(const Status&)> onClosed;
};

// A running watch stream on a connection of its own. Destroying it cancels it.
class Watch {
 public:
  ~Watch();
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

  // The next queued event, waiting up to `timeout`; nullopt on timeout or once the stream has
  // ended and the queue is drained. Only for watches started without `onEvent`.
  std::optional<WatchEvent> next(std::chrono::milliseconds timeout);
  // True once the stream is over (ended by the server, failed or cancelled).
  bool ended() const;
  // Why the stream ended: OK for a clean end or cancel; meaningful once ended().
  Status endStatus() const;
  // Stops the stream; no callback runs after cancel() returns (unless called from a callback).
  void cancel();

  class Impl;
  explicit Watch(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

// The resources a server offers (discovery), one entry per group/version/resource; enough to
// address kinds this build does not know (CRDs, newer built-ins). schemaType stays empty.
struct DiscoveredResources {
  std::vector<api::KindInfo> kinds;
  // Preferred version of each group ("" = core), in discovery order.
  std::vector<std::pair<std::string, std::string>> preferredVersions;
};

class ApiClient {
 public:
  // Fails when `access` is unusable: a server URL that is not https://, unparsable PEM data.
  // Nothing is dialled yet.
  static Result<std::unique_ptr<ApiClient>> create(const ClusterAccess& access,
                                                   ClientOptions options = {});
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // The namespace single-object calls use when given "": the context's, else "default".
  const std::string& defaultNamespace() const { return defaultNamespace_; }
  const ClusterAccess& access() const { return access_; }

  // --- raw HTTP --------------------------------------------------------------------------
  // Any request; `path` includes the query. Only transport failures are errors: a 4xx/5xx
  // answer is a Response (see statusFromResponse).
  Result<Response> request(std::string_view method, std::string_view path, std::string body = {},
                           std::string_view contentType = {},
                           std::string_view accept = "application/json");

  // A GET whose body goes to `onData` piece by piece as it arrives (`logs -f`), on a
  // connection of its own, until the server ends it. A 4xx/5xx answer is its Status.
  Status streamGet(std::string_view path, const std::function<void(std::string_view)>& onData,
                   std::string_view accept = "*/*");
  // The same for any method (a POST whose answer is a progress stream).
  Status streamRequest(std::string_view method, std::string_view path,
                       const std::function<void(std::string_view)>& onData,
                       std::string_view accept = "*/*");
  // A request whose body is `size` bytes read from `body` as they are sent, on a connection of
  // its own (no request timeout limits the whole upload, only each piece); `progress` gets the
  // bytes sent so far. Errors as request().
  Result<Response> upload(std::string_view method, std::string_view path, std::istream& body,
                          std::uint64_t size, std::string_view contentType,
                          const std::function<void(std::uint64_t)>& progress = {});

  // --- URL paths, as the API server routes them ------------------------------------------
  // /api/v1[/namespaces/NS]/RESOURCE[/NAME[/SUB]] or /apis/GROUP/VERSION/...; `ns` is ignored
  // for cluster-scoped kinds and "" means all namespaces.
  static std::string resourcePath(const api::KindInfo& kind, std::string_view ns,
                                  std::string_view name = {}, std::string_view subresource = {});
  static std::string listQuery(const ListOptions& options, bool watch);

  // --- typed resource calls (JSON objects) ------------------------------------------------
  // `ns` "" means defaultNamespace() here (and the object's own namespace for create/update
  // when it names one).
  Result<json> get(const api::KindInfo& kind, std::string_view ns, std::string_view name,
                   const GetOptions& options = {});
  // `ns` "" lists across all namespaces. Returns the List object (items, metadata.continue).
  Result<json> list(const api::KindInfo& kind, std::string_view ns,
                    const ListOptions& options = {});
  // The server-side Table (meta.k8s.io/v1) that kubectl prints, for a list or one `name`.
  Result<json> table(const api::KindInfo& kind, std::string_view ns,
                     const ListOptions& options = {}, std::string_view name = {});
  Result<json> create(const api::KindInfo& kind, std::string_view ns, const json& object,
                      const WriteOptions& options = {});
  // PUT of the whole object (metadata.resourceVersion, when set, guards against lost updates:
  // a stale one fails with 409 Conflict).
  Result<json> update(const api::KindInfo& kind, std::string_view ns, const json& object,
                      const WriteOptions& options = {});
  Result<json> patch(const api::KindInfo& kind, std::string_view ns, std::string_view name,
                     PatchType type, std::string_view patchBody, const WriteOptions& options = {});
  // Returns what the server answers: the deleted (or terminating) object, or a Success Status.
  Result<json> remove(const api::KindInfo& kind, std::string_view ns, std::string_view name,
                      const DeleteOptions& options = {});
  // deletecollection; `ns` "" means all namespaces.
  Result<json> removeCollection(const api::KindInfo& kind, std::string_view ns,
                                const ListOptions& selection, const DeleteOptions& options = {});

  // Starts a watch (`ns` "" = all namespaces). A failure to start (401, 404, 410 ...) is the
  // returned Status; later failures arrive as an ERROR event and/or endStatus().
  Result<std::unique_ptr<Watch>> watch(const api::KindInfo& kind, std::string_view ns,
                                       const ListOptions& options = {},
                                       WatchHandlers handlers = {});

  // --- discovery --------------------------------------------------------------------------
  // GET /version (major, minor, gitVersion, platform, ...).
  Result<json> serverVersion();
  // Every group/version/resource the server offers: aggregated discovery when the server
  // speaks it, else the legacy /api, /apis and per-group-version documents.
  Result<DiscoveredResources> discover();

 private:
  ApiClient(ClusterAccess access, std::shared_ptr<detail::ConnectionPool> pool);
  Result<json> call(std::string_view method, const std::string& path, std::string body = {},
                    std::string_view contentType = {},
                    std::string_view accept = "application/json");
  std::string namespaceFor(const api::KindInfo& kind, std::string_view ns,
                           const json* object) const;

  ClusterAccess access_;
  std::string defaultNamespace_;
  std::shared_ptr<detail::ConnectionPool> pool_;
};

}  // namespace kd::client

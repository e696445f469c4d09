#pragma once
// Reading container logs through the client library: the pods/log request kubectl sends, a
// log stream that another thread can cancel (a dashboard following logs), and the pods a
// workload reaches through its selector (logs of a whole Deployment or Job).

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "engine/api/kinds.h"
#include "engine/api/selectors.h"
#include "engine/api/status.h"
#include "engine/client/api_client.h"

namespace kd::client {

namespace detail {
class TlsConnection;
}

// The parameters of GET pods/NAME/log.
struct LogRequest {
  std::string container;  // "" = the server's choice (the pod's only container)
  bool follow = false;
  bool previous = false;  // the previous, terminated instance of the container
  bool timestamps = false;
  std::optional<int64_t> tailLines;
  std::optional<int64_t> sinceSeconds;
  std::string sinceTime;  // RFC 3339
};

// "/api/v1/namespaces/NS/pods/NAME/log?container=c&follow=true", the query keys in the order
// Go's url.Values encodes them (as kubectl sends them).
std::string logPath(std::string_view ns, std::string_view pod, const LogRequest& request);

// One pods/log GET on a connection of its own. Thread-safe: cancel() may be called from any
// thread at any time, before, during or after run(). Holds a copy of the client's cluster
// access, not the client, so it may outlive the ApiClient it was made from.
class LogStream {
 public:
  LogStream(const ApiClient& client, std::string path);
  ~LogStream();
  LogStream(const LogStream&) = delete;
  LogStream& operator=(const LogStream&) = delete;

  // Connects, sends the request and hands the body to `onData` (on the calling thread) piece
  // by piece as it arrives, until the server ends it. A refusal is the Status the server sent
  // (400 "previous terminated container ... not found", 404 for a missing pod); a broken
  // connection is a 503. OK on a clean end and whenever cancel() was called.
  Status run(const std::function<void(std::string_view)>& onData);
  // Ends run() soon (or makes a later run() return at once).
  void cancel();
  bool cancelled() const;

 private:
  ClusterAccess access_;
  std::string path_;
  mutable std::mutex mu_;
  bool cancelled_ = false;
  detail::TlsConnection* connection_ = nullptr;  // while run() streams; guarded by mu_
};

// The label selector through which `object` (a Deployment, ReplicaSet, StatefulSet,
// DaemonSet, Job: a meta/v1 LabelSelector; a Service or ReplicationController: a plain label
// map) reaches its pods. 400 "... is defined without a selector" when it has none.
Result<api::LabelSelector> podSelectorOf(const json& object);

// The pods `object` of `kind` reaches in its namespace, running ones first: the pod itself
// for a Pod, else every pod its selector matches (possibly none). Blocks on the API.
Result<json> podsSelectedBy(ApiClient& client, const api::KindInfo& kind, const json& object);

// The containers of `pod`, init containers first, then app containers.
struct PodContainers {
  std::vector<std::string> init, app;
};
PodContainers containersOf(const json& pod);

// The container kubectl reads when none is named: the one the
// kubectl.kubernetes.io/default-container annotation names, else the first app container
// ("" when the pod has none).
std::string defaultContainer(const json& pod);

}  // namespace kd::client

#include "engine/node/agent.h"

#include <malloc.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <thread>

#include "engine/api/object_key.h"
#include "engine/client/api_client.h"
#include "engine/node/events.h"
#include "engine/node/image_store.h"
#include "engine/node/metrics_collector.h"
#include "engine/node/network.h"
#include "engine/node/node_status.h"
#include "engine/node/pod_worker.h"
#include "engine/node/runtime.h"
#include "engine/node/sync_pool.h"
#include "engine/node/tunnel.h"

namespace kd::node {

namespace fs = std::filesystem;

namespace {

constexpr auto kLeasePeriod = std::chrono::seconds(10);
constexpr auto kNodeStatusPeriod = std::chrono::seconds(10);
constexpr auto kRetryPeriod = std::chrono::seconds(1);
constexpr int kLeaseDurationSeconds = 40;
constexpr auto kHeapTrimPeriod = std::chrono::seconds(30);
// glibc gives each thread that allocates an arena of its own, up to 8 per core; the pool's
// threads come and go with load, and memory freed in an arena stays with it. Two arenas, and
// giving free heap pages back now and then, keep the agent's memory near what it uses (a
// burst of 100 pod starts left ~12 MB of heap for ~5 MB in use without them).
constexpr int kMallocArenas = 2;
constexpr size_t kIdleApiConnections = 4;
// Pod steps that run at once while they keep returning. Without a bound a burst of new pods
// started a thread per pod (100 pods: 103 threads), each with its own API connection while it
// wrote status and events (~20-40 TLS connections at once, ~130 KB each); the memory they
// scattered stayed fragmented after the burst. Starts are bound by the OCI runtime's CPU, so
// more parallel steps do not start pods sooner. Steps blocked in hooks (a preStop sleep, a
// slow postStart) are not busy: when none has returned for a second the pool grows past this.
constexpr int kSteadySyncThreads = 8;

const api::KindInfo& kindOf(const char* group, const char* resource) {
  const char* version = "v1";
  return *api::KindsRegistry::builtin().byResource(group, version, resource);
}

void logLine(const std::string& line) {
  std::fprintf(stderr, "kubedesk-node: %s\n", line.c_str());
}

class Agent {
 public:
  Agent(const AgentOptions& options, const std::atomic<bool>& stop)
      : options_(options), stop_(stop) {}
  Status init();
  void run();

 private:
  bool stopped() const { return stop_.load(); }
  void sleepFor(std::chrono::milliseconds d) const;
  Status registerNode();
  void heartbeat();
  Status renewLease();
  Status relist();
  void handle(client::WatchEvent& event);
  void upsert(json pod);
  void reapFinished();
  void reportMetrics();
  void tearDownOrphans(const std::set<std::string>& live);
  void trimHeap();

  const AgentOptions& options_;
  const std::atomic<bool>& stop_;
  std::unique_ptr<client::ApiClient> api_;
  std::unique_ptr<ImageStore> images_;
  std::atomic<bool> imagesChanged_{false};  // set by the image endpoints' threads
  OciRuntime runtime_;
  std::unique_ptr<PodEventRecorder> events_;
  std::unique_ptr<ServiceAccountTokenManager> tokens_;
  std::unique_ptr<ConfigCache> configs_;  // outlives the workers
  NodeContext ctx_;
  NodeFacts facts_;
  Clock::time_point registeredAt_{};
  Clock::time_point lastLease_{}, lastStatus_{};
  SyncPool pool_{{.steadyThreads = kSteadySyncThreads}};       // outlives the workers
  std::map<std::string, std::unique_ptr<PodWorker>> workers_;  // by pod uid
  std::unique_ptr<client::Watch> watch_;
  std::string resourceVersion_;
  std::unique_ptr<NodeNetwork> network_;
  std::unique_ptr<MetricsCollector> metrics_;  // metrics: null when the interval is 0
  std::chrono::steady_clock::time_point lastMetrics_{};
  std::chrono::steady_clock::time_point lastTrim_{};
  std::unique_ptr<ReverseTunnel> tunnel_;  // last: stops before what its streams use
};

void Agent::sleepFor(std::chrono::milliseconds d) const {
  const auto until = std::chrono::steady_clock::now() + d;
  while (!stopped() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Status Agent::init() {
  auto access = client::loadClusterAccess(options_.kubeconfig, options_.context);
  if (!access.ok()) return access.status();
  client::ClientOptions clientOptions;
  clientOptions.userAgent = "kubedesk-node/" + options_.nodeName;
  // Each idle TLS connection holds ~60 KB of buffers; the pool's few threads need few.
  clientOptions.maxIdleConnections = kIdleApiConnections;
  auto api = client::ApiClient::create(*access, clientOptions);
  if (!api.ok()) return api.status();
  api_ = std::move(*api);
  auto runtime = OciRuntime::detect(options_.runtime, options_.runtimeRoot);
  if (!runtime.ok()) return runtime.status();
  runtime_ = *runtime;
  images_ = std::make_unique<ImageStore>(options_.stateDir / "images");
  if (Status s = images_->open(); !s.isOk()) return s;
  for (const auto& layout : options_.imageLayouts) {
    auto names = images_->importOciLayout(layout);
    if (!names.ok()) return names.status();
    for (const auto& n : *names) logLine("image " + n + " loaded from " + layout.string());
  }
  events_ = std::make_unique<PodEventRecorder>(*api_, options_.nodeName);
  facts_ = gatherNodeFacts(options_.nodeIp, options_.stateDir.string(),
                           runtime_.name() + "://" + runtime_.version());
  ctx_ = {api_.get(),
          images_.get(),
          &runtime_,
          events_.get(),
          &pool_,
          options_.nodeName,
          facts_.internalIp,
          options_.selfExe,
          options_.stateDir,
          options_.containerLogMaxBytes,
          options_.containerLogMaxFiles};
  tokens_ = std::make_unique<ServiceAccountTokenManager>(apiTokenRequester(*api_));
  ctx_.tokens = tokens_.get();
  configs_ = std::make_unique<ConfigCache>(*api_);
  ctx_.configs = configs_.get();
  tunnel_ =
      std::make_unique<ReverseTunnel>(*access, options_.nodeName,
                                      StreamingContext{&runtime_, options_.stateDir, images_.get(),
                                                       [this] { imagesChanged_ = true; }});
  if (Status s = tunnel_->start(); !s.isOk()) return s;
  return {};
}

Status Agent::registerNode() {
  const auto& nodes = kindOf("", "nodes");
  const auto now = Clock::now();
  registeredAt_ = now;
  auto created = api_->create(nodes, "", buildNode(options_.nodeName, facts_, now));
  if (created.ok()) return {};
  if (created.status().code() != 409) return created.status();
  // Already registered (an agent restart): take over its status.
  const json body = {{"status", buildNodeStatus(facts_, now, now)}};
  auto patched = api_->patch(nodes, "", options_.nodeName, client::PatchType::Merge, body.dump(),
                             {.subresource = "status"});
  return patched.ok() ? Status{} : patched.status();
}

Status Agent::renewLease() {
  const auto& leases = kindOf("coordination.k8s.io", "leases");
  const std::string renew = formatTimeNano(Clock::now()).substr(0, 26) + "Z";
  const json spec = {{"holderIdentity", options_.nodeName},
                     {"leaseDurationSeconds", kLeaseDurationSeconds},
                     {"renewTime", renew}};
  auto patched = api_->patch(leases, "kube-node-lease", options_.nodeName, client::PatchType::Merge,
                             json{{"spec", spec}}.dump());
  if (patched.ok() || patched.status().code() != 404) return patched.status();
  json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", options_.nodeName}, {"namespace", "kube-node-lease"}}},
                {"spec", spec}};
  auto node = api_->get(kindOf("", "nodes"), "", options_.nodeName);
  if (node.ok()) {
    lease["metadata"]["ownerReferences"] =
        json::array({{{"apiVersion", "v1"},
                      {"kind", "Node"},
                      {"name", options_.nodeName},
                      {"uid", (*node)["metadata"].value("uid", "")}}});
  }
  auto created = api_->create(leases, "kube-node-lease", lease);
  return created.ok() ? Status{} : created.status();
}

void Agent::heartbeat() {
  const auto now = Clock::now();
  if (now - lastLease_ >= kLeasePeriod && renewLease().isOk()) lastLease_ = now;
  // A loaded, pulled or removed image (image_service.h) is reported at once, so `kdctl
  // image ls` right after `image load` sees it.
  if (now - lastStatus_ < kNodeStatusPeriod && !imagesChanged_.exchange(false)) return;
  json body = {{"status", buildNodeStatus(facts_, registeredAt_, now)}};
  body["status"]["images"] = buildNodeImages(images_->list());
  auto r = api_->patch(kindOf("", "nodes"), "", options_.nodeName, client::PatchType::Merge,
                       body.dump(), {.subresource = "status"});
  if (r.ok()) {
    lastStatus_ = now;
  } else if (r.status().code() == 404) {
    registerNode();  // someone deleted the node: register again
  }
}

void Agent::upsert(json pod) {
  const std::string uid(api::stringAt(pod, "metadata", "uid"));
  auto it = workers_.find(uid);
  if (it != workers_.end()) {
    it->second->update(std::move(pod));
  } else {
    workers_[uid] = std::make_unique<PodWorker>(ctx_, std::move(pod));
  }
}

void Agent::tearDownOrphans(const std::set<std::string>& live) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.stateDir / "pods", ec)) {
    const std::string uid = entry.path().filename().string();
    if (live.count(uid) || workers_.count(uid)) continue;
    std::ifstream in(entry.path() / "pod.json");
    json pod = json::parse(in, nullptr, false);
    if (pod.is_discarded() || !pod.is_object()) continue;
    logLine("tearing down pod " + pod["metadata"].value("name", "") + " (gone from the API)");
    auto worker = std::make_unique<PodWorker>(ctx_, std::move(pod));
    worker->podDeleted();
    workers_[uid] = std::move(worker);
  }
}

Status Agent::relist() {
  client::ListOptions options;
  options.fieldSelector = "spec.nodeName=" + options_.nodeName;
  auto list = api_->list(kindOf("", "pods"), "", options);
  if (!list.ok()) return list.status();
  std::set<std::string> live;
  for (auto& pod : (*list)["items"]) {
    live.insert(std::string(api::stringAt(pod, "metadata", "uid")));
    upsert(std::move(pod));
  }
  for (auto& [uid, worker] : workers_) {
    if (!live.count(uid)) worker->podDeleted();
  }
  tearDownOrphans(live);
  resourceVersion_ = (*list)["metadata"].value("resourceVersion", "");
  options.resourceVersion = resourceVersion_;
  options.allowWatchBookmarks = true;
  auto watch = api_->watch(kindOf("", "pods"), "", options);
  if (!watch.ok()) return watch.status();
  watch_ = std::move(*watch);
  return {};
}

void Agent::handle(client::WatchEvent& event) {
  const std::string rv(api::stringAt(event.object, "metadata", "resourceVersion"));
  if (event.type == "ERROR") {
    watch_.reset();  // 410 Expired and anything else: list again
    return;
  }
  if (!rv.empty()) resourceVersion_ = rv;
  if (event.type == "BOOKMARK") return;
  if (event.type == "DELETED") {
    auto it = workers_.find(std::string(api::stringAt(event.object, "metadata", "uid")));
    if (it != workers_.end()) it->second->podDeleted();
    return;
  }
  upsert(std::move(event.object));
}

void Agent::reapFinished() {
  for (auto it = workers_.begin(); it != workers_.end();) {
    it = it->second->done() ? workers_.erase(it) : std::next(it);
  }
}

void Agent::trimHeap() {
  const auto now = std::chrono::steady_clock::now();
  if (now - lastTrim_ < kHeapTrimPeriod) return;
  lastTrim_ = now;
  ::malloc_trim(0);
}

// metrics: one report per interval; a failed post is retried with the next one.
void Agent::reportMetrics() {
  const auto now = std::chrono::steady_clock::now();
  if (!metrics_ || now - lastMetrics_ < options_.metricsInterval) return;
  lastMetrics_ = now;
  auto report = metrics_->collect(now);
  if (!report) return;
  if (Status s = postMetricsReport(*api_, options_.nodeName, *report); !s.isOk()) {
    logLine("reporting metrics: " + s.message());
  }
}

void Agent::run() {
  while (!stopped()) {
    if (Status s = registerNode(); s.isOk())
      break;
    else
      logLine("registering node " + options_.nodeName + ": " + s.message());
    sleepFor(kRetryPeriod);
  }
  logLine("node " + options_.nodeName + " registered (" + runtime_.name() + " " +
          runtime_.version() + ", " + facts_.internalIp + ")");
  network_ = std::make_unique<NodeNetwork>(*api_, options_.nodeName, options_.stateDir);
  if (options_.metricsInterval.count() > 0) {
    metrics_ = std::make_unique<MetricsCollector>(MetricsCollectorOptions{options_.stateDir});
  }
  while (!stopped()) {
    heartbeat();
    reportMetrics();
    reapFinished();
    trimHeap();
    if (!watch_ || watch_->ended()) {
      if (watch_ && watch_->endStatus().isOk() && !resourceVersion_.empty()) {
        client::ListOptions options;
        options.fieldSelector = "spec.nodeName=" + options_.nodeName;
        options.resourceVersion = resourceVersion_;
        options.allowWatchBookmarks = true;
        auto watch = api_->watch(kindOf("", "pods"), "", options);
        watch_ = watch.ok() ? std::move(*watch) : nullptr;
      }
      if (!watch_ || watch_->ended()) {
        if (Status s = relist(); !s.isOk()) {
          logLine("listing pods: " + s.message());
          watch_.reset();
          sleepFor(kRetryPeriod);
          continue;
        }
      }
    }
    if (auto event = watch_->next(std::chrono::milliseconds(500))) {
      try {
        handle(*event);
      } catch (const std::exception& e) {  // a malformed event must not stop the agent
        logLine(std::string("watch event: ") + e.what());
      }
    }
  }
  workers_.clear();
}

}  // namespace

Status runAgent(const AgentOptions& options, const std::atomic<bool>& stop) {
  ::mallopt(M_ARENA_MAX, kMallocArenas);  // before any thread allocates
  Agent agent(options, stop);
  if (Status s = agent.init(); !s.isOk()) return s;
  agent.run();
  return {};
}

}  // namespace kd::node

#include "engine/server/control_plane.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <thread>

#include "engine/api/kinds.h"
#include "engine/api/schema.h"
#include "engine/client/kubeconfig.h"
#include "engine/controllers/controller_manager.h"
#include "engine/controllers/cronjob_controller.h"
#include "engine/controllers/daemonset_controller.h"
#include "engine/controllers/deployment_controller.h"
#include "engine/controllers/endpoints_controller.h"
#include "engine/controllers/garbage_collector.h"
#include "engine/controllers/hpa_controller.h"
#include "engine/controllers/job_controller.h"
#include "engine/controllers/namespace_controller.h"
#include "engine/controllers/node_ipam_controller.h"
#include "engine/controllers/node_lifecycle_controller.h"
#include "engine/controllers/replicaset_controller.h"
#include "engine/controllers/root_ca_publisher.h"
#include "engine/controllers/serviceaccount_controller.h"
#include "engine/controllers/statefulset_controller.h"
#include "engine/controllers/volume_controller.h"
#include "engine/scheduler/scheduler.h"
#include "engine/server/api_server.h"
#include "engine/server/load_balancer_proxy.h"
#include "engine/server/metrics_store.h"
#include "engine/server/node_token.h"
#include "engine/server/object_service.h"
#include "engine/server/pki.h"
#include "vm/libvirt/cluster_switch.h"
#include "vm/simulated/simulated_nodes.h"

namespace kd::server {
namespace {

constexpr auto kCompactionInterval = std::chrono::minutes(5);
const char* const kDefaultNamespaces[] = {"default", "kube-system", "kube-public",
                                          "kube-node-lease"};

// Selectable fields kept beside each stored object so watches and lists filter without parsing.
api::Labels indexFields(std::string_view key, const json& object) {
  api::Labels fields;
  if (key.starts_with("core/pods/")) {
    for (const char* f : {"spec.nodeName", "status.phase"}) {
      fields.emplace(f, api::FieldSelector::fieldValue(object, f));
    }
  }
  return fields;
}

json readJsonFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  if (!in) return json::object();
  json j = json::parse(in, nullptr, false);
  return j.is_object() ? j : json::object();
}

}  // namespace

class ControlPlane::Impl {
 public:
  explicit Impl(ControlPlaneOptions o) : options(std::move(o)) {}

  Status start();
  void stop();
  Status bootstrapNamespaces();
  Status startControllers();
  Status startSimulatedNodes();
  Status startServer();
  Status bootstrapApiService();
  client::ClusterAccess adminAccess() const;
  Status writeKubeconfigs();
  void compactLoop();

  ControlPlaneOptions options;
  std::filesystem::path dataDir;
  std::unique_ptr<store::SqliteStore> store;
  std::unique_ptr<ObjectService> objects;
  std::unique_ptr<controllers::ControllerManager> controllers;
  std::unique_ptr<vm::SimulatedNodes> simulatedNodes;
  std::unique_ptr<vm::ClusterSwitch> clusterSwitch;
  std::shared_ptr<void> nodeMonitor;  // from options.nodeMonitor
  std::unique_ptr<ApiHandler> handler;
  // The handler's MetricsStore once the handler exists: the autoscaler starts before it.
  std::atomic<MetricsStore*> metrics{nullptr};
  std::unique_ptr<ApiServer> server;
  // An admin client of this API server, through which the load balancer reaches pods; made
  // once the server listens (the controllers start before it).
  std::unique_ptr<client::ApiClient> selfClient;
  std::atomic<const client::ApiClient*> selfClientPtr{nullptr};
  PkiFiles pki;
  uint16_t port = 0;

  std::thread compactor;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
};

Status ControlPlane::Impl::start() {
  dataDir =
      options.dataDir.empty() ? ControlPlane::defaultDataDir(options.profile) : options.dataDir;
  std::error_code ec;
  std::filesystem::create_directories(dataDir, ec);
  if (ec) return Status::internal("cannot create " + dataDir.string() + ": " + ec.message());
  ::chmod(dataDir.c_str(), 0700);

  auto opened = store::SqliteStore::open(dataDir / "store.db", indexFields);
  if (!opened.ok()) return opened.status();
  store = std::move(opened).value();
  objects = std::make_unique<ObjectService>(*store, api::KindsRegistry::builtin(),
                                            api::SchemaRegistry::builtin(),
                                            [] { return std::chrono::system_clock::now(); });
  if (Status st = bootstrapNamespaces(); !st.isOk()) return st;

  auto loaded = loadOrCreatePki(dataDir / "pki");
  if (!loaded.ok()) return loaded.status();
  pki = std::move(loaded).value();

  if (Status st = startControllers(); !st.isOk()) return st;
  if (Status st = startSimulatedNodes(); !st.isOk()) {
    stop();
    return st;
  }
  if (options.nodeMonitor) nodeMonitor = options.nodeMonitor(*objects, dataDir);
  if (Status st = startServer(); !st.isOk()) {
    stop();
    return st;
  }
  if (Status st = bootstrapApiService(); !st.isOk()) {
    stop();
    return st;
  }
  auto self = client::ApiClient::create(adminAccess());
  if (!self.ok()) {
    stop();
    return self.status();
  }
  selfClient = std::move(self).value();
  selfClientPtr = selfClient.get();
  if (Status st = writeKubeconfigs(); !st.isOk()) {
    stop();
    return st;
  }
  compactor = std::thread([this] { compactLoop(); });
  return {};
}

Status ControlPlane::Impl::bootstrapNamespaces() {
  const api::KindInfo* nsKind = api::KindsRegistry::builtin().byResource("", "v1", "namespaces");
  for (const char* name : kDefaultNamespaces) {
    if (store->get(ObjectService::keyFor(*nsKind, "", name)).ok()) continue;
    auto created = objects->create(*nsKind, "", json{{"metadata", {{"name", name}}}}, {});
    if (!created.ok()) return created.status();
  }
  // The default StorageClass when there is no class at all (as minikube's addon does).
  const api::KindInfo* scKind =
      api::KindsRegistry::builtin().byResource("storage.k8s.io", "v1", "storageclasses");
  if (store->list("storage.k8s.io/storageclasses/").items.empty()) {
    auto created = objects->create(*scKind, "", controllers::defaultStorageClass(), {});
    if (!created.ok() && created.status().code() != 409) return created.status();
  }
  return {};
}

Status ControlPlane::Impl::startControllers() {
  controllers = std::make_unique<controllers::ControllerManager>(*objects);
  controllers->add(std::make_unique<controllers::NamespaceController>(*objects));
  controllers->add(std::make_unique<controllers::ServiceAccountController>(*objects));
  controllers->add(std::make_unique<controllers::RootCaPublisher>(*objects, pki.caCertPem));
  controllers->add(std::make_unique<controllers::ReplicaSetController>(*objects));
  controllers->add(std::make_unique<controllers::DeploymentController>(*objects));
  controllers->add(std::make_unique<controllers::GarbageCollector>(*objects));
  controllers->add(std::make_unique<scheduler::Scheduler>(*objects));
  controllers->add(std::make_unique<controllers::NodeLifecycleController>(*objects));
  controllers->add(std::make_unique<controllers::NodeIpamController>(*objects));
  controllers->add(std::make_unique<controllers::JobController>(*objects));
  controllers->add(std::make_unique<controllers::CronJobController>(*objects));
  controllers->add(std::make_unique<controllers::EndpointsController>(*objects));
  controllers->add(std::make_unique<controllers::DaemonSetController>(*objects));
  controllers->add(std::make_unique<controllers::StatefulSetController>(*objects));
  controllers->add(std::make_unique<controllers::VolumeController>(*objects));
  controllers::HpaControllerOptions hpa;
  hpa.syncPeriod = options.hpaSyncPeriod;
  hpa.metrics = [this](const std::string& ns, const std::string& name) {
    MetricsStore* store = metrics.load();
    return store ? store->pod(ns, name) : std::nullopt;
  };
  controllers->add(std::make_unique<controllers::HpaController>(*objects, std::move(hpa)));
  LoadBalancerProxyOptions lb;
  lb.apiClient = [this] { return selfClientPtr.load(); };
  controllers->add(std::make_unique<LoadBalancerProxy>(*objects, std::move(lb)));
  Status st = controllers->start();
  if (!st.isOk()) controllers.reset();
  return st;
}

Status ControlPlane::Impl::startSimulatedNodes() {
  if (options.simulatedNodes <= 0) return {};
  vm::SimulatedNodesOptions o;
  o.count = options.simulatedNodes;
  o.namePrefix = options.profile;
  simulatedNodes = std::make_unique<vm::SimulatedNodes>(*objects, o);
  Status st = simulatedNodes->start();
  if (!st.isOk()) simulatedNodes.reset();
  return st;
}

Status ControlPlane::Impl::startServer() {
  handler = std::make_unique<ApiHandler>(
      *objects, [this] { return "127.0.0.1:" + std::to_string(port); }, pki.nodeTokenKey);
  metrics = &handler->metricsStore();
  const json remembered = readJsonFile(dataDir / "engine.json");
  if (options.clusterSwitch) {
    // The nodes' domains name the switch's port: keep it, else take any free one.
    auto started = vm::ClusterSwitch::start(remembered.value("switchPort", uint16_t{0}));
    if (!started.ok()) started = vm::ClusterSwitch::start(0);
    if (!started.ok()) return started.status();
    clusterSwitch = std::move(started).value();
  }
  std::vector<uint16_t> candidates;
  if (options.port != 0) {
    candidates.push_back(options.port);
  } else {
    // Keep the port across restarts so kubeconfigs stay valid; fall back to any free one.
    if (remembered.contains("port")) candidates.push_back(remembered["port"].get<uint16_t>());
    candidates.push_back(0);
  }
  Status last;
  for (uint16_t candidate : candidates) {
    ApiServerConfig config;
    config.port = candidate;
    config.pki = pki;
    config.authenticateToken = [key = pki.nodeTokenKey, this](std::string_view token) {
      if (auto node = nodeOfToken(key, token)) {
        return UserInfo{"system:node:" + *node, {"system:nodes", "system:authenticated"}};
      }
      return handler->authenticateServiceAccount(token).value_or(UserInfo{});
    };
    config.threads = options.threads;
    server = std::make_unique<ApiServer>(*handler, config);
    last = server->start();
    if (last.isOk()) break;
    server.reset();
  }
  if (!server) return last;
  port = server->port();
  json state = {{"port", port}, {"pid", ::getpid()}};
  if (clusterSwitch) state["switchPort"] = clusterSwitch->port();
  std::ofstream(dataDir / "engine.json") << state.dump();
  return {};
}

// The `kubernetes` Service in `default` at 10.96.0.1:443, its Endpoints and EndpointSlice
// pointing at this API server, as kube-apiserver keeps them; rewritten when the port changed.
Status ControlPlane::Impl::bootstrapApiService() {
  const json port = {{"name", "https"}, {"port", this->port}, {"protocol", "TCP"}};
  const json labels = {{"component", "apiserver"}, {"provider", "kubernetes"}};
  const json objectsWanted[] = {
      {{"apiVersion", "v1"},
       {"kind", "Service"},
       {"metadata", {{"name", "kubernetes"}, {"labels", labels}}},
       {"spec",
        {{"clusterIP", "10.96.0.1"},
         {"ports",
          {{{"name", "https"}, {"port", 443}, {"protocol", "TCP"}, {"targetPort", this->port}}}},
         {"sessionAffinity", "None"},
         {"type", "ClusterIP"}}}},
      {{"apiVersion", "v1"},
       {"kind", "Endpoints"},
       {"metadata",
        {{"name", "kubernetes"},
         {"labels", {{"endpointslice.kubernetes.io/skip-mirror", "true"}}}}},
       {"subsets", {{{"addresses", {{{"ip", "127.0.0.1"}}}}, {"ports", {port}}}}}},
      {{"apiVersion", "discovery.k8s.io/v1"},
       {"kind", "EndpointSlice"},
       {"metadata",
        {{"name", "kubernetes"}, {"labels", {{controllers::kServiceNameLabel, "kubernetes"}}}}},
       {"addressType", "IPv4"},
       {"endpoints", {{{"addresses", {"127.0.0.1"}}, {"conditions", {{"ready", true}}}}}},
       {"ports", {port}}},
  };
  for (const json& wanted : objectsWanted) {
    const api::KindInfo* kind = api::KindsRegistry::builtin().byKind(wanted.value("apiVersion", ""),
                                                                     wanted.value("kind", ""));
    if (!kind) return Status::internal("no kind for " + wanted.value("kind", ""));
    auto current = objects->get(*kind, "default", "kubernetes");
    if (!current.ok()) {
      auto created = objects->create(*kind, "default", wanted, {});
      if (!created.ok()) return created.status();
      continue;
    }
    json live = (*current)->parse();
    json merged = live;
    merged.merge_patch(wanted);
    if (merged == live) continue;
    auto updated = objects->update(*kind, "default", "kubernetes", std::move(merged), {});
    if (!updated.ok()) return updated.status();
  }
  return {};
}

client::ClusterAccess ControlPlane::Impl::adminAccess() const {
  client::ClusterAccess access;
  access.contextName = options.profile;
  access.clusterName = options.profile;
  access.userName = options.profile;
  access.server = "https://127.0.0.1:" + std::to_string(port);
  access.caPem = pki.caCertPem;
  access.clientCertPem = pki.adminCertPem;
  access.clientKeyPem = pki.adminKeyPem;
  return access;
}

Status ControlPlane::Impl::writeKubeconfigs() {
  const client::ClusterAccess access = adminAccess();
  const auto standalone = dataDir / "kubeconfig";
  std::filesystem::remove(standalone);
  if (Status st = client::mergeIntoKubeconfig(standalone, access, true); !st.isOk()) return st;
  if (!options.writeKubeconfig) return {};
  const auto target = options.kubeconfig.value_or(client::defaultKubeconfigPath());
  return client::mergeIntoKubeconfig(target, access, true);
}

void ControlPlane::Impl::compactLoop() {
  // Every interval, forget the history older than the revision seen one interval ago: watches
  // can resume from anything newer than five minutes, as with Kubernetes' etcd compaction.
  int64_t previous = store->currentRevision();
  std::unique_lock lock(mu);
  while (!cv.wait_for(lock, kCompactionInterval, [this] { return stopping; })) {
    int64_t now = store->currentRevision();
    store->compact(previous);
    previous = now;
  }
}

void ControlPlane::Impl::stop() {
  {
    std::lock_guard lock(mu);
    stopping = true;
  }
  cv.notify_all();
  if (compactor.joinable()) compactor.join();
  if (server) server->stop();
  server.reset();
  if (simulatedNodes) simulatedNodes->stop();
  simulatedNodes.reset();
  nodeMonitor.reset();
  clusterSwitch.reset();
  if (controllers) controllers->stop();
  controllers.reset();
  selfClientPtr = nullptr;
  selfClient.reset();
}

ControlPlane::ControlPlane(ControlPlaneOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
ControlPlane::~ControlPlane() {
  stop();
}
Status ControlPlane::start() {
  return impl_->start();
}
void ControlPlane::stop() {
  impl_->stop();
}
uint16_t ControlPlane::port() const {
  return impl_->port;
}
std::string ControlPlane::serverUrl() const {
  return "https://127.0.0.1:" + std::to_string(impl_->port);
}
const std::filesystem::path& ControlPlane::dataDir() const {
  return impl_->dataDir;
}
std::filesystem::path ControlPlane::standaloneKubeconfig() const {
  return impl_->dataDir / "kubeconfig";
}

std::filesystem::path ControlPlane::defaultDataDir(const std::string& profile) {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  std::filesystem::path base;
  if (xdg && *xdg) {
    base = xdg;
  } else {
    const char* home = std::getenv("HOME");
    base = std::filesystem::path(home && *home ? home : "/tmp") / ".local" / "share";
  }
  return base / "kubedesk" / profile;
}

}  // namespace kd::server

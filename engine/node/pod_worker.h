#pragma once
// One pod on this node, stepped by the agent's SyncPool (sync_pool.h) once a second (every
// 200 ms while terminating) and at once when the pod changes: it makes the pod's sandbox, runs the
// init containers in order and then the app containers, restarts them per restartPolicy with the
// kubelet's back-off (10 s doubling to 5 min, reset after 10 min of running), writes the pod's
// status and events, and on deletion stops the containers (SIGTERM, the grace period, SIGKILL),
// cleans up and removes the pod object. Each sync also refreshes the pod's volumes
// (volumes.h; a failure holds the containers in ContainerCreating with a FailedMount event) and
// runs the running containers' probes (probes.h): readiness drives `ready` and the Ready
// conditions, a failed liveness/startup probe kills the container (Killing event) so the
// restart policy brings it back, and the latest results go to the kubedesk.io/probe-status
// annotation. Lifecycle hooks (lifecycle_hooks.h): postStart before a started container counts
// as Running, preStop before every SIGTERM the worker sends (deletion, probe or hook failure).
//
// Everything the worker knows about a container lives on disk under
// <state>/pods/<uid>/containers/<name>/<attempt>/ (bundle, shim pid file, exit file), so a new
// worker — after an agent restart — adopts running containers instead of restarting them.

#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/client/api_client.h"
#include "engine/node/config_cache.h"
#include "engine/node/cri_log.h"
#include "engine/node/events.h"
#include "engine/node/image_store.h"
#include "engine/node/pod_status.h"
#include "engine/node/probes.h"
#include "engine/node/runtime.h"
#include "engine/node/service_account_tokens.h"
#include "engine/node/sync_pool.h"
#include "engine/node/volumes.h"

namespace kd::node {

// What every worker shares; owned by the agent, outlives the workers.
struct NodeContext {
  client::ApiClient* api = nullptr;
  ImageStore* images = nullptr;
  const OciRuntime* runtime = nullptr;
  PodEventRecorder* events = nullptr;
  SyncPool* pool = nullptr;  // steps every worker
  std::string nodeName;
  std::string nodeIp;
  std::string selfExe;  // for re-executing as the shim
  std::filesystem::path stateDir;
  // Container log rotation, as the kubelet's containerLogMaxSize / containerLogMaxFiles.
  uint64_t containerLogMaxBytes = RotatingLogFile::kDefaultMaxBytes;
  int containerLogMaxFiles = RotatingLogFile::kDefaultMaxFiles;
  ServiceAccountTokenManager* tokens = nullptr;  // fills token volumes; null: none are filled
  // ConfigMap/Secret volumes are read from here (config_cache.h); null: GET at each sync.
  ConfigCache* configs = nullptr;
};

class PodWorker {
 public:
  // Both take the pod by value: the worker drops what it never reads in place, without a copy.
  PodWorker(const NodeContext& ctx, json pod);
  // Stops stepping (waiting for a running step); containers keep running (they are adopted
  // by the next agent).
  ~PodWorker();
  PodWorker(const PodWorker&) = delete;
  PodWorker& operator=(const PodWorker&) = delete;

  // A newer version of the pod from the watch.
  void update(json pod);
  // The pod object is gone from the API: stop everything at once and clean up.
  void podDeleted();
  // True once the pod has been torn down and the worker steps no more.
  bool done() const;

  // The directory a pod's state lives in.
  // A container instance's runtime id, and its CRI log file: the streaming server
  // (streaming.h) finds containers by the same formulas.
  static std::string containerId(const std::string& uid, const std::string& name, int attempt);
  static std::filesystem::path podLogDir(const std::filesystem::path& stateDir,
                                         const std::string& ns, const std::string& pod,
                                         const std::string& uid);
  static std::filesystem::path logPath(const std::filesystem::path& stateDir, const std::string& ns,
                                       const std::string& pod, const std::string& uid,
                                       const std::string& name, int attempt);
  static std::filesystem::path podDir(const std::filesystem::path& stateDir,
                                      const std::string& uid);
  // The newest instance of container `name` recorded in the pod's directory, -1 before the
  // first start.
  static int latestAttempt(const std::filesystem::path& podDir, const std::string& name);
  // The cgroup (below each controller's root) of a pod, and of one container instance in it.
  static std::string podCgroup(const std::string& uid);
  static std::string containerCgroup(const std::string& uid, const std::string& id);
  // Removes the pod cgroups of every pod with a directory under `stateDir`, in every
  // hierarchy: for whoever deletes a node's containers behind its stopped agent (a pod the agent
  // terminates itself loses its cgroups then). Only empty cgroups go.
  static void removePodCgroupsUnder(const std::filesystem::path& stateDir);

 private:
  struct Backoff {
    int delaySeconds = 0;  // 0: the next failure may retry at once
    Clock::time_point until{};
  };
  struct Slot {
    std::string name;
    bool init = false;
    int attempt = -1;         // the current instance; -1 before the first start
    int deletedAttempt = -1;  // the last ended instance whose runtime state was deleted
    Backoff crash, pull;
    std::optional<Image> image;
    std::string waitingReason, waitingMessage;  // why the last start failed
    int backoffEventFor = -1;                   // attempt the BackOff event was sent for
    bool pullBackoffEventSent = false;
    std::vector<ProbeTracker> probes;  // of instance `probesFor`
    int probesFor = -1;
    std::optional<Clock::time_point> killAt;  // a probe failed: SIGKILL when the grace ends
  };
  struct Observed {
    bool started = false;
    bool running = false;
    std::string startedAt;
    std::optional<Termination> term;
  };

  // One step for the pool: the delay until the next, nullopt once torn down.
  std::optional<SyncPool::Duration> step();
  // One sync or termination step; true once the pod is torn down.
  bool runOnce(const json& pod, bool deleted);
  void sync(const json& pod);
  bool terminate(const json& pod, bool apiGone);
  void cleanup();

  void adoptSlots(const json& pod);
  ContainerView step(Slot& slot, const json& pod, const json& spec, bool allowStart, bool final);
  ContainerView start(Slot& slot, const json& pod, const json& spec, ContainerView view);
  Result<Image> resolveImage(Slot& slot, const json& pod, const json& spec);
  Status createContainer(Slot& slot, const json& pod, const json& spec, int attempt);
  Observed observe(const Slot& slot, int attempt) const;
  // Runs the running container's due probes, sets the view's ready/started verdicts, and
  // kills the container when its liveness or startup probe has failed.
  void runProbes(Slot& slot, const json& pod, const json& spec, ContainerView& view);
  void killForProbe(Slot& slot, const json& pod, const json& spec, ProbeKind kind);
  // Stops the running instance for a restart: a Killing event with `message`, its preStop hook
  // (FailedPreStopHook on failure), SIGTERM, and SIGKILL once the grace period has passed.
  void killContainer(Slot& slot, const json& pod, const json& spec, const std::string& message);
  // SIGKILL to container `id`; a refusal goes to the agent's log (the caller sends it again).
  void killOrSay(const std::string& id) const;
  // On another thread: the instance's preStop hook within `grace` seconds, then SIGTERM (SIGKILL
  // for a zero grace). Yields the hook's failure message, "" when none.
  std::future<std::string> stopAsync(const Slot& slot, const json& pod, const json& spec,
                                     int64_t grace);
  // Where probes and hooks of container instance `id` reach it.
  ProbeTarget targetOf(const json& pod, const json& spec, const std::string& id) const;
  void publishProbeStatus();
  void publish(const json& pod, const std::vector<ContainerView>& init,
               const std::vector<ContainerView>& app, bool sandboxReady);
  void writePodFiles(const json& pod);
  // Sets up (or refreshes) the pod's volumes; a failure holds the containers in
  // ContainerCreating with a FailedMount event.
  void refreshVolumes(const json& pod);
  // Objects the pod refers to (ConfigMaps, Secrets, claims, volumes), read from the API.
  // Volumes read ConfigMaps and Secrets through ctx_.configs (watched, shared by the pods).
  Result<json> getObject(const std::string& resource, const std::string& name) const;

  std::string containerId(const std::string& name, int attempt) const;
  std::filesystem::path attemptDir(const std::string& name, int attempt) const;
  std::filesystem::path logPath(const std::string& name, int attempt) const;
  std::filesystem::path logDir() const;
  void event(const json& pod, const Slot& slot, const std::string& type, const std::string& reason,
             const std::string& message);

  const NodeContext& ctx_;
  std::string uid_, namespace_, name_;
  std::filesystem::path podDir_;
  std::map<std::string, Slot> slots_;
  // The last status written, as compact JSON text (to tell whether a new one differs; the next
  // status takes its conditions' transition times from it), and its phase; empty before the
  // first write.
  std::string publishedText_;
  std::string publishedPhase_;
  std::string startTime_;
  std::string podIp_;  // "" until the node network has given the sandbox one
  VolumePaths volumes_;
  ConfigRefs configRefs_;    // the ConfigMaps/Secrets the volumes read from ctx_.configs
  std::string volumeError_;  // "" once every volume is set up
  bool probeStatusDirty_ = false;

  // Termination progress.
  bool terminating_ = false;
  Clock::time_point killDeadline_{};
  Clock::time_point nextKill_{};  // SIGKILL goes again each period until the containers are gone

  mutable std::mutex mu_;  // guards what update()/podDeleted() hand to the next step
  // The newest pod as compact JSON text, shared with a running step. A step parses it and
  // drops the tree when it returns: between steps a pod costs its text (~3 KB), not a parsed
  // tree (~13 KB in a few hundred small blocks that fragment the heap).
  std::shared_ptr<const std::string> pod_;
  bool deleted_ = false;
  bool done_ = false;
  SyncPool::TaskId task_ = 0;
};

}  // namespace kd::node

#pragma once
// The engine process for one profile: its state directory, store, PKI, API server, the
// kubeconfig context that points at it, and periodic store compaction. `kubedesk-engine` is a
// thin main around this class; tests start one in-process or as a child process.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/api/status.h"

namespace kd::server {

class ObjectService;

struct ControlPlaneOptions {
  std::string profile = "kubedesk";
  std::filesystem::path dataDir;  // empty: ${XDG_DATA_HOME:-~/.local/share}/kubedesk/<profile>
  uint16_t port = 0;              // 0: the port this profile used before, else a free one
  std::optional<std::filesystem::path> kubeconfig;  // empty: $KUBECONFIG / ~/.kube/config
  bool writeKubeconfig = true;
  int threads = 4;
  int simulatedNodes = 0;  // register this many simulated nodes (vm/simulated) at start
  // Serve the VM nodes' cluster network (vm/libvirt/cluster_switch.h) on 127.0.0.1; its port
  // goes into engine.json as "switchPort" and is kept across restarts, as the API port is.
  bool clusterSwitch = false;
  // Watches the profile's nodes from outside the cluster: started once the controllers run,
  // released (which stops it) before they stop. kubedesk-engine gives one for a VM-driver
  // profile (vm/libvirt/vm_node_monitor.h), so this library links no libvirt.
  std::function<std::shared_ptr<void>(ObjectService& objects, const std::filesystem::path& dataDir)>
      nodeMonitor;
  // How often each HorizontalPodAutoscaler is evaluated (kube-controller-manager's
  // --horizontal-pod-autoscaler-sync-period).
  std::chrono::milliseconds hpaSyncPeriod{15000};
};

class ControlPlane {
 public:
  explicit ControlPlane(ControlPlaneOptions options);
  ~ControlPlane();

  // Opens the store, creates the PKI and default namespaces, starts serving and merges the
  // kubeconfig context. On failure nothing keeps running.
  Status start();
  void stop();

  uint16_t port() const;
  std::string serverUrl() const;  // https://127.0.0.1:PORT
  const std::filesystem::path& dataDir() const;
  // A kubeconfig holding only this profile's context (what `kdctl kubeconfig` prints).
  std::filesystem::path standaloneKubeconfig() const;

  static std::filesystem::path defaultDataDir(const std::string& profile);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kd::server

#pragma once
// The engine's watch over the VMs of a VM-driver profile (kubedesk-engine --cluster-switch): a
// node whose VM stops or crashes without the driver asking goes NotReady at once, instead of
// after the node lifecycle controller's 40 s lease grace period, and says why.
//
// The monitor holds its own libvirt connection (libvirt_connection.h: event loop on its own
// thread, keepalive). Lifecycle events only queue the node's name; one worker re-reads the
// domain's state and decides (Kubernetes' controller pattern), so a stale or lost event does
// no harm. On start, after a lost connection (keepalive, libvirtd restarted) and every
// resyncPeriod the worker (re)connects and looks at every node of the profile, so a VM that died
// while the engine or libvirtd was down is noticed too.
//
// A VM is stopped unasked when its domain is shut off, crashed or undefined while the driver
// did not ask for it: the driver marks a node before it stops or deletes it and clears the mark
// once it started it again (libvirt_nodes.h, libvirtNodeStopRequested). For such a node the
// monitor writes, through the engine's ObjectService (compare-and-swap on the resourceVersion
// it read, so it never overwrites a newer write of the agent), what Kubernetes' node lifecycle
// controller writes for a silent node — every kubelet condition Unknown, reason
// NodeStatusUnknown — with a message naming the VM, and records a Warning event NodeVMStopped
// (and, when Ready was True, a Normal NodeNotReady worded as Kubernetes' node lifecycle
// controller words it). The node lifecycle controller then taints the node and evicts its pods
// as for any unreachable node; the agent reports Ready again once the VM runs.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "engine/api/status.h"
#include "engine/controllers/event_recorder.h"
#include "engine/controllers/work_queue.h"
#include "engine/server/object_service.h"
#include "vm/libvirt/libvirt_connection.h"

namespace kd::vm {

// What the monitor knows about one node's VM when it decides.
struct VmObservation {
  std::string domain;          // "kubedesk-<profile>-mNN"
  DomainStatus status;         // re-read from libvirt for every decision
  bool stopRequested = false;  // libvirtNodeStopRequested: the driver stopped it on purpose
};

// "VM kubedesk-P-m01 stopped: Stopped (Destroyed)".
std::string vmStoppedMessage(const VmObservation& vm);

// The domain is shut off, crashed or undefined, and the driver did not ask for it.
bool vmStoppedUnasked(const VmObservation& vm);

// `node` (as stored, with its resourceVersion) with every kubelet condition Unknown, reason
// NodeStatusUnknown and the VM's message, stamped `now` where a status changes; nullopt when
// there is nothing to write: the VM was not stopped unasked, the Node is being deleted, or its
// conditions already say so.
std::optional<json> nodeWithStoppedVm(const json& node, const VmObservation& vm,
                                      const std::string& now);

struct VmNodeMonitorOptions {
  std::filesystem::path profileDir;  // the engine's data directory, which the driver shares
  std::string profile;
  std::string uri = kLibvirtSessionUri;  // as kdctl's VM driver connects
  // How often the connection is checked and every node looked at without an event.
  std::chrono::milliseconds resyncPeriod{30000};
  // Reads a domain's status; empty: libvirt through the monitor's own connection. Tests give
  // one to drive sync() without VMs.
  std::function<Result<DomainStatus>(const std::string& domain)> domainStatus;
};

class VmNodeMonitor {
 public:
  VmNodeMonitor(server::ObjectService& objects, VmNodeMonitorOptions options);
  ~VmNodeMonitor();  // stop()
  VmNodeMonitor(const VmNodeMonitor&) = delete;
  VmNodeMonitor& operator=(const VmNodeMonitor&) = delete;

  // Starts the worker, which connects to libvirt in the background: an engine whose libvirt is
  // not up yet keeps trying (with back-off) rather than failing to start.
  void start();
  void stop();

  // Reconciles node `node` ("<profile>-mNN") once; what the worker runs per queued node.
  // Errors are those a retry can help with (libvirt unreachable, a conflicting write).
  Status sync(const std::string& node);

 private:
  Status attach();
  Status markNotReady(const json& node, const VmObservation& vm);
  void onEvent(const DomainEvent& event);
  Result<DomainStatus> domainStatus(const std::string& domain);
  void work();

  server::ObjectService& objects_;
  const VmNodeMonitorOptions options_;
  const api::KindInfo* nodes_;
  controllers::EventRecorder recorder_;
  // Declared before the connection: its event handler may queue until the connection is gone.
  controllers::WorkQueue queue_;
  std::unique_ptr<LibvirtConnection> libvirt_;  // only the worker touches it
  std::thread worker_;
};

}  // namespace kd::vm

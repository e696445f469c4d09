#pragma once
// Simulated nodes, like kwok: Node objects with real capacity that no machine backs, so the
// scheduler and every controller work as on a real cluster while pods "run" instantly.
//
// start() registers `count` nodes (<prefix>-m01, <prefix>-m02, ...; labels kubernetes.io/
// hostname, kubernetes.io/os=linux, node.kubernetes.io/instance-type=simulated; the first one
// also node-role.kubernetes.io/control-plane; spec.podCIDR 10.244.N.0/24; Ready), keeps a
// Lease per node in kube-node-lease renewed every leaseRenewInterval, and plays kubelet for
// the pods bound to them (see SimulatedKubelet). Nodes already registered by an earlier run
// are taken over, not duplicated. Thread-safe; stop() (or the destructor) ends every thread.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/api/status.h"
#include "engine/server/object_service.h"

namespace kd::controllers {
class ControllerManager;
}

namespace kd::vm {

struct SimulatedNodesOptions {
  int count = 1;
  std::string namePrefix = "kubedesk";
  std::string cpu = "4";
  std::string memory = "8Gi";
  std::string pods = "110";
  std::chrono::milliseconds leaseRenewInterval{10000};
  // How long a Job's pod runs when its annotations do not say.
  std::chrono::milliseconds jobPodDuration{2000};
  // Record kubelet events (Pulled, Created, Started, ...) for each pod.
  bool recordEvents = true;
  int workers = 2;
};

class SimulatedNodes {
 public:
  SimulatedNodes(server::ObjectService& objects, SimulatedNodesOptions options);
  ~SimulatedNodes();
  SimulatedNodes(const SimulatedNodes&) = delete;
  SimulatedNodes& operator=(const SimulatedNodes&) = delete;

  Status start();
  void stop();

  const std::vector<std::string>& nodeNames() const { return names_; }
  // "10.244.<n>.0/24" for the n-th node (1-based), spilling into 10.245.x for n > 255.
  static std::string podCidr(int index);
  static std::string nodeName(const std::string& prefix, int index);

  // Stops renewing one node's Lease (as if its kubelet died); for tests of node lifecycle.
  void silence(const std::string& node);

 private:
  Status registerNode(int index);
  Status renewLease(const std::string& node, bool create);
  void renewLoop();

  server::ObjectService& objects_;
  const SimulatedNodesOptions options_;
  std::vector<std::string> names_;
  std::unique_ptr<controllers::ControllerManager> manager_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<std::string> silenced_;
  std::thread renewer_;
};

}  // namespace kd::vm

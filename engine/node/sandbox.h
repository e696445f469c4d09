#pragma once
// A pod sandbox: the network, IPC and UTS namespaces a pod's containers share, created with
// unshare(1) and kept alive by bind mounts under <podDir>/ns (no pause process). The network
// namespace has its loopback up; the UTS namespace carries the pod's hostname. A hostNetwork
// pod keeps the node's network and UTS namespaces and gets only a private IPC namespace.

#include <filesystem>
#include <vector>

#include "engine/api/status.h"
#include "engine/node/oci_spec.h"

namespace kd::node {

class PodSandbox {
 public:
  // Creates the namespaces unless they exist already (an adopted pod). Idempotent.
  static Result<PodSandbox> ensure(const std::filesystem::path& podDir, const std::string& hostname,
                                   bool hostNetwork);
  // Unmounts and removes the namespaces (their last user is gone once the containers are).
  static Status destroy(const std::filesystem::path& podDir);

  // What each container's config.json joins.
  const std::vector<NamespaceRef>& namespaces() const { return namespaces_; }
  // The network namespace's path, "" for hostNetwork.
  std::string networkNamespace() const;

 private:
  std::vector<NamespaceRef> namespaces_;
};

}  // namespace kd::node

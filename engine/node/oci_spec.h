#pragma once
// The OCI runtime configuration (config.json) for one container of a pod, from the image's
// config and the pod's container spec, following what Kubernetes documents:
//
//   - command/args: command replaces the image's Entrypoint, args its Cmd; command alone drops
//     Cmd; $(VAR) in them expands from the container's environment ($$ escapes).
//   - env: resolved beforehand by resolveContainerEnv (pod_env.h).
//   - workingDir, securityContext.runAsUser/runAsGroup/readOnlyRootFilesystem/privileged.
//   - resources.limits.memory -> memory limit; limits.cpu -> CFS quota over a 100 ms period;
//     requests.cpu -> cpu shares (1 CPU = 1024, at least 2), as the kubelet sets them.

#include <string>
#include <utility>
#include <vector>

#include "engine/api/status.h"
#include "engine/node/pod_env.h"

namespace kd::node {

struct BindMount {
  std::string source;
  std::string destination;
  bool readOnly = false;
};

struct NamespaceRef {
  std::string type;  // "network", "ipc", "uts", "pid", "mount"
  std::string path;  // "" creates a new one; else joins the namespace bind-mounted there
};

struct OciConfigInput {
  json imageConfig;  // the image config's "config" object
  json container;    // a core/v1 Container
  std::string rootfs;
  EnvList env;  // already resolved (see resolveContainerEnv)
  std::vector<BindMount> mounts;
  std::vector<NamespaceRef> namespaces;
  std::string cgroupsPath;
};

// The argv the container runs; 400 when neither the container nor the image names a command.
Result<std::vector<std::string>> containerCommand(const json& imageConfig, const json& container,
                                                  const EnvList& env);

// The whole config.json.
Result<json> buildOciConfig(const OciConfigInput& input);

}  // namespace kd::node

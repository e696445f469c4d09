#pragma once
// Reading and merging kubeconfig files the way kubectl does: $KUBECONFIG (colon-separated,
// first file is written) or ~/.kube/config. Merging a context never clobbers other clusters,
// users or contexts, and keeps the file's other content.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/api/status.h"

namespace kd::client {

// One resolved context: where the API server is and how to authenticate to it.
struct ClusterAccess {
  std::string contextName;
  std::string clusterName;
  std::string userName;
  std::string server;         // https://127.0.0.1:PORT
  std::string namespaceName;  // the context's namespace ("" means default)
  std::string caPem;          // certificate-authority-data or the file it names
  // tls-server-name: the name the server's certificate is verified against (and sent as SNI)
  // instead of the server URL's host, for a server reached under another address (a VM
  // reaching the host's 127.0.0.1 through its gateway). Empty: the URL's host.
  std::string tlsServerName;
  std::string clientCertPem;
  std::string clientKeyPem;
  std::string token;
  bool insecureSkipTlsVerify = false;
};

// The file kubectl would write: the first file of $KUBECONFIG that exists (else its first
// entry), or ~/.kube/config when $KUBECONFIG is unset or empty.
std::filesystem::path defaultKubeconfigPath();

// Adds or replaces the cluster, user and context named access.contextName (cluster and user
// use the same name) in `file`, creating it (mode 0600) if needed. With `makeCurrent`, sets
// current-context.
Status mergeIntoKubeconfig(const std::filesystem::path& file, const ClusterAccess& access,
                           bool makeCurrent);

// Removes the context, cluster and user named `name` from `file`; clears current-context when
// it named it.
Status removeFromKubeconfig(const std::filesystem::path& file, const std::string& name);

// Resolves a context from the kubeconfig files in $KUBECONFIG (merged as kubectl merges them)
// or `explicitFile`; `context` empty means current-context.
Result<ClusterAccess> loadClusterAccess(const std::optional<std::filesystem::path>& explicitFile,
                                        const std::string& context);

// The names of every context, current first.
Result<std::vector<std::string>> listContexts(
    const std::optional<std::filesystem::path>& explicitFile);

}  // namespace kd::client

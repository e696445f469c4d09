#pragma once
// Credentials for a node agent. A driver that starts an agent asks the engine, as a cluster
// admin, for that node's bearer token (POST /kubedesk/v1/nodes/<name>/token) and gives the agent
// a kubeconfig of its own: the same server and CA as the admin's, the token instead of the
// admin certificate, so the API server confines the agent to its node's objects.

#include <filesystem>
#include <string>

#include "engine/api/status.h"
#include "engine/client/kubeconfig.h"

namespace kd::client {

class ApiClient;

// The access an agent of `nodeName` uses, derived from the admin's `admin` client.
Result<ClusterAccess> nodeAccess(ApiClient& admin, const std::string& nodeName);

// How an agent reaches the API server when not at the admin's URL: a VM guest dials the host's
// 127.0.0.1 as its gateway (10.0.2.2) and verifies the certificate as 127.0.0.1.
struct NodeEndpoint {
  std::string server;         // "" = the admin's
  std::string tlsServerName;  // "" = none
};

// Writes (mode 0600, replacing) a kubeconfig for the agent of `nodeName` at `out`, minting the
// token through the engine that `adminKubeconfig` (current context) reaches.
Status writeNodeKubeconfig(const std::filesystem::path& adminKubeconfig,
                           const std::string& nodeName, const std::filesystem::path& out,
                           const NodeEndpoint& endpoint = {});

}  // namespace kd::client

#include "engine/client/node_credentials.h"

#include "engine/api/percent_encoding.h"
#include "engine/client/api_client.h"

namespace kd::client {

Result<ClusterAccess> nodeAccess(ApiClient& admin, const std::string& nodeName) {
  auto response =
      admin.request("POST", "/kubedesk/v1/nodes/" + api::percentEncode(nodeName) + "/token", "{}",
                    "application/json");
  if (!response.ok()) return response.status();
  if (!response->ok()) return statusFromResponse(response->status, response->body);
  const json answer = json::parse(response->body, nullptr, false);
  const std::string token =
      answer.is_object() ? answer.value("status", json::object()).value("token", "") : "";
  if (token.empty()) {
    return Status::internal("the engine answered a node token request without a token");
  }
  ClusterAccess access = admin.access();
  access.contextName = access.clusterName = access.userName = "kubedesk-node";
  access.clientCertPem.clear();
  access.clientKeyPem.clear();
  access.token = token;
  return access;
}

Status writeNodeKubeconfig(const std::filesystem::path& adminKubeconfig,
                           const std::string& nodeName, const std::filesystem::path& out,
                           const NodeEndpoint& endpoint) {
  auto admin = loadClusterAccess(adminKubeconfig, "");
  if (!admin.ok()) return admin.status();
  auto client = ApiClient::create(*admin);
  if (!client.ok()) return client.status();
  auto access = nodeAccess(**client, nodeName);
  if (!access.ok()) return access.status();
  if (!endpoint.server.empty()) access->server = endpoint.server;
  if (!endpoint.tlsServerName.empty()) access->tlsServerName = endpoint.tlsServerName;
  std::error_code ec;
  std::filesystem::remove(out, ec);  // a fresh file: no stale token or certificate survives
  return mergeIntoKubeconfig(out, *access, true);
}

}  // namespace kd::client

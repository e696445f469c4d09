#pragma once
// What a node agent may do, as kube-apiserver's Node authorizer and NodeRestriction admission
// plugin allow it. A request from "system:node:<name>" (group "system:nodes") may:
//   - read Nodes, Pods, Services, Endpoints and EndpointSlices;
//   - create and change only its own Node (and its status) and its own Lease in kube-node-lease;
//   - write the status of, delete, or evict only the Pods bound to it;
//   - get a ConfigMap, Secret or PersistentVolumeClaim only when a Pod bound to it references
//     it, and a PersistentVolume only when such a claim is bound to it;
//   - create a token (serviceaccounts/token) only bound to a Pod bound to it, for the account
//     that Pod runs as (NodeRestriction's rule);
//   - create and update Events;
//   - report metrics for, and open the reverse tunnel of, only itself (/kubedesk/v1/nodes/<n>/);
//   - read discovery, OpenAPI, version and health endpoints.
// Everything else is 403 Forbidden with kube-apiserver's message shape. Users outside
// "system:nodes" are not this authorizer's business (service accounts:
// service_account_authorizer.h; every other authenticated user is a cluster admin today).

#include <optional>
#include <string>

#include "engine/api/status.h"
#include "engine/server/api_handler.h"
#include "engine/server/object_service.h"
#include "engine/server/request_info.h"

namespace kd::server {

// The node name of a node agent's user; nullopt for any other user.
std::optional<std::string> nodeOfUser(const UserInfo& user);

// kube-apiserver's denial: `<resource> "<name>" is forbidden: User "<user>" cannot <verb>
// resource ... in the namespace "<ns>"[: <reason>]`.
Status forbiddenRequest(const std::string& user, const RequestInfo& info,
                        const std::string& reason);

// Discovery, OpenAPI, version and health reads, which every authenticated user may make
// (kube-apiserver's system:discovery and system:public-info-viewer roles).
bool isDiscoveryRequest(const RequestInfo& info);

Status authorizeNodeRequest(const std::string& node, const RequestInfo& info,
                            const HttpRequest& request, const ObjectService& objects);

}  // namespace kd::server

#pragma once
// What a node agent may do, as kube-apiserver's Node authorizer and NodeRestriction admission
// plugin allow it. A request from "system:node:<name>" (group "system:nodes") may:
//   - read Nodes, Pods, Services, Endpoints and EndpointSlices;
//   - create and change only its own Node (and its status) and its own Lease in kube-node-lease;
//   - write the status of, delete, or evict only the Pods bound to it;
//   - get a ConfigMap, Secret or PersistentVolumeClaim only when a Pod bound to it references
//     it, and a PersistentVolume only when such a claim is bound to it;
//   - create and update Events;
//   - report metrics for, and open the reverse tunnel of, only itself (/kubedesk/v1/nodes/<n>/);
//   - read discovery, OpenAPI, version and health endpoints.
// Everything else is 403 Forbidden with kube-apiserver's message shape. Users outside
// "system:nodes" are not this authorizer's business (every other authenticated user is a
// cluster admin today).

#include <optional>
#include <string>

#include "engine/api/status.h"
#include "engine/server/api_handler.h"
#include "engine/server/object_service.h"
#include "engine/server/request_info.h"

namespace kd::server {

// The node name of a node agent's user; nullopt for any other user.
std::optional<std::string> nodeOfUser(const UserInfo& user);

Status authorizeNodeRequest(const std::string& node, const RequestInfo& info,
                            const HttpRequest& request, const ObjectService& objects);

}  // namespace kd::server

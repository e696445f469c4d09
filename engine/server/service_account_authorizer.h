#pragma once
// What a service account may do. The engine has no RBAC, so a service account gets what
// Kubernetes grants every authenticated user when no binding names it (the system:discovery,
// system:public-info-viewer and system:basic-user roles as far as the engine serves them):
// discovery, OpenAPI, version and health reads. Every other request is 403 Forbidden with
// kube-apiserver's wording, so a pod's token shows who it is without reaching any object.

#include <optional>
#include <string>

#include "engine/api/status.h"
#include "engine/server/api_handler.h"
#include "engine/server/request_info.h"

namespace kd::server {

// True for a user a service account token authenticated ("system:serviceaccount:NS:NAME").
bool isServiceAccount(const UserInfo& user);

Status authorizeServiceAccountRequest(const UserInfo& user, const RequestInfo& info);

}  // namespace kd::server

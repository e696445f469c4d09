#include "engine/server/service_account_authorizer.h"

#include <algorithm>

#include "engine/server/node_authorizer.h"

namespace kd::server {

bool isServiceAccount(const UserInfo& user) {
  return user.name.starts_with("system:serviceaccount:") &&
         std::find(user.groups.begin(), user.groups.end(), "system:serviceaccounts") !=
             user.groups.end();
}

Status authorizeServiceAccountRequest(const UserInfo& user, const RequestInfo& info) {
  if (isDiscoveryRequest(info)) return {};
  if (info.isResourceRequest) return forbiddenRequest(user.name, info, "");
  return Status::forbidden("forbidden: User \"" + user.name + "\" cannot " + info.verb +
                           " path \"" + info.path + "\"");
}

}  // namespace kd::server

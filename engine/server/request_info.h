#pragma once
// What an HTTP request asks of the API, decoded from its method, path and query the way the
// Kubernetes API server does (RequestInfoFactory): the verb (get, list, watch, create, update,
// patch, delete, deletecollection), the group/version/resource, namespace, name and
// subresource. Non-resource paths (/version, /healthz, /openapi/v2 ...) are flagged as such.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "engine/api/status.h"

namespace kd::server {

using QueryParams = std::map<std::string, std::string, std::less<>>;

struct RequestInfo {
  bool isResourceRequest = false;
  std::string path;       // decoded path without the query
  std::string verb;       // k8s verb for resource requests; the lower-case HTTP method otherwise
  std::string apiPrefix;  // "api" or "apis"
  std::string group;      // "" for the core group
  std::string version;
  std::string namespaceName;
  std::string resource;
  std::string name;
  std::string subresource;
  std::string proxyPath;  // a proxy subresource's further path: ".../proxy/a/b" → "/a/b"
  QueryParams query;

  std::string param(std::string_view key, std::string_view fallback = {}) const;
  bool flag(std::string_view key) const;  // "true"/"1" → true
};

// Splits "/a/b?x=1&y=%2F" into a decoded path and query parameters.
std::pair<std::string, QueryParams> splitTarget(std::string_view target);

// Decodes a request; fails only on a malformed percent-encoding or path.
Result<RequestInfo> parseRequestInfo(std::string_view method, std::string_view target);

std::string urlDecode(std::string_view s, bool plusIsSpace);

}  // namespace kd::server

#include "engine/server/request_info.h"

#include <algorithm>
#include <vector>

#include "engine/api/percent_encoding.h"

namespace kd::server {
namespace {

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return parts;
}

}  // namespace

std::string urlDecode(std::string_view s, bool plusIsSpace) {
  return api::percentDecode(s, plusIsSpace);
}

std::pair<std::string, QueryParams> splitTarget(std::string_view target) {
  QueryParams query;
  size_t q = target.find('?');
  std::string path = urlDecode(target.substr(0, q), false);
  if (q != std::string_view::npos) {
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
      size_t amp = rest.find('&');
      std::string_view pair = rest.substr(0, amp);
      size_t eq = pair.find('=');
      std::string k = urlDecode(pair.substr(0, eq), true);
      std::string v = eq == std::string_view::npos ? "" : urlDecode(pair.substr(eq + 1), true);
      if (!k.empty()) query.emplace(std::move(k), std::move(v));
      if (amp == std::string_view::npos) break;
      rest = rest.substr(amp + 1);
    }
  }
  return {std::move(path), std::move(query)};
}

std::string RequestInfo::param(std::string_view key, std::string_view fallback) const {
  auto it = query.find(key);
  return it == query.end() ? std::string(fallback) : it->second;
}

bool RequestInfo::flag(std::string_view key) const {
  auto v = param(key);
  return v == "true" || v == "1";
}

Result<RequestInfo> parseRequestInfo(std::string_view method, std::string_view target) {
  RequestInfo info;
  auto [path, query] = splitTarget(target);
  info.path = std::move(path);
  info.query = std::move(query);
  info.verb = std::string(method);
  std::transform(info.verb.begin(), info.verb.end(), info.verb.begin(),
                 [](unsigned char c) { return std::tolower(c); });

  auto parts = splitPath(info.path);
  if (parts.empty() || (parts[0] != "api" && parts[0] != "apis")) return info;
  size_t i = 0;
  info.apiPrefix = parts[i++];
  if (info.apiPrefix == "apis") {
    if (i >= parts.size()) return info;
    info.group = parts[i++];
  }
  if (i >= parts.size()) return info;
  info.version = parts[i++];
  if (i >= parts.size()) return info;  // discovery of a group-version
  info.isResourceRequest = true;

  // /namespaces/{ns}/{resource}... but /namespaces/{name} itself is the namespaces resource.
  if (parts[i] == "namespaces" && i + 2 < parts.size() && parts[i + 2] != "status" &&
      parts[i + 2] != "finalize") {
    info.namespaceName = parts[i + 1];
    i += 2;
  }
  info.resource = parts[i++];
  if (i < parts.size()) info.name = parts[i++];
  if (i < parts.size()) info.subresource = parts[i++];
  if (info.subresource == "proxy") {
    // Only the proxy subresource takes a further path (what it forwards to).
    for (; i < parts.size(); ++i) info.proxyPath += "/" + parts[i];
    if (info.proxyPath.empty()) info.proxyPath = "/";
  }
  if (i < parts.size()) return Status::notFound("the server could not find the requested resource");
  if (info.resource == "namespaces" && info.name.empty() && !info.namespaceName.empty()) {
    return Status::notFound("the server could not find the requested resource");
  }

  const bool watchParam = info.flag("watch");
  if (info.verb == "get" || info.verb == "head") {
    if (info.name.empty()) {
      info.verb = watchParam ? "watch" : "list";
    } else {
      info.verb = watchParam ? "watch" : "get";
    }
  } else if (info.verb == "post") {
    info.verb = "create";
  } else if (info.verb == "put") {
    info.verb = "update";
  } else if (info.verb == "delete") {
    info.verb = info.name.empty() ? "deletecollection" : "delete";
  }
  return info;
}

}  // namespace kd::server

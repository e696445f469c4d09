#include "engine/client/api_client.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "engine/api/percent_encoding.h"
#include "engine/client/tls_transport.h"

namespace kd::client {
namespace {

constexpr std::string_view kTableAccept =
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
constexpr std::string_view kAggregatedAccept =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json";

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

using api::percentEncode;

class Query {
 public:
  Query& add(std::string_view key, std::string_view value) {
    if (value.empty()) return *this;
    text_ += text_.empty() ? '?' : '&';
    text_ += key;
    text_ += '=';
    text_ += percentEncode(value);
    return *this;
  }
  const std::string& str() const { return text_; }

 private:
  std::string text_;
};

std::string writeQuery(const WriteOptions& o, std::string_view defaultManager = {}) {
  Query q;
  q.add("dryRun", o.dryRun ? "All" : "")
      .add("fieldManager", o.fieldManager.empty() ? defaultManager : o.fieldManager)
      .add("fieldValidation", o.fieldValidation)
      .add("force", o.force ? "true" : "");
  return q.str();
}

// How each Status reason is rebuilt; an unknown reason falls back to the first entry with the
// same HTTP code.
struct KnownStatus {
  int code;
  std::string_view reason;
  Status (*make)(std::string);
};
constexpr std::array kKnownStatuses = {
    KnownStatus{400, "BadRequest", &Status::badRequest},
    KnownStatus{401, "Unauthorized", &Status::unauthorized},
    KnownStatus{403, "Forbidden", &Status::forbidden},
    KnownStatus{404, "NotFound", &Status::notFound},
    KnownStatus{405, "MethodNotAllowed", &Status::methodNotAllowed},
    KnownStatus{406, "NotAcceptable", &Status::notAcceptable},
    KnownStatus{409, "Conflict", &Status::conflict},
    KnownStatus{409, "AlreadyExists", &Status::alreadyExists},
    KnownStatus{410, "Expired", &Status::gone},
    KnownStatus{410, "Gone", &Status::gone},
    KnownStatus{413, "RequestEntityTooLarge", &Status::requestEntityTooLarge},
    KnownStatus{415, "UnsupportedMediaType", &Status::unsupportedMediaType},
    KnownStatus{429, "TooManyRequests", &Status::tooManyRequests},
    KnownStatus{500, "InternalError", &Status::internal},
    KnownStatus{503, "ServiceUnavailable", &Status::serviceUnavailable},
    KnownStatus{504, "Timeout", &Status::timeout},
    KnownStatus{504, "ServerTimeout", &Status::timeout},
};

Status rebuildStatus(int code, const std::string& reason, std::string message,
                     std::vector<StatusCause> causes) {
  if (code == 422 || reason == "Invalid")
    return Status::invalid(std::move(message), std::move(causes));
  const KnownStatus* match = nullptr;
  for (const auto& k : kKnownStatuses) {
    if (k.reason == reason) match = &k;
  }
  for (const auto& k : kKnownStatuses) {
    if (!match && k.code == code) match = &k;
  }
  if (match) return match->make(std::move(message));
  return code >= 500 ? Status::internal(std::move(message))
                     : Status::badRequest(std::move(message));
}

std::string stringAt(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> stringsAt(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

const json& arrayAt(const json& j, const char* key) {
  static const json kEmpty = json::array();
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : kEmpty;
}

// --- discovery parsing --------------------------------------------------------------------

void addAggregated(const json& list, DiscoveredResources& out) {
  for (const auto& group : arrayAt(list, "items")) {
    const std::string name = group.contains("metadata") ? stringAt(group["metadata"], "name") : "";
    const json& versions = arrayAt(group, "versions");
    if (!versions.empty())
      out.preferredVersions.emplace_back(name, stringAt(versions[0], "version"));
    for (const auto& v : versions) {
      for (const auto& r : arrayAt(v, "resources")) {
        api::KindInfo k;
        k.group = name;
        k.version = stringAt(v, "version");
        k.resource = stringAt(r, "resource");
        k.kind = r.contains("responseKind") ? stringAt(r["responseKind"], "kind") : "";
        k.singular = stringAt(r, "singularResource");
        k.namespaced = stringAt(r, "scope") == "Namespaced";
        k.shortNames = stringsAt(r, "shortNames");
        k.categories = stringsAt(r, "categories");
        k.verbs = stringsAt(r, "verbs");
        for (const auto& s : arrayAt(r, "subresources"))
          k.subresources.push_back(stringAt(s, "subresource"));
        out.kinds.push_back(std::move(k));
      }
    }
  }
}

// A legacy APIResourceList: subresources are entries named "pods/status".
void addResourceList(const std::string& group, const std::string& version, const json& list,
                     DiscoveredResources& out) {
  const size_t first = out.kinds.size();
  for (const auto& r : arrayAt(list, "resources")) {
    const std::string name = stringAt(r, "name");
    if (const size_t slash = name.find('/'); slash != std::string::npos) {
      for (size_t i = first; i < out.kinds.size(); ++i) {
        if (out.kinds[i].resource == name.substr(0, slash)) {
          out.kinds[i].subresources.push_back(name.substr(slash + 1));
        }
      }
      continue;
    }
    api::KindInfo k;
    k.group = group;
    k.version = version;
    k.resource = name;
    k.kind = stringAt(r, "kind");
    k.singular = stringAt(r, "singularName");
    k.namespaced = r.value("namespaced", false);
    k.shortNames = stringsAt(r, "shortNames");
    k.categories = stringsAt(r, "categories");
    k.verbs = stringsAt(r, "verbs");
    out.kinds.push_back(std::move(k));
  }
}

bool isAggregated(const Response& r) {
  return r.ok() && r.header("Content-Type").find("as=APIGroupDiscoveryList") != std::string::npos;
}

}  // namespace

std::string Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

Status statusFromResponse(int httpStatus, std::string_view body) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || stringAt(doc, "kind") != "Status") {
    std::string text(body.substr(0, 512));
    if (text.empty()) text = "(no body)";
    return rebuildStatus(
        httpStatus, "", "the server answered HTTP " + std::to_string(httpStatus) + ": " + text, {});
  }
  const int code = doc["code"].is_number_integer() ? doc["code"].get<int>() : httpStatus;
  const json details =
      doc.contains("details") && doc["details"].is_object() ? doc["details"] : json::object();
  std::vector<StatusCause> causes;
  for (const auto& c : arrayAt(details, "causes")) {
    causes.push_back({stringAt(c, "reason"), stringAt(c, "message"), stringAt(c, "field")});
  }
  Status st =
      rebuildStatus(code, stringAt(doc, "reason"), stringAt(doc, "message"), std::move(causes));
  if (!details.empty()) {
    st.withDetails(stringAt(details, "name"), stringAt(details, "group"),
                   stringAt(details, "kind"));
  }
  return st;
}

// --- construction -------------------------------------------------------------------------

Result<std::unique_ptr<ApiClient>> ApiClient::create(const ClusterAccess& access,
                                                     ClientOptions options) {
  detail::TransportOptions transport;
  transport.connectTimeout = options.connectTimeout;
  transport.requestTimeout = options.requestTimeout;
  transport.maxIdleConnections = options.maxIdleConnections;
  transport.userAgent = options.userAgent;
  auto pool = detail::ConnectionPool::create(access, std::move(transport));
  if (!pool) return pool.status();
  return std::unique_ptr<ApiClient>(new ApiClient(access, std::move(*pool)));
}

ApiClient::ApiClient(ClusterAccess access, std::shared_ptr<detail::ConnectionPool> pool)
    : access_(std::move(access)),
      defaultNamespace_(access_.namespaceName.empty() ? "default" : access_.namespaceName),
      pool_(std::move(pool)) {}

ApiClient::~ApiClient() = default;

Result<Response> ApiClient::request(std::string_view method, std::string_view path,
                                    std::string body, std::string_view contentType,
                                    std::string_view accept) {
  return pool_->roundTrip({std::string(method), std::string(path), std::move(body),
                           std::string(contentType), std::string(accept)});
}

Status ApiClient::streamGet(std::string_view path,
                            const std::function<void(std::string_view)>& onData,
                            std::string_view accept) {
  return streamRequest("GET", path, onData, accept);
}

Result<Response> ApiClient::upload(std::string_view method, std::string_view path,
                                   std::istream& body, std::uint64_t size,
                                   std::string_view contentType,
                                   const std::function<void(std::uint64_t)>& progress) {
  auto conn = pool_->openDedicated();
  if (!conn) return conn.status();
  return (*conn)->upload(
      {std::string(method), std::string(path), {}, std::string(contentType), "application/json"},
      body, size, progress);
}

Status ApiClient::streamRequest(std::string_view method, std::string_view path,
                                const std::function<void(std::string_view)>& onData,
                                std::string_view accept) {
  auto conn = pool_->openDedicated();
  if (!conn) return conn.status();
  auto head =
      (*conn)->startStream({std::string(method), std::string(path), {}, {}, std::string(accept)});
  if (!head) return head.status();
  if (!head->ok()) return statusFromResponse(head->status, head->body);
  return (*conn)->pumpBody(onData);
}

Result<json> ApiClient::call(std::string_view method, const std::string& path, std::string body,
                             std::string_view contentType, std::string_view accept) {
  auto response = request(method, path, std::move(body), contentType, accept);
  if (!response) return response.status();
  if (!response->ok()) return statusFromResponse(response->status, response->body);
  if (response->body.empty()) return json::object();
  json doc = json::parse(response->body, nullptr, false);
  if (doc.is_discarded()) {
    return Status::internal("the server answered " + std::string(method) + " " + path +
                            " with a body that is not JSON");
  }
  return doc;
}

// --- paths --------------------------------------------------------------------------------

std::string ApiClient::resourcePath(const api::KindInfo& kind, std::string_view ns,
                                    std::string_view name, std::string_view subresource) {
  std::string path =
      kind.group.empty() ? "/api/" + kind.version : "/apis/" + kind.group + "/" + kind.version;
  if (kind.namespaced && !ns.empty()) path += "/namespaces/" + percentEncode(ns);
  path += "/" + kind.resource;
  if (!name.empty()) path += "/" + percentEncode(name);
  if (!name.empty() && !subresource.empty()) path += "/" + percentEncode(subresource);
  return path;
}

std::string ApiClient::listQuery(const ListOptions& o, bool watch) {
  Query q;
  q.add("labelSelector", o.labelSelector)
      .add("fieldSelector", o.fieldSelector)
      .add("resourceVersion", o.resourceVersion)
      .add("resourceVersionMatch", o.resourceVersionMatch)
      .add("limit", o.limit > 0 ? std::to_string(o.limit) : "")
      .add("continue", o.continueToken)
      .add("timeoutSeconds", o.timeoutSeconds > 0 ? std::to_string(o.timeoutSeconds) : "")
      .add("allowWatchBookmarks", o.allowWatchBookmarks ? "true" : "")
      .add("sendInitialEvents", o.sendInitialEvents ? "true" : "")
      .add("includeObject", o.includeObject)
      .add("watch", watch ? "true" : "");
  return q.str();
}

std::string ApiClient::namespaceFor(const api::KindInfo& kind, std::string_view ns,
                                    const json* object) const {
  if (!kind.namespaced) return {};
  if (!ns.empty()) return std::string(ns);
  if (object && object->contains("metadata") && (*object)["metadata"].is_object()) {
    std::string own = stringAt((*object)["metadata"], "namespace");
    if (!own.empty()) return own;
  }
  return defaultNamespace_;
}

// --- resource verbs -----------------------------------------------------------------------

Result<json> ApiClient::get(const api::KindInfo& kind, std::string_view ns, std::string_view name,
                            const GetOptions& o) {
  return call("GET", resourcePath(kind, namespaceFor(kind, ns, nullptr), name, o.subresource) +
                         Query().add("resourceVersion", o.resourceVersion).str());
}

Result<json> ApiClient::list(const api::KindInfo& kind, std::string_view ns, const ListOptions& o) {
  const std::string path = resourcePath(kind, ns) + listQuery(o, false);
  if (!o.itemProjection) return call("GET", path);
  auto response = request("GET", path);
  if (!response) return response.status();
  if (!response->ok()) return statusFromResponse(response->status, response->body);
  json doc = api::parseProjected(response->body,
                                 api::JsonProjection::whole().with("items", *o.itemProjection));
  if (doc.is_discarded())
    return Status::internal("the server answered GET " + path + " with a body that is not JSON");
  return doc;
}

Result<json> ApiClient::table(const api::KindInfo& kind, std::string_view ns, const ListOptions& o,
                              std::string_view name) {
  const std::string space = name.empty() ? std::string(ns) : namespaceFor(kind, ns, nullptr);
  return call("GET", resourcePath(kind, space, name) + listQuery(o, false), {}, {}, kTableAccept);
}

Result<json> ApiClient::create(const api::KindInfo& kind, std::string_view ns, const json& object,
                               const WriteOptions& o) {
  if (!object.is_object()) return Status::badRequest("the object to create is not a JSON object");
  std::string path = resourcePath(kind, namespaceFor(kind, ns, &object));
  if (!o.subresource.empty()) {
    path = resourcePath(kind, namespaceFor(kind, ns, &object),
                        stringAt(object.value("metadata", json::object()), "name"), o.subresource);
  }
  std::string body;
  if (object.contains("apiVersion") && object.contains("kind")) {
    body = object.dump();
  } else {
    json full = object;  // the server needs the type; fill it in from the kind
    full["apiVersion"] = kind.apiVersion();
    full["kind"] = kind.kind;
    body = full.dump();
  }
  return call("POST", path + writeQuery(o), std::move(body), "application/json");
}

Result<json> ApiClient::update(const api::KindInfo& kind, std::string_view ns, const json& object,
                               const WriteOptions& o) {
  const std::string name = object.contains("metadata") && object["metadata"].is_object()
                               ? stringAt(object["metadata"], "name")
                               : "";
  if (name.empty()) return Status::badRequest("an update needs the object's metadata.name");
  return call(
      "PUT",
      resourcePath(kind, namespaceFor(kind, ns, &object), name, o.subresource) + writeQuery(o),
      object.dump(), "application/json");
}

Result<json> ApiClient::patch(const api::KindInfo& kind, std::string_view ns, std::string_view name,
                              PatchType type, std::string_view patchBody, const WriteOptions& o) {
  static constexpr std::array<std::string_view, 4> kContentTypes = {
      "application/json-patch+json", "application/merge-patch+json",
      "application/strategic-merge-patch+json", "application/apply-patch+yaml"};
  const bool apply = type == PatchType::Apply;
  return call("PATCH",
              resourcePath(kind, namespaceFor(kind, ns, nullptr), name, o.subresource) +
                  writeQuery(o, apply ? "kubedesk" : ""),
              std::string(patchBody), kContentTypes[static_cast<size_t>(type)]);
}

namespace {

std::string deleteBody(const DeleteOptions& o) {
  json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (o.gracePeriodSeconds) body["gracePeriodSeconds"] = *o.gracePeriodSeconds;
  if (!o.propagationPolicy.empty()) body["propagationPolicy"] = o.propagationPolicy;
  if (!o.preconditionUid.empty()) body["preconditions"]["uid"] = o.preconditionUid;
  if (!o.preconditionResourceVersion.empty()) {
    body["preconditions"]["resourceVersion"] = o.preconditionResourceVersion;
  }
  if (o.dryRun) body["dryRun"] = json::array({"All"});
  return body.size() > 2 ? body.dump() : std::string();
}

}  // namespace

Result<json> ApiClient::remove(const api::KindInfo& kind, std::string_view ns,
                               std::string_view name, const DeleteOptions& o) {
  std::string body = deleteBody(o);
  const std::string_view type = body.empty() ? "" : "application/json";
  return call("DELETE", resourcePath(kind, namespaceFor(kind, ns, nullptr), name), std::move(body),
              type);
}

Result<json> ApiClient::removeCollection(const api::KindInfo& kind, std::string_view ns,
                                         const ListOptions& selection, const DeleteOptions& o) {
  std::string body = deleteBody(o);
  const std::string_view type = body.empty() ? "" : "application/json";
  return call("DELETE", resourcePath(kind, ns) + listQuery(selection, false), std::move(body),
              type);
}

Result<std::unique_ptr<Watch>> ApiClient::watch(const api::KindInfo& kind, std::string_view ns,
                                                const ListOptions& o, WatchHandlers handlers) {
  detail::RequestSpec spec{
      "GET", resourcePath(kind, ns) + listQuery(o, true), {}, {}, "application/json"};
  return detail::startWatch(pool_, spec, std::move(handlers));
}

// --- discovery ----------------------------------------------------------------------------

Result<json> ApiClient::serverVersion() {
  return call("GET", "/version");
}

Result<DiscoveredResources> ApiClient::discover() {
  DiscoveredResources out;
  auto core = request("GET", "/api", {}, {}, kAggregatedAccept);
  if (!core) return core.status();
  if (isAggregated(*core)) {
    auto groups = request("GET", "/apis", {}, {}, kAggregatedAccept);
    if (!groups) return groups.status();
    if (!isAggregated(*groups)) return statusFromResponse(groups->status, groups->body);
    addAggregated(json::parse(core->body, nullptr, false), out);
    addAggregated(json::parse(groups->body, nullptr, false), out);
    return out;
  }
  // Legacy discovery: one document per group/version.
  auto versions = call("GET", "/api");
  if (!versions) return versions.status();
  std::vector<std::pair<std::string, std::string>> groupVersions;
  for (const auto& v : stringsAt(*versions, "versions")) groupVersions.emplace_back("", v);
  if (!groupVersions.empty()) out.preferredVersions.push_back(groupVersions.front());
  auto groups = call("GET", "/apis");
  if (!groups) return groups.status();
  for (const auto& g : arrayAt(*groups, "groups")) {
    const std::string name = stringAt(g, "name");
    if (g.contains("preferredVersion")) {
      out.preferredVersions.emplace_back(name, stringAt(g["preferredVersion"], "version"));
    }
    for (const auto& v : arrayAt(g, "versions"))
      groupVersions.emplace_back(name, stringAt(v, "version"));
  }
  for (const auto& [group, version] : groupVersions) {
    auto list = call("GET", group.empty() ? "/api/" + version : "/apis/" + group + "/" + version);
    if (!list) return list.status();
    addResourceList(group, version, *list, out);
  }
  return out;
}

}  // namespace kd::client

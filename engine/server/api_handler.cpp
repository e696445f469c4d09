#include "engine/server/api_handler.h"

#include <malloc.h>

#include <algorithm>
#include <cstdio>

#include "engine/api/conversion.h"
#include "engine/api/openapi.h"
#include "engine/api/percent_encoding.h"
#include "engine/api/protobuf.h"
#include "engine/api/split.h"
#include "engine/api/table.h"
#include "engine/api/validation.h"
#include "engine/api/yaml_json.h"
#include "engine/server/discovery.h"
#include "engine/server/metrics_api.h"
#include "engine/server/node_authorizer.h"
#include "engine/server/node_token.h"
#include "engine/server/service_account_authorizer.h"
#include "engine/server/service_account_token.h"

namespace kd::server {
namespace {

using api::KindInfo;

constexpr int kDefaultWatchTimeoutSeconds = 1800;

enum class Output { Json, Yaml, Table, PartialMetadata };

Output outputFor(std::string_view accept) {
  // Clients list preferences; every form we serve appears before plain JSON when asked for.
  if (accept.find("as=Table") != std::string_view::npos) return Output::Table;
  if (accept.find("as=PartialObjectMetadata") != std::string_view::npos) {
    return Output::PartialMetadata;
  }
  if (accept.starts_with("application/yaml")) return Output::Yaml;
  return Output::Json;
}

api::TableObjects tableObjects(const RequestInfo& info) {
  const std::string v = info.param("includeObject", "Metadata");
  if (v == "None") return api::TableObjects::None;
  if (v == "Object") return api::TableObjects::Object;
  return api::TableObjects::Metadata;
}

json partialMetadata(const json& object) {
  return {{"kind", "PartialObjectMetadata"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", object.value("metadata", json::object())}};
}

// ---- versions served by conversion (kinds.h: KindInfo::converter) ----
// Requests on such a version go to its stored version; bodies are converted to the stored form
// on the way in and results back on the way out. Stored versions pass through untouched.

// `stored` as `kind` shows it: itself (moved, never copied) unless `kind` converts.
json servedForm(const KindInfo& kind, json stored) {
  if (!kind.converter) return stored;
  return kind.converter->toServed(stored);
}

// The Table of stored objects as `kind` serves them. Cells come from the stored form, so every
// version prints the same (kube-apiserver prints from its internal version); embedded objects
// are the served form.
json servedTable(const KindInfo& kind, const KindInfo& stored,
                 const std::vector<const json*>& objects, const json& listMeta,
                 api::TableObjects include, std::chrono::system_clock::time_point now) {
  json table = api::buildTable(stored, objects, listMeta, include, now);
  if (kind.converter && include == api::TableObjects::Object) {
    for (size_t i = 0; i < objects.size(); ++i) {
      table["rows"][i]["object"] = kind.converter->toServed(*objects[i]);
    }
  }
  return table;
}

// A List of stored objects (deletecollection's answer) as `kind` shows it.
json servedList(const KindInfo& kind, json list) {
  if (!kind.converter || !list.is_object()) return list;
  list["apiVersion"] = kind.apiVersion();
  for (auto& item : list["items"]) item = kind.converter->toServed(item);
  return list;
}

// The stored form of a body written to a converting `kind`. Unknown fields are judged here,
// against the served version's schema, because conversion keeps only the fields it knows; the
// write then skips that judgement on the stored form (`options` is changed to say so).
Result<json> storedBody(const KindInfo& kind, const json& body, WriteOptions& options,
                        const api::SchemaRegistry& schemas, std::vector<std::string>& warnings) {
  if (!body.is_object()) return Status::badRequest("the request body must be a JSON object");
  if (Status st = checkTypeMeta(kind, body); !st.isOk()) return st;
  Status st = api::validateAgainstSchema(kind, body, options.fieldValidation, schemas, &warnings);
  if (!st.isOk()) return st;
  options.fieldValidation = api::FieldValidation::Ignore;
  return kind.converter->toStored(body);
}

bool carriesResourceVersion(const json& patch) {
  return patch.is_object() && patch.contains("metadata") && patch["metadata"].is_object() &&
         patch["metadata"].contains("resourceVersion");
}

// A patch to a converting `kind` applies to the served form of the stored object (so its
// fields, merge keys and JSON pointers are the served version's) and is written back as an
// update of the stored form at the revision it was applied to; a conflict retries, as a patch
// on a stored version does, unless the patch itself names a resourceVersion.
Result<WriteResult> patchConverted(ObjectService& objects, const KindInfo& kind,
                                   const RequestInfo& info, api::PatchType type,
                                   const json& patchDoc, const WriteOptions& options) {
  constexpr int kMaxConflictRetries = 8;
  const KindInfo& stored = objects.kinds().storageOf(kind);
  const bool precondition = carriesResourceVersion(patchDoc);
  for (int attempt = 0;; ++attempt) {
    auto current = objects.get(stored, info.namespaceName, info.name);
    if (!current.ok()) return current.status();
    auto patched = api::applyPatch(type, kind.converter->toServed((*current)->parse()), patchDoc,
                                   objects.schemas(), kind.schemaType);
    if (!patched.ok()) return patched.status();
    if (!patched->is_object() || !patched->value("metadata", json()).is_object()) {
      return Status::badRequest("the patched object must be a JSON object with metadata");
    }
    if (!precondition) {
      (*patched)["metadata"]["resourceVersion"] = std::to_string((*current)->revision);
    }
    std::vector<std::string> warnings;
    WriteOptions write = options;
    auto body = storedBody(kind, *patched, write, objects.schemas(), warnings);
    if (!body.ok()) return body.status();
    auto r = objects.update(stored, info.namespaceName, info.name, std::move(body).value(), write);
    if (!r.ok() && r.status().reason() == "Conflict" && !precondition &&
        attempt < kMaxConflictRetries) {
      continue;
    }
    if (r.ok()) r->warnings.insert(r->warnings.begin(), warnings.begin(), warnings.end());
    return r;
  }
}

// A request body as JSON, whatever encoding the client chose (JSON, YAML or Kubernetes
// protobuf, which typed clients of kubectl 1.32+ send).
Result<json> decodeBody(const HttpRequest& request) {
  if (api::isKubernetesProtobuf(request.contentType)) {
    return api::decodeKubernetesProtobuf(request.body, api::KindsRegistry::builtin(),
                                         api::SchemaRegistry::builtin());
  }
  return api::parseDocument(request.body);
}

Result<WriteOptions> writeOptions(const RequestInfo& info) {
  WriteOptions o;
  const std::string dryRun = info.param("dryRun");
  if (dryRun == "All") {
    o.dryRun = true;
  } else if (!dryRun.empty()) {
    return Status::badRequest("dryRun: Unsupported value: \"" + dryRun +
                              "\": supported values: \"All\"");
  }
  auto fv = api::parseFieldValidation(info.param("fieldValidation"));
  if (!fv.ok()) return fv.status();
  o.fieldValidation = *fv;
  o.subresource = info.subresource;
  return o;
}

Result<DeleteOptions> deleteOptions(const RequestInfo& info, const std::string& body) {
  DeleteOptions o;
  json opts = json::object();
  if (!body.empty()) {
    auto parsed = api::parseDocument(body);
    if (!parsed.ok()) return parsed.status();
    if (!parsed->is_object()) return Status::badRequest("DeleteOptions must be a JSON object");
    opts = std::move(parsed).value();
  }
  try {
    if (opts.contains("gracePeriodSeconds") && !opts["gracePeriodSeconds"].is_null()) {
      o.gracePeriodSeconds = opts["gracePeriodSeconds"].get<int64_t>();
    }
    if (auto g = info.param("gracePeriodSeconds"); !g.empty()) o.gracePeriodSeconds = std::stoll(g);
    o.propagationPolicy = opts.value("propagationPolicy", "");
    if (auto p = info.param("propagationPolicy"); !p.empty()) o.propagationPolicy = p;
    if (opts.value("orphanDependents", false) || info.param("orphanDependents") == "true") {
      o.propagationPolicy = "Orphan";
    }
    const json pre = opts.value("preconditions", json::object());
    o.preconditionUid = pre.value("uid", "");
    o.preconditionResourceVersion = pre.value("resourceVersion", "");
    const json dry = opts.value("dryRun", json::array());
    o.dryRun = info.param("dryRun") == "All" ||
               (dry.is_array() && std::find(dry.begin(), dry.end(), "All") != dry.end());
  } catch (const std::exception& e) {
    return Status::badRequest(std::string("invalid DeleteOptions: ") + e.what());
  }
  const auto& p = o.propagationPolicy;
  if (!p.empty() && p != "Orphan" && p != "Background" && p != "Foreground") {
    return Status::badRequest("propagationPolicy: Unsupported value: \"" + p +
                              "\": supported values: \"Foreground\", \"Background\", \"Orphan\"");
  }
  if (o.gracePeriodSeconds && *o.gracePeriodSeconds < 0) o.gracePeriodSeconds = 1;
  return o;
}

Result<size_t> limitParam(const RequestInfo& info) {
  const std::string l = info.param("limit");
  if (l.empty()) return size_t{0};
  try {
    long long v = std::stoll(l);
    return static_cast<size_t>(std::max(0LL, v));
  } catch (const std::exception&) {
    return Status::badRequest("limit: Invalid value: \"" + l + "\": must be an integer");
  }
}

std::string watchLine(const char* type, const std::string& objectJson) {
  std::string line = "{\"type\":\"";
  line += type;
  line += "\",\"object\":";
  line += objectJson;
  line += "}\n";
  return line;
}

// The Table of a whole list, built one object at a time: each object is parsed, turned into its
// row and dropped, so a list never holds more than one parsed object (a parsed object takes
// about ten times its text).
std::string tableList(const KindInfo& kind, const KindInfo& stored,
                      const std::vector<store::ObjectPtr>& items, const json& listMeta,
                      api::TableObjects include, std::chrono::system_clock::time_point now) {
  json table = api::buildTable(stored, {}, listMeta, include, now);
  table.erase("rows");
  std::string body = table.dump();
  body.pop_back();  // the closing brace; the rows follow
  body += ",\"rows\":[";
  for (size_t i = 0; i < items.size(); ++i) {
    const json obj = items[i]->parse();
    const json one = servedTable(kind, stored, {&obj}, json(), include, now);
    if (i) body.push_back(',');
    body += one["rows"][0].dump();
  }
  body += "]}";
  return body;
}

// After a large list the allocator holds many freed pages (parsed objects, the response
// document); glibc keeps them in its arenas unless asked to give them back.
void releaseFreedMemory(size_t items) {
  constexpr size_t kLargeList = 1000;
  if (items >= kLargeList) malloc_trim(0);
}

class ApiWatchSession : public WatchSession {
 public:
  // `kind` is the version watched, `storedKind` the one its objects are stored as.
  ApiWatchSession(std::unique_ptr<WatchStream> stream, const KindInfo& kind,
                  const KindInfo& storedKind, Output output, api::TableObjects include,
                  bool bookmarks, bool initialEventsEnd, int timeoutSeconds, Clock clock)
      : stream_(std::move(stream)),
        kind_(kind),
        storedKind_(storedKind),
        output_(output),
        include_(include),
        bookmarks_(bookmarks),
        initialEventsEnd_(initialEventsEnd),
        timeoutSeconds_(timeoutSeconds),
        clock_(std::move(clock)) {}

  std::string pump(bool& ended) override {
    std::vector<WatchEvent> events;
    ended = !stream_->next(events);
    std::string out;
    for (const auto& e : events) out += encode(e);
    if (initialEventsEnd_ && !initialSent_) {
      initialSent_ = true;
      out += bookmarkLine(true);
    }
    return out;
  }

  std::string bookmark() override { return bookmarks_ ? bookmarkLine(false) : ""; }
  int timeoutSeconds() const override { return timeoutSeconds_; }

 private:
  std::string encode(const WatchEvent& e) const {
    switch (output_) {
      case Output::Table: {
        json obj = e.object->parse();
        json meta = {{"resourceVersion", std::to_string(e.revision)}};
        return watchLine(e.type.c_str(),
                         servedTable(kind_, storedKind_, {&obj}, meta, include_, clock_()).dump());
      }
      case Output::PartialMetadata:
        return watchLine(e.type.c_str(),
                         partialMetadata(servedForm(kind_, e.object->parse())).dump());
      default:
        if (kind_.converter && e.object) {
          return watchLine(e.type.c_str(), kind_.converter->toServed(e.object->parse()).dump());
        }
        return watchLine(e.type.c_str(), e.object->json);
    }
  }

  std::string bookmarkLine(bool initialEnd) const {
    json meta = {{"resourceVersion", std::to_string(stream_->lastRevision())}};
    if (initialEnd) meta["annotations"] = {{"k8s.io/initial-events-end", "true"}};
    json obj = {{"kind", kind_.kind}, {"apiVersion", kind_.apiVersion()}, {"metadata", meta}};
    return watchLine("BOOKMARK", obj.dump());
  }

  std::unique_ptr<WatchStream> stream_;
  const KindInfo& kind_;
  const KindInfo& storedKind_;
  Output output_;
  api::TableObjects include_;
  bool bookmarks_;
  bool initialEventsEnd_;
  bool initialSent_ = false;
  int timeoutSeconds_;
  Clock clock_;
};

// A watch that failed before it started still answers 200 with one ERROR event, as the
// Kubernetes API server does for an expired resourceVersion.
class ErrorWatchSession : public WatchSession {
 public:
  explicit ErrorWatchSession(Status s) : status_(std::move(s)) {}
  std::string pump(bool& ended) override {
    ended = true;
    if (sent_) return "";
    sent_ = true;
    return watchLine("ERROR", status_.toJson().dump());
  }
  std::string bookmark() override { return ""; }
  int timeoutSeconds() const override { return 0; }

 private:
  Status status_;
  bool sent_ = false;
};

bool isPublicPath(std::string_view path) {
  return path == "/healthz" || path == "/livez" || path == "/readyz" || path == "/version" ||
         path.starts_with("/healthz/") || path.starts_with("/livez/") ||
         path.starts_with("/readyz/");
}

bool isStreamingSubresource(const KindInfo& kind, const std::string& sub) {
  if (kind.kind != "Pod" || !kind.group.empty()) return false;
  return sub == "log" || sub == "exec" || sub == "attach" || sub == "portforward";
}

std::string bracketList(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : " ") + n;
  return "[" + out + "]";
}

// The container a pod subresource is about, chosen as the API server does: the one named, or
// the only one the pod has.
Result<std::string> podContainer(const json& pod, const std::string& named) {
  const json spec = pod.value("spec", json::object());
  std::vector<std::string> names, initNames;
  for (const auto& c : spec.value("containers", json::array()))
    names.push_back(c.value("name", ""));
  for (const auto& c : spec.value("initContainers", json::array())) {
    initNames.push_back(c.value("name", ""));
  }
  const std::string podName = pod.value("metadata", json::object()).value("name", "");
  if (named.empty()) {
    if (names.size() == 1) return names[0];
    std::string message = "a container name must be specified for pod " + podName +
                          ", choose one of: " + bracketList(names);
    if (!initNames.empty()) message += " or one of the init containers: " + bracketList(initNames);
    return Status::badRequest(message);
  }
  for (const auto* list : {&names, &initNames}) {
    if (std::find(list->begin(), list->end(), named) != list->end()) return named;
  }
  return Status::badRequest("container " + named + " is not valid for pod " + podName);
}

// Where the agent serves a streaming subresource: the kubelet's paths, with the pod's uid so
// the agent finds its containers without asking the API.
Result<TunnelRequest> tunnelRequest(ObjectService& objects, const RequestInfo& info,
                                    const KindInfo& kind, const std::string& rawTarget) {
  auto stored = objects.get(kind, info.namespaceName, info.name);
  if (!stored.ok()) return stored.status();
  const json pod = (*stored)->parse();
  TunnelRequest t;
  t.subresource = info.subresource;
  t.node = pod.value("spec", json::object()).value("nodeName", "");
  if (t.node.empty()) {
    return Status::badRequest("pod \"" + info.name + "\" does not have a host assigned");
  }
  static const std::map<std::string, std::string> kPaths = {{"log", "/containerLogs/"},
                                                            {"exec", "/exec/"},
                                                            {"attach", "/attach/"},
                                                            {"portforward", "/portForward/"}};
  t.target = kPaths.at(info.subresource) + info.namespaceName + "/" + info.name + "/" +
             pod.value("metadata", json::object()).value("uid", "");
  if (info.subresource != "portforward") {
    auto container = podContainer(pod, info.param("container"));
    if (!container.ok()) return container.status();
    t.target += "/" + *container;
  }
  const size_t query = rawTarget.find('?');
  if (query != std::string::npos) t.target += rawTarget.substr(query);
  return t;
}

// nodes/<name>/proxy/<path>: what the node's agent serves at <path> (the kubelet's API; ours
// adds the image endpoints of engine/node/image_service.h). The query goes along as it came.
Result<TunnelRequest> nodeProxyRequest(ObjectService& objects, const RequestInfo& info,
                                       const KindInfo& kind, const std::string& rawTarget) {
  if (auto node = objects.get(kind, "", info.name); !node.ok()) return node.status();
  TunnelRequest t;
  t.node = info.name;
  t.subresource = "proxy";
  const std::string_view path = std::string_view(info.proxyPath).substr(1);
  for (const auto& segment : api::splitOn(path, '/')) {
    t.target += "/" + api::percentEncode(segment);
  }
  if (t.target.empty()) t.target = "/";
  const size_t query = rawTarget.find('?');
  if (query != std::string::npos) t.target += rawTarget.substr(query);
  return t;
}

}  // namespace

HttpResponse statusResponse(const Status& status) {
  HttpResponse r;
  r.status = status.code();
  r.body = status.toJson().dump();
  return r;
}

ApiHandler::ApiHandler(ObjectService& objects, std::function<std::string()> serverAddress,
                       std::string nodeTokenKey)
    : objects_(objects),
      serverAddress_(std::move(serverAddress)),
      nodeTokenKey_(std::move(nodeTokenKey)),
      metricsStore_(std::make_unique<MetricsStore>([&objects] { return objects.now(); })),
      metrics_(std::make_unique<MetricsApi>(objects, *metricsStore_)) {
  if (!nodeTokenKey_.empty()) {
    serviceAccountTokens_ = std::make_unique<ServiceAccountTokens>(objects, nodeTokenKey_);
  }
}

ApiHandler::~ApiHandler() = default;

std::optional<UserInfo> ApiHandler::authenticateServiceAccount(std::string_view token) const {
  return serviceAccountTokens_ ? serviceAccountTokens_->authenticate(token) : std::nullopt;
}

HandlerResult ApiHandler::handle(const HttpRequest& request, std::function<void()> notify) {
  HandlerResult result;
  auto info = parseRequestInfo(request.method, request.target);
  if (!info.ok()) {
    result.response = statusResponse(info.status());
    return result;
  }
  if (!request.user.authenticated() && !isPublicPath(info->path)) {
    result.response = statusResponse(Status::unauthorized("Unauthorized"));
    return result;
  }
  if (auto node = nodeOfUser(request.user)) {
    if (Status s = authorizeNodeRequest(*node, *info, request, objects_); !s.isOk()) {
      // An agent denied something is a bug or an intrusion: worth a line in the engine's log.
      std::fprintf(stderr, "kubedesk-engine: denied %s %s: %s\n", request.method.c_str(),
                   info->path.c_str(), s.message().c_str());
      result.response = statusResponse(s);
      return result;
    }
  }
  if (isServiceAccount(request.user)) {
    if (Status s = authorizeServiceAccountRequest(request.user, *info); !s.isOk()) {
      result.response = statusResponse(s);
      return result;
    }
  }
  if (auto r = serveTokenRequest(*info, request)) {
    result.response = std::move(*r);
    return result;
  }
  if (!info->isResourceRequest) {
    // metrics: /kubedesk/v1/nodes/<node>/metrics and /kubedesk/v1/metrics/history.
    if (auto r = metrics_->serveKubedesk(*info, request)) {
      result.response = std::move(*r);
      return result;
    }
    result.response = handleNonResource(*info, request);
    return result;
  }
  if (info->group == "metrics.k8s.io") {  // metrics: served from memory, not the store
    result.response = metrics_->serveMetricsGroup(*info, request);
    return result;
  }
  const KindInfo* kind = objects_.kinds().byResource(info->group, info->version, info->resource);
  if (!kind || (!info->subresource.empty() && !kind->hasSubresource(info->subresource))) {
    result.response =
        statusResponse(Status::notFound("the server could not find the requested resource"));
    return result;
  }
  if (request.contentType.find("cbor") != std::string::npos) {
    // CBOR clients fall back to JSON on 415, as with any API server that does not serve it.
    result.response = statusResponse(Status::unsupportedMediaType(
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json, application/yaml"));
    return result;
  }
  if (info->verb == "watch") return handleWatch(*info, *kind, request, std::move(notify));
  try {
    const bool nodeProxy = kind->kind == "Node" && info->subresource == "proxy";
    if (nodeProxy || isStreamingSubresource(*kind, info->subresource)) {
      auto tunnel = nodeProxy ? nodeProxyRequest(objects_, *info, *kind, request.target)
                              : tunnelRequest(objects_, *info, *kind, request.target);
      if (!tunnel.ok()) result.response = statusResponse(tunnel.status());
      if (tunnel.ok()) result.tunnel = std::move(tunnel).value();
      return result;
    }
    result.response = handleResource(*info, *kind, request);
  } catch (const std::exception& e) {
    // A bug must cost one request, never the engine.
    result.response = statusResponse(Status::internal(std::string("internal error: ") + e.what()));
  }
  return result;
}

HttpResponse ApiHandler::render(const json& object, const HttpRequest& request, int status,
                                const KindInfo* kind) const {
  HttpResponse r;
  r.status = status;
  // `object` is stored; a version served by conversion shows its own form.
  const json served = kind && kind->converter ? kind->converter->toServed(object) : json();
  const json& shown = served.is_null() ? object : served;
  switch (outputFor(request.accept)) {
    case Output::Table:
      if (kind && object.value("kind", "") == kind->kind) {
        auto info = parseRequestInfo(request.method, request.target);
        r.contentType = "application/json";
        r.body = servedTable(*kind, objects_.kinds().storageOf(*kind), {&object}, json::object(),
                             info.ok() ? tableObjects(*info) : api::TableObjects::Metadata,
                             objects_.now())
                     .dump();
        return r;
      }
      break;
    case Output::PartialMetadata:
      r.body = partialMetadata(shown).dump();
      return r;
    case Output::Yaml:
      r.contentType = "application/yaml";
      r.body = api::toYaml(shown);
      return r;
    case Output::Json:
      break;
  }
  r.body = shown.dump();
  return r;
}

HttpResponse ApiHandler::handleResource(const RequestInfo& info, const KindInfo& kind,
                                        const HttpRequest& request) {
  const std::string& ns = info.namespaceName;
  const std::string& name = info.name;
  const std::string& verb = info.verb;
  const std::string& sub = info.subresource;
  const KindInfo& stored = objects_.kinds().storageOf(kind);  // `kind` unless it converts

  if (verb == "get") {
    if (sub == "scale") {
      auto scale = objects_.getScale(kind, ns, name);
      return scale.ok() ? render(*scale, request, 200, nullptr) : statusResponse(scale.status());
    }
    auto obj = objects_.get(stored, ns, name);
    if (!obj.ok()) return statusResponse(obj.status());
    if (outputFor(request.accept) == Output::Json && !kind.converter) {
      HttpResponse r;
      r.body = (*obj)->json;
      return r;
    }
    return render((*obj)->parse(), request, 200, &kind);
  }
  if (verb == "list") return list(info, kind, request);

  if (verb == "delete" || verb == "deletecollection") {
    auto options = deleteOptions(info, request.body);
    if (!options.ok()) return statusResponse(options.status());
    if (verb == "deletecollection") {
      ListOptions selection{info.param("labelSelector"), info.param("fieldSelector"), 0, ""};
      auto r = objects_.removeCollection(stored, ns, selection, *options);
      return r.ok() ? render(servedList(kind, std::move(r).value()), request, 200, nullptr)
                    : statusResponse(r.status());
    }
    auto r = objects_.remove(stored, ns, name, *options);
    if (!r.ok()) return statusResponse(r.status());
    if (r->deletedNow && kind.resource != "pods") {
      json details = {
          {"name", name}, {"kind", kind.resource}, {"uid", r->object["metadata"].value("uid", "")}};
      if (!kind.group.empty()) details["group"] = kind.group;
      json status = Status::ok().toJson();
      status.erase("code");
      status["details"] = details;
      return render(status, request, 200, nullptr);
    }
    return render(r->object, request, 200, &kind);
  }

  auto options = writeOptions(info);
  if (!options.ok()) return statusResponse(options.status());
  if (request.body.size() > 3 * 1024 * 1024) {
    return statusResponse(Status::requestEntityTooLarge("the request body is larger than 3 MiB"));
  }
  if (verb == "patch") {
    auto type = api::patchTypeFromContentType(request.contentType);
    if (!type.ok()) return statusResponse(type.status());
    auto patchDoc = api::parseDocument(request.body);
    if (!patchDoc.ok()) return statusResponse(patchDoc.status());
    auto r = kind.converter ? patchConverted(objects_, kind, info, *type, *patchDoc, *options)
                            : objects_.patch(kind, ns, name, *type, *patchDoc, *options);
    if (!r.ok()) return statusResponse(r.status());
    HttpResponse resp = render(r->object, request, 200, sub == "scale" ? nullptr : &kind);
    resp.warnings = std::move(r->warnings);
    return resp;
  }
  auto body = decodeBody(request);
  if (!body.ok()) return statusResponse(body.status());
  std::vector<std::string> conversionWarnings;
  if (kind.converter) {
    body = storedBody(kind, *body, *options, objects_.schemas(), conversionWarnings);
    if (!body.ok()) return statusResponse(body.status());
  }
  if (verb == "create") {
    if (sub == "binding") {
      auto r = objects_.bind(ns, name, *body);
      return r.ok() ? render(*r, request, 201, nullptr) : statusResponse(r.status());
    }
    if (sub == "eviction") {
      json opts = body->value("deleteOptions", json::object());
      auto delOpts = deleteOptions(info, opts.empty() ? "" : opts.dump());
      if (!delOpts.ok()) return statusResponse(delOpts.status());
      auto r = objects_.remove(kind, ns, name, *delOpts);
      if (!r.ok()) return statusResponse(r.status());
      json status = Status::ok().toJson();
      status["code"] = 201;
      return render(status, request, 201, nullptr);
    }
    if (!sub.empty())
      return statusResponse(Status::methodNotAllowed("create is not supported on " + sub));
    auto r = objects_.create(stored, ns, std::move(body).value(), *options);
    if (!r.ok()) return statusResponse(r.status());
    HttpResponse resp = render(r->object, request, 201, &kind);
    resp.warnings = std::move(r->warnings);
    resp.warnings.insert(resp.warnings.begin(), conversionWarnings.begin(),
                         conversionWarnings.end());
    return resp;
  }
  if (verb == "update") {
    auto r = objects_.update(stored, ns, name, std::move(body).value(), *options);
    if (!r.ok()) return statusResponse(r.status());
    HttpResponse resp = render(r->object, request, 200, sub == "scale" ? nullptr : &kind);
    resp.warnings = std::move(r->warnings);
    resp.warnings.insert(resp.warnings.begin(), conversionWarnings.begin(),
                         conversionWarnings.end());
    return resp;
  }
  return statusResponse(
      Status::methodNotAllowed("the server does not allow this method on the "
                               "requested resource"));
}

HttpResponse ApiHandler::list(const RequestInfo& info, const KindInfo& kind,
                              const HttpRequest& request) {
  auto limit = limitParam(info);
  if (!limit.ok()) return statusResponse(limit.status());
  ListOptions options{info.param("labelSelector"), info.param("fieldSelector"), *limit,
                      info.param("continue")};
  auto listed = objects_.list(objects_.kinds().storageOf(kind), info.namespaceName, options);
  if (!listed.ok()) return statusResponse(listed.status());
  json listMeta = {{"resourceVersion", std::to_string(listed->revision)}};
  if (!listed->continueToken.empty()) listMeta["continue"] = listed->continueToken;

  HttpResponse r;
  const Output output = outputFor(request.accept);
  if (output == Output::Json && !kind.converter) {
    // Fast path: stored objects are already serialized; splice them in without parsing.
    std::string& body = r.body;
    size_t total = 128;
    for (const auto& item : listed->items) total += item->json.size() + 1;
    body.reserve(total);
    body += "{\"kind\":\"" + kind.kind + "List\",\"apiVersion\":\"" + kind.apiVersion() +
            "\",\"metadata\":" + listMeta.dump() + ",\"items\":[";
    for (size_t i = 0; i < listed->items.size(); ++i) {
      if (i) body.push_back(',');
      body += listed->items[i]->json;
    }
    body += "]}";
    return r;
  }
  if (output == Output::Table) {
    r.body = tableList(kind, objects_.kinds().storageOf(kind), listed->items, listMeta,
                       tableObjects(info), objects_.now());
    releaseFreedMemory(listed->items.size());
    return r;
  }
  std::vector<json> parsed;
  parsed.reserve(listed->items.size());
  for (const auto& item : listed->items) parsed.push_back(servedForm(kind, item->parse()));
  json items = json::array();
  for (auto& p : parsed) {
    items.push_back(output == Output::PartialMetadata ? partialMetadata(p) : std::move(p));
  }
  json list = {
      {"kind",
       output == Output::PartialMetadata ? "PartialObjectMetadataList" : kind.kind + "List"},
      {"apiVersion", output == Output::PartialMetadata ? "meta.k8s.io/v1" : kind.apiVersion()},
      {"metadata", listMeta},
      {"items", std::move(items)}};
  r = render(list, request, 200, nullptr);
  list = json();
  releaseFreedMemory(listed->items.size());
  return r;
}

HandlerResult ApiHandler::handleWatch(const RequestInfo& info, const KindInfo& kind,
                                      const HttpRequest& request, std::function<void()> notify) {
  HandlerResult result;
  WatchOptions options;
  options.labelSelector = info.param("labelSelector");
  options.fieldSelector = info.param("fieldSelector");
  options.resourceVersion = info.param("resourceVersion");
  options.name = info.name;
  options.sendInitialEvents = info.flag("sendInitialEvents");
  int timeout = kDefaultWatchTimeoutSeconds;
  if (auto t = info.param("timeoutSeconds"); !t.empty()) {
    try {
      timeout = std::stoi(t);
    } catch (const std::exception&) {
      result.response = statusResponse(Status::badRequest("timeoutSeconds must be an integer"));
      return result;
    }
  }
  const Output output = outputFor(request.accept);
  result.watchContentType = "application/json";
  const KindInfo& stored = objects_.kinds().storageOf(kind);
  auto stream = objects_.watch(stored, info.namespaceName, options, std::move(notify));
  if (!stream.ok()) {
    if (stream.status().code() != 410) {
      result.response = statusResponse(stream.status());
      return result;
    }
    result.watch = std::make_unique<ErrorWatchSession>(stream.status());
    return result;
  }
  const bool bookmarks = info.flag("allowWatchBookmarks");
  result.watch = std::make_unique<ApiWatchSession>(
      std::move(stream).value(), kind, stored, output, tableObjects(info), bookmarks,
      bookmarks && options.sendInitialEvents, timeout, [this] { return objects_.now(); });
  return result;
}

// The token endpoints, both answering TokenRequests:
//   POST /kubedesk/v1/nodes/<name>/token: a bearer token for the agent of node <name>. Cluster
//     admins only: drivers ask for one per node they start.
//   POST .../namespaces/<ns>/serviceaccounts/<name>/token: a service account token
//     (service_account_token.h); node agents may ask only for their pods' (node_authorizer.h).
// nullopt for every other request.
std::optional<HttpResponse> ApiHandler::serveTokenRequest(const RequestInfo& info,
                                                          const HttpRequest& request) {
  if (info.isResourceRequest) {
    if (info.group.empty() && info.resource == "serviceaccounts" && info.subresource == "token") {
      return serveServiceAccountToken(info, request);
    }
    return std::nullopt;
  }
  constexpr std::string_view kPrefix = "/kubedesk/v1/nodes/";
  const std::string& path = info.path;
  if (!path.starts_with(kPrefix) || !path.ends_with("/token")) return std::nullopt;
  const std::string node = path.substr(kPrefix.size(), path.size() - kPrefix.size() - 6);
  if (node.empty() || node.find('/') != std::string::npos) return std::nullopt;
  if (info.verb != "post") {
    return statusResponse(Status::methodNotAllowed("only POST is allowed on " + path));
  }
  const auto& groups = request.user.groups;
  if (std::find(groups.begin(), groups.end(), "system:masters") == groups.end()) {
    return statusResponse(Status::forbidden("User \"" + request.user.name +
                                            "\" cannot create node tokens: only cluster admins "
                                            "(group system:masters) may"));
  }
  if (auto invalid = api::checkDns1123Subdomain(node); !invalid.empty()) {
    return statusResponse(Status::badRequest("invalid node name \"" + node + "\": " + invalid));
  }
  if (nodeTokenKey_.empty()) {
    return statusResponse(Status::serviceUnavailable("this API server has no node-token key"));
  }
  HttpResponse r;
  r.status = 201;
  r.body = json{{"apiVersion", "authentication.k8s.io/v1"},
                {"kind", "TokenRequest"},
                {"metadata", {{"name", node}}},
                {"spec", {{"audiences", json::array()}}},
                {"status", {{"token", mintNodeToken(nodeTokenKey_, node)}}}}
               .dump();
  return r;
}

HttpResponse ApiHandler::serveServiceAccountToken(const RequestInfo& info,
                                                  const HttpRequest& request) {
  if (info.verb != "create") {
    return statusResponse(
        Status::methodNotAllowed("only POST is allowed on serviceaccounts/token"));
  }
  if (!serviceAccountTokens_) {
    return statusResponse(Status::serviceUnavailable("this API server has no token signing key"));
  }
  auto body = decodeBody(request);
  if (!body.ok()) return statusResponse(body.status());
  try {
    auto issued = serviceAccountTokens_->issue(info.namespaceName, info.name, *body);
    return issued.ok() ? render(*issued, request, 201, nullptr) : statusResponse(issued.status());
  } catch (const json::exception& e) {
    return statusResponse(Status::badRequest(std::string("malformed TokenRequest: ") + e.what()));
  }
}

HttpResponse ApiHandler::handleNonResource(const RequestInfo& info, const HttpRequest& request) {
  const std::string& path = info.path;
  const auto& kinds = objects_.kinds();
  auto ok = [](json body) {
    HttpResponse r;
    r.body = body.dump();
    return r;
  };
  if (path == "/healthz" || path == "/livez" || path == "/readyz" ||
      path.starts_with("/healthz/") || path.starts_with("/livez/") ||
      path.starts_with("/readyz/")) {
    HttpResponse r;
    r.contentType = "text/plain; charset=utf-8";
    r.body = info.query.contains("verbose")
                 ? "[+]ping ok\n[+]etcd ok\n" + path.substr(1) + " check passed\n"
                 : "ok";
    return r;
  }
  if (path == "/version") {
    return ok({{"major", "1"},
               {"minor", "32"},
               {"gitVersion", "v1.32.0-kubedesk"},
               {"gitCommit", "kubedesk"},
               {"gitTreeState", "clean"},
               {"buildDate", "2026-11-21T00:00:00Z"},
               {"goVersion", "none"},
               {"compiler", "g++"},
               {"platform", "linux/amd64"}});
  }
  const bool aggregated = request.accept.find("as=APIGroupDiscoveryList") != std::string::npos;
  if (path == "/api" || path == "/apis") {
    if (aggregated) {
      const std::string dv = request.accept.find("v=v2;") != std::string::npos ||
                                     request.accept.find("v=v2,") != std::string::npos ||
                                     request.accept.ends_with("v=v2")
                                 ? "v2"
                                 : "v2beta1";
      HttpResponse r = ok(aggregatedDiscovery(kinds, path == "/api", dv));
      r.contentType =
          "application/json;g=apidiscovery.k8s.io;v=" + dv + ";as=APIGroupDiscoveryList";
      return r;
    }
    return ok(path == "/api" ? apiVersions(serverAddress_()) : apiGroupList(kinds));
  }
  if (info.apiPrefix == "api" || info.apiPrefix == "apis") {
    if (!info.version.empty()) {
      auto list = apiResourceList(kinds, info.group, info.version);
      return list.ok() ? ok(*list) : statusResponse(list.status());
    }
    if (!info.group.empty()) {
      const json groups = apiGroupList(kinds);  // kept alive: the loop reads into it
      for (const auto& g : groups["groups"]) {
        if (g["name"] == info.group) {
          json group = g;
          group["kind"] = "APIGroup";
          group["apiVersion"] = "v1";
          return ok(group);
        }
      }
    }
  }
  if (path == "/openapi/v2") {
    std::lock_guard lock(openApiMu_);
    if (openApiV2_.empty()) {
      json doc = api::buildOpenApiV2(kinds, objects_.schemas());
      openApiV2_ = doc.dump();
      openApiV2Protobuf_ = api::encodeOpenApiV2Protobuf(doc);
    }
    HttpResponse r;
    // kubectl before 1.29 reads this document only as protobuf.
    if (request.accept.find("protobuf") != std::string::npos) {
      r.contentType = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
      r.body = openApiV2Protobuf_;
    } else {
      r.body = openApiV2_;
    }
    return r;
  }
  if (path == "/openapi/v3") {
    std::lock_guard lock(openApiMu_);
    if (openApiV3Index_.is_null()) {
      openApiV3Index_ = api::buildOpenApiV3Index(kinds, objects_.schemas());
    }
    return ok(openApiV3Index_);
  }
  if (path.starts_with("/openapi/v3/")) {
    auto doc = api::buildOpenApiV3(kinds, objects_.schemas(), path.substr(12));
    return doc.ok() ? ok(*doc) : statusResponse(doc.status());
  }
  return statusResponse(Status::notFound("the server could not find the requested resource"));
}

}  // namespace kd::server

#include "engine/server/metrics_api.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "engine/api/go_duration.h"
#include "engine/api/yaml_json.h"

namespace kd::server {
namespace {

constexpr const char* kGroup = "metrics.k8s.io";
constexpr const char* kApiVersion = "metrics.k8s.io/v1beta1";
constexpr std::string_view kReportPrefix = "/kubedesk/v1/nodes/";
constexpr std::string_view kReportSuffix = "/metrics";

const api::KindInfo& coreKind(const char* resource) {
  return *api::KindsRegistry::builtin().byResource("", "v1", resource);
}

HttpResponse jsonResponse(const json& body, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

json metadataFor(const json& object, TimePoint now) {
  const json meta = object.value("metadata", json::object());
  json out = {{"name", meta.value("name", "")}, {"creationTimestamp", formatTime(now)}};
  if (meta.contains("namespace")) out["namespace"] = meta["namespace"];
  if (meta.contains("labels")) out["labels"] = meta["labels"];
  return out;
}

json usageJson(const Usage& u) {
  return {{"cpu", cpuQuantity(u.cpuNanoCores)}, {"memory", memoryQuantity(u.memoryBytes)}};
}

json nodeMetrics(const json& node, const NodeMetricsSample& s, TimePoint now) {
  return {{"kind", "NodeMetrics"},
          {"apiVersion", kApiVersion},
          {"metadata", metadataFor(node, now)},
          {"timestamp", formatTime(s.timestamp)},
          {"window", api::goDuration(s.window)},
          {"usage", usageJson(s.usage)}};
}

json podMetrics(const json& pod, const PodMetricsSample& s, TimePoint now) {
  json containers = json::array();
  for (const auto& c : s.containers) {
    containers.push_back({{"name", c.name}, {"usage", usageJson(c.usage)}});
  }
  return {{"kind", "PodMetrics"},
          {"apiVersion", kApiVersion},
          {"metadata", metadataFor(pod, now)},
          {"timestamp", formatTime(s.timestamp)},
          {"window", api::goDuration(s.window)},
          {"containers", std::move(containers)}};
}

// metrics-server's Table: Name, one column per resource (summed over containers), Window.
// `totals` holds each item's usage, in the items' order.
json metricsTable(const json& items, const std::vector<Usage>& totals, bool includeObject) {
  auto column = [](const char* name, const char* format) {
    return json{{"name", name}, {"type", "string"}, {"format", format}, {"description", ""}};
  };
  json columns = {column("Name", "name"), column("cpu", "quantity"), column("memory", "quantity"),
                  column("Window", "duration")};
  columns[0]["description"] = "Name of the resource";
  json rows = json::array();
  for (size_t i = 0; i < items.size(); ++i) {
    const json& item = items[i];
    const json usage = usageJson(totals[i]);
    json row = {
        {"cells", {item["metadata"]["name"], usage["cpu"], usage["memory"], item["window"]}}};
    if (includeObject) {
      row["object"] = {{"kind", "PartialObjectMetadata"},
                       {"apiVersion", "meta.k8s.io/v1"},
                       {"metadata", item["metadata"]}};
    }
    rows.push_back(std::move(row));
  }
  return {{"kind", "Table"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", json::object()},
          {"columnDefinitions", columns},
          {"rows", rows}};
}

// One object (`totals` has one entry) or a list.
HttpResponse render(const json& object, const std::vector<Usage>& totals,
                    const HttpRequest& request, const RequestInfo& info) {
  if (request.accept.find("as=Table") != std::string::npos) {
    const json items = object.contains("items") ? object["items"] : json::array({object});
    return jsonResponse(
        metricsTable(items, totals, info.param("includeObject", "Metadata") != "None"));
  }
  if (request.accept.starts_with("application/yaml")) {
    HttpResponse r;
    r.contentType = "application/yaml";
    r.body = api::toYaml(object);
    return r;
  }
  return jsonResponse(object);
}

json metricsList(const char* kind, json items) {
  return {{"kind", kind},
          {"apiVersion", kApiVersion},
          {"metadata", json::object()},
          {"items", std::move(items)}};
}

// The object a metrics get is about, or NotFound worded as metrics-server's listers word it.
Result<store::ObjectPtr> getObject(ObjectService& objects, const char* resource,
                                   const std::string& ns, const std::string& name) {
  auto stored = objects.get(coreKind(resource), ns, name);
  if (stored.ok() || stored.status().code() != 404) return stored;
  std::string singular(resource);
  singular.pop_back();
  return Status::notFound(singular + " \"" + name + "\" not found").withDetails(name, "", singular);
}

bool mayReportFor(const UserInfo& user, const std::string& node) {
  if (user.name == "system:node:" + node) return true;
  return std::find(user.groups.begin(), user.groups.end(), "system:masters") != user.groups.end();
}

std::string timeWithMillis(TimePoint t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms));
  std::string s = formatTime(t);
  return s.insert(s.size() - 1, frac);
}

json pointsJson(const std::vector<UsagePoint>& points) {
  json out = json::array();
  for (const auto& p : points) {
    out.push_back({{"timestamp", timeWithMillis(p.timestamp)},
                   {"cpuNanoCores", p.usage.cpuNanoCores},
                   {"memoryBytes", p.usage.memoryBytes}});
  }
  return out;
}

}  // namespace

const api::KindsRegistry& metricsKinds() {
  static const api::KindsRegistry registry({
      {kGroup, "v1beta1", "NodeMetrics", "nodes", "", false, {}, {}, {}, {"get", "list"}, ""},
      {kGroup, "v1beta1", "PodMetrics", "pods", "", true, {}, {}, {}, {"get", "list"}, ""},
  });
  return registry;
}

std::string cpuQuantity(int64_t nanoCores) {
  if (nanoCores == 0) return "0";
  // Strip powers of ten, then settle on an exponent that is a multiple of three.
  int64_t mantissa = nanoCores;
  int exponent = -9;
  while (mantissa % 10 == 0) {
    mantissa /= 10;
    ++exponent;
  }
  while (exponent % 3 != 0) {
    mantissa *= 10;
    --exponent;
  }
  static const std::map<int, const char*> kSuffix = {{-9, "n"}, {-6, "u"}, {-3, "m"}, {0, ""},
                                                     {3, "k"},  {6, "M"},  {9, "G"}};
  return std::to_string(mantissa) + kSuffix.at(std::min(exponent, 9));
}

std::string memoryQuantity(int64_t bytes) {
  if (bytes > -1024 && bytes < 1024) return std::to_string(bytes);
  static const char* const kSuffix[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  int i = 0;
  while (i < 6 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++i;
  }
  return std::to_string(bytes) + kSuffix[i];
}

MetricsApi::MetricsApi(ObjectService& objects, MetricsStore& store)
    : objects_(objects), store_(store) {}

HttpResponse MetricsApi::serveMetricsGroup(const RequestInfo& info,
                                           const HttpRequest& request) const {
  const bool known = info.version == "v1beta1" && info.subresource.empty() &&
                     (info.resource == "nodes" || info.resource == "pods");
  if (!known) {
    return statusResponse(Status::notFound("the server could not find the requested resource"));
  }
  if (info.verb != "get" && info.verb != "list") {
    return statusResponse(Status::methodNotAllowed(
        "the server does not allow this method on the requested resource"));
  }
  try {
    return info.resource == "nodes" ? nodes(info, request) : pods(info, request);
  } catch (const std::exception& e) {  // a bug must cost one request, never the engine
    return statusResponse(Status::internal(std::string("internal error: ") + e.what()));
  }
}

HttpResponse MetricsApi::nodes(const RequestInfo& info, const HttpRequest& request) const {
  const TimePoint now = objects_.now();
  if (info.verb == "get") {
    auto node = getObject(objects_, "nodes", "", info.name);
    if (!node.ok()) return statusResponse(node.status());
    auto sample = store_.node(info.name);
    if (!sample) {
      return statusResponse(Status::notFound("nodes.metrics.k8s.io \"" + info.name + "\" not found")
                                .withDetails(info.name, kGroup, "nodes"));
    }
    return render(nodeMetrics((*node)->parse(), *sample, now), {sample->usage}, request, info);
  }
  auto listed = objects_.list(coreKind("nodes"), "",
                              {info.param("labelSelector"), info.param("fieldSelector"), 0, ""});
  if (!listed.ok()) return statusResponse(listed.status());
  json items = json::array();
  std::vector<Usage> totals;
  for (const auto& stored : listed->items) {
    const json node = stored->parse();
    if (auto sample = store_.node(node["metadata"].value("name", ""))) {
      items.push_back(nodeMetrics(node, *sample, now));
      totals.push_back(sample->usage);
    }
  }
  return render(metricsList("NodeMetricsList", std::move(items)), totals, request, info);
}

HttpResponse MetricsApi::pods(const RequestInfo& info, const HttpRequest& request) const {
  const TimePoint now = objects_.now();
  // Metrics of the pod object as it is now: Running, and the same pod (uid) that reported.
  auto metricsOf = [&](const json& pod) -> std::optional<std::pair<json, Usage>> {
    const json meta = pod.value("metadata", json::object());
    if (pod.value("status", json::object()).value("phase", "") != "Running") return std::nullopt;
    auto sample = store_.pod(meta.value("namespace", ""), meta.value("name", ""));
    if (!sample || (!sample->uid.empty() && sample->uid != meta.value("uid", ""))) {
      return std::nullopt;
    }
    return std::make_pair(podMetrics(pod, *sample, now), sample->total());
  };
  if (info.verb == "get") {
    auto pod = getObject(objects_, "pods", info.namespaceName, info.name);
    if (!pod.ok()) return statusResponse(pod.status());
    auto metrics = metricsOf((*pod)->parse());
    if (!metrics) {
      const std::string name = info.namespaceName + "/" + info.name;
      return statusResponse(Status::notFound("pods.metrics.k8s.io \"" + name + "\" not found")
                                .withDetails(name, kGroup, "pods"));
    }
    return render(metrics->first, {metrics->second}, request, info);
  }
  auto listed = objects_.list(coreKind("pods"), info.namespaceName,
                              {info.param("labelSelector"), info.param("fieldSelector"), 0, ""});
  if (!listed.ok()) return statusResponse(listed.status());
  json items = json::array();
  std::vector<Usage> totals;
  for (const auto& stored : listed->items) {
    if (auto metrics = metricsOf(stored->parse())) {
      items.push_back(std::move(metrics->first));
      totals.push_back(metrics->second);
    }
  }
  return render(metricsList("PodMetricsList", std::move(items)), totals, request, info);
}

std::optional<HttpResponse> MetricsApi::serveKubedesk(const RequestInfo& info,
                                                      const HttpRequest& request) const {
  const std::string& path = info.path;
  if (path == "/kubedesk/v1/metrics/history") {
    if (info.verb != "get") return statusResponse(Status::methodNotAllowed("use GET"));
    return history(info);
  }
  if (path.starts_with(kReportPrefix) && path.ends_with(kReportSuffix) &&
      path.size() > kReportPrefix.size() + kReportSuffix.size()) {
    const std::string node = path.substr(kReportPrefix.size(),
                                         path.size() - kReportPrefix.size() - kReportSuffix.size());
    if (node.find('/') != std::string::npos) return std::nullopt;
    if (info.verb != "post") return statusResponse(Status::methodNotAllowed("use POST"));
    return report(node, request);
  }
  return std::nullopt;
}

HttpResponse MetricsApi::report(const std::string& node, const HttpRequest& request) const {
  if (!mayReportFor(request.user, node)) {
    return statusResponse(Status::forbidden("user \"" + request.user.name +
                                            "\" may not report metrics of node \"" + node + "\""));
  }
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return statusResponse(Status::badRequest("a metrics report must be a JSON object"));
  }
  Status s = store_.report(node, body);
  if (!s.isOk()) return statusResponse(s);
  return jsonResponse(Status::ok().toJson());
}

HttpResponse MetricsApi::history(const RequestInfo& info) const {
  const std::string node = info.param("node");
  const std::string ns = info.param("namespace", "default");
  const std::string pod = info.param("pod");
  if (node.empty() == pod.empty()) {
    return statusResponse(
        Status::badRequest("name either ?node=NAME or ?namespace=NS&pod=NAME, not both"));
  }
  json out = {{"kind", "MetricsHistory"}, {"apiVersion", "kubedesk.io/v1"}};
  std::vector<UsagePoint> points;
  if (!node.empty()) {
    out["node"] = node;
    points = store_.nodeHistory(node);
  } else {
    out["namespace"] = ns;
    out["pod"] = pod;
    points = store_.podHistory(ns, pod);
  }
  if (points.empty()) {
    const std::string what = node.empty() ? "pod " + ns + "/" + pod : "node " + node;
    return statusResponse(Status::notFound("no metrics known for " + what));
  }
  out["points"] = pointsJson(points);
  return jsonResponse(out);
}

}  // namespace kd::server

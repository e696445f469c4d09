#include "engine/client/log_stream.h"

#include <algorithm>
#include <vector>

#include "engine/api/object_key.h"
#include "engine/api/percent_encoding.h"
#include "engine/client/tls_transport.h"

namespace kd::client {
namespace {

const api::KindInfo& podsKind() {
  return *api::KindsRegistry::builtin().resolve("pods");
}

const json& specField(const json& object, const char* name) {
  static const json kNull;
  const auto spec = object.find("spec");
  if (spec == object.end() || !spec->is_object()) return kNull;
  const auto f = spec->find(name);
  return f == spec->end() ? kNull : *f;
}

std::vector<std::string> names(const json& containers) {
  std::vector<std::string> out;
  if (!containers.is_array()) return out;
  for (const auto& c : containers) {
    if (c.is_object()) out.push_back(c.value("name", ""));
  }
  return out;
}

}  // namespace

std::string logPath(std::string_view ns, std::string_view pod, const LogRequest& r) {
  std::vector<std::string> parts;  // in key order, as url.Values.Encode writes them
  if (!r.container.empty()) parts.push_back("container=" + api::percentEncode(r.container));
  if (r.follow) parts.push_back("follow=true");
  if (r.previous) parts.push_back("previous=true");
  if (r.sinceSeconds) parts.push_back("sinceSeconds=" + std::to_string(*r.sinceSeconds));
  if (!r.sinceTime.empty()) parts.push_back("sinceTime=" + api::percentEncode(r.sinceTime));
  if (r.tailLines) parts.push_back("tailLines=" + std::to_string(*r.tailLines));
  if (r.timestamps) parts.push_back("timestamps=true");
  std::string path = ApiClient::resourcePath(podsKind(), ns, pod, "log");
  for (size_t i = 0; i < parts.size(); ++i) path += (i == 0 ? "?" : "&") + parts[i];
  return path;
}

LogStream::LogStream(const ApiClient& client, std::string path)
    : access_(client.access()), path_(std::move(path)) {}

LogStream::~LogStream() = default;

Status LogStream::run(const std::function<void(std::string_view)>& onData) {
  auto pool = detail::ConnectionPool::create(access_, {});
  if (!pool.ok()) return pool.status();
  if (cancelled()) return {};
  auto conn = (*pool)->openDedicated();
  if (!conn.ok()) return cancelled() ? Status() : conn.status();
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return {};
    connection_ = conn->get();
  }
  Status result;
  auto head = (*conn)->startStream({"GET", path_, {}, {}, "*/*"});
  if (!head.ok()) {
    result = head.status();
  } else if (!head->ok()) {
    result = statusFromResponse(head->status, head->body);
  } else {
    result = (*conn)->pumpBody(onData);
  }
  std::lock_guard lock(mu_);
  connection_ = nullptr;
  return cancelled_ ? Status() : result;
}

void LogStream::cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  if (connection_) connection_->cancel();
}

bool LogStream::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

Result<api::LabelSelector> podSelectorOf(const json& object) {
  const json& selector = specField(object, "selector");
  if (!selector.is_object() || selector.empty()) {
    const json& meta = api::metadataOf(object);
    return Status::badRequest("invalid " + object.value("kind", std::string("object")) + " \"" +
                              meta.value("name", "") + "\": it is defined without a selector");
  }
  const bool labelSelector =
      selector.contains("matchLabels") || selector.contains("matchExpressions");
  return api::LabelSelector::fromJson(labelSelector ? selector : json{{"matchLabels", selector}});
}

Result<json> podsSelectedBy(ApiClient& client, const api::KindInfo& kind, const json& object) {
  if (kind.kind == "Pod" && kind.group.empty()) return json::array({object});
  auto selector = podSelectorOf(object);
  if (!selector.ok()) return selector.status();
  ListOptions options;
  options.labelSelector = selector->toString();
  auto pods = client.list(podsKind(), api::metadataOf(object).value("namespace", ""), options);
  if (!pods.ok()) return pods.status();
  json items = pods->value("items", json::array());
  auto running = [](const json& pod) {
    const auto status = pod.find("status");
    return status != pod.end() && status->is_object() &&
           status->value("phase", "") == std::string("Running");
  };
  std::stable_sort(items.begin(), items.end(),
                   [&](const json& a, const json& b) { return running(a) > running(b); });
  return items;
}

PodContainers containersOf(const json& pod) {
  return {names(specField(pod, "initContainers")), names(specField(pod, "containers"))};
}

std::string defaultContainer(const json& pod) {
  const PodContainers c = containersOf(pod);
  const json& meta = api::metadataOf(pod);
  if (auto a = meta.find("annotations"); a != meta.end() && a->is_object()) {
    const std::string named = a->value("kubectl.kubernetes.io/default-container", "");
    if (std::find(c.app.begin(), c.app.end(), named) != c.app.end()) return named;
  }
  return c.app.empty() ? std::string() : c.app.front();
}

}  // namespace kd::client

#include "engine/node/events.h"

#include <atomic>
#include <cstdio>

#include "engine/node/timestamps.h"

namespace kd::node {

PodEventRecorder::PodEventRecorder(client::ApiClient& api, std::string nodeName)
    : api_(api), nodeName_(std::move(nodeName)) {}

void PodEventRecorder::record(const json& pod, const std::string& fieldPath,
                              const std::string& type, const std::string& reason,
                              const std::string& message) {
  static std::atomic<uint64_t> sequence{0};
  const json meta = pod.value("metadata", json::object());
  const auto now = Clock::now();
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".%016llx",
                static_cast<unsigned long long>(now.time_since_epoch().count()) + sequence++);
  json involved = {{"apiVersion", "v1"},
                   {"kind", "Pod"},
                   {"name", meta.value("name", "")},
                   {"namespace", meta.value("namespace", "")},
                   {"uid", meta.value("uid", "")},
                   {"resourceVersion", meta.value("resourceVersion", "")}};
  if (!fieldPath.empty()) involved["fieldPath"] = fieldPath;
  const json event = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata",
       {{"name", meta.value("name", "") + suffix}, {"namespace", meta.value("namespace", "")}}},
      {"involvedObject", involved},
      {"reason", reason},
      {"message", message},
      {"type", type},
      {"source", {{"component", "kubelet"}, {"host", nodeName_}}},
      {"reportingComponent", "kubelet"},
      {"reportingInstance", nodeName_},
      {"firstTimestamp", formatTime(now)},
      {"lastTimestamp", formatTime(now)},
      {"count", 1}};
  const auto* kind = api::KindsRegistry::builtin().byResource("", "v1", "events");
  (void)api_.create(*kind, meta.value("namespace", ""), event);
}

}  // namespace kd::node

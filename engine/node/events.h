#pragma once
// core/v1 Events about a pod, written as the kubelet writes them (source.component "kubelet",
// reportingComponent "kubelet", reportingInstance the node). Failures to record are ignored:
// events are best effort.

#include <string>

#include "engine/api/status.h"
#include "engine/client/api_client.h"

namespace kd::node {

class PodEventRecorder {
 public:
  PodEventRecorder(client::ApiClient& api, std::string nodeName);

  // `fieldPath` names the container ("spec.containers{web}") or is "" for the pod itself.
  // `type` is "Normal" or "Warning".
  void record(const json& pod, const std::string& fieldPath, const std::string& type,
              const std::string& reason, const std::string& message);

 private:
  client::ApiClient& api_;
  std::string nodeName_;
};

}  // namespace kd::node

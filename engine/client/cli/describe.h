#pragma once
// `kdctl describe`: the text kubectl 1.32 prints for an object, built from the object and the
// related objects the caller fetched (events, owned pods, replica sets, endpoint slices, the
// node's lease). Pure formatting: no I/O, `now` given, so tests pin every line.
//
// Layout follows kubectl: "Field:\tvalue" lines aligned by Go's tabwriter (alignTabbed),
// two-space indentation per level, labels and annotations one per line, <none>/<unset> for
// absent values, RFC 1123 timestamps, and an Events table whose ages read "5s" or
// "2m10s (x3 over 5m)".

#include <chrono>
#include <string>

#include "engine/api/kinds.h"
#include "engine/api/status.h"

namespace kd::cli {

struct DescribeContext {
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
  // core/v1 Events about the object. Null: the kind prints no Events section.
  json events;
  // Pods owned by the object (workloads), on the node (nodes) or using the claim (PVCs).
  json pods = json::array();
  json replicaSets = json::array();     // deployments: every ReplicaSet in the namespace
  json endpointSlices = json::array();  // services: the service's EndpointSlices
  json lease;                           // nodes: the node's Lease, null when there is none
};

// What the caller should fetch for a kind before describing it.
struct DescribeNeeds {
  bool events = true;
  bool pods = false;  // owned pods (workloads), pods on the node, or all pods (PVC users)
  bool replicaSets = false;
  bool endpointSlices = false;
  bool lease = false;
};
DescribeNeeds describeNeeds(const api::KindInfo& kind);

// The describe text of `object` (ending in '\n'). Kinds without a dedicated layout get the
// generic one: name, namespace, labels, annotations and events.
std::string describeObject(const api::KindInfo& kind, const json& object,
                           const DescribeContext& context);

// One Events-table age: "5s", or for a repeated event "<last> (x<count> over <first>)".
std::string eventAge(const json& event, std::chrono::system_clock::time_point now);

// "Sun, 22 Nov 2026 03:25:27 +0000" (Go's RFC1123Z, UTC) for an RFC 3339 timestamp; "" when
// the text is not one.
std::string rfc1123(const std::string& timestamp);

// kubectl's probe line: "http-get http://:8080/healthz delay=0s timeout=1s period=10s
// #success=1 #failure=3".
std::string describeProbe(const json& probe);

}  // namespace kd::cli

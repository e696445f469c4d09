#pragma once
// Serves what MetricsStore holds, over HTTP:
//
// * `metrics.k8s.io/v1beta1` exactly as metrics-server serves it, so `kubectl top` works:
//   NodeMetrics / NodeMetricsList at /apis/metrics.k8s.io/v1beta1/nodes[/NAME] and PodMetrics /
//   PodMetricsList at /apis/metrics.k8s.io/v1beta1/[namespaces/NS/]pods[/NAME], verbs get and
//   list, with labelSelector and fieldSelector applied to the Nodes and Pods themselves. Only
//   Running pods with metrics are listed; the objects carry the Node's or Pod's labels,
//   `timestamp`, `window` and usage as resource quantities (cpu in nanocores, memory in bytes,
//   canonical form: "1500m", "123456n", "8Ki"). An unknown object answers NotFound as the
//   listers do (`pod "x" not found`); a known one without metrics as metrics-server does
//   (`pods.metrics.k8s.io "ns/x" not found`). Asked for a Table (kubectl get nodemetrics), it
//   answers metrics-server's columns: Name, cpu, memory, Window.
// * `POST /kubedesk/v1/nodes/<node>/metrics`: a node agent's report (metrics_store.h), allowed to
//   that node's agent (system:node:<node>) and to cluster admins.
// * `GET /kubedesk/v1/metrics/history?node=N` or `?namespace=NS&pod=P`: the retained series for
//   the dashboard's charts, oldest first:
//     {"kind": "MetricsHistory", "apiVersion": "kubedesk.io/v1", "node": "n1",
//      "points": [{"timestamp": "2026-11-22T10:00:00.123Z", "cpuNanoCores": 1, "memoryBytes": 2}]}
//   (for a pod: "namespace" and "pod" instead of "node", usage summed over its containers).
//   404 when nothing is known about the node or pod.
//
// The group appears in discovery (discovery.cpp) through metricsKinds(), a registry of its own:
// the main kinds registry stays the list of stored kinds.

#include <chrono>
#include <optional>
#include <string>

#include "engine/api/kinds.h"
#include "engine/server/api_handler.h"
#include "engine/server/metrics_store.h"

namespace kd::server {

// NodeMetrics and PodMetrics, as discovery shows them.
const api::KindsRegistry& metricsKinds();

// Canonical resource.Quantity text: decimal SI from nanocores, binary SI from bytes.
std::string cpuQuantity(int64_t nanoCores);
std::string memoryQuantity(int64_t bytes);

class MetricsApi {
 public:
  // Both outlive this object.
  MetricsApi(ObjectService& objects, MetricsStore& store);

  // A resource request whose group is metrics.k8s.io.
  HttpResponse serveMetricsGroup(const RequestInfo& info, const HttpRequest& request) const;
  // The /kubedesk/v1/... endpoints above; nullopt for any other path.
  std::optional<HttpResponse> serveKubedesk(const RequestInfo& info,
                                            const HttpRequest& request) const;

 private:
  HttpResponse nodes(const RequestInfo& info, const HttpRequest& request) const;
  HttpResponse pods(const RequestInfo& info, const HttpRequest& request) const;
  HttpResponse report(const std::string& node, const HttpRequest& request) const;
  HttpResponse history(const RequestInfo& info) const;

  ObjectService& objects_;
  MetricsStore& store_;
};

}  // namespace kd::server

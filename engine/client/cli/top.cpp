// `kdctl top pods|nodes`: resource usage from the metrics.k8s.io/v1beta1 API, in kubectl's
// table; "error: Metrics API not available" when no metrics server serves it.

#include <ostream>

#include "engine/api/go_duration.h"
#include "engine/api/quantity.h"
#include "engine/client/cli/commands.h"
#include "engine/client/cli/describe_parts.h"
#include "engine/client/cli/table_printer.h"

namespace kd::cli {

using describe::asArray;
using describe::at;
using describe::str;

namespace {

constexpr const char* kMetricsApi = "/apis/metrics.k8s.io/v1beta1";

int64_t amount(const json& q, bool milli) {
  auto parsed = api::Quantity::fromJson(q);
  return parsed.ok() ? (milli ? parsed->milliValue() : parsed->value()) : 0;
}

std::string cpuText(int64_t milli) {
  return std::to_string(milli) + "m";
}
std::string memoryText(int64_t bytes) {
  return std::to_string(bytes / (1024 * 1024)) + "Mi";
}

Result<json> getJson(client::ApiClient& c, const std::string& path) {
  auto r = c.request("GET", path);
  if (!r.ok()) return r.status();
  if (!r->ok()) return client::statusFromResponse(r->status, r->body);
  try {
    return json::parse(r->body);
  } catch (const std::exception& e) {
    return Status::internal(e.what());
  }
}

std::string podRows(const json& metrics, bool withNamespace) {
  std::string text =
      std::string(withNamespace ? "NAMESPACE\t" : "") + "NAME\tCPU(cores)\tMEMORY(bytes)\n";
  for (const json& m : asArray(at(metrics, "items"))) {
    int64_t cpu = 0, memory = 0;
    for (const json& c : asArray(at(m, "containers"))) {
      cpu += amount(at(c, "usage.cpu"), true);
      memory += amount(at(c, "usage.memory"), false);
    }
    text += (withNamespace ? str(m, "metadata.namespace") + "\t" : std::string()) +
            str(m, "metadata.name") + "\t" + cpuText(cpu) + "\t" + memoryText(memory) + "\n";
  }
  return alignTabbed(text, 6, 3);
}

std::string nodeRows(const json& metrics, const json& nodes) {
  std::string text = "NAME\tCPU(cores)\tCPU(%)\tMEMORY(bytes)\tMEMORY(%)\n";
  for (const json& m : asArray(at(metrics, "items"))) {
    json allocatable = json::object();
    for (const json& n : asArray(at(nodes, "items"))) {
      if (str(n, "metadata.name") == str(m, "metadata.name"))
        allocatable = at(n, "status.allocatable");
    }
    const int64_t cpu = amount(at(m, "usage.cpu"), true),
                  memory = amount(at(m, "usage.memory"), false);
    const int64_t cpuOf = amount(allocatable.value("cpu", json("0")), true);
    const int64_t memOf = amount(allocatable.value("memory", json("0")), false);
    auto percent = [](int64_t v, int64_t of) {
      return of == 0 ? std::string("<unknown>") : std::to_string(v * 100 / of) + "%";
    };
    text += str(m, "metadata.name") + "\t" + cpuText(cpu) + "\t" + percent(cpu, cpuOf) + "\t" +
            memoryText(memory) + "\t" + percent(memory, memOf) + "\n";
  }
  return alignTabbed(text, 6, 3);
}

// Go's time.Duration.String() of `d`, e.g. "2m3.25s", as kubectl prints a pod's age.
// Why a pod list has no metrics, as kubectl top tells it: pods younger than two minutes are
// probably not measured yet; an older one is named. No pods at all is not an error.
int noPodMetrics(Invocation& inv, client::ApiClient& c, bool all) {
  client::ListOptions o;
  o.labelSelector = inv.args.value("selector");
  auto pods =
      c.list(*api::KindsRegistry::builtin().resolve("pods"), all ? "" : inv.namespaceName(), o);
  if (!pods.ok()) return inv.fail(pods.status());
  const json items = asArray(at(*pods, "items"));
  if (items.empty()) {
    inv.err << (all ? std::string("No resources found\n")
                    : "No resources found in " + inv.namespaceName() + " namespace.\n");
    return 0;
  }
  const auto now = std::chrono::system_clock::now();
  for (const json& pod : items) {
    const auto created = describe::parseTime(str(pod, "metadata.creationTimestamp"));
    if (!created || now - *created <= std::chrono::minutes(2)) continue;
    return inv.usageError("Metrics not available for pod " + str(pod, "metadata.namespace") + "/" +
                          str(pod, "metadata.name") + ", age: " + api::goDuration(now - *created));
  }
  return inv.usageError("metrics not available yet");
}

}  // namespace

int runTop(Invocation& inv) {
  const auto& words = inv.args.words;
  const std::string what = words.size() > 1 ? words[1] : "";
  const bool pods = what == "pods" || what == "pod" || what == "po";
  const bool nodes = what == "nodes" || what == "node" || what == "no";
  if (!pods && !nodes) return inv.usageError("usage: kdctl top pods|nodes");
  auto c = inv.client();
  if (!c.ok()) return inv.fail(c.status());
  auto api = (*c)->request("GET", kMetricsApi);
  if (!api.ok()) return inv.fail(api.status());
  if (!api->ok()) return inv.usageError("Metrics API not available");
  if (nodes) {
    auto metrics = getJson(**c, std::string(kMetricsApi) + "/nodes");
    if (!metrics.ok()) return inv.fail(metrics.status());
    auto list = (*c)->list(*api::KindsRegistry::builtin().resolve("nodes"), "");
    if (!list.ok()) return inv.fail(list.status());
    if (asArray(at(*metrics, "items")).empty()) return inv.usageError("metrics not available yet");
    inv.out << nodeRows(*metrics, *list);
    return 0;
  }
  const bool all = inv.allNamespaces();
  auto metrics = getJson(
      **c, std::string(kMetricsApi) + (all ? "" : "/namespaces/" + inv.namespaceName()) + "/pods");
  if (!metrics.ok()) return inv.fail(metrics.status());
  if (asArray(at(*metrics, "items")).empty()) return noPodMetrics(inv, **c, all);
  inv.out << podRows(*metrics, all);
  return 0;
}

}  // namespace kd::cli

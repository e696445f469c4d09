// `kdctl port-forward`: kubectl's port forwarder (engine/client/port_forward_client.h) to a
// pod, or to the pod behind a workload or a Service.

#include <optional>
#include <ostream>

#include "engine/client/cli/args.h"
#include "engine/client/cli/commands.h"
#include "engine/client/cli/describe_parts.h"
#include "engine/client/cli/pod_target.h"
#include "engine/client/port_forward_client.h"

namespace kd::cli {
namespace {

using describe::str;

bool isNumber(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// The port specs with their remote side made a pod port number; a Service's port becomes the
// local port when none is given, as with kubectl.
Result<std::vector<client::ForwardedPort>> translatePorts(Invocation& inv, const std::string& word,
                                                          const json& pod,
                                                          const std::vector<std::string>& specs) {
  std::optional<json> service;
  if (const size_t slash = word.find('/'); slash != std::string::npos) {
    const auto kind = inv.resolveKind(word.substr(0, slash));
    if (kind.ok() && kind->resource == "services") {
      auto c = inv.client();
      if (!c.ok()) return c.status();
      auto svc = (*c)->get(*kind, inv.namespaceName(), word.substr(slash + 1));
      if (!svc.ok()) return svc.status();
      service = *svc;
    }
  }
  std::vector<client::ForwardedPort> ports;
  for (const auto& spec : specs) {
    const size_t colon = spec.find(':');
    std::string local = colon == std::string::npos ? "" : spec.substr(0, colon);
    const std::string remote = colon == std::string::npos ? spec : spec.substr(colon + 1);
    auto target = client::podPortFor(service ? &*service : nullptr, pod, remote);
    if (!target.ok()) return target.status();
    if (colon == std::string::npos) local = isNumber(remote) ? remote : *target;
    auto port = client::parsePortSpec(local + ":" + *target);
    if (!port.ok()) return port.status();
    ports.push_back(*port);
  }
  return ports;
}

}  // namespace

int runPortForward(Invocation& inv) {
  const auto& words = inv.args.words;
  if (words.size() < 3) {
    return inv.usageError(
        "TYPE/NAME and list of ports are required for port-forward\n"
        "See 'kdctl port-forward -h' for help and examples");
  }
  auto pod = attachablePod(inv, words[1]);
  if (!pod.ok()) return inv.fail(pod.status());
  const std::vector<std::string> specs(words.begin() + 2, words.end());
  auto ports = translatePorts(inv, words[1], *pod, specs);
  if (!ports.ok()) {
    return ports.status().code() == 400 ? inv.failLocal(ports.status()) : inv.fail(ports.status());
  }
  if (const std::string phase = str(*pod, "status.phase"); phase != "Running") {
    return inv.usageError("unable to forward port because pod is not running. Current status=" +
                          phase);
  }
  auto c = inv.client();
  if (!c.ok()) return inv.fail(c.status());
  const std::string path = client::ApiClient::resourcePath(
      *api::KindsRegistry::builtin().resolve("pods"), str(*pod, "metadata.namespace"),
      str(*pod, "metadata.name"), "portforward");
  client::PortForwardEvents events;
  events.onOutput = [&](const std::string& line) { inv.out << line << "\n" << std::flush; };
  events.onError = [&](const std::string& line) { inv.err << line << "\n" << std::flush; };
  auto forwarder = client::PortForwarder::open(
      **c, path, splitList(inv.args.value("address", "localhost")), *ports, std::move(events));
  if (!forwarder.ok()) {
    return forwarder.status().code() == 400 ? inv.failLocal(forwarder.status())
                                            : inv.fail(forwarder.status());
  }
  if (Status st = (*forwarder)->run(); !st) return inv.failLocal(st);
  return 0;
}

}  // namespace kd::cli

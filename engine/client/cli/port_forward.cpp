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

using describe::asArray;
using describe::at;
using describe::str;

bool isNumber(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// The pod's container port called `name`.
Result<std::string> namedContainerPort(const json& pod, const std::string& name) {
  for (const json& c : asArray(at(pod, "spec.containers"))) {
    for (const json& p : asArray(at(c, "ports"))) {
      if (str(p, "name") == name) return std::to_string(p.value("containerPort", 0));
    }
  }
  return Status::badRequest("Pod '" + str(pod, "metadata.name") + "' does not have a named port '" +
                            name + "'");
}

// The container port behind service port `remote` (a number or a port name), as kubectl
// translates it: targetPort, a named targetPort looked up in the pod, else the port itself.
Result<std::string> servicePortTarget(const json& service, const json& pod,
                                      const std::string& remote) {
  for (const json& p : asArray(at(service, "spec.ports"))) {
    const bool matches =
        isNumber(remote) ? std::to_string(p.value("port", 0)) == remote : str(p, "name") == remote;
    if (!matches) continue;
    const json target = p.value("targetPort", json());
    if (target.is_string()) return namedContainerPort(pod, target.get<std::string>());
    if (target.is_number_integer() && target.get<int>() > 0) {
      return std::to_string(target.get<int>());
    }
    return std::to_string(p.value("port", 0));
  }
  return Status::badRequest("Service " + str(service, "metadata.name") +
                            " does not have a service port " + remote);
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
    Result<std::string> target = remote;
    if (service) {
      target = servicePortTarget(*service, pod, remote);
    } else if (!isNumber(remote)) {
      target = namedContainerPort(pod, remote);
    }
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

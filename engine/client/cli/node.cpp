// kdctl node: the cluster's nodes as minikube lists them ("NAME<TAB>IP").

#include <ostream>

#include "engine/client/cli/commands.h"

namespace kd::cli {

namespace {

std::string internalIp(const json& node) {
  for (const json& address :
       node.value("status", json::object()).value("addresses", json::array())) {
    if (address.value("type", "") == "InternalIP") return address.value("address", "");
  }
  return "";
}

int nodeList(Invocation& inv) {
  auto c = inv.client();
  if (!c.ok()) return inv.fail(c.status());
  auto nodes = (*c)->list(*api::KindsRegistry::builtin().resolve("nodes"), "");
  if (!nodes.ok()) return inv.fail(nodes.status());
  for (const json& node : nodes->value("items", json::array())) {
    inv.out << node["metadata"].value("name", "") << "\t" << internalIp(node) << "\n";
  }
  return 0;
}

}  // namespace

int runNode(Invocation& inv) {
  const std::string sub = inv.args.words.size() > 1 ? inv.args.words[1] : "";
  if (sub == "list" || sub == "ls") return nodeList(inv);
  if (sub.empty()) return inv.usageError("kdctl node needs a command: list");
  return inv.usageError("unknown command \"" + sub + "\" for \"kdctl node\" (available: list)");
}

}  // namespace kd::cli

// kdctl node: the cluster's nodes as minikube lists them ("NAME<TAB>IP"), and adding and
// deleting one node of a profile made with the local or vm driver, as `minikube node add` and
// `minikube node delete` do.
//
// add: the next index after the highest in use ("<profile>-mNN"), the profile's driver and
// size; it waits for Ready and records the node in cluster.json, so stop, start and delete
// treat it like the others.
// delete: drains the node as minikube does (cordon; evict every pod but DaemonSet and mirror
// pods with a 1 s grace period, through the eviction subresource; wait until they are gone),
// stops its agent or VM and removes its state and network, then deletes the Node object and the
// pods still bound to it (its DaemonSet pods: Kubernetes' pod GC would), and un-records it. A
// failed drain is a warning, not an end, as in minikube: the node goes either way. The control
// plane is the engine, not a node, so the last node may go too; the person is told that pods
// then stay Pending.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <ostream>
#include <set>
#include <thread>

#include "engine/client/cli/commands.h"
#include "engine/client/cli/profile_state.h"
#include "engine/client/cli/vm_driver.h"
#include "vm/local/local_nodes.h"

namespace kd::cli {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const api::KindInfo& kindOf(const char* resource) {
  return *api::KindsRegistry::builtin().resolve(resource);
}

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
  auto nodes = (*c)->list(kindOf("nodes"), "");
  if (!nodes.ok()) return inv.fail(nodes.status());
  for (const json& node : nodes->value("items", json::array())) {
    inv.out << node["metadata"].value("name", "") << "\t" << internalIp(node) << "\n";
  }
  return 0;
}

// "m02" for index 2.
std::string shortName(int index) {
  char name[16];
  std::snprintf(name, sizeof name, "m%02d", index);
  return name;
}

// The profile's record, when its cluster runs and kdctl makes its nodes; else an error message.
Result<ClusterRecord> managedCluster(const fs::path& dir, const std::string& profile) {
  if (!fs::exists(dir)) {
    return Status::notFound("Profile \"" + profile + "\" not found. Run \"kdctl profile list\"");
  }
  ClusterRecord cluster = readClusterRecord(dir);
  if (cluster.driver == "simulated") {
    return Status::badRequest(
        "profile \"" + profile +
        "\" uses the simulated driver, whose nodes live inside kubedesk-engine "
        "(--simulated-nodes) and cannot be added or deleted one by one: change their number "
        "with `kdctl stop` and `kdctl start --nodes=N`, or use a profile with --driver=local "
        "or --driver=vm");
  }
  if (cluster.driver != "local" && cluster.driver != "vm") {
    return Status::badRequest("profile \"" + profile +
                              "\" has no nodes that kdctl made: start it with --driver=local "
                              "or --driver=vm");
  }
  if (!running(dir)) {
    return Status::serviceUnavailable("profile \"" + profile +
                                      "\" is not running: run \"kdctl start --profile " + profile +
                                      "\" first");
  }
  return cluster;
}

// Every index the profile's nodes use: recorded, with a state directory, or registered.
std::set<int> indicesInUse(const fs::path& dir, const std::string& profile,
                           const ClusterRecord& cluster, client::ApiClient& api) {
  std::set<int> used(cluster.nodes.begin(), cluster.nodes.end());
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir / "nodes", ec)) {
    used.insert(vm::localNodeIndex(profile, profile + "-" + entry.path().filename().string()));
  }
  if (auto nodes = api.list(kindOf("nodes"), ""); nodes.ok()) {
    for (const json& node : nodes->value("items", json::array())) {
      used.insert(vm::localNodeIndex(profile, node["metadata"].value("name", "")));
    }
  }
  used.erase(0);
  return used;
}

int nodeAdd(Invocation& inv) {
  const std::string profile = profileName(inv);
  const fs::path dir = dataRoot() / profile;
  if (inv.args.has("cpus") || inv.args.has("memory")) {
    return inv.usageError(
        "kdctl node add gives the new node the profile's size (--cpus and "
        "--memory of `kdctl start`)");
  }
  auto cluster = managedCluster(dir, profile);
  if (!cluster.ok()) return inv.usageError(cluster.status().message());
  auto api = profileClient(dir);
  if (!api.ok()) return inv.fail(api.status());
  const std::set<int> used = indicesInUse(dir, profile, *cluster, **api);
  const int index = used.empty() ? 1 : *used.rbegin() + 1;
  const std::string name = vm::localNodeName(profile, index);
  inv.out << "😄  Adding node " << shortName(index) << " to cluster " << profile << "\n"
          << "👍  Starting node " << name << " in cluster " << profile << "\n"
          << std::flush;
  // Recorded before it starts, so a node that fails half-way is still one that stop, start,
  // delete and `kdctl node delete` know.
  cluster->nodes.push_back(index);
  writeClusterRecord(dir, *cluster);
  if (int rc = startNodes(inv, dir, profile, *cluster, {index}); rc != 0) {
    inv.err << "❗  `kdctl node delete " << name << "` removes what was made of it\n";
    return rc;
  }
  inv.out << "🏄  Successfully added " << shortName(index) << " to " << profile << "!\n";
  return 0;
}

bool daemonSetPod(const json& pod) {
  for (const json& ref : pod["metadata"].value("ownerReferences", json::array())) {
    if (ref.value("controller", false) && ref.value("kind", "") == "DaemonSet") return true;
  }
  return false;
}

bool mirrorPod(const json& pod) {
  return pod["metadata"]
      .value("annotations", json::object())
      .contains("kubernetes.io/config.mirror");
}

std::string podKey(const json& pod) {
  return pod["metadata"].value("namespace", "") + "/" + pod["metadata"].value("name", "");
}

Result<json> podsOn(client::ApiClient& api, const std::string& node) {
  client::ListOptions o;
  o.fieldSelector = "spec.nodeName=" + node;
  return api.list(kindOf("pods"), "", o);
}

// POST pods/NAME/eviction; a pod already gone counts as evicted. A 429 (a disruption budget
// says not now) is retried, as kubectl drain does, until `deadline`.
Status evict(client::ApiClient& api, const json& pod,
             std::chrono::steady_clock::time_point deadline) {
  const std::string ns = pod["metadata"].value("namespace", "");
  const std::string name = pod["metadata"].value("name", "");
  const json eviction = {{"apiVersion", "policy/v1"},
                         {"kind", "Eviction"},
                         {"metadata", {{"name", name}, {"namespace", ns}}},
                         {"deleteOptions", {{"gracePeriodSeconds", 1}}}};
  const std::string path = client::ApiClient::resourcePath(kindOf("pods"), ns, name, "eviction");
  for (;;) {
    auto r = api.request("POST", path, eviction.dump(), "application/json");
    if (!r.ok()) return r.status();
    if (r->ok() || r->status == 404) return {};
    if (r->status != 429 || std::chrono::steady_clock::now() > deadline) {
      return client::statusFromResponse(r->status, r->body);
    }
    std::this_thread::sleep_for(5s);
  }
}

// Cordons `node`, evicts its pods but DaemonSet and mirror pods, and waits until they are gone.
// Returns what went wrong, for a warning.
Status drain(Invocation& inv, client::ApiClient& api, const std::string& node) {
  auto cordoned = api.patch(kindOf("nodes"), "", node, client::PatchType::Merge,
                            R"({"spec":{"unschedulable":true}})");
  if (!cordoned.ok()) return cordoned.status();
  inv.out << "node/" << node << " cordoned\n" << std::flush;
  auto pods = podsOn(api, node);
  if (!pods.ok()) return pods.status();
  std::vector<std::string> ignored;
  std::map<std::string, std::string> evicted;  // uid -> ns/name
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  for (const json& pod : pods->value("items", json::array())) {
    if (daemonSetPod(pod)) ignored.push_back(podKey(pod));
    if (daemonSetPod(pod) || mirrorPod(pod)) continue;
    inv.out << "evicting pod " << podKey(pod) << "\n" << std::flush;
    if (Status s = evict(api, pod, deadline); !s.isOk()) return s;
    evicted[pod["metadata"].value("uid", "")] = pod["metadata"].value("name", "");
  }
  if (!ignored.empty()) {
    inv.err << "Warning: ignoring DaemonSet-managed Pods:";
    for (const auto& key : ignored) inv.err << (key == ignored.front() ? " " : ", ") << key;
    inv.err << "\n";
  }
  while (!evicted.empty()) {
    auto now = podsOn(api, node);
    if (!now.ok()) return now.status();
    std::set<std::string> present;
    for (const json& pod : now->value("items", json::array())) {
      present.insert(pod["metadata"].value("uid", ""));
    }
    for (auto it = evicted.begin(); it != evicted.end();) {
      if (present.count(it->first)) {
        ++it;
        continue;
      }
      inv.out << "pod/" << it->second << " evicted\n" << std::flush;
      it = evicted.erase(it);
    }
    if (evicted.empty()) break;
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::timeout(std::to_string(evicted.size()) + " pods are still terminating");
    }
    std::this_thread::sleep_for(200ms);
  }
  inv.out << "node/" << node << " drained\n" << std::flush;
  return {};
}

// The Node object, its Lease and the pods still bound to it (the node is gone, so the API
// server deletes them at once). What is already gone is skipped.
Status removeFromApi(client::ApiClient& api, const std::string& node) {
  auto removed = api.remove(kindOf("nodes"), "", node);
  if (!removed.ok() && removed.status().code() != 404) return removed.status();
  if (const auto* lease = api::KindsRegistry::builtin().resolve("leases")) {
    api.remove(*lease, "kube-node-lease", node);  // may not exist
  }
  auto pods = podsOn(api, node);
  if (!pods.ok()) return pods.status();
  client::DeleteOptions now;
  now.gracePeriodSeconds = 0;
  for (const json& pod : pods->value("items", json::array())) {
    auto r = api.remove(kindOf("pods"), pod["metadata"].value("namespace", ""),
                        pod["metadata"].value("name", ""), now);
    if (!r.ok() && r.status().code() != 404) return r.status();
  }
  return {};
}

int nodeDelete(Invocation& inv) {
  if (inv.args.words.size() != 3) return inv.usageError("usage: kdctl node delete NAME");
  const std::string profile = profileName(inv);
  const fs::path dir = dataRoot() / profile;
  auto cluster = managedCluster(dir, profile);
  if (!cluster.ok()) return inv.usageError(cluster.status().message());
  auto api = profileClient(dir);
  if (!api.ok()) return inv.fail(api.status());
  // "m02" or "<profile>-m02", as minikube takes either.
  std::string name = inv.args.words[2];
  if (vm::localNodeIndex(profile, name) == 0) name = profile + "-" + name;
  const int index = vm::localNodeIndex(profile, name);
  const std::set<int> used = indicesInUse(dir, profile, *cluster, **api);
  if (index == 0 || !used.count(index)) {
    std::string known;
    for (int i : used) known += (known.empty() ? "" : ", ") + vm::localNodeName(profile, i);
    return inv.usageError("node \"" + inv.args.words[2] + "\" not found in profile \"" + profile +
                          "\" (its nodes: " + (known.empty() ? "none" : known) + ")");
  }
  inv.out << "🔥  Deleting node " << shortName(index) << " from cluster " << profile << "\n"
          << std::flush;
  if (used.size() == 1) {
    inv.out << "❗  " << name << " is the cluster's last node: pods stay Pending until "
            << "`kdctl node add`\n";
  }
  if (auto node = (*api)->get(kindOf("nodes"), "", name); node.ok()) {
    if (Status s = drain(inv, **api, name); !s.isOk()) {
      inv.err << "❗  unable to drain node " << name << ": " << s.message()
              << " (deleting it anyway)\n";
    }
  }
  inv.out << "✋  Stopping node \"" << name << "\" ...\n" << std::flush;
  const Status deleted = cluster->driver == "vm" ? deleteVmNode(dir, profile, index)
                                                 : vm::deleteLocalNode(dir, profile, index);
  if (!deleted.isOk()) return inv.fail(deleted);
  // After the agent stopped, so it cannot register the Node again.
  if (Status s = removeFromApi(**api, name); !s.isOk()) return inv.fail(s);
  std::erase(cluster->nodes, index);
  writeClusterRecord(dir, *cluster);
  inv.out << "💀  Node " << shortName(index) << " was successfully deleted.\n";
  return 0;
}

}  // namespace

int runNode(Invocation& inv) {
  const std::string sub = inv.args.words.size() > 1 ? inv.args.words[1] : "";
  if (sub == "list" || sub == "ls") return nodeList(inv);
  if (sub == "add") return nodeAdd(inv);
  if (sub == "delete" || sub == "rm") return nodeDelete(inv);
  if (sub.empty()) return inv.usageError("kdctl node needs a command: list, add or delete");
  return inv.usageError("unknown command \"" + sub +
                        "\" for \"kdctl node\" (available: list, add, delete)");
}

}  // namespace kd::cli

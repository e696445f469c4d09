#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <thread>

#include "engine/client/cli/commands.h"
#include "engine/client/cli/profile_state.h"
#include "engine/client/cli/table_printer.h"
#include "engine/client/cli/vm_driver.h"
#include "vm/local/local_nodes.h"
#include "vm/local/process_identity.h"

namespace kd::cli {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr const char* kClientVersion = "v0.1.0";

fs::path kubeconfigTarget(const Invocation& inv) {
  return inv.args.has("kubeconfig") ? fs::path(inv.args.value("kubeconfig"))
                                    : client::defaultKubeconfigPath();
}

fs::path engineBinary() {
  return siblingBinary("kubedesk-engine");
}

bool onPath(const char* program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    if (::access((dirs.substr(start, end - start) + "/" + program).c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

struct DriverChoice : ClusterRecord {
  std::string why;  // said to the person when auto chose
};

// The nodes `--nodes=N` asks for: the recorded ones (lowest first), then new indices after the
// highest, so a profile whose m02 was deleted keeps m01 and m03.
std::vector<int> resizeNodes(std::vector<int> nodes, int count) {
  if (static_cast<int>(nodes.size()) > count) nodes.resize(static_cast<size_t>(count));
  for (int next = nodes.empty() ? 1 : nodes.back() + 1; static_cast<int>(nodes.size()) < count;)
    nodes.push_back(next++);
  return nodes;
}

// --driver, --nodes, --cpus and --memory (and the older --simulated-nodes) to a driver. A
// profile started before keeps its driver. auto: local when this process may run node agents
// (root, kubedesk-node and an OCI runtime present), else simulated; VM nodes are asked for with
// --driver=vm until auto can tell cheaply that KVM works.
Result<DriverChoice> chooseDriver(const Invocation& inv, const fs::path& dir) {
  DriverChoice c;
  c.nodes = {1};
  const ClusterRecord recorded = readClusterRecord(dir);
  std::string driver = inv.args.has("driver") ? inv.args.value("driver") : "";
  if (driver.empty() || driver == recorded.driver) {
    driver = recorded.driver.empty() ? "auto" : recorded.driver;
    if (!recorded.driver.empty()) static_cast<ClusterRecord&>(c) = recorded;
  }
  for (auto [flag, out] : {std::pair{"cpus", &c.cpus}, {"memory", &c.memoryMiB}}) {
    if (inv.args.has(flag)) *out = std::atoi(inv.args.value(flag).c_str());
  }
  if (c.cpus < 1 || c.cpus > 64) return Status::badRequest("--cpus must be 1..64");
  if (c.memoryMiB < 256 || c.memoryMiB > 65536) {
    return Status::badRequest("--memory must be 256..65536 (MiB)");
  }
  int count = static_cast<int>(c.nodes.size());
  if (inv.args.has("simulated-nodes")) {
    driver = "simulated";
    count = std::atoi(inv.args.value("simulated-nodes").c_str());
  }
  if (inv.args.has("nodes")) count = std::atoi(inv.args.value("nodes").c_str());
  if (count < 0 || count > 1000) return Status::badRequest("--nodes must be 0..1000");
  c.nodes = resizeNodes(c.nodes, count);
  if (driver == "auto") {
    const bool root = ::geteuid() == 0;
    const bool agent = fs::exists(siblingBinary("kubedesk-node"));
    const bool runtime = onPath("runc") || onPath("crun");
    if (root && agent && runtime) {
      driver = "local";
      c.why = "using the local driver (--driver=vm boots the nodes as VMs)";
    } else {
      driver = "simulated";
      c.why = std::string("using the simulated driver: the local driver needs ") +
              (!root    ? "root"
               : !agent ? "kubedesk-node beside kdctl"
                        : "runc or crun");
    }
  }
  if (driver != "vm" && driver != "local" && driver != "simulated") {
    return Status::badRequest("unknown driver \"" + driver +
                              "\" (want auto, vm, local or simulated)");
  }
  c.driver = driver;
  return c;
}

bool engineSupports(const fs::path& engine, const std::string& flag) {
  std::string cmd = "'" + engine.string() + "' --help 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return false;
  std::string text;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) text.append(buf, n);
  ::pclose(p);
  return text.find(flag) != std::string::npos;
}

int selectContext(Invocation& inv, const fs::path& dir) {
  auto access = client::loadClusterAccess(dir / "kubeconfig", "");
  if (!access.ok()) return inv.fail(access.status());
  if (Status st = client::mergeIntoKubeconfig(kubeconfigTarget(inv), *access, true); !st.isOk()) {
    return inv.fail(st);
  }
  return 0;
}

bool stopEngine(const fs::path& dir) {
  const pid_t pid = readState(dir).pid;
  if (!engineAlive(pid, dir)) return true;
  ::kill(pid, SIGTERM);
  for (auto deadline = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(50ms)) {
    if (!vm::processRunning(pid)) return true;
  }
  ::kill(pid, SIGKILL);
  std::this_thread::sleep_for(200ms);
  return !vm::processRunning(pid);
}

}  // namespace

int runStart(Invocation& inv) {
  const std::string profile = profileName(inv);
  const fs::path dir = dataRoot() / profile;
  inv.out << "😄  [" << profile << "] kdctl " << kClientVersion << "\n" << std::flush;
  auto driver = chooseDriver(inv, dir);
  if (!driver.ok()) return inv.fail(driver.status());
  if (!driver->why.empty()) inv.out << "✨  " << driver->why << "\n";
  if (running(dir)) {
    inv.out << "🏃  Updating the running kubedesk-engine for \"" << profile << "\" ...\n";
  } else {
    std::error_code ec;
    fs::create_directories(dir, ec);
    const fs::path engine = engineBinary();
    std::vector<std::string> args = {"--profile", profile, "--data-dir", dir.string()};
    if (inv.args.has("kubeconfig")) {
      args.insert(args.end(), {"--kubeconfig", inv.args.value("kubeconfig")});
    }
    if (driver->driver == "vm") args.push_back("--cluster-switch");
    if (driver->driver == "simulated" && !driver->nodes.empty()) {
      if (engineSupports(engine, "--simulated-nodes")) {
        args.insert(args.end(), {"--simulated-nodes", std::to_string(driver->nodes.size())});
      } else {
        inv.err << "❗  this kubedesk-engine has no --simulated-nodes; starting without nodes\n";
      }
    }
    inv.out << "🔥  Starting control plane \"" << profile << "\" ...\n" << std::flush;
    pid_t pid = spawnDetached(engine, args, dir / "engine.log");
    inv.out << "⌛  Waiting for the API server to be ready ..." << std::flush;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!(readState(dir).pid == pid && probe(dir, "/readyz"))) {
      if (!vm::processRunning(pid) || std::chrono::steady_clock::now() > deadline) {
        inv.out << "\n";
        return inv.usageError("kubedesk-engine did not become ready; its log (" +
                              (dir / "engine.log").string() + ") ends with:\n" +
                              logTail(dir / "engine.log"));
      }
      std::this_thread::sleep_for(100ms);
    }
    inv.out << " done\n";
  }
  writeClusterRecord(dir, *driver);
  if (driver->driver == "local" || driver->driver == "vm") {
    if (int rc = startNodes(inv, dir, profile, *driver, driver->nodes); rc != 0) return rc;
  }
  if (int rc = selectContext(inv, dir); rc != 0) return rc;
  inv.out << "🏄  Done! kubectl is now configured to use \"" << profile
          << "\" cluster and \"default\" namespace by default\n";
  return 0;
}

int runStop(Invocation& inv) {
  const std::string profile = profileName(inv);
  const fs::path dir = dataRoot() / profile;
  if (!fs::exists(dir)) {
    return inv.usageError("Profile \"" + profile + "\" not found. Run \"kdctl profile list\"");
  }
  inv.out << "✋  Stopping \"" << profile << "\" ...\n" << std::flush;
  const Status stopped = readClusterRecord(dir).driver == "vm" ? stopVmNodes(dir, profile)
                                                               : vm::stopLocalNodes(dir, profile);
  if (!stopped.isOk()) return inv.fail(stopped);
  if (!stopEngine(dir)) return inv.usageError("kubedesk-engine did not stop");
  inv.out << "🛑  1 node stopped.\n";
  return 0;
}

int runStatus(Invocation& inv) {
  const std::string profile = profileName(inv);
  const fs::path dir = dataRoot() / profile;
  if (!fs::exists(dir)) {
    inv.out << "🤷  Profile \"" << profile << "\" not found. Run \"kdctl profile list\"\n";
    return 85;
  }
  const EngineState state = readState(dir);
  const bool host = engineAlive(state.pid, dir);
  const bool api = host && probe(dir, "/readyz");
  auto contexts = client::listContexts(kubeconfigTarget(inv));
  const bool configured =
      contexts.ok() && std::find(contexts->begin(), contexts->end(), profile) != contexts->end();
  std::string nodes = "0";
  if (api) {
    if (auto c = profileClient(dir); c.ok()) {
      const auto* kind = api::KindsRegistry::builtin().resolve("nodes");
      if (auto list = (*c)->list(*kind, ""); list.ok()) {
        nodes = std::to_string(list->value("items", json::array()).size());
      }
    }
  }
  inv.out << profile << "\ntype: Control Plane\nhost: " << (host ? "Running" : "Stopped")
          << "\napiserver: " << (api ? "Running" : "Stopped")
          << "\nkubeconfig: " << (configured ? "Configured" : "Misconfigured")
          << "\nurl: https://127.0.0.1:" << state.port << "\nnodes: " << nodes << "\n\n";
  // minikube's bit flags: 1 host, 2 cluster, 4 kubernetes not running.
  return host ? (api ? 0 : 6) : 7;
}

int runDeleteProfile(Invocation& inv) {
  const std::string profile = profileName(inv);
  const fs::path dir = dataRoot() / profile;
  inv.out << "🔥  Deleting \"" << profile << "\" ...\n" << std::flush;
  if (fs::exists(dir)) {
    const Status deleted = readClusterRecord(dir).driver == "vm"
                               ? deleteVmNodes(dir, profile)
                               : vm::deleteLocalNodes(dir, profile);
    if (!deleted.isOk()) return inv.fail(deleted);
  }
  if (fs::exists(dir) && !stopEngine(dir)) {
    return inv.usageError("kubedesk-engine did not stop");
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) return inv.usageError("cannot remove " + dir.string() + ": " + ec.message());
  if (fs::exists(kubeconfigTarget(inv))) {
    if (Status st = client::removeFromKubeconfig(kubeconfigTarget(inv), profile); !st.isOk()) {
      return inv.fail(st);
    }
  }
  inv.out << "💀  Removed all traces of the \"" << profile << "\" cluster.\n";
  return 0;
}

int runProfile(Invocation& inv) {
  if (inv.args.words.size() < 2 || inv.args.words[1] != "list") {
    return inv.usageError("usage: kdctl profile list");
  }
  TabWriter writer;
  writer.addRow({"PROFILE", "STATUS", "URL"});
  std::error_code ec;
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(dataRoot(), ec)) {
    if (e.is_directory()) dirs.push_back(e.path());
  }
  std::sort(dirs.begin(), dirs.end());
  if (dirs.empty()) {
    inv.err << "🤹  Exiting due to no valid profiles\n";
    return 1;
  }
  for (const auto& d : dirs) {
    const EngineState s = readState(d);
    writer.addRow({d.filename().string(), running(d) ? "Running" : "Stopped",
                   "https://127.0.0.1:" + std::to_string(s.port)});
  }
  inv.out << writer.flush();
  return 0;
}

int runKubeconfig(Invocation& inv) {
  const fs::path file = dataRoot() / profileName(inv) / "kubeconfig";
  if (!fs::exists(file)) {
    return inv.usageError("no kubeconfig for profile \"" + profileName(inv) +
                          "\": run \"kdctl start\" first");
  }
  inv.out << readFile(file);
  return 0;
}

int runUpdateContext(Invocation& inv) {
  const std::string profile = profileName(inv);
  const fs::path dir = dataRoot() / profile;
  if (!fs::exists(dir / "kubeconfig")) {
    return inv.usageError("Profile \"" + profile + "\" not found. Run \"kdctl profile list\"");
  }
  if (int rc = selectContext(inv, dir); rc != 0) return rc;
  inv.out << "🎉  \"" << profile
          << "\" context has been updated to point to https://127.0.0.1:" << readState(dir).port
          << "\n💗  Current context is \"" << profile << "\"\n";
  return 0;
}

int runVersion(Invocation& inv) {
  inv.out << "Client Version: " << kClientVersion << " (kdctl)\n";
  if (inv.args.boolean("client")) return 0;
  auto c = inv.client();
  if (!c.ok()) return inv.fail(c.status());
  auto v = (*c)->serverVersion();
  if (!v.ok()) return inv.fail(v.status());
  inv.out << "Server Version: " << v->value("gitVersion", "") << "\n";
  return 0;
}

}  // namespace kd::cli

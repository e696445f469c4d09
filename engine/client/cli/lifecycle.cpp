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
#include "engine/client/cli/describe_parts.h"
#include "engine/client/cli/table_printer.h"
#include "engine/client/cli/vm_driver.h"
#include "vm/local/local_nodes.h"
#include "vm/local/process_identity.h"

namespace kd::cli {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr const char* kClientVersion = "v0.1.0";

// Mirrors ControlPlane::defaultDataDir: ${XDG_DATA_HOME:-~/.local/share}/kubedesk.
fs::path dataRoot() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg && *xdg) return fs::path(xdg) / "kubedesk";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/tmp") / ".local" / "share" / "kubedesk";
}

std::string profileName(const Invocation& inv) {
  return inv.args.value("profile", "kubedesk");
}

fs::path kubeconfigTarget(const Invocation& inv) {
  return inv.args.has("kubeconfig") ? fs::path(inv.args.value("kubeconfig"))
                                    : client::defaultKubeconfigPath();
}

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A pid that is still the live kubedesk-engine of the profile in `dir` (kdctl starts it with
// --data-dir), not a stranger reusing the pid — possibly another profile's engine.
bool engineAlive(pid_t pid, const fs::path& dir) {
  return vm::processMatches(pid, "kubedesk-engine", "--data-dir", dir.string());
}

struct EngineState {
  pid_t pid = 0;
  int port = 0;
  int switchPort = 0;  // the VM nodes' cluster switch, 0 when the engine serves none
};

EngineState readState(const fs::path& dir) {
  EngineState s;
  try {
    json j = json::parse(readFile(dir / "engine.json"));
    s.pid = j.value("pid", 0);
    s.port = j.value("port", 0);
    s.switchPort = j.value("switchPort", 0);
  } catch (const json::exception&) {
  }
  return s;
}

// A client for the profile's own standalone kubeconfig, with short timeouts for probing.
Result<std::unique_ptr<client::ApiClient>> profileClient(const fs::path& dir) {
  auto access = client::loadClusterAccess(dir / "kubeconfig", "");
  if (!access.ok()) return access.status();
  client::ClientOptions o;
  o.connectTimeout = 1000ms;
  o.requestTimeout = 3000ms;
  o.userAgent = "kdctl";
  return client::ApiClient::create(*access, o);
}

bool probe(const fs::path& dir, const char* path) {
  auto c = profileClient(dir);
  if (!c.ok()) return false;
  auto r = (*c)->request("GET", path);
  return r.ok() && r->status == 200;
}

bool running(const fs::path& dir) {
  return engineAlive(readState(dir).pid, dir) && probe(dir, "/healthz");
}

// A binary installed beside this one (build/bin), else the name for PATH lookup.
fs::path siblingBinary(const char* name) {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path sibling = self.parent_path() / name;
    if (fs::exists(sibling)) return sibling;
  }
  return name;
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

struct DriverChoice {
  std::string driver;  // "vm", "local", "simulated" or "" (engine only)
  int nodes = 1;
  int cpus = 1;         // per VM node
  int memoryMiB = 512;  // per VM node
  std::string why;      // said to the person when auto chose
};

// How a profile was started (<profile>/cluster.json: driver, nodes, cpus, memory), so stop,
// delete and a plain `kdctl start` treat its nodes the way they were made. Empty when never
// recorded.
json recordedCluster(const fs::path& dir) {
  const json j = json::parse(readFile(dir / "cluster.json"), nullptr, false);
  return j.is_object() ? j : json::object();
}

std::string recordedDriver(const fs::path& dir) {
  return recordedCluster(dir).value("driver", "");
}

void recordDriver(const fs::path& dir, const DriverChoice& c) {
  std::ofstream(dir / "cluster.json") << json{
      {"driver", c.driver},
      {"nodes", c.nodes},
      {"cpus", c.cpus},
      {"memory", c.memoryMiB}}.dump();
}

// --driver, --nodes, --cpus and --memory (and the older --simulated-nodes) to a driver. A
// profile started before keeps its driver. auto: local when this process may run node agents
// (root, kubedesk-node and an OCI runtime present), else simulated; VM nodes are asked for with
// --driver=vm until auto can tell cheaply that KVM works.
Result<DriverChoice> chooseDriver(const Invocation& inv, const fs::path& dir) {
  DriverChoice c;
  const json recorded = recordedCluster(dir);
  std::string driver = inv.args.has("driver") ? inv.args.value("driver") : "";
  if (driver.empty() || driver == recorded.value("driver", "")) {
    driver = recorded.value("driver", "auto");
    c.nodes = recorded.value("nodes", c.nodes);
    c.cpus = recorded.value("cpus", c.cpus);
    c.memoryMiB = recorded.value("memory", c.memoryMiB);
  }
  for (auto [flag, out] : {std::pair{"cpus", &c.cpus}, {"memory", &c.memoryMiB}}) {
    if (inv.args.has(flag)) *out = std::atoi(inv.args.value(flag).c_str());
  }
  if (c.cpus < 1 || c.cpus > 64) return Status::badRequest("--cpus must be 1..64");
  if (c.memoryMiB < 256 || c.memoryMiB > 65536) {
    return Status::badRequest("--memory must be 256..65536 (MiB)");
  }
  if (inv.args.has("simulated-nodes")) {
    driver = "simulated";
    c.nodes = std::atoi(inv.args.value("simulated-nodes").c_str());
  }
  if (inv.args.has("nodes")) c.nodes = std::atoi(inv.args.value("nodes").c_str());
  if (c.nodes < 0 || c.nodes > 1000) return Status::badRequest("--nodes must be 0..1000");
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

std::string logTail(const fs::path& log);

// Waits until every node is Ready, showing which are; on timeout, the tail of the log of the
// first node that is not.
int waitForNodes(Invocation& inv, const fs::path& dir,
                 const std::vector<std::pair<std::string, fs::path>>& nodes,
                 std::chrono::seconds timeout) {
  inv.out << "⌛  Waiting for the nodes to be Ready ..." << std::flush;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // A Node's Ready condition outlives a stopped node for a while: only a heartbeat from after
  // this start counts (timestamps have whole seconds).
  const auto startedAt = std::chrono::system_clock::now() - 1s;
  const auto* kind = api::KindsRegistry::builtin().resolve("nodes");
  std::unique_ptr<client::ApiClient> api;  // one client (one TLS session) for all the polls
  for (const auto& [name, log] : nodes) {
    for (;;) {
      if (!api) {
        if (auto c = profileClient(dir); c.ok()) api = std::move(*c);
      }
      bool ready = false;
      if (api) {
        if (auto n = api->get(*kind, "", name); n.ok()) {
          for (const auto& cond :
               n->value("status", json::object()).value("conditions", json::array())) {
            const auto beat = describe::parseTime(cond.value("lastHeartbeatTime", ""));
            ready |= cond.value("type", "") == "Ready" && cond.value("status", "") == "True" &&
                     beat && *beat >= startedAt;
          }
        }
      }
      if (ready) break;
      if (std::chrono::steady_clock::now() > deadline) {
        inv.out << "\n";
        return inv.usageError("node " + name + " did not become Ready; its log (" + log.string() +
                              ") ends with:\n" + logTail(log));
      }
      std::this_thread::sleep_for(100ms);
    }
    if (nodes.size() > 1) inv.out << " " << name << std::flush;
  }
  inv.out << " done\n";
  return 0;
}

// Starts the local node agents and waits until their Nodes are Ready.
int startLocalDriver(Invocation& inv, const fs::path& dir, const std::string& profile, int count) {
  vm::LocalNodesOptions o;
  o.profileDir = dir;
  o.kubeconfig = dir / "kubeconfig";
  o.profile = profile;
  o.count = count;
  o.nodeBinary = siblingBinary("kubedesk-node");
  inv.out << "🚜  Starting " << count << " local node" << (count == 1 ? "" : "s") << " ...\n"
          << std::flush;
  auto nodes = vm::startLocalNodes(o);
  if (!nodes.ok()) return inv.fail(nodes.status());
  std::vector<std::pair<std::string, fs::path>> waiting;
  for (const auto& node : *nodes) waiting.emplace_back(node.name, node.dir / "agent.log");
  return waitForNodes(inv, dir, waiting, 60s);
}

// Boots the VM nodes and waits until their Nodes are Ready (a TCG boot takes tens of seconds).
int startVmDriver(Invocation& inv, const fs::path& dir, const std::string& profile,
                  const DriverChoice& c) {
  const EngineState state = readState(dir);
  VmNodesRequest r;
  r.dataRoot = dataRoot();
  r.profileDir = dir;
  r.profile = profile;
  r.count = c.nodes;
  r.cpus = c.cpus;
  r.memoryMiB = c.memoryMiB;
  r.apiPort = static_cast<uint16_t>(state.port);
  r.switchPort = static_cast<uint16_t>(state.switchPort);
  r.imageDir = siblingBinary("kubedesk-node").parent_path().parent_path() / "node-image";
  auto nodes = startVmNodes(r, inv.out);
  if (!nodes.ok()) return inv.fail(nodes.status());
  std::vector<std::pair<std::string, fs::path>> waiting;
  for (const auto& node : *nodes) waiting.emplace_back(node.name, node.consoleLog);
  return waitForNodes(inv, dir, waiting, 300s);
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

// Starts the engine detached from this terminal (its own session, output to engine.log) and
// returns its pid. The intermediate child exits at once so the engine is never our zombie.
pid_t spawnEngine(const fs::path& engine, const std::vector<std::string>& args,
                  const fs::path& log) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  pid_t child = ::fork();
  if (child < 0) return -1;
  if (child == 0) {
    ::setsid();
    pid_t grandchild = ::fork();
    if (grandchild == 0) {
      int devnull = ::open("/dev/null", O_RDONLY);
      int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      ::dup2(devnull, 0);
      ::dup2(out, 1);
      ::dup2(out, 2);
      for (int fd = 3; fd < 1024; ++fd) ::close(fd);
      std::vector<char*> argv;
      std::string program = engine.string();
      argv.push_back(program.data());
      std::vector<std::string> copy = args;
      for (auto& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    ssize_t ignored = ::write(fds[1], &grandchild, sizeof grandchild);
    (void)ignored;
    ::_exit(0);
  }
  ::close(fds[1]);
  pid_t pid = -1;
  if (::read(fds[0], &pid, sizeof pid) != sizeof pid) pid = -1;
  ::close(fds[0]);
  ::waitpid(child, nullptr, 0);
  return pid;
}

std::string logTail(const fs::path& log) {
  std::string text = readFile(log);
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
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
    if (driver->driver == "simulated" && driver->nodes > 0) {
      if (engineSupports(engine, "--simulated-nodes")) {
        args.insert(args.end(), {"--simulated-nodes", std::to_string(driver->nodes)});
      } else {
        inv.err << "❗  this kubedesk-engine has no --simulated-nodes; starting without nodes\n";
      }
    }
    inv.out << "🔥  Starting control plane \"" << profile << "\" ...\n" << std::flush;
    pid_t pid = spawnEngine(engine, args, dir / "engine.log");
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
  recordDriver(dir, *driver);
  if (driver->driver == "local" && driver->nodes > 0) {
    if (int rc = startLocalDriver(inv, dir, profile, driver->nodes); rc != 0) return rc;
  }
  if (driver->driver == "vm" && driver->nodes > 0) {
    if (int rc = startVmDriver(inv, dir, profile, *driver); rc != 0) return rc;
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
  const Status stopped =
      recordedDriver(dir) == "vm" ? stopVmNodes(dir, profile) : vm::stopLocalNodes(dir, profile);
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
    const Status deleted = recordedDriver(dir) == "vm" ? deleteVmNodes(dir, profile)
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

#include "engine/client/cli/profile_state.h"

#include <fcntl.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <ostream>
#include <thread>

#include "engine/client/cli/describe_parts.h"
#include "engine/client/cli/vm_driver.h"
#include "vm/local/local_nodes.h"
#include "vm/local/process_identity.h"

namespace kd::cli {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

fs::path dataRoot() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg && *xdg) return fs::path(xdg) / "kubedesk";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/tmp") / ".local" / "share" / "kubedesk";
}

std::string profileName(const Invocation& inv) {
  return inv.args.value("profile", "kubedesk");
}

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string logTail(const fs::path& log) {
  std::string text = readFile(log);
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

fs::path siblingBinary(const char* name) {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path sibling = self.parent_path() / name;
    if (fs::exists(sibling)) return sibling;
  }
  return name;
}

pid_t spawnDetached(const fs::path& program, const std::vector<std::string>& args,
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
      std::string path = program.string();
      argv.push_back(path.data());
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

// kdctl starts the engine with --data-dir <dir>.
bool engineAlive(pid_t pid, const fs::path& dir) {
  return vm::processMatches(pid, "kubedesk-engine", "--data-dir", dir.string());
}

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

ClusterRecord readClusterRecord(const fs::path& dir) {
  ClusterRecord r;
  const json j = json::parse(readFile(dir / "cluster.json"), nullptr, false);
  if (!j.is_object()) return r;
  r.driver = j.value("driver", "");
  r.cpus = j.value("cpus", r.cpus);
  r.memoryMiB = j.value("memory", r.memoryMiB);
  const json nodes = j.value("nodes", json());
  if (nodes.is_number_integer()) {  // recorded before nodes could be added and deleted
    for (int i = 1; i <= nodes.get<int>(); ++i) r.nodes.push_back(i);
  } else if (nodes.is_array()) {
    for (const json& index : nodes) {
      if (index.is_number_integer() && index.get<int>() > 0) r.nodes.push_back(index.get<int>());
    }
  }
  std::sort(r.nodes.begin(), r.nodes.end());
  r.nodes.erase(std::unique(r.nodes.begin(), r.nodes.end()), r.nodes.end());
  return r;
}

void writeClusterRecord(const fs::path& dir, const ClusterRecord& r) {
  std::ofstream(dir / "cluster.json") << json{
      {"driver", r.driver},
      {"nodes", r.nodes},
      {"cpus", r.cpus},
      {"memory", r.memoryMiB}}.dump();
}

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

namespace {

int startLocalDriver(Invocation& inv, const fs::path& dir, const std::string& profile,
                     const std::vector<int>& indices) {
  vm::LocalNodesOptions o;
  o.profileDir = dir;
  o.kubeconfig = dir / "kubeconfig";
  o.profile = profile;
  o.indices = indices;
  o.nodeBinary = siblingBinary("kubedesk-node");
  inv.out << "🚜  Starting " << indices.size() << " local node" << (indices.size() == 1 ? "" : "s")
          << " ...\n"
          << std::flush;
  auto nodes = vm::startLocalNodes(o);
  if (!nodes.ok()) return inv.fail(nodes.status());
  std::vector<std::pair<std::string, fs::path>> waiting;
  for (const auto& node : *nodes) waiting.emplace_back(node.name, node.dir / "agent.log");
  return waitForNodes(inv, dir, waiting, 60s);
}

// A TCG boot takes tens of seconds.
int startVmDriver(Invocation& inv, const fs::path& dir, const std::string& profile,
                  const ClusterRecord& c, const std::vector<int>& indices) {
  const EngineState state = readState(dir);
  VmNodesRequest r;
  r.dataRoot = dataRoot();
  r.profileDir = dir;
  r.profile = profile;
  r.indices = indices;
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

}  // namespace

int startNodes(Invocation& inv, const fs::path& dir, const std::string& profile,
               const ClusterRecord& cluster, const std::vector<int>& indices) {
  if (indices.empty()) return 0;
  if (cluster.driver == "local") return startLocalDriver(inv, dir, profile, indices);
  if (cluster.driver == "vm") return startVmDriver(inv, dir, profile, cluster, indices);
  return inv.usageError("the " + cluster.driver + " driver's nodes are not started by kdctl");
}

}  // namespace kd::cli

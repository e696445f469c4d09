#include "vm/local/local_nodes.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "engine/client/node_credentials.h"
#include "engine/node/pod_worker.h"
#include "vm/local/local_network.h"
#include "vm/local/process_identity.h"

namespace kd::vm {
namespace {

namespace fs = std::filesystem;

fs::path nodeDir(const fs::path& profileDir, int index) {
  char name[16];
  std::snprintf(name, sizeof name, "m%02d", index);
  return profileDir / "nodes" / name;
}

int readPid(const fs::path& dir) {
  std::ifstream in(dir / "agent.pid");
  int pid = 0;
  in >> pid;
  return pid;
}

// Whether `pid` is the live agent of the node in `dir` (not a reused pid, not a zombie).
bool agentAlive(int pid, const fs::path& dir) {
  return processMatches(pid, "kubedesk-node", "--state-dir", (dir / "state").string());
}

// Runs argv to completion with output discarded; returns its stdout.
std::string run(const std::vector<std::string>& argv) {
  int out[2];
  if (::pipe(out) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, STDERR_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) text.append(buf, size_t(n));
  ::close(out[0]);
  if (pid > 0) ::waitpid(pid, nullptr, 0);
  return text;
}

// Starts the agent detached (its own session, reparented to init) and returns its pid.
Result<int> spawnAgent(const std::vector<std::string>& argv, const fs::path& log) {
  // The agent holds the pipe's write end until its exec closes it, so reading to the end
  // returns once the pid runs kubedesk-node: a stop right after this start finds the agent.
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return Status::internal("pipe failed");
  const pid_t child = ::fork();
  if (child < 0) return Status::internal("fork failed");
  if (child == 0) {
    ::close(report[0]);
    ::setsid();
    const pid_t agent = ::fork();
    if (agent == 0) {
      const int null = ::open("/dev/null", O_RDONLY);
      const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      ::dup2(null, STDIN_FILENO);
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    const int pid = agent;
    (void)!::write(report[1], &pid, sizeof pid);
    ::_exit(agent > 0 ? 0 : 1);
  }
  ::close(report[1]);
  int pid = 0;
  const bool got = ::read(report[0], &pid, sizeof pid) == sizeof pid;
  for (char c; ::read(report[0], &c, 1) > 0;) {
  }
  ::close(report[0]);
  ::waitpid(child, nullptr, 0);
  if (!got || pid <= 0) return Status::internal("could not start " + argv[0]);
  return pid;
}

// Unmounts everything mounted at or below `dir`, deepest first.
void unmountBelow(const fs::path& dir) {
  std::ifstream mounts("/proc/self/mountinfo");
  std::vector<std::string> points;
  const std::string prefix = dir.string();
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    if (point.starts_with(prefix)) points.push_back(point);
  }
  std::sort(points.begin(), points.end(), std::greater<>());
  for (const auto& p : points) ::umount2(p.c_str(), MNT_DETACH);
}

// Kills and deletes every container in the node's own runtime root.
void removeContainers(const fs::path& dir) {
  const std::string root = (dir / "runc").string();
  for (const char* runtime : {"runc", "crun"}) {
    std::istringstream ids(run({runtime, "--root", root, "list", "-q"}));
    for (std::string id; std::getline(ids, id);) {
      if (id.empty()) continue;
      run({runtime, "--root", root, "kill", id, "KILL"});
      run({runtime, "--root", root, "delete", "-f", id});
    }
  }
}

// Stops the agents (SIGTERM, SIGKILL after `grace`), then kills and deletes their containers.
void stopAgents(const std::vector<LocalNode>& nodes, std::chrono::milliseconds grace) {
  for (const auto& n : nodes) {
    if (n.pid > 0) ::kill(n.pid, SIGTERM);
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  for (const auto& n : nodes) {
    while (agentAlive(n.pid, n.dir) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (agentAlive(n.pid, n.dir)) ::kill(n.pid, SIGKILL);
  }
  for (const auto& n : nodes) {
    removeContainers(n.dir);
    // The agent would have removed its pods' cgroups with their containers; it was stopped.
    node::PodWorker::removePodCgroupsUnder(n.dir / "state");
    std::error_code ec;
    fs::remove(n.dir / "agent.pid", ec);
  }
}

}  // namespace

std::string localNodeName(const std::string& profile, int index) {
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "-m%02d", index);
  return profile + suffix;
}

int localNodeIndex(const std::string& profile, const std::string& name) {
  const std::string prefix = profile + "-m";
  if (!name.starts_with(prefix) || name.size() > prefix.size() + 4) return 0;
  int index = 0;
  for (char c : name.substr(prefix.size())) {
    if (c < '0' || c > '9') return 0;
    index = index * 10 + (c - '0');
  }
  // Only the spelling localNodeName gives ("m02", not "m2" or "m002").
  return index > 0 && localNodeName(profile, index) == name ? index : 0;
}

std::vector<LocalNode> localNodes(const fs::path& profileDir, const std::string& profile) {
  std::vector<int> indices;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(profileDir / "nodes", ec)) {
    const int index = localNodeIndex(profile, profile + "-" + entry.path().filename().string());
    if (index > 0 && entry.is_directory(ec)) indices.push_back(index);
  }
  std::sort(indices.begin(), indices.end());
  std::vector<LocalNode> nodes;
  for (int i : indices) {
    const fs::path dir = nodeDir(profileDir, i);
    const int pid = readPid(dir);
    nodes.push_back({i, localNodeName(profile, i), dir, agentAlive(pid, dir) ? pid : 0});
  }
  return nodes;
}

Result<std::vector<LocalNode>> startLocalNodes(const LocalNodesOptions& o) {
  if (::geteuid() != 0) {
    return Status::forbidden(
        "the local driver runs node agents that mount filesystems and start containers: run "
        "as root (sudo), or use --driver=simulated");
  }
  std::error_code ec;
  if (!fs::exists(o.nodeBinary, ec)) {
    return Status::notFound(o.nodeBinary.string() + " not found: build it (make) first");
  }
  std::vector<int> indices = o.indices;
  if (indices.empty()) {
    for (int i = 1; i <= o.count; ++i) indices.push_back(i);
  }
  std::vector<LocalNode> nodes;
  for (int i : indices) {
    if (i < 1 || i > 250) return Status::badRequest("node index out of range (1..250)");
    LocalNode node{i, localNodeName(o.profile, i), nodeDir(o.profileDir, i), 0};
    fs::create_directories(node.dir / "state", ec);
    if (ec) return Status::internal("cannot create " + node.dir.string() + ": " + ec.message());
    auto net = ensureLocalNodeNetwork(o.profileDir, o.profile, i, node.dir / "state");
    if (!net.ok()) return Status::internal(node.name + " network: " + net.status().message());
    node.pid = readPid(node.dir);
    if (!agentAlive(node.pid, node.dir)) {
      const fs::path kubeconfig = node.dir / "kubeconfig";
      if (Status s = client::writeNodeKubeconfig(o.kubeconfig, node.name, kubeconfig); !s.isOk()) {
        return Status::internal(node.name + ": cannot get the node's credentials: " + s.message());
      }
      std::vector<std::string> argv = {o.nodeBinary.string(),
                                       "--kubeconfig",
                                       kubeconfig.string(),
                                       "--node-name",
                                       node.name,
                                       "--state-dir",
                                       (node.dir / "state").string(),
                                       "--runtime-root",
                                       (node.dir / "runc").string(),
                                       "--node-ip",
                                       net->ip};
      if (!o.runtime.empty()) argv.insert(argv.end(), {"--runtime", o.runtime});
      auto pid = spawnAgent(argv, node.dir / "agent.log");
      if (!pid.ok()) return pid.status();
      node.pid = *pid;
      std::ofstream(node.dir / "agent.pid") << node.pid << "\n";
    }
    nodes.push_back(std::move(node));
  }
  return nodes;
}

Status stopLocalNodes(const fs::path& profileDir, const std::string& profile,
                      std::chrono::milliseconds grace) {
  stopAgents(localNodes(profileDir, profile), grace);
  return {};
}

Status deleteLocalNodes(const fs::path& profileDir, const std::string& profile) {
  if (Status st = stopLocalNodes(profileDir, profile); !st.isOk()) return st;
  const auto nodes = localNodes(profileDir, profile);
  std::vector<int> indices;
  for (const auto& n : nodes) {
    unmountBelow(n.dir);
    indices.push_back(n.index);
  }
  removeLocalNetwork(profile, indices);
  std::error_code ec;
  fs::remove_all(profileDir / "nodes", ec);
  if (ec)
    return Status::internal("cannot remove " + (profileDir / "nodes").string() + ": " +
                            ec.message());
  return {};
}

Status deleteLocalNode(const fs::path& profileDir, const std::string& profile, int index,
                       std::chrono::milliseconds grace) {
  const fs::path dir = nodeDir(profileDir, index);
  const int pid = readPid(dir);
  stopAgents({{index, localNodeName(profile, index), dir, agentAlive(pid, dir) ? pid : 0}}, grace);
  unmountBelow(dir);
  removeLocalNodeNetwork(profile, index);
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) return Status::internal("cannot remove " + dir.string() + ": " + ec.message());
  return {};
}

}  // namespace kd::vm

#include "bench/engine_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "engine/client/kubeconfig.h"

#include "engine/client/node_credentials.h"

namespace kd::bench {
namespace {

// Starts `args` (args[0] the binary) with stdout on `out` and stderr on `err` (-1: inherited);
// the child's pid, or -1.
pid_t spawn(std::vector<std::string> args, int out, int err) {
  std::vector<char*> argv;  // built before fork: the child only dups and execs
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    if (out >= 0) dup2(out, STDOUT_FILENO);
    if (err >= 0) dup2(err, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

Result<std::filesystem::path> makeTempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "XXXXXX";
  if (!mkdtemp(tmpl.data())) return Status::internal("mkdtemp failed");
  return std::filesystem::path(tmpl);
}

void stopChild(pid_t& pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  pid = -1;
}

}  // namespace

long statusKiB(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(field + ":"))
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return 0;
}

EngineProcess::EngineProcess(std::filesystem::path binary, std::vector<std::string> extraArgs)
    : binary_(std::move(binary)), extraArgs_(std::move(extraArgs)) {}

EngineProcess::~EngineProcess() {
  stop();
  std::error_code ec;
  if (!dataDir_.empty()) std::filesystem::remove_all(dataDir_, ec);
}

Status EngineProcess::start() {
  auto dir = makeTempDir("kubedesk-bench-");
  if (!dir.ok()) return dir.status();
  dataDir_ = *dir;
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Status::internal("pipe failed");
  std::vector<std::string> args = {binary_.string(),  "--data-dir", dataDir_.string(),
                                   "--no-kubeconfig", "--port",     "0"};
  args.insert(args.end(), extraArgs_.begin(), extraArgs_.end());
  pid_ = spawn(args, out[1], -1);
  close(out[1]);
  if (pid_ < 0) return Status::internal("fork failed");
  // The engine prints "... serving https://127.0.0.1:PORT" once it accepts connections.
  FILE* stream = fdopen(out[0], "r");
  char line[1024];
  while (std::fgets(line, sizeof line, stream)) {
    std::string text(line);
    if (auto at = text.find("serving https://"); at != std::string::npos) {
      url_ = text.substr(at + 8);
      while (!url_.empty() && std::isspace(static_cast<unsigned char>(url_.back())))
        url_.pop_back();
      break;
    }
  }
  std::fclose(stream);  // later output goes nowhere; the engine ignores SIGPIPE
  if (url_.empty()) return Status::internal("kubedesk-engine did not report its URL");
  return {};
}

void EngineProcess::stop() {
  stopChild(pid_);
}

double cpuSecondsOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  // Fields after the parenthesized command name (which may hold spaces): state is field 3,
  // utime and stime are fields 14 and 15.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

uintmax_t EngineProcess::databaseBytes() const {
  uintmax_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dataDir_, ec)) {
    if (entry.path().filename().string().starts_with("store.db")) total += entry.file_size(ec);
  }
  return total;
}

void Samples::add(std::chrono::steady_clock::duration d) {
  ms.push_back(std::chrono::duration<double, std::milli>(d).count());
}

AgentProcess::AgentProcess(std::filesystem::path binary, const EngineProcess& engine,
                           std::string nodeName)
    : binary_(std::move(binary)), engine_(engine), nodeName_(std::move(nodeName)) {}

AgentProcess::~AgentProcess() {
  stop();
  std::error_code ec;
  if (!stateDir_.empty()) std::filesystem::remove_all(stateDir_, ec);
}

Status AgentProcess::start() {
  auto dir = makeTempDir("kubedesk-bench-node-");
  if (!dir.ok()) return dir.status();
  stateDir_ = *dir;
  if (!netns_.empty()) {
    std::filesystem::create_directories(stateDir_ / "network");
    std::ofstream(stateDir_ / "network" / "node.json") << json{{"netns", netns_}}.dump() << "\n";
  }
  const std::string log = stateDir_.string() + ".log";
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::internal("cannot write " + log);
  // The node's own token, as drivers start agents (and as the node authorizer then sees them).
  const std::string kubeconfig = (stateDir_ / "kubeconfig").string();
  if (Status s = client::writeNodeKubeconfig(engine_.kubeconfig(), nodeName_, kubeconfig); !s) {
    ::close(fd);
    return s;
  }
  pid_ = spawn({binary_.string(), "--kubeconfig", kubeconfig, "--node-name", nodeName_,
                "--state-dir", stateDir_.string()},
               fd, fd);
  ::close(fd);
  return pid_ < 0 ? Status::internal("fork failed") : Status{};
}

void AgentProcess::stop() {
  stopChild(pid_);
}

double Samples::percentile(double p) {
  if (ms.empty()) return 0;
  std::sort(ms.begin(), ms.end());
  const auto index = static_cast<size_t>(p / 100.0 * static_cast<double>(ms.size() - 1) + 0.5);
  return ms[std::min(index, ms.size() - 1)];
}

Result<std::unique_ptr<client::ApiClient>> EngineProcess::adminClient() const {
  auto access = client::loadClusterAccess(kubeconfig(), "");
  if (!access.ok()) return access.status();
  return client::ApiClient::create(*access);
}

json webDeployment(int replicas, const std::string& image) {
  json container = {{"name", "app"},
                    {"image", image},
                    {"resources", {{"requests", {{"cpu", "10m"}, {"memory", "16Mi"}}}}}};
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", "web"}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", {{"app", "web"}}}}},
            {"strategy",
             {{"type", "RollingUpdate"},
              {"rollingUpdate", {{"maxSurge", "25%"}, {"maxUnavailable", "25%"}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", "web"}}}}},
              {"spec", {{"containers", {container}}}}}}}}};
}

}  // namespace kd::bench

// kubedesk-node: the node agent (our kubelet). `kubedesk-node shim ...` is the per-container
// shim the agent re-executes itself as.

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "app/crash_report/crash_report.h"
#include "engine/api/quantity.h"
#include "engine/node/agent.h"
#include "engine/node/shim.h"

namespace {

std::atomic<bool> g_stop{false};

void onSignal(int) {
  g_stop = true;
}

const char* const kUsage =
    "usage: kubedesk-node --kubeconfig FILE --node-name NAME --state-dir DIR\n"
    "                     [--context NAME] [--runtime runc|crun|PATH] [--runtime-root DIR]\n"
    "                     [--node-ip IP] [--image-layout DIR]... [--metrics-interval 10s]\n"
    "                     [--container-log-max-size 10Mi] [--container-log-max-files 5]\n";

std::string selfExe() {
  std::error_code ec;
  return std::filesystem::read_symlink("/proc/self/exe", ec).string();
}

// The bundled busybox image next to the binary: <build>/bin/kubedesk-node ->
// <build>/images/busybox.
std::vector<std::filesystem::path> bundledImages(const std::string& exe) {
  const auto dir = std::filesystem::path(exe).parent_path().parent_path() / "images" / "busybox";
  if (std::filesystem::exists(dir / "index.json")) return {dir};
  return {};
}

// metrics: "10s", "500ms", "1m" or plain seconds; false when malformed.
bool parseInterval(const std::string& text, std::chrono::milliseconds& out) {
  static const std::map<std::string, int64_t> kUnitMs = {
      {"ms", 1}, {"s", 1000}, {"", 1000}, {"m", 60000}};
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  auto unit = kUnitMs.find(text.substr(digits));
  if (digits == 0 || digits > 9 || unit == kUnitMs.end()) return false;
  out = std::chrono::milliseconds(std::stoll(text.substr(0, digits)) * unit->second);
  return true;
}

bool parseFlags(int argc, char** argv, kd::node::AgentOptions& o) {
  bool valid = true;
  using Setter = std::function<void(const std::string&)>;
  const std::map<std::string, Setter> flags = {
      {"--kubeconfig", [&](const std::string& v) { o.kubeconfig = v; }},
      {"--context", [&](const std::string& v) { o.context = v; }},
      {"--node-name", [&](const std::string& v) { o.nodeName = v; }},
      {"--state-dir", [&](const std::string& v) { o.stateDir = v; }},
      {"--runtime", [&](const std::string& v) { o.runtime = v; }},
      {"--runtime-root", [&](const std::string& v) { o.runtimeRoot = v; }},
      {"--node-ip", [&](const std::string& v) { o.nodeIp = v; }},
      {"--image-layout", [&](const std::string& v) { o.imageLayouts.emplace_back(v); }},
      {"--metrics-interval",
       [&](const std::string& v) { valid = parseInterval(v, o.metricsInterval) && valid; }},
      {"--container-log-max-size",
       [&](const std::string& v) {
         auto q = kd::api::Quantity::parse(v);
         valid = valid && q.ok() && q->value() > 0;
         if (q.ok()) o.containerLogMaxBytes = static_cast<uint64_t>(q->value());
       }},
      {"--container-log-max-files",
       [&](const std::string& v) {
         o.containerLogMaxFiles = std::atoi(v.c_str());
         valid = valid && o.containerLogMaxFiles >= 2;  // the live file and one rotated
       }},
  };
  for (int i = 1; i + 1 < argc; i += 2) {
    auto it = flags.find(argv[i]);
    if (it == flags.end()) return false;
    it->second(argv[i + 1]);
  }
  if (argc % 2 == 0) return false;  // a flag without its value
  if (o.imageLayouts.empty()) o.imageLayouts = bundledImages(o.selfExe);
  return valid && !o.kubeconfig.empty() && !o.nodeName.empty() && !o.stateDir.empty();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "shim") == 0) {
    return kd::node::runShim(std::vector<std::string>(argv + 2, argv + argc));
  }
  kd::installCrashReport("kubedesk-node");
  kd::node::AgentOptions options;
  options.selfExe = selfExe();
  if (!parseFlags(argc, argv, options)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (::geteuid() != 0) {
    std::fputs("kubedesk-node: must run as root (it mounts filesystems and runs containers)\n",
               stderr);
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  const kd::Status s = kd::node::runAgent(options, g_stop);
  if (!s.isOk()) {
    std::fprintf(stderr, "kubedesk-node: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

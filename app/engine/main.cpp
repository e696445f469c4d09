// kubedesk-engine: the control plane daemon of one profile. Runs in the foreground until
// SIGTERM or SIGINT, then shuts down cleanly.

#include <signal.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "app/crash_report/crash_report.h"
#include "engine/server/control_plane.h"
#include "vm/libvirt/vm_node_monitor.h"

namespace {

const char* const kUsage = R"(Usage: kubedesk-engine [options]

Runs the KubeDesk control plane (Kubernetes API server, store, controllers) for a profile.

Options:
  --profile NAME        profile to serve (default "kubedesk"); also the kubeconfig context name
  --data-dir DIR        state directory (default ${XDG_DATA_HOME:-~/.local/share}/kubedesk/NAME)
  --port N              API server port on 127.0.0.1 (default: the profile's last port, else free)
  --kubeconfig FILE     kubeconfig to merge the context into (default $KUBECONFIG or ~/.kube/config)
  --no-kubeconfig       do not touch any kubeconfig (DIR/kubeconfig is still written)
  --threads N           API server I/O threads (default 4)
  --simulated-nodes N   register N simulated nodes (kwok-like: pods run without containers)
  --cluster-switch      serve the VM nodes' cluster network (an L2 switch on 127.0.0.1) and
                        watch their VMs: a node whose VM stops unasked goes NotReady at once
  --horizontal-pod-autoscaler-sync-period D
                        how often autoscalers are evaluated: "15s" (default), "500ms", or seconds
  -h, --help            show this help
)";

bool takeValue(int& i, int argc, char** argv, std::string& out) {
  if (i + 1 >= argc) {
    std::fprintf(stderr, "kubedesk-engine: %s needs a value\n", argv[i]);
    return false;
  }
  out = argv[++i];
  return true;
}

// "15s", "500ms" or plain seconds; false when malformed.
bool parseDuration(const std::string& text, std::chrono::milliseconds& out) {
  char* end = nullptr;
  const long n = std::strtol(text.c_str(), &end, 10);
  const std::string unit = end;
  if (end == text.c_str() || n <= 0 || n > 86'400'000 ||
      (unit != "" && unit != "s" && unit != "ms")) {
    return false;
  }
  out = std::chrono::milliseconds(unit == "ms" ? n : n * 1000);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  kd::installCrashReport("kubedesk-engine");
  kd::server::ControlPlaneOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--profile") {
      if (!takeValue(i, argc, argv, options.profile)) return 2;
    } else if (arg == "--data-dir") {
      if (!takeValue(i, argc, argv, value)) return 2;
      options.dataDir = value;
    } else if (arg == "--port" || arg == "--threads" || arg == "--simulated-nodes") {
      if (!takeValue(i, argc, argv, value)) return 2;
      char* end = nullptr;
      long n = std::strtol(value.c_str(), &end, 10);
      if (*end || n < 0 || n > 65535) {
        std::fprintf(stderr, "kubedesk-engine: %s: not a number: %s\n", arg.c_str(), value.c_str());
        return 2;
      }
      if (arg == "--port") {
        options.port = static_cast<uint16_t>(n);
      } else if (arg == "--threads") {
        options.threads = static_cast<int>(n);
      } else {
        options.simulatedNodes = static_cast<int>(n);
      }
    } else if (arg == "--kubeconfig") {
      if (!takeValue(i, argc, argv, value)) return 2;
      options.kubeconfig = value;
    } else if (arg == "--no-kubeconfig") {
      options.writeKubeconfig = false;
    } else if (arg == "--cluster-switch") {
      options.clusterSwitch = true;
    } else if (arg == "--horizontal-pod-autoscaler-sync-period") {
      if (!takeValue(i, argc, argv, value)) return 2;
      if (!parseDuration(value, options.hpaSyncPeriod)) {
        std::fprintf(stderr, "kubedesk-engine: %s: not a duration (15s, 500ms): %s\n", arg.c_str(),
                     value.c_str());
        return 2;
      }
    } else {
      std::fprintf(stderr, "kubedesk-engine: unknown option %s\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }

  if (options.clusterSwitch) {  // the VM driver's engine: see vm/libvirt/vm_node_monitor.h
    options.nodeMonitor = [profile = options.profile](kd::server::ObjectService& objects,
                                                      const std::filesystem::path& dataDir) {
      auto monitor = std::make_shared<kd::vm::VmNodeMonitor>(
          objects, kd::vm::VmNodeMonitorOptions{.profileDir = dataDir, .profile = profile});
      monitor->start();
      return std::shared_ptr<void>(monitor);
    };
  }

  // Block the stop signals before any thread starts, so only sigwait below receives them.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  kd::server::ControlPlane plane(options);
  if (kd::Status st = plane.start(); !st.isOk()) {
    std::fprintf(stderr, "kubedesk-engine: %s\n", st.message().c_str());
    return 1;
  }
  std::printf("kubedesk-engine: profile %s serving %s\n", options.profile.c_str(),
              plane.serverUrl().c_str());
  std::printf("kubedesk-engine: state in %s; kubeconfig context \"%s\"\n", plane.dataDir().c_str(),
              options.profile.c_str());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stopSignals, &sig);
  std::printf("kubedesk-engine: %s received, shutting down\n", strsignal(sig));
  plane.stop();
  return 0;
}

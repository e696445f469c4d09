// kdctl dashboard: opens the desktop app (kubedesk, beside kdctl) on a cluster, as `minikube
// dashboard` opens its web UI: the profile's own context by default, or --context's (any
// kubeconfig context, a real cluster too). The app is started detached, so it outlives kdctl.

#include <chrono>
#include <cstdlib>
#include <ostream>
#include <thread>

#include "engine/client/cli/commands.h"
#include "engine/client/cli/profile_state.h"
#include "vm/local/process_identity.h"

namespace kd::cli {

namespace fs = std::filesystem;

int runDashboard(Invocation& inv) {
  if (inv.args.words.size() > 1) return inv.usageError("kdctl dashboard takes no arguments");
  const std::string profile = profileName(inv);
  const std::string context = inv.args.value("context", profile);
  const fs::path dir = dataRoot() / profile;
  // A profile's cluster must be up, as minikube requires; another context is only connected to.
  if (context == profile && !running(dir)) {
    return inv.usageError("the \"" + profile +
                          "\" cluster is not running: start it with \"kdctl start -p " + profile +
                          "\"");
  }
  const char* display = std::getenv("DISPLAY");
  const char* wayland = std::getenv("WAYLAND_DISPLAY");
  if ((!display || !*display) && (!wayland || !*wayland)) {
    return inv.usageError(
        "no display to open the dashboard on (DISPLAY and WAYLAND_DISPLAY are unset): it is a "
        "desktop window; run kdctl dashboard in a graphical session, or use kdctl get -w for a "
        "live view in the terminal");
  }
  const fs::path app = siblingBinary("kubedesk");
  if (!fs::exists(app)) {
    return inv.usageError(
        "the desktop app (kubedesk) is not installed beside kdctl: build it "
        "with \"make\"");
  }
  std::vector<std::string> args = {"--context", context, "--profile", profile, "--no-start"};
  if (inv.args.has("kubeconfig")) {
    args.insert(args.end(), {"--kubeconfig", inv.args.value("kubeconfig")});
  }
  std::error_code ec;
  fs::create_directories(dataRoot(), ec);
  const fs::path log = (fs::is_directory(dir) ? dir : dataRoot()) / "dashboard.log";
  inv.out << "🤔  Opening the KubeDesk dashboard on \"" << context << "\" ...\n" << std::flush;
  const pid_t pid = spawnDetached(app, args, log);
  // An app that cannot reach its display or cluster says so at once: wait a moment for that.
  for (int i = 0; pid > 0 && i < 15; ++i) {
    if (!vm::processRunning(pid)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (pid <= 0 || !vm::processRunning(pid)) {
    return inv.usageError("the dashboard did not start; its log (" + log.string() +
                          ") ends with:\n" + logTail(log));
  }
  inv.out << "🎉  The dashboard is open (pid " << pid << ", log " << log.string() << ")\n";
  return 0;
}

}  // namespace kd::cli

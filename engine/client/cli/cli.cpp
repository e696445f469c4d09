#include "engine/client/cli/cli.h"

#include <functional>
#include <map>
#include <ostream>

#include "engine/client/cli/commands.h"

namespace kd::cli {

namespace {

// `kdctl delete` alone deletes the profile (minikube); with objects it is kubectl's delete.
int deleteVerb(Invocation& inv) {
  const bool objects = inv.args.words.size() > 1 || inv.args.has("filename") ||
                       inv.args.has("selector") || inv.args.has("all");
  return objects ? runDelete(inv) : runDeleteProfile(inv);
}

const std::map<std::string, std::function<int(Invocation&)>, std::less<>>& verbTable() {
  static const std::map<std::string, std::function<int(Invocation&)>, std::less<>> kVerbs = {
      {"start", runStart},
      {"stop", runStop},
      {"status", runStatus},
      {"delete", deleteVerb},
      {"profile", runProfile},
      {"kubeconfig", runKubeconfig},
      {"update-context", runUpdateContext},
      {"version", runVersion},
      {"image", runImage},
      {"node", runNode},
      {"dashboard", runDashboard},
      {"get", runGet},
      {"apply", runApply},
      {"create", runCreate},
      {"scale", runScale},
      {"label", runLabel},
      {"annotate", runLabel},
      {"patch", runPatch},
      {"describe", runDescribe},
      {"rollout", runRollout},
      {"wait", runWait},
      {"events", runEvents},
      {"logs", runLogs},
      {"diff", runDiff},
      {"edit", runEdit},
      {"top", runTop},
      {"exec", runExec},
      {"attach", runAttach},
      {"port-forward", runPortForward},
      {"completion", runCompletion},
  };
  return kVerbs;
}

}  // namespace

int runKdctl(const std::vector<std::string>& argv, std::istream& in, std::ostream& out,
             std::ostream& err) {
  auto parsed = parseArgs(argv);
  if (!parsed.ok()) {
    err << "error: " << parsed.status().message() << "\nSee 'kdctl --help' for usage.\n";
    return 1;
  }
  Invocation inv(std::move(parsed).value(), in, out, err);
  const std::string verb = inv.args.words.empty() ? "" : inv.args.words[0];
  if (verb.empty() || verb == "help") {
    return runHelp(inv, inv.args.words.size() > 1 ? inv.args.words[1] : "");
  }
  if (inv.args.boolean("help")) return runHelp(inv, verb);
  auto it = verbTable().find(verb);
  if (it == verbTable().end()) {
    err << "error: unknown command \"" << verb
        << "\" for \"kdctl\"\nRun 'kdctl --help' for usage.\n";
    return 1;
  }
  return it->second(inv);
}

}  // namespace kd::cli

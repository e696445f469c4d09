#include <ostream>

#include "engine/client/cli/commands.h"

namespace kd::cli {

namespace {

struct VerbHelp {
  const char* verb;
  const char* summary;
  const char* usage;
  const char* examples;
};

const std::vector<VerbHelp>& verbs() {
  static const std::vector<VerbHelp> kVerbs = {
      {"start", "Start the cluster of a profile (launches kubedesk-engine)",
       "kdctl start [--profile NAME] [--simulated-nodes N]",
       "  kdctl start\n  kdctl start --profile dev --simulated-nodes 3"},
      {"stop", "Stop the engine of a profile", "kdctl stop [--profile NAME]", "  kdctl stop"},
      {"status", "Show whether the engine and API server run", "kdctl status [--profile NAME]",
       "  kdctl status --profile dev"},
      {"delete", "Delete objects, or with no arguments the whole profile",
       "kdctl delete ([-f FILE] | TYPE [NAME... | -l SELECTOR | --all])",
       "  kdctl delete pod web-0\n  kdctl delete -f app.yaml\n  kdctl delete deploy -l app=web\n"
       "  kdctl delete            # removes the profile, its data and kubeconfig context"},
      {"profile", "List profiles", "kdctl profile list", "  kdctl profile list"},
      {"kubeconfig", "Print the profile's kubeconfig", "kdctl kubeconfig [--profile NAME]",
       "  kdctl kubeconfig > /tmp/kubedesk.conf"},
      {"update-context", "Point the kubeconfig context at the profile's engine and select it",
       "kdctl update-context [--profile NAME]", "  kdctl update-context"},
      {"version", "Print client and server versions", "kdctl version [--client]",
       "  kdctl version"},
      {"get", "Display one or many resources",
       "kdctl get TYPE[.GROUP][,TYPE...] [NAME...] [-o wide|yaml|json|name|jsonpath=...] "
       "[-l SELECTOR] [--field-selector F] [-A] [-w]",
       "  kdctl get pods\n  kdctl get deploy,svc -n shop -o wide\n  kdctl get all -A\n"
       "  kdctl get pod web-0 -o jsonpath='{.status.phase}'\n  kdctl get pods -w"},
      {"apply", "Apply a configuration to resources from files or stdin",
       "kdctl apply -f FILENAME|DIR|- [-R]",
       "  kdctl apply -f app.yaml\n  kdctl apply -R -f manifests/\n  cat pod.json | kdctl apply "
       "-f -"},
      {"create", "Create resources from files or stdin", "kdctl create -f FILENAME|DIR|-",
       "  kdctl create -f job.yaml"},
      {"scale", "Set a new size for a deployment, replica set or stateful set",
       "kdctl scale TYPE NAME --replicas=N", "  kdctl scale deploy/web --replicas=3"},
      {"label", "Update the labels on a resource",
       "kdctl label TYPE NAME KEY=VAL... [KEY-] [--overwrite]",
       "  kdctl label pod web-0 tier=frontend\n  kdctl label pod web-0 tier-"},
      {"annotate", "Update the annotations on a resource",
       "kdctl annotate TYPE NAME KEY=VAL... [KEY-] [--overwrite]",
       "  kdctl annotate deploy web owner=team-a"},
      {"patch", "Update fields of a resource",
       "kdctl patch TYPE NAME -p PATCH [--type strategic|merge|json]",
       "  kdctl patch deploy web -p '{\"spec\":{\"replicas\":2}}'\n"
       "  kdctl patch cm web-config --type merge -p '{\"data\":{\"MODE\":\"dev\"}}'"},
      {"completion", "Print a shell completion script", "kdctl completion bash",
       "  source <(kdctl completion bash)"},
  };
  return kVerbs;
}

constexpr const char* kGlobalFlags =
    "Global flags:\n"
    "  -n, --namespace NS   namespace for this request\n"
    "      --context NAME   kubeconfig context to use\n"
    "      --kubeconfig F   kubeconfig file (default $KUBECONFIG or ~/.kube/config)\n"
    "  -p, --profile NAME   KubeDesk profile for lifecycle commands (default \"kubedesk\")\n"
    "  -h, --help           help for a command\n";

}  // namespace

int runHelp(Invocation& inv, const std::string& verb) {
  for (const auto& v : verbs()) {
    if (verb == v.verb) {
      inv.out << v.summary << ".\n\nExamples:\n"
              << v.examples << "\n\nUsage:\n  " << v.usage << "\n\n"
              << kGlobalFlags;
      return 0;
    }
  }
  inv.out << "kdctl controls a KubeDesk cluster and talks the Kubernetes API like kubectl.\n\n"
             "Commands:\n";
  for (const auto& v : verbs()) {
    std::string name = v.verb;
    name.resize(16, ' ');
    inv.out << "  " << name << v.summary << "\n";
  }
  inv.out << "\nUsage:\n  kdctl COMMAND [options]\n\n"
          << kGlobalFlags
          << "\nUse \"kdctl COMMAND --help\" for more information about a command.\n";
  return verb.empty() || verb == "help" ? 0 : 1;
}

int runCompletion(Invocation& inv) {
  if (inv.args.words.size() < 2 || inv.args.words[1] != "bash") {
    return inv.usageError("usage: kdctl completion bash");
  }
  std::string verbList, typeList;
  for (const auto& v : verbs()) verbList += std::string(v.verb) + " ";
  for (const auto& k : api::KindsRegistry::builtin().all()) {
    typeList += k.resource + " ";
    for (const auto& s : k.shortNames) typeList += s + " ";
  }
  inv.out << "# bash completion for kdctl\n"
             "_kdctl() {\n"
             "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
             "  case \"$prev\" in\n"
             "    -f|--filename|--kubeconfig) COMPREPLY=($(compgen -f -- \"$cur\")); return;;\n"
             "    -o|--output) COMPREPLY=($(compgen -W 'wide yaml json name jsonpath=' -- "
             "\"$cur\")); return;;\n"
             "    -n|--namespace) COMPREPLY=($(compgen -W \"$(kdctl get ns -o "
             "jsonpath='{.items[*].metadata.name}' 2>/dev/null)\" -- \"$cur\")); return;;\n"
             "  esac\n"
             "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
             "    COMPREPLY=($(compgen -W '"
          << verbList
          << "' -- \"$cur\"))\n"
             "  elif [ \"$COMP_CWORD\" -eq 2 ]; then\n"
             "    COMPREPLY=($(compgen -W 'all "
          << typeList
          << "' -- \"$cur\"))\n"
             "  else\n"
             "    COMPREPLY=($(compgen -W \"$(kdctl get \"${COMP_WORDS[2]}\" -o "
             "jsonpath='{.items[*].metadata.name}' 2>/dev/null)\" -- \"$cur\"))\n"
             "  fi\n"
             "}\n"
             "complete -F _kdctl kdctl\n";
  return 0;
}

}  // namespace kd::cli

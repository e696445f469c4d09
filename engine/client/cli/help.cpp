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
      {"start",
       "Start the cluster of a profile: kubedesk-engine and its nodes. --driver=vm boots each "
       "node as a libvirt VM (KVM when it works, else TCG) with --cpus and --memory; "
       "--driver=local runs node "
       "agents as host processes (root) that run pods in real containers; --driver=simulated "
       "registers nodes that only pretend to run pods; auto picks local when it can",
       "kdctl start [--profile NAME] [--driver auto|vm|local|simulated] [--nodes N] [--cpus C] "
       "[--memory MiB]",
       "  kdctl start\n  kdctl start --driver=vm --nodes=2 --memory=1024\n  kdctl start "
       "--driver=local --nodes=2\n  kdctl start --profile dev "
       "--driver=simulated --nodes=3"},
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
      {"image",
       "Manage the images the cluster's nodes hold. ls lists them (from each Node's "
       "status.images, so any cluster); load copies an image tarball (docker save, skopeo copy "
       "docker-archive: or oci-archive:; - reads standard input) into every node's store, or "
       "--node's; pull has the nodes pull an image from its registry; rm untags images and "
       "frees what only they used (refused while a pod on the node uses one)",
       "kdctl image ls [--format short|table] | load FILE|- [--node NAME] | pull IMAGE "
       "[--node NAME] | rm IMAGE... [--node NAME]",
       "  kdctl image ls --format table\n  kdctl image load ./app.tar\n"
       "  skopeo copy docker://registry.local/app:1 docker-archive:/dev/stdout | kdctl image "
       "load -\n  kdctl image pull 127.0.0.1:5000/app:1\n  kdctl image rm app:1"},
      {"node",
       "List, add or delete the cluster's nodes. add starts one more node (the next free "
       "name, <profile>-mNN) with the profile's driver and size and waits until it is Ready; "
       "delete drains a node (cordon, then evict all but its DaemonSet pods, whose controllers "
       "bring them back elsewhere), stops it and removes it and its state. Nodes are added and "
       "deleted with the local and vm drivers; the engine is the control plane, so even the "
       "last node may go",
       "kdctl node list|add|delete NAME [--profile NAME]",
       "  kdctl node list\n  kdctl node add\n  kdctl node delete kubedesk-m02\n"
       "  kdctl node delete m02 --profile dev"},
      {"dashboard",
       "Open the desktop dashboard (kubedesk) on the profile's cluster, or on --context's "
       "(any kubeconfig context); the cluster must be running and a display available",
       "kdctl dashboard [--profile NAME] [--context NAME]",
       "  kdctl dashboard\n  kdctl dashboard --context prod-cluster"},
      {"get", "Display one or many resources",
       "kdctl get TYPE[.GROUP][,TYPE...] [NAME...] [-o wide|yaml|json|name|jsonpath=...|"
       "custom-columns=H:PATH,...] [-l SELECTOR] [--field-selector F] [-A] [-w] [--sort-by PATH] "
       "[--show-labels]",
       "  kdctl get pods\n  kdctl get deploy,svc -n shop -o wide\n  kdctl get all -A\n"
       "  kdctl get pod web-0 -o jsonpath='{.status.phase}'\n  kdctl get pods -w\n"
       "  kdctl get pods --sort-by=.metadata.creationTimestamp\n"
       "  kdctl get pods -o custom-columns=NAME:.metadata.name,NODE:.spec.nodeName"},
      {"apply", "Apply a configuration to resources from files or stdin",
       "kdctl apply -f FILENAME|DIR|- [-R]",
       "  kdctl apply -f app.yaml\n  kdctl apply -R -f manifests/\n  cat pod.json | kdctl apply "
       "-f -"},
      {"create",
       "Create resources from files or stdin, or with a generator: deployment, job, namespace, "
       "configmap, secret generic",
       "kdctl create (-f FILENAME|DIR|- | deployment NAME --image=I [--replicas=N] [--port=P] "
       "[-- CMD...] | job NAME (--image=I [-- CMD...] | --from=cronjob/CJ) | namespace NAME | "
       "configmap|secret generic NAME [--from-literal=K=V] [--from-file=[K=]PATH] "
       "[--from-env-file=PATH]) [--dry-run=client|server] [-o yaml|json|name]",
       "  kdctl create -f job.yaml\n"
       "  kdctl create deployment web --image=nginx --replicas=3 --port=80\n"
       "  kdctl create deployment sleeper --image=busybox -- sleep 3600\n"
       "  kdctl create job once --from=cronjob/report\n"
       "  kdctl create namespace shop\n"
       "  kdctl create configmap web-config --from-literal=MODE=dev --from-file=app.conf\n"
       "  kdctl create secret generic db --from-env-file=db.env\n"
       "  kdctl create deployment web --image=nginx --dry-run=client -o yaml > web.yaml"},
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
      {"describe", "Show details of a specific resource or group of resources",
       "kdctl describe (TYPE [NAME_PREFIX | -l SELECTOR] | TYPE/NAME) [-A]",
       "  # Describe a node\n  kdctl describe nodes kubedesk-m01\n\n"
       "  # Describe a pod\n  kdctl describe pods/nginx\n\n"
       "  # Describe pods by label name=myLabel\n  kdctl describe pods -l name=myLabel\n\n"
       "  # Describe all pods whose names start with web (or all pods)\n"
       "  kdctl describe pods web\n  kdctl describe pods"},
      {"rollout", "Manage the rollout of a deployment, daemon set or stateful set",
       "kdctl rollout status|history|undo|restart|pause|resume TYPE/NAME [--revision N] "
       "[--to-revision N] [--watch=false] [--timeout D]",
       "  # Watch the rollout status of a deployment\n  kdctl rollout status deployment/web\n\n"
       "  # View the rollout history, and the details of revision 3\n"
       "  kdctl rollout history deployment/web\n  kdctl rollout history deployment/web "
       "--revision=3\n\n"
       "  # Roll back to the previous revision, or to revision 3\n"
       "  kdctl rollout undo deployment/web\n  kdctl rollout undo daemonset/agent "
       "--to-revision=3\n\n"
       "  # Restart the pods of a deployment; pause and resume its rollout\n"
       "  kdctl rollout restart deployment/web\n  kdctl rollout pause deployment/web\n"
       "  kdctl rollout resume deployment/web"},
      {"wait", "Wait for a specific condition on one or many resources",
       "kdctl wait (TYPE NAME | TYPE/NAME | TYPE -l SELECTOR | TYPE --all) "
       "--for=delete|create|condition=C[=V]|jsonpath='{...}'[=V] [--timeout=30s]",
       "  # Wait for the pod \"busybox1\" to contain the status condition of type \"Ready\"\n"
       "  kdctl wait --for=condition=Ready pod/busybox1\n\n"
       "  # The default value of a status condition is true; wait for another value\n"
       "  kdctl wait --for=condition=Ready=false pod/busybox1\n\n"
       "  # Wait for the pod to reach a phase, by jsonpath\n"
       "  kdctl wait --for=jsonpath='{.status.phase}'=Running pod/busybox1\n\n"
       "  # Wait for the pod to be deleted, with a timeout of 60s\n"
       "  kdctl delete pod/busybox1\n  kdctl wait --for=delete pod/busybox1 --timeout=60s"},
      {"events", "List events",
       "kdctl events [-A | -n NS] [--for TYPE/NAME] [--types Normal,Warning] [-w]",
       "  # List recent events in the default namespace\n  kdctl events\n\n"
       "  # List recent events in all namespaces\n  kdctl events --all-namespaces\n\n"
       "  # List recent events for the specified pod, then wait for more events\n"
       "  kdctl events --for pod/web-pod-13je7 --watch\n\n"
       "  # List recent only events of type 'Warning'\n  kdctl events --types=Warning"},
      {"logs", "Print the logs for a container in a pod",
       "kdctl logs [-f] [-p] (POD | TYPE/NAME | -l SELECTOR) [-c CONTAINER] [--all-containers] "
       "[--tail N] [--since D] [--timestamps] [--prefix]",
       "  # Return snapshot logs from pod nginx with only one container\n  kdctl logs nginx\n\n"
       "  # Return snapshot logs from all containers in pods defined by label app=nginx\n"
       "  kdctl logs -l app=nginx --all-containers=true\n\n"
       "  # Begin streaming the logs of the ruby container in pod web-1\n"
       "  kdctl logs -f -c ruby web-1\n\n"
       "  # Show the most recent 20 lines, of the last hour, of the first pod of a deployment\n"
       "  kdctl logs deployment/nginx --tail=20 --since=1h"},
      {"top", "Display resource (CPU/memory) usage", "kdctl top pods|nodes [-n NS | -A]",
       "  # Show metrics for all nodes\n  kdctl top nodes\n\n"
       "  # Show metrics for the pods of a namespace\n  kdctl top pods -n shop"},
      {"exec", "Execute a command in a container",
       "kdctl exec (POD | TYPE/NAME) [-c CONTAINER] [-i] [-t] -- COMMAND [ARG...]",
       "  # Run 'date' in pod mypod, in its default container\n  kdctl exec mypod -- date\n\n"
       "  # Run 'ls /' in the ruby container; the command's exit code is kdctl's\n"
       "  kdctl exec mypod -c ruby -- ls /\n\n"
       "  # Pipe a file through 'cat' in the first pod of a deployment\n"
       "  kdctl exec -i deploy/web -- cat < data.bin > copy.bin\n\n"
       "  # An interactive shell on a terminal (resized with the local window)\n"
       "  kdctl exec -it mypod -- sh"},
      {"attach", "Attach to a process that is already running inside an existing container",
       "kdctl attach (POD | TYPE/NAME) [-c CONTAINER] [-i] [-t]",
       "  # Read the output of the running pod mypod\n  kdctl attach mypod\n\n"
       "  # Send stdin to the ruby container of mypod\n  kdctl attach mypod -c ruby -i\n\n"
       "  # An interactive session with a container that has a terminal\n"
       "  kdctl attach -it deploy/web"},
      {"port-forward", "Forward one or more local ports to a pod",
       "kdctl port-forward (POD | TYPE/NAME) [LOCAL_PORT:]REMOTE_PORT... "
       "[--address ADDR[,ADDR]]",
       "  # Listen on ports 5000 and 6000 locally, forwarding to the same ports in mypod\n"
       "  kdctl port-forward mypod 5000 6000\n\n"
       "  # Listen on 8080 locally, forwarding to port 80 of a pod of the deployment\n"
       "  kdctl port-forward deploy/web 8080:80\n\n"
       "  # Forward to the target port behind service port 443 of a service\n"
       "  kdctl port-forward svc/api 8443:443\n\n"
       "  # A random local port, on every address\n"
       "  kdctl port-forward --address 0.0.0.0 mypod :80"},
      {"diff", "Diff the live version against a would-be applied version",
       "kdctl diff -f FILENAME|DIR|- [-R]",
       "  # Diff resources included in pod.json\n  kdctl diff -f pod.json\n\n"
       "  # Diff file read from stdin\n  cat service.yaml | kdctl diff -f -\n\n"
       "  # Use another diff program (exit 0: no differences, 1: differences, >1: error)\n"
       "  KUBECTL_EXTERNAL_DIFF=\"colordiff -N -u\" kdctl diff -f app.yaml"},
      {"edit", "Edit a resource in $KUBE_EDITOR, $EDITOR or vi, and save it back",
       "kdctl edit (TYPE NAME | TYPE/NAME) [-n NS] [-o yaml|json]",
       "  # Edit the deployment 'web' in YAML\n  kdctl edit deployment/web\n\n"
       "  # Edit a config map in JSON with another editor\n"
       "  KUBE_EDITOR=\"nano\" kdctl edit cm web-config -o json"},
      {"completion", "Print a shell completion script", "kdctl completion bash|zsh",
       "  source <(kdctl completion bash)\n  source <(kdctl completion zsh)   # after compinit"},
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
  const std::string shell = inv.args.words.size() == 2 ? inv.args.words[1] : "";
  if (shell != "bash" && shell != "zsh") return inv.usageError("usage: kdctl completion bash|zsh");
  // zsh runs the bash function through its bash completion layer (bashcompinit), as kubectl's
  // zsh completion once did.
  if (shell == "zsh") {
    inv.out << "#compdef kdctl\n"
               "autoload -U +X bashcompinit && bashcompinit\n";
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

#include "engine/api/schema_builders.h"

namespace kd::api {
namespace {

using Fields = std::vector<FieldDef>;

const std::vector<std::string> kProtocols = {"TCP", "UDP", "SCTP"};
const std::vector<std::string> kPullPolicies = {"Always", "IfNotPresent", "Never"};
const std::vector<std::string> kTaintEffects = {"NoSchedule", "PreferNoSchedule", "NoExecute"};

constexpr TypeMaker type{"core.v1"};

Fields join(Fields a, const Fields& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A list keyed for server-side apply that strategic merge patch still replaces whole.
FieldDef mapList(FieldDef f, std::vector<std::string> keys) {
  f.listType = "map";
  f.listMapKeys = std::move(keys);
  return f;
}

// The fields of an embedded LocalObjectReference.
FieldDef localName(std::string what) {
  return field("name", "string", "Name of the " + std::move(what) + " in the pod's namespace.");
}

std::vector<TypeDef> rootKinds() {
  return {
      type("Namespace", "A named scope that groups objects and their names.",
           objectHead("v1", "Namespace",
                      {
                          field("spec", "core.v1.NamespaceSpec", "What the namespace should be."),
                          field("status", "core.v1.NamespaceStatus", "What the namespace is now."),
                      })),
      type("Pod",
           "A group of containers that run together on one node and share network and volumes.",
           objectHead(
               "v1", "Pod",
               {
                   field("spec", "core.v1.PodSpec", "The containers to run and how to run them."),
                   field("status", "core.v1.PodStatus",
                         "What is happening to the pod now, reported by its node and the "
                         "control plane; read-only for users."),
               })),
      type("Service", "A stable name and virtual IP that spreads traffic over a set of pods.",
           objectHead("v1", "Service",
                      {
                          field("spec", "core.v1.ServiceSpec",
                                "Which pods receive traffic and on which ports."),
                          field("status", "core.v1.ServiceStatus",
                                "The service's current load balancer state."),
                      })),
      type("Endpoints",
           "The addresses that currently back a service (the legacy form of EndpointSlices).",
           objectHead("v1", "Endpoints",
                      {
                          atomic("subsets", "[]core.v1.EndpointSubset",
                                 "Groups of addresses that all expose the same ports."),
                      })),
      type(
          "ConfigMap",
          "Non-secret configuration data, for pods to read as files or environment variables.",
          objectHead(
              "v1", "ConfigMap",
              {
                  field("immutable", "boolean",
                        "When true, data cannot be changed any more, only the whole object "
                        "deleted; default false."),
                  field("data", "map[string]string", "Text values by key."),
                  field("binaryData", "map[string]byte",
                        "Binary values by key, base64-encoded; keys must not also appear in data."),
              })),
      type("Secret", "Small amounts of sensitive data such as passwords, tokens or keys.",
           objectHead(
               "v1", "Secret",
               {
                   field("immutable", "boolean",
                         "When true, data cannot be changed any more, only the whole object "
                         "deleted; default false."),
                   field("data", "map[string]byte", "Secret values by key, base64-encoded."),
                   field("stringData", "map[string]string",
                         "Plain-text values merged into data on write (winning over it); never "
                         "returned on read."),
                   field("type", "string",
                         "What the secret holds, such as kubernetes.io/tls or "
                         "kubernetes.io/dockerconfigjson; default Opaque (free-form)."),
               })),
      type("Node", "A machine, real or virtual, that runs pods.",
           objectHead(
               "v1", "Node",
               {
                   field("spec", "core.v1.NodeSpec", "How the node is configured for scheduling."),
                   field("status", "core.v1.NodeStatus", "What the node reports about itself."),
               })),
      type("Event", "A report of something that happened to an object, shown by kubectl describe.",
           objectHead(
               "v1", "Event",
               {
                   field("involvedObject", "core.v1.ObjectReference",
                         "The object the event is about.")
                       .req(),
                   field("reason", "string",
                         "A short CamelCase word for what happened, such as Pulled."),
                   field("message", "string", "What happened, for a person to read."),
                   field("source", "core.v1.EventSource", "The component that reported the event."),
                   field("firstTimestamp", "Time", "When the event was first seen."),
                   field("lastTimestamp", "Time", "When the event was most recently seen."),
                   field("count", "integer", "How many times the event has been seen."),
                   field("type", "string", "How serious the event is: Normal or Warning."),
                   field("eventTime", "MicroTime",
                         "When the event was first seen, at microsecond precision."),
                   field("series", "core.v1.EventSeries",
                         "Data about a repeating event; empty for a single one."),
                   field("action", "string", "What was done, or failed to be done, to the object."),
                   field("related", "core.v1.ObjectReference", "A second object involved, if any."),
                   field("reportingComponent", "string",
                         "The controller that emitted the event, such as kubelet."),
                   field("reportingInstance", "string",
                         "The instance of that controller, such as the node name."),
               },
               Metadata::Required)),
      type("ServiceAccount", "An identity that processes in pods run as when they talk to the API.",
           objectHead(
               "v1", "ServiceAccount",
               {
                   field("secrets", "[]core.v1.ObjectReference",
                         "Secrets pods using this account may use; legacy token secrets live here.")
                       .mergeKey("name"),
                   atomic("imagePullSecrets", "[]core.v1.LocalObjectReference",
                          "Registry credentials added to every pod that uses this account."),
                   field("automountServiceAccountToken", "boolean",
                         "Whether pods get an API token mounted by default; a pod's own setting "
                         "wins."),
               })),
      type("PersistentVolume",
           "A piece of storage in the cluster, provisioned by an admin or dynamically.",
           objectHead("v1", "PersistentVolume",
                      {
                          field("spec", "core.v1.PersistentVolumeSpec",
                                "What the volume is and where it lives."),
                          field("status", "core.v1.PersistentVolumeStatus",
                                "Whether the volume is bound or free."),
                      })),
      type(
          "PersistentVolumeClaim", "A request for storage that a pod can mount.",
          objectHead(
              "v1", "PersistentVolumeClaim",
              {
                  field("spec", "core.v1.PersistentVolumeClaimSpec", "What storage is wanted."),
                  field("status", "core.v1.PersistentVolumeClaimStatus", "What storage was given."),
              })),
      type("PodTemplateSpec", "The pod that a workload controller creates copies of.",
           {
               field("metadata", "meta.v1.ObjectMeta", "Labels and annotations given to each pod."),
               field("spec", "core.v1.PodSpec", "The pod specification each copy gets."),
           }),
      type(
          "Binding", "Assigns a pod to a node; the body of the pods/binding subresource.",
          objectHead(
              "v1", "Binding",
              {
                  field("target", "core.v1.ObjectReference", "The node the pod is bound to.").req(),
              })),
      type("NamespaceSpec", "What a namespace should be.",
           {
               atomic("finalizers", "[]string",
                      "Cleanup steps that must finish before the namespace is removed for good."),
           }),
      type("NamespaceStatus", "What a namespace is now.",
           {
               field("phase", "string", "Active, or Terminating while it is being deleted.")
                   .oneOf({"Active", "Terminating"}),
               field("conditions", "[]core.v1.NamespaceCondition",
                     "Details about the namespace's state, mostly during deletion.")
                   .mergeKey("type"),
           }),
      type("NamespaceCondition", "One aspect of a namespace's state.",
           conditionFields("The aspect described, such as NamespaceDeletionContentFailure.", {})),
      type(
          "ObjectReference", "Points at any object, optionally at one field inside it.",
          {
              field("kind", "string", "Kind of the referent."),
              field("namespace", "string", "Namespace of the referent."),
              field("name", "string", "Name of the referent."),
              field("uid", "string", "UID of the referent."),
              field("apiVersion", "string", "API version of the referent."),
              field("resourceVersion", "string",
                    "The referent's resourceVersion this reference was made at."),
              field("fieldPath", "string",
                    "A field inside the referent, such as spec.containers{web}, when the reference "
                    "is about a part of it."),
          }),
      type("LocalObjectReference", "Names an object in the same namespace.",
           {field("name", "string", "Name of the referent; empty means none.")}),
      type("TypedLocalObjectReference", "Names an object of a given kind in the same namespace.",
           {
               field("apiGroup", "string", "API group of the referent; empty for the core group."),
               field("kind", "string", "Kind of the referent.").req(),
               field("name", "string", "Name of the referent.").req(),
           }),
      type("TypedObjectReference",
           "Names an object of a given kind, possibly in another namespace.",
           {
               field("apiGroup", "string", "API group of the referent; empty for the core group."),
               field("kind", "string", "Kind of the referent.").req(),
               field("name", "string", "Name of the referent.").req(),
               field("namespace", "string",
                     "Namespace of the referent; the referring object's namespace when empty."),
           }),
      type("SecretReference", "Names a secret, possibly in another namespace.",
           {
               field("name", "string", "Name of the secret."),
               field("namespace", "string", "Namespace of the secret."),
           }),
      type("EventSource", "The component that reported an event.",
           {
               field("component", "string", "The reporting component, such as kubelet."),
               field("host", "string", "The node it runs on."),
           }),
      type("EventSeries", "Data about an event that keeps happening.",
           {
               field("count", "integer", "How many times it has happened so far."),
               field("lastObservedTime", "MicroTime", "When it was last seen."),
           }),
  };
}

std::vector<TypeDef> podSpecTypes() {
  return {
      type(
          "PodSpec", "The containers of a pod, its volumes, and how and where it should run.",
          {
              field("volumes", "[]core.v1.Volume",
                    "Storage the pod's containers can mount, by name.")
                  .mergeKey("name")
                  .strategy("merge,retainKeys"),
              field("initContainers", "[]core.v1.Container",
                    "Containers that run one after another to completion before the main "
                    "containers start; with restartPolicy Always they run alongside as sidecars.")
                  .mergeKey("name"),
              field("containers", "[]core.v1.Container",
                    "The pod's main containers; at least one is required.")
                  .req()
                  .mergeKey("name"),
              field("ephemeralContainers", "[]core.v1.EphemeralContainer",
                    "Temporary debugging containers added to a running pod through its "
                    "ephemeralcontainers subresource.")
                  .mergeKey("name"),
              field("restartPolicy", "string",
                    "When containers are restarted after they exit; default Always.")
                  .oneOf({"Always", "OnFailure", "Never"}),
              field("terminationGracePeriodSeconds", "int64",
                    "Seconds a pod gets to stop after SIGTERM before it is killed; default 30."),
              field("activeDeadlineSeconds", "int64",
                    "Seconds the pod may be active before it is failed and its containers killed."),
              field("dnsPolicy", "string", "How the pod resolves names; default ClusterFirst.")
                  .oneOf({"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"}),
              field("nodeSelector", "map[string]string",
                    "Labels a node must have for the pod to be scheduled there."),
              field("serviceAccountName", "string",
                    "The service account the pod runs as; default \"default\"."),
              field("serviceAccount", "string", "Deprecated alias of serviceAccountName."),
              field("automountServiceAccountToken", "boolean",
                    "Whether an API token is mounted into the pod; default true."),
              field("nodeName", "string",
                    "The node the pod runs on; set by the scheduler, or by hand to skip it."),
              field("hostNetwork", "boolean",
                    "Use the node's network namespace instead of the pod's own; default false."),
              field("hostPID", "boolean", "Share the node's process namespace; default false."),
              field("hostIPC", "boolean", "Share the node's IPC namespace; default false."),
              field("shareProcessNamespace", "boolean",
                    "Let the pod's containers see each other's processes; default false."),
              field("securityContext", "core.v1.PodSecurityContext",
                    "Security settings for every container of the pod."),
              field("imagePullSecrets", "[]core.v1.LocalObjectReference",
                    "Secrets with registry credentials used to pull the pod's images.")
                  .mergeKey("name"),
              field("hostname", "string", "The pod's hostname; default the pod's name."),
              field("subdomain", "string",
                    "With a headless service of this name, gives the pod the DNS name "
                    "<hostname>.<subdomain>.<namespace>.svc."),
              field("affinity", "core.v1.Affinity",
                    "Rules that attract the pod to or repel it from nodes and other pods."),
              field("schedulerName", "string",
                    "The scheduler that places the pod; default \"default-scheduler\"."),
              atomic("tolerations", "[]core.v1.Toleration", "Node taints the pod accepts."),
              field("hostAliases", "[]core.v1.HostAlias",
                    "Extra entries written to the pod's /etc/hosts.")
                  .mergeKey("ip"),
              field("priorityClassName", "string",
                    "The PriorityClass that sets the pod's priority."),
              field("priority", "integer",
                    "The pod's scheduling priority, filled in from priorityClassName; higher "
                    "goes first."),
              field("dnsConfig", "core.v1.PodDNSConfig",
                    "DNS settings merged into those dnsPolicy produces."),
              atomic("readinessGates", "[]core.v1.PodReadinessGate",
                     "Extra pod conditions that must be True before the pod counts as ready."),
              field(
                  "runtimeClassName", "string",
                  "The RuntimeClass that picks the container runtime; the default one when empty."),
              field("enableServiceLinks", "boolean",
                    "Inject environment variables describing services, docker-links style; "
                    "default true."),
              field("preemptionPolicy", "string",
                    "Whether this pod may evict lower-priority pods; default PreemptLowerPriority.")
                  .oneOf({"PreemptLowerPriority", "Never"}),
              field("overhead", "map[string]Quantity",
                    "Resources the pod's sandbox uses on top of its containers, set from its "
                    "RuntimeClass."),
              field("topologySpreadConstraints", "[]core.v1.TopologySpreadConstraint",
                    "How evenly matching pods must be spread over zones, nodes or other domains.")
                  .mergeKey("topologyKey", {"topologyKey", "whenUnsatisfiable"}),
              field(
                  "setHostnameAsFQDN", "boolean",
                  "Make the kernel hostname the pod's fully qualified domain name; default false."),
              field("os", "core.v1.PodOS", "The operating system the pod's containers need."),
              field("hostUsers", "boolean",
                    "Use the node's user namespace; false gives the pod its own; default true."),
              field("schedulingGates", "[]core.v1.PodSchedulingGate",
                    "While any gate is listed the pod is not scheduled; gates can only be removed.")
                  .mergeKey("name"),
              field("resourceClaims", "[]core.v1.PodResourceClaim",
                    "Dynamically allocated resources (such as devices) the pod needs, by name.")
                  .mergeKey("name")
                  .strategy("merge,retainKeys"),
              field("resources", "core.v1.ResourceRequirements",
                    "Resources for the pod as a whole, shared by its containers."),
          }),
      type("PodSecurityContext", "Security settings that apply to every container of a pod.",
           {
               field("seLinuxOptions", "core.v1.SELinuxOptions",
                     "SELinux labels for the containers."),
               field("windowsOptions", "core.v1.WindowsSecurityContextOptions",
                     "Settings for Windows containers."),
               field("runAsUser", "int64",
                     "The user ID processes run as; default the image's user."),
               field("runAsGroup", "int64", "The primary group ID; default the runtime's."),
               field("runAsNonRoot", "boolean",
                     "Refuse to start a container that would run as root."),
               atomic("supplementalGroups", "[]int64", "Extra group IDs every process gets."),
               field("supplementalGroupsPolicy", "string",
                     "Whether groups from the image's /etc/group are added; default Merge.")
                   .oneOf({"Merge", "Strict"}),
               field("fsGroup", "int64",
                     "A group that owns mounted volumes and is added to every process."),
               atomic("sysctls", "[]core.v1.Sysctl",
                      "Namespaced kernel parameters set for the pod."),
               field("fsGroupChangePolicy", "string",
                     "When volume ownership is changed to fsGroup; default Always.")
                   .oneOf({"OnRootMismatch", "Always"}),
               field("seccompProfile", "core.v1.SeccompProfile",
                     "The seccomp filter for the containers."),
               field("appArmorProfile", "core.v1.AppArmorProfile",
                     "The AppArmor profile for the containers."),
               field("seLinuxChangePolicy", "string",
                     "How volumes get their SELinux label: relabelled file by file or by mount "
                     "option.")
                   .oneOf({"Recursive", "MountOption"}),
           }),
      type("Sysctl", "One kernel parameter.",
           {
               field("name", "string", "The parameter, such as net.core.somaxconn.").req(),
               field("value", "string", "The value to set.").req(),
           }),
      type("HostAlias", "Names that resolve to one IP inside the pod.",
           {
               field("ip", "string", "The IP address.").req(),
               atomic("hostnames", "[]string", "Host names for that address."),
           }),
      type("PodDNSConfig", "DNS settings for a pod beyond its dnsPolicy.",
           {
               atomic("nameservers", "[]string", "Extra DNS server IPs."),
               atomic("searches", "[]string", "Extra search domains."),
               atomic("options", "[]core.v1.PodDNSConfigOption", "Resolver options."),
           }),
      type("PodDNSConfigOption", "One resolver option.",
           {
               field("name", "string", "The option, such as ndots."),
               field("value", "string", "Its value, if it takes one."),
           }),
      type("PodReadinessGate", "A pod condition that readiness waits for.",
           {field("conditionType", "string", "The condition type in status.conditions.").req()}),
      type("PodOS", "The operating system a pod needs.",
           {field("name", "string", "The OS name.").req().oneOf({"linux", "windows"})}),
      type("PodSchedulingGate", "A reason to hold a pod back from scheduling.",
           {field("name", "string", "The gate's name; must be unique in the pod.").req()}),
      type("PodResourceClaim", "A dynamic resource claim a pod uses, by a pod-local name.",
           {
               field("name", "string", "The name containers use in resources.claims.").req(),
               field("resourceClaimName", "string", "An existing ResourceClaim to use."),
               field("resourceClaimTemplateName", "string",
                     "A ResourceClaimTemplate from which a claim is made for this pod."),
           }),
      type("ResourceRequirements", "How much compute a container (or pod) asks for and may use.",
           {
               field("limits", "map[string]Quantity",
                     "The most of each resource (cpu, memory, ...) that may be used."),
               field("requests", "map[string]Quantity",
                     "The amount of each resource reserved for scheduling; default the limit "
                     "when only a limit is set."),
               mapList(field("claims", "[]core.v1.ResourceClaim",
                             "Which of the pod's resourceClaims this container uses."),
                       {"name"}),
           }),
      type("ResourceClaim", "A reference to one of the pod's resource claims.",
           {
               field("name", "string", "The name of an entry in the pod's resourceClaims.").req(),
               field("request", "string",
                     "One request inside that claim; the whole claim when empty."),
           }),
      type("VolumeResourceRequirements", "How much storage a claim asks for.",
           {
               field("limits", "map[string]Quantity", "The most storage that may be used."),
               field("requests", "map[string]Quantity", "The storage the claim needs at least."),
           }),
  };
}

Fields containerFields() {
  return {
      field("name", "string", "The container's name, unique within the pod (a DNS label).").req(),
      field("image", "string", "The container image to run, such as nginx:1.27."),
      atomic("command", "[]string",
             "The program to run, replacing the image's entrypoint; $(VAR) references expand."),
      atomic("args", "[]string",
             "Arguments to the program, replacing the image's default command."),
      field("workingDir", "string", "The working directory; default the image's."),
      field("ports", "[]core.v1.ContainerPort",
            "Ports the container listens on; informational, except hostPort.")
          .mergeKey("containerPort", {"containerPort", "protocol"}),
      atomic("envFrom", "[]core.v1.EnvFromSource",
             "Sources whose keys all become environment variables; env entries win on clashes."),
      field("env", "[]core.v1.EnvVar", "Environment variables to set.").mergeKey("name"),
      field("resources", "core.v1.ResourceRequirements", "CPU, memory and other resources."),
      atomic("resizePolicy", "[]core.v1.ContainerResizePolicy",
             "Whether resizing a resource in place restarts the container."),
      field("restartPolicy", "string",
            "For init containers only: Always makes it a sidecar that keeps running; default "
            "the pod's policy.")
          .oneOf({"Always"}),
      field("volumeMounts", "[]core.v1.VolumeMount", "Pod volumes mounted into the container.")
          .mergeKey("mountPath"),
      field("volumeDevices", "[]core.v1.VolumeDevice",
            "Block volumes exposed to the container as devices.")
          .mergeKey("devicePath"),
      field("livenessProbe", "core.v1.Probe", "A check that restarts the container when it fails."),
      field("readinessProbe", "core.v1.Probe",
            "A check that removes the pod from service endpoints while it fails."),
      field("startupProbe", "core.v1.Probe",
            "A check that must succeed before the other probes start."),
      field("lifecycle", "core.v1.Lifecycle", "Actions to take right after start and before stop."),
      field("terminationMessagePath", "string",
            "A file whose content becomes the termination message; default /dev/termination-log."),
      field("terminationMessagePolicy", "string",
            "Where the termination message comes from; FallbackToLogsOnError uses the log tail "
            "when the file is empty; default File.")
          .oneOf({"File", "FallbackToLogsOnError"}),
      field("imagePullPolicy", "string",
            "When the image is pulled; default Always for :latest or untagged images, else "
            "IfNotPresent.")
          .oneOf(kPullPolicies),
      field("securityContext", "core.v1.SecurityContext",
            "Security settings for this container, overriding the pod's."),
      field("stdin", "boolean", "Keep a stdin open for attach; default false."),
      field("stdinOnce", "boolean",
            "Close stdin after the first attached client disconnects; default false."),
      field("tty", "boolean", "Give the container a terminal; needs stdin; default false."),
  };
}

std::vector<TypeDef> containerTypes() {
  return {
      type("Container", "One container of a pod: an image and how to run it.", containerFields()),
      type("EphemeralContainer",
           "A temporary container added to a running pod for debugging; it is never restarted and "
           "may not declare ports, probes or resources.",
           join(containerFields(),
                {
                    field("targetContainerName", "string",
                          "A container whose process namespace this one joins."),
                })),
      type("ContainerPort", "A network port a container listens on.",
           {
               field("name", "string", "A name services can refer to (an IANA service name)."),
               field("hostPort", "integer", "Also expose the port on the node's IP at this port."),
               field("containerPort", "integer", "The port number inside the pod.").req(),
               field("protocol", "string", "The protocol; default TCP.").oneOf(kProtocols),
               field("hostIP", "string", "The node IP the host port binds to."),
           }),
      type("EnvVar", "One environment variable.",
           {
               field("name", "string", "The variable's name.").req(),
               field("value", "string",
                     "The value; $(VAR) references to earlier variables expand; default \"\"."),
               field("valueFrom", "core.v1.EnvVarSource",
                     "Where to read the value from instead of value."),
           }),
      type("EnvVarSource", "Where an environment variable's value comes from; set exactly one.",
           {
               field("fieldRef", "core.v1.ObjectFieldSelector",
                     "A field of the pod, such as metadata.name."),
               field("resourceFieldRef", "core.v1.ResourceFieldSelector",
                     "A resource limit or request of a container."),
               field("configMapKeyRef", "core.v1.ConfigMapKeySelector", "A key of a ConfigMap."),
               field("secretKeyRef", "core.v1.SecretKeySelector", "A key of a Secret."),
           }),
      type("ObjectFieldSelector", "Selects a field of the pod.",
           {
               field("apiVersion", "string",
                     "The version fieldPath is written against; default v1."),
               field("fieldPath", "string", "The field's path, such as status.podIP.").req(),
           }),
      type("ResourceFieldSelector", "Selects a container's resource limit or request.",
           {
               field("containerName", "string", "The container; required for volumes."),
               field("resource", "string", "The resource, such as limits.cpu.").req(),
               field("divisor", "Quantity", "The unit the value is expressed in; default 1."),
           }),
      type("ConfigMapKeySelector", "Selects one key of a ConfigMap.",
           {
               localName("ConfigMap"),
               field("key", "string", "The key.").req(),
               field("optional", "boolean", "Whether a missing ConfigMap or key is allowed."),
           }),
      type("SecretKeySelector", "Selects one key of a Secret.",
           {
               localName("Secret"),
               field("key", "string", "The key.").req(),
               field("optional", "boolean", "Whether a missing Secret or key is allowed."),
           }),
      type("EnvFromSource", "A ConfigMap or Secret whose keys all become environment variables.",
           {
               field("prefix", "string", "A prefix added to every variable name."),
               field("configMapRef", "core.v1.ConfigMapEnvSource", "The ConfigMap to read."),
               field("secretRef", "core.v1.SecretEnvSource", "The Secret to read."),
           }),
      type("ConfigMapEnvSource", "A ConfigMap read into environment variables.",
           {localName("ConfigMap"),
            field("optional", "boolean", "Whether a missing ConfigMap is allowed.")}),
      type("SecretEnvSource", "A Secret read into environment variables.",
           {localName("Secret"),
            field("optional", "boolean", "Whether a missing Secret is allowed.")}),
      type("ContainerResizePolicy", "What in-place resizing of one resource does to a container.",
           {
               field("resourceName", "string", "The resource, cpu or memory.").req(),
               field("restartPolicy", "string", "Whether a resize restarts the container.")
                   .req()
                   .oneOf({"NotRequired", "RestartContainer"}),
           }),
      type("VolumeMount", "Where a pod volume appears inside a container.",
           {
               field("name", "string", "The name of the pod volume.").req(),
               field("readOnly", "boolean", "Mount read-only; default false."),
               field("recursiveReadOnly", "string",
                     "Whether sub-mounts are read-only too; default Disabled.")
                   .oneOf({"Disabled", "IfPossible", "Enabled"}),
               field("mountPath", "string", "The path inside the container.").req(),
               field("subPath", "string", "A path inside the volume to mount instead of its root."),
               field("mountPropagation", "string",
                     "How mounts propagate between host and container; default None.")
                   .oneOf({"None", "HostToContainer", "Bidirectional"}),
               field(
                   "subPathExpr", "string",
                   "Like subPath, with $(VAR) references to the container's environment expanded."),
           }),
      type("VolumeDevice", "Where a block volume appears inside a container.",
           {
               field("name", "string", "The name of the pod's volume claim.").req(),
               field("devicePath", "string", "The device path inside the container.").req(),
           }),
  };
}

Fields actionFields() {
  return {
      field("exec", "core.v1.ExecAction", "Run a command inside the container."),
      field("httpGet", "core.v1.HTTPGetAction", "Send an HTTP GET request."),
      field("tcpSocket", "core.v1.TCPSocketAction", "Open a TCP connection."),
  };
}

std::vector<TypeDef> probeTypes() {
  return {
      type("Probe", "A periodic health check of a container; set exactly one way to check.",
           join(actionFields(),
                {
                    field("grpc", "core.v1.GRPCAction", "Call the standard gRPC health service."),
                    field("initialDelaySeconds", "integer",
                          "Seconds after the container starts before the first check; default 0."),
                    field("timeoutSeconds", "integer",
                          "Seconds before a check times out; default 1."),
                    field("periodSeconds", "integer", "Seconds between checks; default 10."),
                    field("successThreshold", "integer",
                          "Consecutive successes needed after a failure; default 1, and must be "
                          "1 for liveness and startup probes."),
                    field("failureThreshold", "integer",
                          "Consecutive failures before the probe counts as failed; default 3."),
                    field("terminationGracePeriodSeconds", "int64",
                          "Grace period when a failing probe kills the container; default the "
                          "pod's."),
                })),
      type(
          "Lifecycle", "Actions the kubelet runs around a container's start and stop.",
          {
              field(
                  "postStart", "core.v1.LifecycleHandler",
                  "Runs right after the container is created; if it fails the container restarts."),
              field("preStop", "core.v1.LifecycleHandler",
                    "Runs before the container is stopped, within the grace period."),
              field("stopSignal", "string",
                    "The signal that stops the container, such as SIGTERM; default the image's."),
          }),
      type("LifecycleHandler", "One lifecycle action; set exactly one.",
           join(actionFields(), {field("sleep", "core.v1.SleepAction", "Wait for some seconds.")})),
      type("ExecAction", "Runs a command in the container; exit status 0 means success.",
           {atomic("command", "[]string",
                   "The command and its arguments, run directly, not through a shell.")}),
      type("HTTPGetAction", "An HTTP GET request; a status from 200 to 399 means success.",
           {
               field("path", "string", "The request path."),
               field("port", "IntOrString", "The port number or named container port.").req(),
               field("host", "string", "The host to connect to; default the pod IP."),
               field("scheme", "string", "HTTP or HTTPS; default HTTP.").oneOf({"HTTP", "HTTPS"}),
               atomic("httpHeaders", "[]core.v1.HTTPHeader", "Extra request headers."),
           }),
      type("HTTPHeader", "One HTTP header.",
           {
               field("name", "string", "The header name.").req(),
               field("value", "string", "The header value.").req(),
           }),
      type("TCPSocketAction", "Opens a TCP connection; connecting means success.",
           {
               field("port", "IntOrString", "The port number or named container port.").req(),
               field("host", "string", "The host to connect to; default the pod IP."),
           }),
      type("GRPCAction", "Calls the gRPC health checking service.",
           {
               field("port", "integer", "The port number.").req(),
               field("service", "string", "The service name passed to the check; default \"\"."),
           }),
      type("SleepAction", "Waits before going on.",
           {field("seconds", "int64", "How many seconds to wait.").req()}),
      type(
          "SecurityContext", "Security settings for one container; they win over the pod's.",
          {
              field("capabilities", "core.v1.Capabilities", "Linux capabilities to add or drop."),
              field("privileged", "boolean",
                    "Run with nearly all the host's privileges; default false."),
              field("seLinuxOptions", "core.v1.SELinuxOptions", "SELinux labels."),
              field("windowsOptions", "core.v1.WindowsSecurityContextOptions",
                    "Settings for Windows containers."),
              field("runAsUser", "int64", "The user ID to run as; default the image's user."),
              field("runAsGroup", "int64", "The primary group ID; default the runtime's."),
              field("runAsNonRoot", "boolean", "Refuse to start if the process would run as root."),
              field("readOnlyRootFilesystem", "boolean",
                    "Mount the container's root filesystem read-only; default false."),
              field("allowPrivilegeEscalation", "boolean",
                    "Whether a process may gain more privileges than its parent (no_new_privs "
                    "off); default true."),
              field("procMount", "string", "How /proc is masked; default Default.")
                  .oneOf({"Default", "Unmasked"}),
              field("seccompProfile", "core.v1.SeccompProfile", "The seccomp filter."),
              field("appArmorProfile", "core.v1.AppArmorProfile", "The AppArmor profile."),
          }),
      type("Capabilities", "Linux capabilities to change.",
           {
               atomic("add", "[]string", "Capabilities to add, such as NET_ADMIN."),
               atomic("drop", "[]string", "Capabilities to drop, such as ALL."),
           }),
      type("SELinuxOptions", "SELinux labels for a container.",
           {
               field("user", "string", "The SELinux user."),
               field("role", "string", "The SELinux role."),
               field("type", "string", "The SELinux type."),
               field("level", "string", "The SELinux level."),
           }),
      type(
          "WindowsSecurityContextOptions", "Settings that apply to Windows containers only.",
          {
              field("gmsaCredentialSpecName", "string", "Name of the GMSA credential spec to use."),
              field("gmsaCredentialSpec", "string", "The GMSA credential spec itself."),
              field("runAsUserName", "string", "The Windows user to run as."),
              field("hostProcess", "boolean", "Run as a Windows host process."),
          }),
      type("SeccompProfile", "A seccomp profile.",
           {
               field("type", "string", "Which kind of profile.")
                   .req()
                   .oneOf({"Unconfined", "RuntimeDefault", "Localhost"}),
               field(
                   "localhostProfile", "string",
                   "For Localhost: the profile file, relative to the kubelet's seccomp directory."),
           }),
      type(
          "AppArmorProfile", "An AppArmor profile.",
          {
              field("type", "string", "Which kind of profile.")
                  .req()
                  .oneOf({"Unconfined", "RuntimeDefault", "Localhost"}),
              field("localhostProfile", "string", "For Localhost: the profile loaded on the node."),
          }),
  };
}

std::vector<TypeDef> schedulingTypes() {
  return {
      type("Affinity", "Scheduling rules relative to nodes and other pods.",
           {
               field("nodeAffinity", "core.v1.NodeAffinity",
                     "Which nodes the pod prefers or needs."),
               field("podAffinity", "core.v1.PodAffinity",
                     "Pods this pod wants to run near (in the same topology domain)."),
               field("podAntiAffinity", "core.v1.PodAntiAffinity",
                     "Pods this pod wants to keep away from."),
           }),
      type("NodeAffinity", "Which nodes a pod may or would like to run on.",
           {
               field("requiredDuringSchedulingIgnoredDuringExecution", "core.v1.NodeSelector",
                     "Nodes that do not match are never chosen."),
               atomic("preferredDuringSchedulingIgnoredDuringExecution",
                      "[]core.v1.PreferredSchedulingTerm",
                      "Nodes that match score higher, by weight."),
           }),
      type("NodeSelector", "Matches a node when any of its terms matches.",
           {atomic("nodeSelectorTerms", "[]core.v1.NodeSelectorTerm", "The terms, ORed.").req()}),
      type("NodeSelectorTerm", "Matches a node when all of its requirements hold.",
           {
               atomic("matchExpressions", "[]core.v1.NodeSelectorRequirement",
                      "Requirements on node labels."),
               atomic("matchFields", "[]core.v1.NodeSelectorRequirement",
                      "Requirements on node fields (metadata.name)."),
           }),
      type("TopologySelectorTerm",
           "Matches a topology domain when all of its label requirements hold (storage classes).",
           {atomic("matchLabelExpressions", "[]core.v1.TopologySelectorLabelRequirement",
                   "Requirements on topology labels.")}),
      type("TopologySelectorLabelRequirement", "A topology label and the values it may take.",
           {
               field("key", "string", "The topology label key.").req(),
               atomic("values", "[]string", "The values the label may have; one must match.").req(),
           }),
      type("NodeSelectorRequirement", "One condition on a node label or field.",
           {
               field("key", "string", "The label key or field.").req(),
               field("operator", "string", "How the value is compared; Gt and Lt compare integers.")
                   .req()
                   .oneOf({"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"}),
               atomic("values", "[]string", "The values to compare with."),
           }),
      type("PreferredSchedulingTerm", "A weighted node preference.",
           {
               field("weight", "integer", "How much a match counts, 1 to 100.").req(),
               field("preference", "core.v1.NodeSelectorTerm", "The nodes preferred.").req(),
           }),
      type("PodAffinity", "Pods a pod wants to be placed near.",
           {
               atomic("requiredDuringSchedulingIgnoredDuringExecution", "[]core.v1.PodAffinityTerm",
                      "Terms that must all hold when the pod is scheduled."),
               atomic("preferredDuringSchedulingIgnoredDuringExecution",
                      "[]core.v1.WeightedPodAffinityTerm", "Terms that raise a node's score."),
           }),
      type("PodAntiAffinity", "Pods a pod wants to be placed away from.",
           {
               atomic("requiredDuringSchedulingIgnoredDuringExecution", "[]core.v1.PodAffinityTerm",
                      "Terms that must all hold when the pod is scheduled."),
               atomic("preferredDuringSchedulingIgnoredDuringExecution",
                      "[]core.v1.WeightedPodAffinityTerm", "Terms that lower a node's score."),
           }),
      type("PodAffinityTerm", "A set of pods and the topology domain in which to look for them.",
           {
               field("labelSelector", "meta.v1.LabelSelector", "Which pods count."),
               atomic("namespaces", "[]string",
                      "Namespaces to look in; default the pod's own namespace."),
               field("topologyKey", "string",
                     "The node label that defines a domain, such as kubernetes.io/hostname.")
                   .req(),
               field("namespaceSelector", "meta.v1.LabelSelector",
                     "Namespaces to look in, by label, in addition to namespaces."),
               atomic("matchLabelKeys", "[]string",
                      "Label keys whose values, taken from this pod, are added to labelSelector."),
               atomic("mismatchLabelKeys", "[]string",
                      "Label keys whose values, taken from this pod, must differ."),
           }),
      type("WeightedPodAffinityTerm", "A pod affinity term with a weight.",
           {
               field("weight", "integer", "How much a match counts, 1 to 100.").req(),
               field("podAffinityTerm", "core.v1.PodAffinityTerm", "The term.").req(),
           }),
      type("Toleration", "Lets a pod be scheduled onto (or stay on) nodes with a matching taint.",
           {
               field("key", "string", "The taint key; empty with Exists matches every taint."),
               field("operator", "string", "How the value is compared; default Equal.")
                   .oneOf({"Exists", "Equal"}),
               field("value", "string", "The taint value to match."),
               field("effect", "string", "The taint effect to match; empty matches all.")
                   .oneOf(kTaintEffects),
               field("tolerationSeconds", "int64",
                     "For NoExecute: how long the pod stays after the taint appears; forever when "
                     "unset."),
           }),
      type("TopologySpreadConstraint", "How evenly matching pods must be spread over domains.",
           {
               field("maxSkew", "integer",
                     "The largest allowed difference in matching pods between two domains.")
                   .req(),
               field("topologyKey", "string", "The node label that defines a domain.").req(),
               field("whenUnsatisfiable", "string",
                     "Whether a pod that would break the limit is held back or placed anyway.")
                   .req()
                   .oneOf({"DoNotSchedule", "ScheduleAnyway"}),
               field("labelSelector", "meta.v1.LabelSelector", "Which pods are counted."),
               field("minDomains", "integer",
                     "The least number of domains to count, when fewer exist; default 1."),
               field("nodeAffinityPolicy", "string",
                     "Whether the pod's node affinity limits the nodes counted; default Honor.")
                   .oneOf({"Ignore", "Honor"}),
               field("nodeTaintsPolicy", "string",
                     "Whether tainted nodes the pod does not tolerate are counted; default Ignore.")
                   .oneOf({"Ignore", "Honor"}),
               atomic("matchLabelKeys", "[]string",
                      "Label keys whose values, taken from this pod, narrow labelSelector."),
           }),
      type("Taint", "Keeps pods off a node unless they tolerate it.",
           {
               field("key", "string", "The taint key.").req(),
               field("value", "string", "The taint value."),
               field("effect", "string", "What happens to pods that do not tolerate it.")
                   .req()
                   .oneOf(kTaintEffects),
               field("timeAdded", "Time", "When a NoExecute taint was added."),
           }),
  };
}

// Cloud and legacy storage plugins that KubeDesk cannot provide: accepted and stored as given,
// so manifests written for other clusters still validate.
Fields unmodelledSources(bool forPersistentVolume) {
  struct Source {
    const char* name;
    const char* what;
  };
  static const Source kSources[] = {
      {"gcePersistentDisk", "a Google Compute Engine persistent disk"},
      {"awsElasticBlockStore", "an AWS Elastic Block Store volume"},
      {"glusterfs", "a GlusterFS share"},
      {"iscsi", "an iSCSI disk"},
      {"rbd", "a Ceph RADOS block device"},
      {"cinder", "an OpenStack Cinder volume"},
      {"cephfs", "a CephFS share"},
      {"fc", "a Fibre Channel disk"},
      {"flocker", "a Flocker dataset"},
      {"flexVolume", "a FlexVolume driver's volume"},
      {"azureFile", "an Azure File share"},
      {"azureDisk", "an Azure data disk"},
      {"vsphereVolume", "a vSphere disk"},
      {"quobyte", "a Quobyte volume"},
      {"photonPersistentDisk", "a Photon Controller disk"},
      {"portworxVolume", "a Portworx volume"},
      {"scaleIO", "a ScaleIO volume"},
      {"storageos", "a StorageOS volume"},
  };
  Fields out;
  for (const auto& s : kSources) {
    out.push_back(field(s.name, "RawJSON",
                        std::string("Deprecated storage plugin: ") + s.what +
                            "; kept as given, not provided by this cluster."));
  }
  if (!forPersistentVolume) {
    out.push_back(field("gitRepo", "RawJSON",
                        "Deprecated: a git repository cloned into the volume; kept as given, not "
                        "provided by this cluster."));
  }
  return out;
}

Fields volumeSourceFields() {
  return join(
      {
          field("hostPath", "core.v1.HostPathVolumeSource", "A file or directory of the node."),
          field("emptyDir", "core.v1.EmptyDirVolumeSource",
                "An empty directory that lives as long as the pod."),
          field("secret", "core.v1.SecretVolumeSource", "The keys of a Secret as files."),
          field("nfs", "core.v1.NFSVolumeSource", "An NFS export."),
          field("persistentVolumeClaim", "core.v1.PersistentVolumeClaimVolumeSource",
                "The storage bound to a PersistentVolumeClaim."),
          field("downwardAPI", "core.v1.DownwardAPIVolumeSource",
                "Fields of the pod itself as files."),
          field("configMap", "core.v1.ConfigMapVolumeSource", "The keys of a ConfigMap as files."),
          field("projected", "core.v1.ProjectedVolumeSource",
                "Several secrets, config maps, tokens and pod fields in one directory."),
          field("csi", "core.v1.CSIVolumeSource",
                "An inline volume from a CSI driver, living as long as the pod."),
          field("ephemeral", "core.v1.EphemeralVolumeSource",
                "A claim created for the pod from a template and deleted with it."),
          field("image", "core.v1.ImageVolumeSource",
                "The files of an OCI image or artifact, read-only."),
      },
      unmodelledSources(false));
}

std::vector<TypeDef> volumeTypes() {
  return {
      type("Volume", "Storage that a pod's containers can mount; set exactly one source.",
           join({field("name", "string", "The volume's name, unique in the pod (a DNS label).")
                     .req()},
                volumeSourceFields())),
      type("HostPathVolumeSource", "A path on the node, mounted into the pod.",
           {
               field("path", "string", "The path on the node.").req(),
               field("type", "string", "What must exist at the path; default \"\" (no check).")
                   .oneOf({"", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket",
                           "CharDevice", "BlockDevice"}),
           }),
      type("EmptyDirVolumeSource", "A scratch directory that is deleted with the pod.",
           {
               field("medium", "string",
                     "Where the data lives: \"\" for the node's disk (default) or Memory for a "
                     "tmpfs."),
               field("sizeLimit", "Quantity", "The most data the directory may hold."),
           }),
      type("SecretVolumeSource", "A Secret's keys as files.",
           {
               field("secretName", "string", "The Secret, in the pod's namespace."),
               atomic("items", "[]core.v1.KeyToPath",
                      "Which keys to use and their file paths; all when empty."),
               field("defaultMode", "integer", "File permission bits; default 0644."),
               field("optional", "boolean", "Whether a missing Secret is allowed."),
           }),
      type("ConfigMapVolumeSource", "A ConfigMap's keys as files.",
           {
               localName("ConfigMap"),
               atomic("items", "[]core.v1.KeyToPath",
                      "Which keys to use and their file paths; all when empty."),
               field("defaultMode", "integer", "File permission bits; default 0644."),
               field("optional", "boolean", "Whether a missing ConfigMap is allowed."),
           }),
      type("KeyToPath", "Puts one key into one file.",
           {
               field("key", "string", "The key.").req(),
               field("path", "string", "The relative file path; may not contain \"..\".").req(),
               field("mode", "integer", "File permission bits; default the volume's defaultMode."),
           }),
      type("NFSVolumeSource", "An NFS export.",
           {
               field("server", "string", "The NFS server's host name or IP.").req(),
               field("path", "string", "The exported path.").req(),
               field("readOnly", "boolean", "Mount read-only; default false."),
           }),
      type("PersistentVolumeClaimVolumeSource", "Mounts the storage bound to a claim.",
           {
               field("claimName", "string", "The claim, in the pod's namespace.").req(),
               field("readOnly", "boolean", "Mount read-only; default false."),
           }),
      type("DownwardAPIVolumeSource", "Pod fields as files.",
           {
               atomic("items", "[]core.v1.DownwardAPIVolumeFile", "The files to write."),
               field("defaultMode", "integer", "File permission bits; default 0644."),
           }),
      type("DownwardAPIVolumeFile", "One file holding a pod field.",
           {
               field("path", "string", "The relative file path.").req(),
               field("fieldRef", "core.v1.ObjectFieldSelector",
                     "A pod field: metadata name, namespace, uid, labels or annotations."),
               field("resourceFieldRef", "core.v1.ResourceFieldSelector",
                     "A container's resource limit or request."),
               field("mode", "integer", "File permission bits; default the volume's defaultMode."),
           }),
      type("ProjectedVolumeSource", "Several sources merged into one directory.",
           {
               atomic("sources", "[]core.v1.VolumeProjection", "The sources."),
               field("defaultMode", "integer", "File permission bits; default 0644."),
           }),
      type("VolumeProjection", "One source of a projected volume; set exactly one.",
           {
               field("secret", "core.v1.SecretProjection", "Keys of a Secret."),
               field("downwardAPI", "core.v1.DownwardAPIProjection", "Fields of the pod."),
               field("configMap", "core.v1.ConfigMapProjection", "Keys of a ConfigMap."),
               field("serviceAccountToken", "core.v1.ServiceAccountTokenProjection",
                     "A token for the pod's service account."),
               field("clusterTrustBundle", "core.v1.ClusterTrustBundleProjection",
                     "Certificates from ClusterTrustBundle objects."),
           }),
      type("SecretProjection", "A Secret's keys in a projected volume.",
           {
               localName("Secret"),
               atomic("items", "[]core.v1.KeyToPath", "Which keys to use; all when empty."),
               field("optional", "boolean", "Whether a missing Secret is allowed."),
           }),
      type("ConfigMapProjection", "A ConfigMap's keys in a projected volume.",
           {
               localName("ConfigMap"),
               atomic("items", "[]core.v1.KeyToPath", "Which keys to use; all when empty."),
               field("optional", "boolean", "Whether a missing ConfigMap is allowed."),
           }),
      type("DownwardAPIProjection", "Pod fields in a projected volume.",
           {atomic("items", "[]core.v1.DownwardAPIVolumeFile", "The files to write.")}),
      type("ServiceAccountTokenProjection",
           "A service account token written to a file and kept fresh.",
           {
               field("audience", "string", "Who the token is meant for; default the API server."),
               field("expirationSeconds", "int64",
                     "How long the token is valid; it is renewed before then; default 3600."),
               field("path", "string", "The relative file path.").req(),
           }),
      type("ClusterTrustBundleProjection",
           "Certificates from ClusterTrustBundles written to a file.",
           {
               field("name", "string", "One bundle by name."),
               field("signerName", "string", "All bundles of this signer."),
               field("labelSelector", "meta.v1.LabelSelector",
                     "Narrows the signer's bundles by label."),
               field("optional", "boolean", "Whether missing bundles are allowed."),
               field("path", "string", "The relative file path.").req(),
           }),
      type("CSIVolumeSource", "An inline volume from a CSI driver.",
           {
               field("driver", "string", "The CSI driver's name.").req(),
               field("readOnly", "boolean", "Mount read-only; default false."),
               field("fsType", "string",
                     "The filesystem type, such as ext4; the driver's default when empty."),
               field("volumeAttributes", "map[string]string", "Driver-specific settings."),
               field("nodePublishSecretRef", "core.v1.LocalObjectReference",
                     "A Secret with credentials the driver needs."),
           }),
      type("EphemeralVolumeSource", "A claim made for one pod and deleted with it.",
           {field("volumeClaimTemplate", "core.v1.PersistentVolumeClaimTemplate",
                  "The claim to create, named <pod>-<volume>.")}),
      type("PersistentVolumeClaimTemplate", "A template for a PersistentVolumeClaim.",
           {
               field("metadata", "meta.v1.ObjectMeta", "Labels and annotations for the claim."),
               field("spec", "core.v1.PersistentVolumeClaimSpec", "The claim's specification.")
                   .req(),
           }),
      type("ImageVolumeSource", "An OCI image or artifact mounted read-only.",
           {
               field("reference", "string", "The image reference, as for a container's image."),
               field("pullPolicy", "string",
                     "When the image is pulled; default Always for :latest, else IfNotPresent.")
                   .oneOf(kPullPolicies),
           }),
  };
}

std::vector<TypeDef> podStatusTypes() {
  return {
      type(
          "PodStatus", "What is happening to a pod, as last observed.",
          {
              field("observedGeneration", "int64", "The metadata.generation this status reflects."),
              field("phase", "string", "Where the pod is in its life, in one word.")
                  .oneOf({"Pending", "Running", "Succeeded", "Failed", "Unknown"}),
              field("conditions", "[]core.v1.PodCondition",
                    "Finer-grained state: scheduled, initialized, ready and so on.")
                  .mergeKey("type"),
              field("message", "string", "Why the pod is in this state, for a person to read."),
              field("reason", "string", "A CamelCase word for why, such as Evicted."),
              field("nominatedNodeName", "string",
                    "The node the pod is expected to land on after preempting others there."),
              field("hostIP", "string", "The primary IP of the node the pod runs on."),
              keyedAtomic(field("hostIPs", "[]core.v1.HostIP",
                                "All IPs of the node, the first equal to hostIP."),
                          "ip"),
              field("podIP", "string", "The pod's primary IP address."),
              field("podIPs", "[]core.v1.PodIP",
                    "All IPs of the pod, one per address family, the first equal to podIP.")
                  .mergeKey("ip"),
              field("startTime", "Time", "When the node accepted the pod."),
              atomic("initContainerStatuses", "[]core.v1.ContainerStatus",
                     "The state of each init container."),
              atomic("containerStatuses", "[]core.v1.ContainerStatus",
                     "The state of each main container."),
              field("qosClass", "string",
                    "The quality-of-service class derived from the containers' resources.")
                  .oneOf({"Guaranteed", "Burstable", "BestEffort"}),
              atomic("ephemeralContainerStatuses", "[]core.v1.ContainerStatus",
                     "The state of each ephemeral container."),
              field("resize", "string", "Deprecated: progress of an in-place resource resize.")
                  .oneOf({"Proposed", "InProgress", "Deferred", "Infeasible"}),
              field("resourceClaimStatuses", "[]core.v1.PodResourceClaimStatus",
                    "The ResourceClaims made for the pod's resourceClaims.")
                  .mergeKey("name")
                  .strategy("merge,retainKeys"),
          }),
      type("PodCondition", "One aspect of a pod's state.",
           conditionFields(
               "The aspect described, such as Ready or PodScheduled.",
               {field("observedGeneration", "int64",
                      "The metadata.generation this condition reflects."),
                field("lastProbeTime", "Time", "When the condition was last checked.")})),
      type("HostIP", "One IP of a pod's node.", {field("ip", "string", "The address.").req()}),
      type("PodIP", "One IP of a pod.", {field("ip", "string", "The address.").req()}),
      type("PodResourceClaimStatus", "The ResourceClaim made for one of a pod's resourceClaims.",
           {
               field("name", "string", "The entry of spec.resourceClaims this is about.").req(),
               field("resourceClaimName", "string",
                     "The claim that was made; unset when none was needed."),
           }),
      type(
          "ContainerStatus", "The state of one container of a pod.",
          {
              field("name", "string", "The container's name.").req(),
              field("state", "core.v1.ContainerState", "What the container is doing now."),
              field("lastState", "core.v1.ContainerState",
                    "How the previous run of the container ended, when it restarted."),
              field("ready", "boolean", "Whether the container passes its readiness probe.").req(),
              field("restartCount", "integer", "How many times the container has restarted.").req(),
              field("image", "string", "The image the container runs.").req(),
              field("imageID", "string", "The exact image, by digest, that is running.").req(),
              field("containerID", "string", "The runtime's ID, as <runtime>://<id>."),
              field("started", "boolean",
                    "Whether the container has started and passed its startup probe."),
              field("allocatedResources", "map[string]Quantity",
                    "Resources the node has set aside for the container."),
              field("resources", "core.v1.ResourceRequirements",
                    "The resources actually applied to the running container."),
              field("volumeMounts", "[]core.v1.VolumeMountStatus",
                    "The container's mounts as applied.")
                  .mergeKey("mountPath"),
              field("user", "core.v1.ContainerUser", "The identity the first process runs with."),
              field("allocatedResourcesStatus", "[]core.v1.ResourceStatus",
                    "The health of devices allocated to the container.")
                  .mergeKey("name"),
              field("stopSignal", "string", "The signal used to stop the container."),
          }),
      type("ContainerState", "What a container is doing; exactly one member is set.",
           {
               field("waiting", "core.v1.ContainerStateWaiting", "Not yet running."),
               field("running", "core.v1.ContainerStateRunning", "Running."),
               field("terminated", "core.v1.ContainerStateTerminated", "Ran and exited."),
           }),
      type("ContainerStateWaiting", "A container that is not running yet.",
           {
               field("reason", "string", "Why, such as ContainerCreating or CrashLoopBackOff."),
               field("message", "string", "More detail for a person."),
           }),
      type("ContainerStateRunning", "A running container.",
           {field("startedAt", "Time", "When it last (re)started.")}),
      type("ContainerStateTerminated", "A container that has exited.",
           {
               field("exitCode", "integer", "The process's exit status.").req(),
               field("signal", "integer", "The signal that ended it, if any."),
               field("reason", "string", "Why, such as Completed, Error or OOMKilled."),
               field("message", "string", "More detail for a person."),
               field("startedAt", "Time", "When it started."),
               field("finishedAt", "Time", "When it exited."),
               field("containerID", "string", "The runtime's ID of that run."),
           }),
      type("VolumeMountStatus", "A mount as applied to a running container.",
           {
               field("name", "string", "The volume's name.").req(),
               field("mountPath", "string", "Where it is mounted.").req(),
               field("readOnly", "boolean", "Whether it is read-only."),
               field("recursiveReadOnly", "string", "Whether sub-mounts are read-only too.")
                   .oneOf({"Disabled", "IfPossible", "Enabled"}),
           }),
      type("ContainerUser", "The identity a container's first process runs with.",
           {field("linux", "core.v1.LinuxContainerUser", "The Linux identity.")}),
      type("LinuxContainerUser", "A Linux user and its groups.",
           {
               field("uid", "int64", "The user ID.").req(),
               field("gid", "int64", "The primary group ID.").req(),
               atomic("supplementalGroups", "[]int64", "The other groups."),
           }),
      type("ResourceStatus", "The health of the devices behind one resource.",
           {
               field("name", "string", "The resource name, as in the container's resources.").req(),
               mapList(field("resources", "[]core.v1.ResourceHealth", "One entry per device."),
                       {"resourceID"}),
           }),
      type("ResourceHealth", "The health of one device.",
           {
               field("resourceID", "string", "The device's ID.").req(),
               field("health", "string", "Its health.").oneOf({"Healthy", "Unhealthy", "Unknown"}),
           }),
  };
}

std::vector<TypeDef> serviceTypes() {
  return {
      type("ServiceSpec", "Which pods a service sends traffic to, and how.",
           {
               field("ports", "[]core.v1.ServicePort", "The ports the service exposes.")
                   .mergeKey("port", {"port", "protocol"}),
               field("selector", "map[string]string",
                     "Labels of the pods that receive the traffic; without one, endpoints are "
                     "managed by hand."),
               field("clusterIP", "string",
                     "The virtual IP; assigned when empty, \"None\" makes a headless service."),
               atomic("clusterIPs", "[]string",
                      "The virtual IPs, one per family, the first equal to clusterIP."),
               field("type", "string", "How the service is exposed; default ClusterIP.")
                   .oneOf({"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"}),
               atomic("externalIPs", "[]string",
                      "Extra IPs on which nodes accept the service's traffic."),
               field("sessionAffinity", "string",
                     "ClientIP sends a client's connections to the same pod; default None.")
                   .oneOf({"ClientIP", "None"}),
               field("loadBalancerIP", "string", "Deprecated: a requested load balancer IP."),
               atomic("loadBalancerSourceRanges", "[]string",
                      "Client CIDRs the load balancer admits; all when empty."),
               field("externalName", "string",
                     "For ExternalName: the DNS name the service aliases."),
               field("externalTrafficPolicy", "string",
                     "Local keeps outside traffic on the receiving node and keeps the client IP; "
                     "default Cluster.")
                   .oneOf({"Cluster", "Local"}),
               field("healthCheckNodePort", "integer",
                     "For LoadBalancer with Local policy: the node port serving health checks."),
               field("publishNotReadyAddresses", "boolean",
                     "Publish pods in DNS and endpoints before they are ready; default false."),
               field("sessionAffinityConfig", "core.v1.SessionAffinityConfig",
                     "Settings for session affinity."),
               atomic("ipFamilies", "[]string", "IPv4 and/or IPv6, in order of preference."),
               field("ipFamilyPolicy", "string",
                     "Whether the service is single- or dual-stack; default SingleStack.")
                   .oneOf({"SingleStack", "PreferDualStack", "RequireDualStack"}),
               field("allocateLoadBalancerNodePorts", "boolean",
                     "Whether LoadBalancer services get node ports; default true."),
               field("loadBalancerClass", "string",
                     "The load balancer implementation; the default one when unset."),
               field("internalTrafficPolicy", "string",
                     "Local keeps in-cluster traffic on the client's node; default Cluster.")
                   .oneOf({"Cluster", "Local"}),
               field("trafficDistribution", "string",
                     "A preference for how traffic spreads over endpoints, such as PreferClose."),
           }),
      type("ServicePort", "One port a service exposes.",
           {
               field("name", "string", "The port's name; required when there are several."),
               field("protocol", "string", "The protocol; default TCP.").oneOf(kProtocols),
               field("appProtocol", "string",
                     "The application protocol, such as http or kubernetes.io/h2c."),
               field("port", "integer", "The port the service listens on.").req(),
               field("targetPort", "IntOrString",
                     "The pod port (number or container port name) traffic goes to; default port."),
               field("nodePort", "integer",
                     "For NodePort and LoadBalancer: the port on every node; assigned when unset."),
           }),
      type("SessionAffinityConfig", "Session affinity settings.",
           {field("clientIP", "core.v1.ClientIPConfig", "Settings for ClientIP affinity.")}),
      type("ClientIPConfig", "ClientIP session affinity settings.",
           {field("timeoutSeconds", "integer",
                  "How long a client sticks to a pod; default 10800 (3 hours).")}),
      type("ServiceStatus", "The state of a service.",
           {
               field("loadBalancer", "core.v1.LoadBalancerStatus", "The load balancer, if any."),
               field("conditions", "[]meta.v1.Condition", "The service's current conditions.")
                   .mergeKey("type"),
           }),
      type("LoadBalancerStatus", "The state of a load balancer.",
           {atomic("ingress", "[]core.v1.LoadBalancerIngress", "The load balancer's addresses.")}),
      type("LoadBalancerIngress", "One address of a load balancer.",
           {
               field("ip", "string", "An IP address."),
               field("hostname", "string", "A DNS name."),
               field("ipMode", "string",
                     "VIP delivers traffic to nodes with the IP kept; Proxy rewrites it.")
                   .oneOf({"VIP", "Proxy"}),
               atomic("ports", "[]core.v1.PortStatus", "The state of each service port."),
           }),
      type("PortStatus", "The state of one service port.",
           {
               field("port", "integer", "The port number.").req(),
               field("protocol", "string", "The protocol.").req().oneOf(kProtocols),
               field("error", "string", "What is wrong with the port, as a CamelCase reason."),
           }),
      type("EndpointSubset", "Addresses that share a set of ports.",
           {
               atomic("addresses", "[]core.v1.EndpointAddress", "Ready addresses."),
               atomic("notReadyAddresses", "[]core.v1.EndpointAddress",
                      "Addresses not yet ready or failing readiness."),
               atomic("ports", "[]core.v1.EndpointPort", "The ports open on every address."),
           }),
      type("EndpointAddress", "One backend address.",
           {
               field("ip", "string", "The IP address.").req(),
               field("hostname", "string", "The backend's hostname."),
               field("nodeName", "string", "The node the backend runs on."),
               field("targetRef", "core.v1.ObjectReference",
                     "The object (usually a pod) behind it."),
           }),
      type("EndpointPort", "One port of a set of endpoints.",
           {
               field("name", "string", "Matches the service port's name."),
               field("port", "integer", "The port number.").req(),
               field("protocol", "string", "The protocol; default TCP.").oneOf(kProtocols),
               field("appProtocol", "string", "The application protocol."),
           }),
  };
}

std::vector<TypeDef> nodeTypes() {
  return {
      type("NodeSpec", "How a node is set up for scheduling.",
           {
               field("podCIDR", "string", "The pod IP range assigned to the node."),
               field("podCIDRs", "[]string",
                     "The pod IP ranges, one per family, the first equal to podCIDR.")
                   .strategy("merge")
                   .list("set"),
               field("providerID", "string", "The node's ID at its infrastructure provider."),
               field("unschedulable", "boolean",
                     "Keep new pods off the node (kubectl cordon); default false."),
               atomic("taints", "[]core.v1.Taint", "Taints that repel pods without a toleration."),
               field("configSource", "RawJSON",
                     "Deprecated dynamic kubelet configuration; ignored."),
               field("externalID", "string", "Deprecated; not used."),
           }),
      type("NodeStatus", "What a node reports about itself.",
           {
               field("capacity", "map[string]Quantity", "All the resources the node has."),
               field("allocatable", "map[string]Quantity",
                     "The resources left for pods; default capacity."),
               field("phase", "string", "Deprecated: the node's life-cycle phase.")
                   .oneOf({"Pending", "Running", "Terminated"}),
               field("conditions", "[]core.v1.NodeCondition", "Ready, MemoryPressure and so on.")
                   .mergeKey("type"),
               field("addresses", "[]core.v1.NodeAddress", "How the node can be reached.")
                   .mergeKey("type"),
               field("daemonEndpoints", "core.v1.NodeDaemonEndpoints", "Ports of the node agent."),
               field("nodeInfo", "core.v1.NodeSystemInfo",
                     "Versions and IDs of the node's software."),
               atomic("images", "[]core.v1.ContainerImage", "Images present on the node."),
               atomic("volumesInUse", "[]string", "Attached volumes that are mounted."),
               atomic("volumesAttached", "[]core.v1.AttachedVolume",
                      "Volumes attached to the node."),
               field("config", "RawJSON", "Deprecated dynamic kubelet configuration status."),
               atomic("runtimeHandlers", "[]core.v1.NodeRuntimeHandler",
                      "The container runtime handlers available."),
               field("features", "core.v1.NodeFeatures", "Optional features the node supports."),
           }),
      type(
          "NodeCondition", "One aspect of a node's state.",
          conditionFields("The aspect described, such as Ready or DiskPressure.",
                          {field("lastHeartbeatTime", "Time", "When the node last reported it.")})),
      type("NodeAddress", "One address of a node.",
           {
               field("type", "string", "What kind of address.")
                   .req()
                   .oneOf({"Hostname", "InternalIP", "ExternalIP", "InternalDNS", "ExternalDNS"}),
               field("address", "string", "The address.").req(),
           }),
      type("NodeDaemonEndpoints", "Ports of daemons on a node.",
           {field("kubeletEndpoint", "core.v1.DaemonEndpoint", "The node agent's API port.")}),
      type("DaemonEndpoint", "A daemon's port.",
           {field("Port", "integer", "The port number.").req()}),
      type(
          "NodeSystemInfo", "Versions and IDs that identify a node's software.",
          {
              field("machineID", "string", "The machine ID from /etc/machine-id.").req(),
              field("systemUUID", "string", "The hardware UUID.").req(),
              field("bootID", "string", "Changes at every boot.").req(),
              field("kernelVersion", "string", "The kernel release, from uname -r.").req(),
              field("osImage", "string", "The OS name, from /etc/os-release.").req(),
              field("containerRuntimeVersion", "string", "The runtime and its version.").req(),
              field("kubeletVersion", "string", "The node agent's version.").req(),
              field("kubeProxyVersion", "string", "Deprecated: the service proxy's version.").req(),
              field("operatingSystem", "string", "The OS family, such as linux.").req(),
              field("architecture", "string", "The CPU architecture, such as amd64.").req(),
              field("swap", "core.v1.NodeSwapStatus", "The node's swap memory."),
          }),
      type("NodeSwapStatus", "A node's swap memory.",
           {field("capacity", "int64", "Total swap, in bytes.")}),
      type("ContainerImage", "An image present on a node.",
           {
               atomic("names", "[]string", "Names and digests the image is known by."),
               field("sizeBytes", "int64", "The image's size."),
           }),
      type("AttachedVolume", "A volume attached to a node.",
           {
               field("name", "string", "The volume's unique name.").req(),
               field("devicePath", "string", "Where it appears on the node.").req(),
           }),
      type("NodeRuntimeHandler", "A container runtime handler on a node.",
           {
               field("name", "string", "The handler's name; empty for the default."),
               field("features", "core.v1.NodeRuntimeHandlerFeatures", "What it supports."),
           }),
      type("NodeRuntimeHandlerFeatures", "Features of a runtime handler.",
           {
               field("recursiveReadOnlyMounts", "boolean", "Supports recursive read-only mounts."),
               field("userNamespaces", "boolean", "Supports pod user namespaces."),
           }),
      type("NodeFeatures", "Optional features a node supports.",
           {field("supplementalGroupsPolicy", "boolean", "Supports supplementalGroupsPolicy.")}),
  };
}

Fields persistentVolumeSourceFields() {
  return join(
      {
          field("hostPath", "core.v1.HostPathVolumeSource",
                "A directory on one node; for single-node testing only."),
          field("nfs", "core.v1.NFSVolumeSource", "An NFS export."),
          field("local", "core.v1.LocalVolumeSource",
                "A disk or directory on one node; needs nodeAffinity."),
          field("csi", "core.v1.CSIPersistentVolumeSource", "A volume managed by a CSI driver."),
      },
      unmodelledSources(true));
}

std::vector<TypeDef> persistentVolumeTypes() {
  return {
      type("PersistentVolumeSpec", "What a persistent volume is and where its storage lives.",
           join(join({field("capacity", "map[string]Quantity", "The volume's size, as storage.")},
                     persistentVolumeSourceFields()),
                {
                    atomic("accessModes", "[]string",
                           "How the volume can be mounted: ReadWriteOnce, ReadOnlyMany, "
                           "ReadWriteMany or ReadWriteOncePod."),
                    field("claimRef", "core.v1.ObjectReference",
                          "The claim bound to the volume, or reserved for it."),
                    field("persistentVolumeReclaimPolicy", "string",
                          "What happens when the claim is released; default Retain for volumes "
                          "made by hand, Delete for provisioned ones.")
                        .oneOf({"Retain", "Delete", "Recycle"}),
                    field("storageClassName", "string",
                          "The class the volume belongs to; empty for no class."),
                    atomic("mountOptions", "[]string",
                           "Options passed to mount, such as ro or hard."),
                    field("volumeMode", "string",
                          "Filesystem or a raw Block device; default Filesystem.")
                        .oneOf({"Block", "Filesystem"}),
                    field("nodeAffinity", "core.v1.VolumeNodeAffinity",
                          "The nodes from which the volume can be reached."),
                    field("volumeAttributesClassName", "string",
                          "The VolumeAttributesClass with the volume's mutable settings."),
                })),
      type("PersistentVolumeStatus", "Whether a persistent volume is in use.",
           {
               field("phase", "string", "Where the volume is in its life.")
                   .oneOf({"Pending", "Available", "Bound", "Released", "Failed"}),
               field("message", "string", "Why the volume is in this phase, for a person."),
               field("reason", "string", "A CamelCase word for why."),
               field("lastPhaseTransitionTime", "Time", "When phase last changed."),
           }),
      type("LocalVolumeSource", "Storage attached to one node.",
           {
               field("path", "string", "The disk, partition or directory on the node.").req(),
               field("fsType", "string", "For block devices: the filesystem to create or expect."),
           }),
      type("CSIPersistentVolumeSource", "A persistent volume managed by a CSI driver.",
           {
               field("driver", "string", "The CSI driver's name.").req(),
               field("volumeHandle", "string", "The driver's ID for the volume.").req(),
               field("readOnly", "boolean", "Mount read-only; default false."),
               field("fsType", "string", "The filesystem type, such as ext4."),
               field("volumeAttributes", "map[string]string", "Driver-specific settings."),
               field("controllerPublishSecretRef", "core.v1.SecretReference",
                     "Credentials for attaching the volume."),
               field("nodeStageSecretRef", "core.v1.SecretReference",
                     "Credentials for staging the volume on a node."),
               field("nodePublishSecretRef", "core.v1.SecretReference",
                     "Credentials for mounting the volume into a pod."),
               field("controllerExpandSecretRef", "core.v1.SecretReference",
                     "Credentials for growing the volume."),
               field("nodeExpandSecretRef", "core.v1.SecretReference",
                     "Credentials for growing the filesystem on a node."),
           }),
      type("VolumeNodeAffinity", "The nodes from which a volume can be reached.",
           {field("required", "core.v1.NodeSelector", "Nodes that must match.")}),
      type(
          "PersistentVolumeClaimSpec", "The storage a claim asks for.",
          {
              atomic("accessModes", "[]string",
                     "How the volume must be mountable: ReadWriteOnce, ReadOnlyMany, "
                     "ReadWriteMany or ReadWriteOncePod."),
              field("selector", "meta.v1.LabelSelector", "Only bind volumes with these labels."),
              field("resources", "core.v1.VolumeResourceRequirements", "The storage size wanted."),
              field("volumeName", "string", "Bind to this particular volume."),
              field("storageClassName", "string",
                    "The class to bind or provision from; the default class when unset, none "
                    "when \"\"."),
              field("volumeMode", "string", "Filesystem or a raw Block device; default Filesystem.")
                  .oneOf({"Block", "Filesystem"}),
              field("dataSource", "core.v1.TypedLocalObjectReference",
                    "A snapshot or claim to fill the new volume from."),
              field("dataSourceRef", "core.v1.TypedObjectReference",
                    "Any populator object to fill the new volume from; wins over dataSource."),
              field("volumeAttributesClassName", "string",
                    "The VolumeAttributesClass with the volume's mutable settings."),
          }),
      type("PersistentVolumeClaimStatus", "The storage a claim was given.",
           {
               field("phase", "string", "Whether the claim is bound.")
                   .oneOf({"Pending", "Bound", "Lost"}),
               atomic("accessModes", "[]string", "How the bound volume can be mounted."),
               field("capacity", "map[string]Quantity", "The bound volume's size."),
               field("conditions", "[]core.v1.PersistentVolumeClaimCondition",
                     "Progress of resizing and other operations.")
                   .mergeKey("type"),
               field("allocatedResources", "map[string]Quantity",
                     "The size set aside for the claim, including a resize in progress."),
               field("allocatedResourceStatuses", "map[string]string",
                     "The state of a resize, per resource."),
               field("currentVolumeAttributesClassName", "string",
                     "The VolumeAttributesClass currently applied."),
               field("modifyVolumeStatus", "core.v1.ModifyVolumeStatus",
                     "Progress of a change of VolumeAttributesClass."),
           }),
      type("PersistentVolumeClaimCondition", "One aspect of a claim's state.",
           conditionFields(
               "The aspect described, such as Resizing.",
               {field("lastProbeTime", "Time", "When the condition was last checked.")})),
      type("ModifyVolumeStatus", "Progress of a change of a claim's VolumeAttributesClass.",
           {
               field("targetVolumeAttributesClassName", "string", "The class being applied."),
               field("status", "string", "How the change is going.")
                   .req()
                   .oneOf({"Pending", "InProgress", "Infeasible"}),
           }),
  };
}

}  // namespace

void addCoreV1Types(std::vector<TypeDef>& out) {
  for (auto* group :
       {rootKinds, podSpecTypes, containerTypes, probeTypes, schedulingTypes, volumeTypes,
        podStatusTypes, serviceTypes, nodeTypes, persistentVolumeTypes}) {
    for (auto& t : group()) out.push_back(std::move(t));
  }
}

}  // namespace kd::api

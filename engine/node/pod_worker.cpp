#include "engine/node/pod_worker.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <set>

#include "engine/api/go_duration.h"
#include "engine/node/file_tree.h"
#include "engine/node/image_puller.h"
#include "engine/node/lifecycle_hooks.h"
#include "engine/node/network.h"
#include "engine/node/oci_spec.h"
#include "engine/node/pull_secrets.h"
#include "engine/node/sandbox.h"
#include "engine/node/shim.h"

namespace kd::node {

namespace fs = std::filesystem;

namespace {

constexpr int kInitialBackoffSeconds = 10;
constexpr int kMaxBackoffSeconds = 300;
constexpr auto kBackoffResetAfter = std::chrono::minutes(10);
constexpr auto kSyncPeriod = std::chrono::milliseconds(1000);
constexpr auto kTerminatingPeriod = std::chrono::milliseconds(200);
// The kubelet waits for a postStart hook without a limit; ours is bounded so a hung hook cannot
// hold the pod's worker forever.
constexpr auto kPostStartTimeout = std::chrono::seconds(120);
// What the kubelet grants once more when a preStop hook used up the whole grace period.
constexpr auto kPreStopExtraGrace = std::chrono::seconds(2);

// pod.<name>, or an empty object when the pod has none. A reference, not a copy: a sync
// reads the spec a dozen times.
const json& section(const json& pod, const char* name) {
  static const json kNone = json::object();
  if (!pod.is_object()) return kNone;
  const auto it = pod.find(name);
  return it != pod.end() ? *it : kNone;
}

const api::KindInfo& podKind() {
  return *api::KindsRegistry::builtin().byResource("", "v1", "pods");
}

std::string fieldPathOf(const std::string& name, bool init) {
  return std::string(init ? "spec.initContainers{" : "spec.containers{") + name + "}";
}

void nextBackoff(int& delay) {
  delay = delay == 0 ? kInitialBackoffSeconds : std::min(delay * 2, kMaxBackoffSeconds);
}

bool shouldRestart(const std::string& policy, int exitCode, bool init) {
  if (policy == "Never") return false;
  return init || policy == "OnFailure" ? exitCode != 0 : true;
}

// The spec of the (init) container `name`, or an empty object.
json containerSpecOf(const json& pod, const std::string& name) {
  for (const char* list : {"initContainers", "containers"}) {
    for (const auto& c : section(pod, "spec").value(list, json::array()))
      if (c.value("name", "") == name) return c;
  }
  return json::object();
}

int64_t gracePeriodOf(const json& pod) {
  return section(pod, "spec").value("terminationGracePeriodSeconds", int64_t{30});
}

std::string hostnameOf(const json& pod) {
  std::string h = section(pod, "spec").value("hostname", "");
  if (h.empty()) h = section(pod, "metadata").value("name", "");
  return h.substr(0, 63);
}

void writeFile(const fs::path& file, const std::string& text) {
  std::ofstream(file, std::ios::trunc) << text;
}

std::string readFileText(const fs::path& file) {
  std::ifstream in(file);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Where a container's memory controller lives.
std::string memoryCgroupFor(const std::string& cgroupsPath) {
  return (cgroupV2() ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory") + cgroupsPath;
}

void removePodCgroups(const std::string& uid) {
  std::error_code ec;
  std::vector<fs::path> bases = {"/sys/fs/cgroup"};
  for (const auto& entry : fs::directory_iterator("/sys/fs/cgroup", ec))
    bases.push_back(entry.path());
  for (const auto& base : bases) ::rmdir((base.string() + PodWorker::podCgroup(uid)).c_str());
}

// The pod as a worker keeps it: its JSON text without metadata.managedFields (never read
// here; with the status writes recorded they are about a third of the text), at its exact
// size rather than the capacity serialising grew it to.
std::shared_ptr<const std::string> keptPodText(json& pod) {
  if (auto meta = pod.find("metadata"); meta != pod.end() && meta->is_object()) {
    meta->erase("managedFields");
  }
  std::string text = pod.dump();
  text.shrink_to_fit();
  return std::make_shared<const std::string>(std::move(text));
}

}  // namespace

PodWorker::PodWorker(const NodeContext& ctx, json pod)
    : ctx_(ctx), configRefs_(ctx.configs), pod_(keptPodText(pod)) {
  const json& meta = section(pod, "metadata");
  uid_ = meta.value("uid", "");
  namespace_ = meta.value("namespace", "");
  name_ = meta.value("name", "");
  podDir_ = podDir(ctx_.stateDir, uid_);
  task_ = ctx_.pool->add([this] { return step(); });
}

PodWorker::~PodWorker() {
  ctx_.pool->remove(task_);
}

fs::path PodWorker::podDir(const fs::path& stateDir, const std::string& uid) {
  return stateDir / "pods" / uid;
}

void PodWorker::update(json pod) {
  auto text = keptPodText(pod);
  {
    std::lock_guard lock(mu_);
    pod_ = std::move(text);
  }
  ctx_.pool->wake(task_);
}

void PodWorker::podDeleted() {
  {
    std::lock_guard lock(mu_);
    deleted_ = true;
  }
  ctx_.pool->wake(task_);
}

bool PodWorker::done() const {
  std::lock_guard lock(mu_);
  return done_;
}

std::optional<SyncPool::Duration> PodWorker::step() {
  std::shared_ptr<const std::string> text;
  bool deleted = false;
  {
    std::lock_guard lock(mu_);
    text = pod_;
    deleted = deleted_;
  }
  // The text is what dump() wrote, so it parses; the tree lives for this step only.
  if (runOnce(json::parse(*text), deleted)) {
    std::lock_guard lock(mu_);
    done_ = true;
    return std::nullopt;
  }
  return terminating_ ? kTerminatingPeriod : kSyncPeriod;
}

bool PodWorker::runOnce(const json& pod, bool deleted) {
  // A malformed object must not take the agent down with it; the next event may fix it.
  try {
    const bool deleting = deleted || section(pod, "metadata").contains("deletionTimestamp");
    if (deleting) return terminate(pod, deleted);
    sync(pod);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kubedesk-node: pod %s/%s: %s\n", namespace_.c_str(), name_.c_str(),
                 e.what());
  }
  return false;
}

// --- paths and ids ------------------------------------------------------------------------

std::string PodWorker::containerId(const std::string& uid, const std::string& name, int attempt) {
  return sha256Digest(uid + "/" + name + "/" + std::to_string(attempt)).substr(7);
}

fs::path PodWorker::podLogDir(const fs::path& stateDir, const std::string& ns,
                              const std::string& pod, const std::string& uid) {
  return stateDir / "logs" / (ns + "_" + pod + "_" + uid);
}

fs::path PodWorker::logPath(const fs::path& stateDir, const std::string& ns, const std::string& pod,
                            const std::string& uid, const std::string& name, int attempt) {
  return podLogDir(stateDir, ns, pod, uid) / name / (std::to_string(attempt) + ".log");
}

int PodWorker::latestAttempt(const fs::path& podDir, const std::string& name) {
  int attempt = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(podDir / "containers" / name, ec)) {
    const std::string n = entry.path().filename().string();
    if (!n.empty() && n.size() < 9 && n.find_first_not_of("0123456789") == std::string::npos)
      attempt = std::max(attempt, std::stoi(n));
  }
  return attempt;
}

std::string PodWorker::podCgroup(const std::string& uid) {
  return "/kubedesk/pod" + uid;
}

void PodWorker::removePodCgroupsUnder(const fs::path& stateDir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(stateDir / "pods", ec)) {
    if (entry.is_directory(ec)) removePodCgroups(entry.path().filename().string());
  }
}

std::string PodWorker::containerCgroup(const std::string& uid, const std::string& id) {
  return podCgroup(uid) + "/" + id;
}

std::string PodWorker::containerId(const std::string& name, int attempt) const {
  return containerId(uid_, name, attempt);
}

fs::path PodWorker::attemptDir(const std::string& name, int attempt) const {
  return podDir_ / "containers" / name / std::to_string(attempt);
}

fs::path PodWorker::logDir() const {
  return podLogDir(ctx_.stateDir, namespace_, name_, uid_);
}

fs::path PodWorker::logPath(const std::string& name, int attempt) const {
  return logPath(ctx_.stateDir, namespace_, name_, uid_, name, attempt);
}

void PodWorker::event(const json& pod, const Slot& slot, const std::string& type,
                      const std::string& reason, const std::string& message) {
  ctx_.events->record(pod, fieldPathOf(slot.name, slot.init), type, reason, message);
}

// --- observing containers -----------------------------------------------------------------

void PodWorker::adoptSlots(const json& pod) {
  for (const char* list : {"initContainers", "containers"}) {
    for (const auto& spec : section(pod, "spec").value(list, json::array())) {
      const std::string name = spec.value("name", "");
      if (slots_.count(name)) continue;
      Slot slot;
      slot.name = name;
      slot.init = std::string_view(list) == "initContainers";
      slot.attempt = latestAttempt(podDir_, name);
      // The back-off survives agent restarts, so a crash loop does not speed up.
      const std::string backoff = readFileText(podDir_ / "containers" / name / "backoff");
      if (!backoff.empty()) slot.crash.delaySeconds = std::atoi(backoff.c_str());
      slots_[name] = slot;
    }
  }
}

PodWorker::Observed PodWorker::observe(const Slot& slot, int attempt) const {
  Observed o;
  if (attempt < 0) return o;
  const fs::path dir = attemptDir(slot.name, attempt);
  const auto shim = readShimRecord(dir / "shim.json");
  if (!shim) return o;
  o.started = true;
  o.startedAt = shim->startedAt;
  const auto exit = readExitRecord(dir / "exit.json");
  if (!exit && shimAlive(shim->pid)) {
    o.running = true;
    return o;
  }
  Termination t;
  t.startedAt = shim->startedAt;
  t.containerId = "runc://" + containerId(slot.name, attempt);
  if (exit) {
    t.exitCode = exit->exitCode;
    t.finishedAt = exit->finishedAt;
    t.oomKilled = exit->oomKilled;
    t.startError = exit->startError;
  } else {  // the shim vanished without a word
    t.exitCode = 137;
    t.finishedAt = formatTime(Clock::now());
  }
  o.term = t;
  return o;
}

// --- running containers -------------------------------------------------------------------

ContainerView PodWorker::step(Slot& slot, const json& pod, const json& spec, bool allowStart,
                              bool final) {
  ContainerView view;
  view.name = slot.name;
  view.image = spec.value("image", "");
  view.imageId = slot.image ? slot.image->imageId() : "";
  view.restartCount = std::max(slot.attempt, 0);
  if (slot.attempt > 0) view.last = observe(slot, slot.attempt - 1).term;
  const Observed now = observe(slot, slot.attempt);
  if (now.started) view.containerId = "runc://" + containerId(slot.name, slot.attempt);
  if (now.running) {
    view.state = ContainerView::State::Running;
    view.startedAt = now.startedAt;
    runProbes(slot, pod, spec, view);
    return view;
  }
  if (now.term) {
    if (slot.deletedAttempt != slot.attempt) {
      // The shim has written the exit file: the stopped container is no longer needed.
      ctx_.runtime->remove(containerId(slot.name, slot.attempt));
      slot.deletedAttempt = slot.attempt;
    }
    ImageStore::releaseRootfs(attemptDir(slot.name, slot.attempt));
    const std::string policy = section(pod, "spec").value("restartPolicy", "Always");
    if (final || !shouldRestart(policy, now.term->exitCode, slot.init)) {
      view.state = ContainerView::State::Terminated;
      view.terminated = now.term;
      return view;
    }
    const auto finished = parseTime(now.term->finishedAt);
    if (finished - parseTime(now.term->startedAt) >= kBackoffResetAfter)
      slot.crash.delaySeconds = 0;
    if (slot.crash.delaySeconds > 0 &&
        Clock::now() < finished + std::chrono::seconds(slot.crash.delaySeconds)) {
      view.last = now.term;
      view.waitingReason = "CrashLoopBackOff";
      view.waitingMessage = "back-off " + std::to_string(slot.crash.delaySeconds) +
                            "s restarting failed container=" + slot.name + " pod=" + name_ + "_" +
                            namespace_ + "(" + uid_ + ")";
      if (slot.backoffEventFor != slot.attempt) {
        slot.backoffEventFor = slot.attempt;
        event(pod, slot, "Warning", "BackOff",
              "Back-off restarting failed container " + slot.name + " in pod " + name_ + "_" +
                  namespace_ + "(" + uid_ + ")");
      }
      return view;
    }
    view.last = now.term;
  }
  if (!allowStart) {
    view.waitingReason = "PodInitializing";
    return view;
  }
  return start(slot, pod, spec, view);
}

// --- probes -------------------------------------------------------------------------------

void PodWorker::runProbes(Slot& slot, const json& pod, const json& spec, ContainerView& view) {
  static const std::pair<ProbeKind, const char*> kFields[] = {
      {ProbeKind::Startup, "startupProbe"},
      {ProbeKind::Liveness, "livenessProbe"},
      {ProbeKind::Readiness, "readinessProbe"}};
  if (slot.probesFor != slot.attempt) {
    slot.probesFor = slot.attempt;
    slot.probes.clear();
    for (const auto& [kind, field] : kFields) {
      if (spec.contains(field))
        slot.probes.emplace_back(kind, ProbeSettings::fromJson(spec[field]),
                                 parseTime(view.startedAt));
    }
    probeStatusDirty_ = probeStatusDirty_ || !slot.probes.empty();
  }
  const std::string id = containerId(slot.name, slot.attempt);
  if (slot.killAt) {
    if (Clock::now() >= *slot.killAt) killOrSay(id);
    view.probeReady = false;
    return;
  }
  const ProbeTarget target = targetOf(pod, spec, id);
  bool started = true;
  for (auto& probe : slot.probes) {
    const bool startup = probe.kind() == ProbeKind::Startup;
    if (!started) break;
    if (!(startup && probe.result() == ProbeResult::Success) && probe.due(Clock::now())) {
      const ProbeOutcome outcome = runProbe(probe.settings(), target);
      if (!outcome.success)
        event(pod, slot, "Warning", "Unhealthy",
              std::string(probeTitle(probe.kind())) + " probe failed: " + outcome.message);
      if (probe.record(outcome.success, outcome.message, Clock::now())) probeStatusDirty_ = true;
    }
    if (startup) started = probe.result() == ProbeResult::Success;
    if (probe.kind() == ProbeKind::Readiness)
      view.probeReady = probe.result() == ProbeResult::Success;
    if (!startup || started) continue;
    if (probe.result() == ProbeResult::Failure) killForProbe(slot, pod, spec, probe.kind());
  }
  for (auto& probe : slot.probes) {
    if (probe.kind() == ProbeKind::Liveness && probe.result() == ProbeResult::Failure)
      killForProbe(slot, pod, spec, probe.kind());
  }
  view.probeStarted = started;
  if (!started || slot.killAt) view.probeReady = false;
}

void PodWorker::killForProbe(Slot& slot, const json& pod, const json& spec, ProbeKind kind) {
  killContainer(
      slot, pod, spec,
      "Container " + slot.name + " failed " + probeKey(kind) + " probe, will be restarted");
}

ProbeTarget PodWorker::targetOf(const json& pod, const json& spec, const std::string& id) const {
  const bool hostNetwork = section(pod, "spec").value("hostNetwork", false);
  return {ctx_.runtime, id, hostNetwork ? "" : (podDir_ / "ns" / "net").string(), spec};
}

std::future<std::string> PodWorker::stopAsync(const Slot& slot, const json& pod, const json& spec,
                                              int64_t grace) {
  const std::string id = containerId(slot.name, slot.attempt);
  const json preStop = spec.value("lifecycle", json::object()).value("preStop", json());
  HookContext hook{targetOf(pod, spec, id), slot.name, name_ + "_" + namespace_ + "(" + uid_ + ")"};
  const OciRuntime* runtime = ctx_.runtime;
  return std::async(std::launch::async, [=] {
    // Like the kubelet, no hook when there is no time for one.
    const std::string failed =
        grace > 0 ? runLifecycleHook(preStop, hook, std::chrono::seconds(grace)) : "";
    runtime->kill(id, grace == 0 ? "KILL" : "TERM");
    return failed;
  });
}

void PodWorker::killOrSay(const std::string& id) const {
  if (Status st = ctx_.runtime->kill(id, "KILL"); !st.isOk()) {
    std::fprintf(stderr, "kubedesk-node: pod %s/%s: SIGKILL to %s: %s\n", namespace_.c_str(),
                 name_.c_str(), id.c_str(), st.message().c_str());
  }
}

void PodWorker::killContainer(Slot& slot, const json& pod, const json& spec,
                              const std::string& message) {
  if (slot.killAt) return;
  event(pod, slot, "Normal", "Killing", message);
  const int64_t grace = gracePeriodOf(pod);
  slot.killAt = Clock::now() + std::chrono::seconds(grace);
  if (const std::string failed = stopAsync(slot, pod, spec, grace).get(); !failed.empty())
    event(pod, slot, "Warning", "FailedPreStopHook", failed);
  if (grace > 0) slot.killAt = std::max(*slot.killAt, Clock::now() + kPreStopExtraGrace);
}

void PodWorker::publishProbeStatus() {
  if (!probeStatusDirty_) return;
  json status = json::object();
  for (const auto& [name, slot] : slots_) {
    for (const auto& probe : slot.probes) status[name][probeKey(probe.kind())] = probe.statusJson();
  }
  const json patch = {{"metadata", {{"annotations", {{kProbeStatusAnnotation, status.dump()}}}}}};
  // Through pods/status: a node may change a pod's annotations there, not on the pod itself.
  auto r = ctx_.api->patch(podKind(), namespace_, name_, client::PatchType::Merge, patch.dump(),
                           {.subresource = "status"});
  if (r.ok()) probeStatusDirty_ = false;
}

namespace {

// The kubelet's events for each way getting an image can end.
struct ImageFailureEvent {
  const char* waitingReason;
  const char* eventReason;
  bool quoteImage;  // "Failed to pull image \"x\": <message>" rather than the message alone
};
constexpr ImageFailureEvent kImageFailureEvents[] = {
    {"ErrImagePull", "Failed", true},
    {"ErrImageNeverPull", "ErrImageNeverPull", false},
    {"InvalidImageName", "InspectFailed", false},
};

}  // namespace

Result<Image> PodWorker::resolveImage(Slot& slot, const json& pod, const json& spec) {
  const std::string image = spec.value("image", "");
  EnsureHooks hooks;
  hooks.beforePull = [&] {
    event(pod, slot, "Normal", "Pulling", "Pulling image \"" + image + "\"");
  };
  // The kubelet reads the pod's pull secrets at every sync that may pull; so do we.
  const PodPullCredentials pullCredentials = readPullCredentials(
      pod, [this](const std::string& r, const std::string& n) { return getObject(r, n); });
  if (!pullCredentials.unreadable.empty()) {
    ctx_.events->record(pod, "", "Warning", "FailedToRetrieveImagePullSecret",
                        unreadablePullSecretsMessage(pullCredentials.unreadable));
  }
  hooks.credentials = pullCredentials.forImage(image);
  EnsuredImage got = ensureImage(*ctx_.images, image,
                                 pullPolicyOf(spec.value("imagePullPolicy", ""), image), hooks);
  if (got.image) {
    if (got.pulled) {
      const auto& r = *got.pulled;
      event(pod, slot, "Normal", "Pulled",
            "Successfully pulled image \"" + image + "\" in " + api::goDuration(r.elapsed) + " (" +
                api::goDuration(r.elapsed + r.waited) +
                " including waiting). Image size: " + std::to_string(r.imageSize) + " bytes.");
      std::fprintf(stderr, "kubedesk-node: pulled %s (%s): %d blobs fetched, %d shared\n",
                   image.c_str(), r.manifestDigest.c_str(), r.blobsFetched, r.blobsShared);
    } else if (!slot.image) {
      event(pod, slot, "Normal", "Pulled",
            "Container image \"" + image + "\" already present on machine");
    }
    slot.pull = {};
    slot.image = *got.image;
    return *got.image;
  }
  slot.waitingReason = got.reason;
  slot.waitingMessage = got.message;
  for (const auto& e : kImageFailureEvents) {
    if (got.reason != e.waitingReason) continue;
    event(pod, slot, "Warning", e.eventReason,
          e.quoteImage ? "Failed to pull image \"" + image + "\": " + got.message : got.message);
  }
  event(pod, slot, "Warning", "Failed", "Error: " + slot.waitingReason);
  nextBackoff(slot.pull.delaySeconds);
  slot.pullBackoffEventSent = false;
  slot.pull.until = Clock::now() + std::chrono::seconds(slot.pull.delaySeconds);
  return Status::notFound(got.message);
}

ContainerView PodWorker::start(Slot& slot, const json& pod, const json& spec, ContainerView view) {
  view.state = ContainerView::State::Waiting;
  if (!volumeError_.empty()) {
    view.waitingReason = "ContainerCreating";
    return view;
  }
  if (slot.pull.delaySeconds > 0 && Clock::now() < slot.pull.until) {
    // Only a failed pull backs off visibly; the other reasons stand until the spec changes.
    const bool never = slot.waitingReason != "ErrImagePull";
    const std::string backoff = "Back-off pulling image \"" + spec.value("image", "") + "\"";
    if (!never && !slot.pullBackoffEventSent) {
      slot.pullBackoffEventSent = true;
      event(pod, slot, "Normal", "BackOff", backoff);
      event(pod, slot, "Warning", "Failed", "Error: ImagePullBackOff");
    }
    view.waitingReason = never ? slot.waitingReason : "ImagePullBackOff";
    view.waitingMessage = never ? slot.waitingMessage
                                : backoff + ": " + slot.waitingReason + ": " + slot.waitingMessage;
    return view;
  }
  auto image = resolveImage(slot, pod, spec);
  if (!image.ok()) {
    view.waitingReason = slot.waitingReason;
    view.waitingMessage = slot.waitingMessage;
    return view;
  }
  view.imageId = image->imageId();
  const int attempt = slot.attempt + 1;
  const Status created = createContainer(slot, pod, spec, attempt);
  if (!created.isOk()) {
    ImageStore::releaseRootfs(attemptDir(slot.name, attempt));
    std::error_code ec;
    removeTree(attemptDir(slot.name, attempt), ec);
    view.waitingReason =
        created.code() == 400 ? "CreateContainerConfigError" : "CreateContainerError";
    view.waitingMessage = created.message();
    event(pod, slot, "Warning", "Failed", "Error: " + created.message());
    return view;
  }
  if (slot.attempt >= 0) {
    nextBackoff(slot.crash.delaySeconds);
    writeFile(podDir_ / "containers" / slot.name / "backoff",
              std::to_string(slot.crash.delaySeconds));
  }
  slot.attempt = attempt;
  slot.killAt.reset();
  event(pod, slot, "Normal", "Created", "Created container " + slot.name);
  event(pod, slot, "Normal", "Started", "Started container " + slot.name);
  const json postStart = spec.value("lifecycle", json::object()).value("postStart", json());
  const HookContext hook{targetOf(pod, spec, containerId(slot.name, attempt)), slot.name,
                         name_ + "_" + namespace_ + "(" + uid_ + ")"};
  if (const std::string failed = runLifecycleHook(postStart, hook, kPostStartTimeout);
      !failed.empty()) {
    event(pod, slot, "Warning", "FailedPostStartHook", failed);
    killContainer(slot, pod, spec, "FailedPostStartHook");
  }
  view.state = ContainerView::State::Running;
  view.restartCount = attempt;
  view.containerId = "runc://" + containerId(slot.name, attempt);
  view.startedAt = observe(slot, attempt).startedAt;
  return view;
}

Status PodWorker::createContainer(Slot& slot, const json& pod, const json& spec, int attempt) {
  const fs::path dir = attemptDir(slot.name, attempt);
  auto rootfs = ctx_.images->prepareRootfs(*slot.image, dir);
  if (!rootfs.ok()) return rootfs.status();
  const std::string hostname = hostnameOf(pod);
  EnvList kubeletEnv = {{"HOSTNAME", hostname}};
  if (spec.value("tty", false)) kubeletEnv.push_back({"TERM", "xterm"});  // as containerd does
  auto env = resolveContainerEnv(slot.image->config, pod, spec, kubeletEnv,
                                 [this](const std::string& resource, const std::string& name) {
                                   return getObject(resource, name);
                                 });
  if (!env.ok()) return env.status();
  auto mounts = containerMounts(pod, spec, volumes_);
  if (!mounts.ok()) return mounts.status();
  auto sandbox =
      PodSandbox::ensure(podDir_, hostname, section(pod, "spec").value("hostNetwork", false));
  if (!sandbox.ok()) return Status::internal("pod sandbox: " + sandbox.status().message());
  const std::string id = containerId(slot.name, attempt);
  OciConfigInput input;
  input.imageConfig = slot.image->config;
  input.container = spec;
  input.rootfs = rootfs->string();
  input.env = *env;
  input.namespaces = sandbox->namespaces();
  input.cgroupsPath = containerCgroup(uid_, id);
  for (const char* file : {"hosts", "hostname", "resolv.conf"}) {
    input.mounts.push_back(
        {(podDir_ / ("etc-" + std::string(file))).string(), "/etc/" + std::string(file), false});
  }
  input.mounts.insert(input.mounts.end(), mounts->begin(), mounts->end());
  auto config = buildOciConfig(input);
  if (!config.ok()) return config.status();
  writeFile(dir / "config.json", config->dump(2));
  std::error_code ec;
  fs::create_directories(logPath(slot.name, attempt).parent_path(), ec);
  ShimOptions shim{id,
                   dir,
                   logPath(slot.name, attempt),
                   dir / "shim.json",
                   dir / "exit.json",
                   memoryCgroupFor(input.cgroupsPath),
                   ctx_.containerLogMaxBytes,
                   ctx_.containerLogMaxFiles,
                   spec.value("stdin", false),
                   spec.value("stdinOnce", false),
                   spec.value("tty", false)};
  return startShim(ctx_.selfExe, *ctx_.runtime, shim);
}

// --- the pod ------------------------------------------------------------------------------

void PodWorker::writePodFiles(const json& pod) {
  std::error_code ec;
  fs::create_directories(podDir_, ec);
  if (fs::exists(podDir_ / "pod.json")) return;
  const std::string hostname = hostnameOf(pod);
  writeFile(podDir_ / "etc-hosts",
            "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost "
            "ip6-localhost ip6-loopback\n127.0.1.1\t" +
                hostname + "\n");
  writeFile(podDir_ / "etc-hostname", hostname + "\n");
  writeFile(podDir_ / "etc-resolv.conf", readFileText("/etc/resolv.conf"));
  writeFile(podDir_ / "start-time", formatTime(Clock::now()));
  writeFile(podDir_ / "pod.json", pod.dump());
}

Result<json> PodWorker::getObject(const std::string& resource, const std::string& name) const {
  const api::KindInfo* kind = api::KindsRegistry::builtin().byResource("", "v1", resource);
  if (!kind) return Status::notFound("unknown resource " + resource);
  return ctx_.api->get(*kind, kind->namespaced ? namespace_ : "", name);
}

void PodWorker::refreshVolumes(const json& pod) {
  TokenSource tokens;
  if (ctx_.tokens) {
    tokens = [this, &pod](const json& projection) { return ctx_.tokens->token(pod, projection); };
  }
  std::set<ConfigKey> used;
  auto volumes = prepareVolumes(
      podDir_, pod,
      [this, &used](const std::string& r, const std::string& n) -> Result<json> {
        if (!ctx_.configs || (r != "configmaps" && r != "secrets")) return getObject(r, n);
        ConfigKey key{r, namespace_, n};
        used.insert(key);
        return configRefs_.get(key);
      },
      tokens);
  // A failed refresh stops at the first bad volume: keep what the later ones hold until then.
  if (volumes.ok()) configRefs_.keepOnly(used);
  const std::string error = volumes.ok() ? "" : volumes.status().message();
  if (!error.empty() && error != volumeError_)
    ctx_.events->record(pod, "", "Warning", "FailedMount", error);
  volumeError_ = error;
  if (volumes.ok()) volumes_ = *volumes;
}

void PodWorker::sync(const json& pod) {
  writePodFiles(pod);
  refreshVolumes(pod);
  adoptSlots(pod);
  if (startTime_.empty()) startTime_ = readFileText(podDir_ / "start-time");
  const std::string lastPhase =
      publishedText_.empty() ? section(pod, "status").value("phase", "") : publishedPhase_;
  const bool final = lastPhase == "Succeeded" || lastPhase == "Failed";
  std::vector<ContainerView> init, app;
  bool initDone = true;
  for (const auto& spec : section(pod, "spec").value("initContainers", json::array())) {
    init.push_back(step(slots_[spec.value("name", "")], pod, spec, initDone, final));
    const auto& v = init.back();
    initDone =
        initDone && v.state == ContainerView::State::Terminated && v.terminated->exitCode == 0;
  }
  for (const auto& spec : section(pod, "spec").value("containers", json::array())) {
    app.push_back(step(slots_[spec.value("name", "")], pod, spec, initDone, final));
  }
  const bool anyRunning = std::any_of(app.begin(), app.end(), [](const auto& v) {
    return v.state == ContainerView::State::Running;
  });
  if (final && !anyRunning) PodSandbox::destroy(podDir_);
  publish(pod, init, app, fs::exists(podDir_ / "ns" / "ready"));
  publishProbeStatus();
}

void PodWorker::publish(const json& pod, const std::vector<ContainerView>& init,
                        const std::vector<ContainerView>& app, bool sandboxReady) {
  const std::string phase =
      podPhase(init, app, section(pod, "spec").value("restartPolicy", "Always"));
  const json previous = publishedText_.empty()
                            ? section(pod, "status").value("conditions", json::array())
                            : json::parse(publishedText_)["conditions"];
  json status = {
      {"phase", phase},
      {"conditions", podConditions(init, app, phase, sandboxReady, previous, Clock::now())},
      {"hostIP", ctx_.nodeIp},
      {"hostIPs", json::array({{{"ip", ctx_.nodeIp}}})},
      {"startTime", startTime_},
      {"qosClass", section(pod, "status").value("qosClass", "BestEffort")},
      {"containerStatuses", json::array()}};
  if (section(pod, "spec").value("hostNetwork", false)) {
    status["podIP"] = ctx_.nodeIp;
    status["podIPs"] = status["hostIPs"];
  } else {
    // The sandbox got its address before any container started, so a Running or Ready pod
    // is never reported without its IP (Endpoints skip pods without one). It never changes,
    // so the allocation file is read only until it is known.
    if (podIp_.empty()) podIp_ = podIp(ctx_.stateDir, uid_);
    if (!podIp_.empty()) {
      status["podIP"] = podIp_;
      status["podIPs"] = json::array({{{"ip", podIp_}}});
    }
  }
  for (const auto& c : app) status["containerStatuses"].push_back(containerStatusJson(c));
  if (!init.empty()) {
    status["initContainerStatuses"] = json::array();
    for (const auto& c : init) status["initContainerStatuses"].push_back(containerStatusJson(c));
  }
  std::string text = status.dump();
  if (text == publishedText_) return;
  auto r = ctx_.api->patch(podKind(), namespace_, name_, client::PatchType::Merge,
                           "{\"status\":" + text + "}", {.subresource = "status"});
  if (!r.ok()) return;
  publishedText_ = std::move(text);
  publishedText_.shrink_to_fit();  // kept until the next change: no growth slack
  publishedPhase_ = phase;
}

// --- termination --------------------------------------------------------------------------

bool PodWorker::terminate(const json& pod, bool apiGone) {
  adoptSlots(pod);
  const auto now = Clock::now();
  if (!terminating_) {
    terminating_ = true;
    const int64_t grace =
        apiGone ? 0 : section(pod, "metadata").value("deletionGracePeriodSeconds", int64_t{30});
    killDeadline_ = now + std::chrono::seconds(grace);
    // Every container's preStop hook runs at once; each container gets SIGTERM when its own
    // hook is done.
    std::vector<std::pair<const Slot*, std::future<std::string>>> stopping;
    for (auto& [name, slot] : slots_) {
      if (!observe(slot, slot.attempt).running) continue;
      event(pod, slot, "Normal", "Killing", "Stopping container " + name);
      stopping.emplace_back(&slot, stopAsync(slot, pod, containerSpecOf(pod, name), grace));
    }
    for (auto& [slot, stopped] : stopping) {
      if (const std::string failed = stopped.get(); !failed.empty())
        event(pod, *slot, "Warning", "FailedPreStopHook", failed);
    }
    if (grace > 0) killDeadline_ = std::max(killDeadline_, Clock::now() + kPreStopExtraGrace);
  }
  // As the kubelet does on each sync of a terminating pod, the kill is sent again while a
  // container runs: one SIGKILL the runtime failed to deliver must not keep the pod forever.
  const bool kill = now >= killDeadline_ && now >= nextKill_;
  bool anyRunning = false;
  for (auto& [name, slot] : slots_) {
    if (!observe(slot, slot.attempt).running) continue;
    anyRunning = true;
    if (kill) killOrSay(containerId(name, slot.attempt));
  }
  if (kill) nextKill_ = now + kSyncPeriod;
  if (anyRunning) return false;
  cleanup();
  if (apiGone) return true;
  client::DeleteOptions options;
  options.gracePeriodSeconds = 0;
  options.preconditionUid = uid_;
  auto r = ctx_.api->remove(podKind(), namespace_, name_, options);
  return r.ok() || r.status().code() == 404 || r.status().code() == 409;
}

void PodWorker::cleanup() {
  for (const auto& [name, slot] : slots_) {
    for (int attempt = 0; attempt <= slot.attempt; ++attempt) {
      ctx_.runtime->remove(containerId(name, attempt));
      ImageStore::releaseRootfs(attemptDir(name, attempt));
    }
  }
  PodSandbox::destroy(podDir_);
  teardownVolumes(podDir_);
  removePodCgroups(uid_);
  if (ctx_.tokens) ctx_.tokens->forgetPod(uid_);
  configRefs_.keepOnly({});
  std::error_code ec;
  removeTree(podDir_, ec);
  removeTree(logDir(), ec);
}

}  // namespace kd::node

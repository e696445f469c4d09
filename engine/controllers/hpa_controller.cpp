#include "engine/controllers/hpa_controller.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <set>

#include "engine/api/quantity.h"
#include "engine/api/selectors.h"
#include "engine/controllers/controller_manager.h"
#include "engine/controllers/object_fields.h"
#include "engine/server/metrics_api.h"

namespace kd::controllers {
namespace {

using TimePoint = std::chrono::system_clock::time_point;
using std::chrono::seconds;

// A pod's usage of one resource, in thousandths (millicores, millibytes), as Kubernetes'
// metrics client reads it.
struct PodMetric {
  int64_t value = 0;
  TimePoint timestamp;
  std::chrono::milliseconds window{0};
};
using PodMetrics = std::map<std::string, PodMetric>;  // by pod name

// Pods of the selection sorted as Kubernetes' replica calculator sorts them.
struct PodGroups {
  int ready = 0;                   // pods whose samples count
  std::set<std::string> excluded;  // deleted or failed: not counted at all
  std::set<std::string> unready;   // pending or not yet ready: counted as idle on a scale-up
  std::set<std::string> missing;   // without a sample
};

// A failed metric: the ScalingActive condition it calls for, and the error it reports.
struct MetricError {
  std::string reason, message, error;
};

int32_t intField(const json& obj, const char* name, int32_t fallback) {
  auto it = obj.find(name);
  return it != obj.end() && it->is_number_integer() ? it->get<int32_t>() : fallback;
}

std::optional<TimePoint> timeField(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_string()) return std::nullopt;
  return server::parseTime(it->get<std::string>());
}

// Sets a status condition as Kubernetes' setCondition does: lastTransitionTime moves only
// when the status changes.
void setCondition(json& status, const std::string& type, bool isTrue, const std::string& reason,
                  const std::string& message, TimePoint now) {
  json& conditions = status["conditions"];
  if (!conditions.is_array()) conditions = json::array();
  const std::string value = isTrue ? "True" : "False";
  json* found = nullptr;
  for (auto& c : conditions) {
    if (c.is_object() && c.value("type", "") == type) found = &c;
  }
  if (!found) {
    conditions.push_back({{"type", type}});
    found = &conditions.back();
  }
  if (found->value("status", "") != value || !found->contains("lastTransitionTime")) {
    (*found)["lastTransitionTime"] = server::formatTime(now);
  }
  (*found)["status"] = value;
  (*found)["reason"] = reason;
  (*found)["message"] = message;
}

// A DecimalSI quantity of `milli` thousandths, as resource.NewMilliQuantity prints it.
std::string milliQuantity(int64_t milli) {
  constexpr int64_t kNanoPerMilli = 1'000'000;
  if (std::llabs(milli) < LLONG_MAX / kNanoPerMilli) {
    return server::cpuQuantity(milli * kNanoPerMilli);
  }
  return std::to_string(milli / 1000);
}

const json& podCondition(const json& pod, const char* type) {
  static const json none;
  const json& status = fieldOf(pod, "status");
  auto conditions = status.find("conditions");
  if (conditions == status.end() || !conditions->is_array()) return none;
  for (const auto& c : *conditions) {
    if (c.is_object() && c.value("type", "") == type) return c;
  }
  return none;
}

// Whether a cpu sample of `pod` must be set aside (replica_calculator.go's groupPods): the
// pod is not ready, or still initializing and sampled before it became ready.
bool cpuSampleIgnored(const json& pod, const PodMetric& metric, TimePoint now,
                      const HpaControllerOptions& o) {
  const json& ready = podCondition(pod, "Ready");
  const auto start = timeField(fieldOf(pod, "status"), "startTime");
  if (!ready.is_object() || !start) return true;
  const bool notReady = ready.value("status", "") == "False";
  const TimePoint transition = timeField(ready, "lastTransitionTime").value_or(*start);
  if (*start + o.cpuInitializationPeriod > now) {
    return notReady || metric.timestamp < transition + metric.window;
  }
  return notReady && *start + o.initialReadinessDelay > transition;
}

PodGroups groupPods(const std::vector<json>& pods, const PodMetrics& metrics,
                    const std::string& resource, TimePoint now, const HpaControllerOptions& o) {
  PodGroups g;
  for (const auto& pod : pods) {
    const std::string phase = fieldOf(pod, "status").value("phase", "");
    const std::string name = nameOf(pod);
    if (beingDeleted(pod) || phase == "Failed") {
      g.excluded.insert(name);
      continue;
    }
    if (phase == "Pending") {
      g.unready.insert(name);
      continue;
    }
    auto m = metrics.find(name);
    if (m == metrics.end()) {
      g.missing.insert(name);
      continue;
    }
    if (resource == "cpu" && cpuSampleIgnored(pod, m->second, now, o)) {
      g.unready.insert(name);
      continue;
    }
    ++g.ready;
  }
  return g;
}

// Every pod's request for `resource` in thousandths (only `container`'s when one is named).
Result<std::map<std::string, int64_t>> podRequests(const std::vector<json>& pods,
                                                   const std::string& resource,
                                                   const std::string& container) {
  std::map<std::string, int64_t> requests;
  for (const auto& pod : pods) {
    int64_t sum = 0;
    for (const auto& c : fieldOf(pod, "spec").value("containers", json::array())) {
      if (!container.empty() && c.value("name", "") != container) continue;
      const json& request = fieldOf(fieldOf(c, "resources"), "requests");
      auto q = request.contains(resource) ? api::Quantity::fromJson(request[resource])
                                          : Result<api::Quantity>(api::Quantity());
      if (!q.ok() || q->isZero()) {
        return Status::badRequest("missing request for " + resource + " in container " +
                                  c.value("name", "") + " of Pod " + nameOf(pod));
      }
      sum += q->milliValue();
    }
    requests[nameOf(pod)] = sum;
  }
  return requests;
}

// The usage ratio of the pods in `metrics` against the metric's target, and the numbers the
// status shows (utilization in percent, or -1 for an average-value target; the average).
struct Usage {
  double ratio = 0;
  int32_t utilization = -1;
  int64_t average = 0;
};
using UsageOf = std::function<Usage(const PodMetrics&)>;

// replica_calculator.go's decision once the usage ratio is known: scale with the pods that
// reported, unless pods without samples or not yet ready could reverse or cancel the move.
// `fullUse(pod)` is what a pod without a sample counts as on a scale-down.
int32_t proposeReplicas(PodMetrics metrics, const PodGroups& g, const UsageOf& usageOf,
                        const std::function<int64_t(const std::string&)>& fullUse, int32_t current,
                        double tolerance) {
  const double ratio = usageOf(metrics).ratio;
  const bool rebalanceUnready = !g.unready.empty() && ratio > 1.0;
  if (!rebalanceUnready && g.missing.empty()) {
    if (std::abs(1.0 - ratio) <= tolerance) return current;
    return static_cast<int32_t>(std::ceil(ratio * g.ready));
  }
  for (const auto& pod : g.missing) {
    if (ratio < 1.0) metrics[pod].value = fullUse(pod);
    if (ratio > 1.0) metrics[pod].value = 0;
  }
  if (rebalanceUnready) {
    for (const auto& pod : g.unready) metrics[pod].value = 0;
  }
  const double newRatio = usageOf(metrics).ratio;
  const bool flips = (ratio < 1.0 && newRatio > 1.0) || (ratio > 1.0 && newRatio < 1.0);
  if (std::abs(1.0 - newRatio) <= tolerance || flips) return current;
  const auto proposal = static_cast<int32_t>(std::ceil(newRatio * metrics.size()));
  if ((newRatio < 1.0 && proposal > current) || (newRatio > 1.0 && proposal < current)) {
    return current;
  }
  return proposal;
}

UsageOf utilizationUsage(const std::map<std::string, int64_t>& requests, int32_t target) {
  return [&requests, target](const PodMetrics& metrics) {
    int64_t used = 0, requested = 0, counted = 0;
    for (const auto& [pod, m] : metrics) {
      auto r = requests.find(pod);
      if (r == requests.end()) continue;
      used += m.value;
      requested += r->second;
      ++counted;
    }
    Usage u;
    if (requested == 0 || target <= 0) return u;
    u.utilization = static_cast<int32_t>(used * 100 / requested);
    u.ratio = static_cast<double>(u.utilization) / target;
    u.average = used / counted;
    return u;
  };
}

UsageOf averageUsage(int64_t targetMilli) {
  return [targetMilli](const PodMetrics& metrics) {
    Usage u;
    if (metrics.empty() || targetMilli <= 0) return u;
    int64_t used = 0;
    for (const auto& [pod, m] : metrics) used += m.value;
    u.average = used / static_cast<int64_t>(metrics.size());
    u.ratio = static_cast<double>(u.average) / static_cast<double>(targetMilli);
    return u;
  };
}

// A pod's usage of `resource` from its sample: the sum over its containers (or `container`'s
// alone); nullopt when the sample lacks it, as metrics-server's PodMetrics would.
std::optional<int64_t> sampleValue(const server::PodMetricsSample& s, const std::string& resource,
                                   const std::string& container) {
  if (resource != "cpu" && resource != "memory") return std::nullopt;
  std::optional<int64_t> sum;
  for (const auto& c : s.containers) {
    if (!container.empty() && c.name != container) continue;
    const int64_t v = resource == "cpu" ? (c.usage.cpuNanoCores + 999'999) / 1'000'000
                                        : c.usage.memoryBytes * 1000;
    sum = sum.value_or(0) + v;
  }
  return sum;
}

// The Kubernetes default scaling rules for one direction, overlaid with what `rules` sets.
struct ScalingPolicy {
  std::string type;  // Pods | Percent
  int32_t value = 0;
  int32_t periodSeconds = 0;
};
struct ScalingRules {
  int32_t window = 0;
  std::string selectPolicy = "Max";
  std::vector<ScalingPolicy> policies;
};

ScalingRules scalingRules(const json& rules, bool up, seconds downscaleWindow) {
  ScalingRules r;
  r.window = up ? 0 : static_cast<int32_t>(downscaleWindow.count());
  r.policies = up ? std::vector<ScalingPolicy>{{"Pods", 4, 15}, {"Percent", 100, 15}}
                  : std::vector<ScalingPolicy>{{"Percent", 100, 15}};
  if (!rules.is_object()) return r;
  r.window = intField(rules, "stabilizationWindowSeconds", r.window);
  if (rules.contains("selectPolicy") && rules["selectPolicy"].is_string()) {
    r.selectPolicy = rules["selectPolicy"].get<std::string>();
  }
  const json policies = rules.value("policies", json());
  if (policies.is_array() && !policies.empty()) {
    r.policies.clear();
    for (const auto& p : policies) {
      if (!p.is_object()) continue;
      r.policies.push_back(
          {p.value("type", ""), intField(p, "value", 0), intField(p, "periodSeconds", 0)});
    }
  }
  return r;
}

template <typename Event>
int32_t changeInPeriod(const std::vector<Event>& events, int32_t periodSeconds, TimePoint now) {
  int32_t sum = 0;
  for (const auto& e : events) {
    if (e.at > now - seconds(periodSeconds)) sum += e.change;
  }
  return sum;
}

// The most replicas the scale-up policies allow now (calculateScaleUpLimitWithScalingRules).
template <typename Event>
int32_t scaleUpLimit(int32_t current, const std::vector<Event>& events, const ScalingRules& r,
                     TimePoint now) {
  if (r.selectPolicy == "Disabled") return current;
  const bool pickMin = r.selectPolicy == "Min";
  int32_t result = pickMin ? INT32_MAX : INT32_MIN;
  for (const auto& p : r.policies) {
    const int32_t start = current - changeInPeriod(events, p.periodSeconds, now);
    const int32_t proposed = p.type == "Pods"
                                 ? start + p.value
                                 : static_cast<int32_t>(std::ceil(start * (1 + p.value / 100.0)));
    result = pickMin ? std::min(result, proposed) : std::max(result, proposed);
  }
  return result;
}

// The fewest replicas the scale-down policies allow now (calculateScaleDownLimitWithBehaviors).
template <typename Event>
int32_t scaleDownLimit(int32_t current, const std::vector<Event>& events, const ScalingRules& r,
                       TimePoint now) {
  if (r.selectPolicy == "Disabled") return current;
  const bool pickMin = r.selectPolicy == "Min";
  int32_t result = pickMin ? INT32_MIN : INT32_MAX;
  for (const auto& p : r.policies) {
    const int32_t start = current + changeInPeriod(events, p.periodSeconds, now);
    const int32_t proposed =
        p.type == "Pods" ? start - p.value : static_cast<int32_t>(start * (1 - p.value / 100.0));
    result = pickMin ? std::max(result, proposed) : std::min(result, proposed);
  }
  return result;
}

struct Limited {
  int32_t replicas;
  std::string reason, message;
};

Limited withinRange(int32_t n) {
  return {n, "DesiredWithinRange", "the desired count is within the acceptable range"};
}

Limited tooMany(int32_t n, bool byRate) {
  if (byRate) {
    return {n, "ScaleUpLimit",
            "the desired replica count is increasing faster than the maximum scale rate"};
  }
  return {n, "TooManyReplicas", "the desired replica count is more than the maximum replica count"};
}

Limited tooFew(int32_t n, bool byRate) {
  if (byRate) {
    return {n, "ScaleDownLimit",
            "the desired replica count is decreasing faster than the maximum scale rate"};
  }
  return {n, "TooFewReplicas", "the desired replica count is less than the minimum replica count"};
}

// Without spec.behavior (convertDesiredReplicasWithRules): min/max, and at most
// max(2 * current, 4) on the way up.
Limited limitWithRules(int32_t current, int32_t desired, int32_t minReplicas, int32_t maxReplicas) {
  const int32_t rate = std::max(2 * current, 4);
  if (desired < minReplicas) return tooFew(minReplicas, false);
  const int32_t top = std::min(maxReplicas, rate);
  if (desired > top) return tooMany(top, maxReplicas > rate);
  return withinRange(desired);
}

}  // namespace

// A metric's replica proposal and the name the rescale reason gives it.
struct HpaController::Proposal {
  int32_t replicas;
  std::string metric;
};

// One sync's working state.
struct HpaController::Reconcile {
  std::string key, ns;
  json hpa, status;
  TimePoint now;
  const api::KindInfo* target = nullptr;
  json scale;
  int32_t current = 0, minReplicas = 1, maxReplicas = 0, desired = 0;
  bool keepDesired = false;  // a failed sync leaves status.desiredReplicas as it was
  std::string reason;        // the rescale reason in events
  std::vector<json> pods;
  std::optional<MetricError> error;  // the first metric that failed
  int invalidMetrics = 0;

  const json& spec() const { return fieldOf(hpa, "spec"); }
  bool hasBehavior() const { return spec().contains("behavior") && !spec()["behavior"].is_null(); }
};

HpaController::HpaController(server::ObjectService& objects, HpaControllerOptions options)
    : objects_(objects),
      options_(std::move(options)),
      hpas_(objects.kinds().byResource("autoscaling", "v2", "horizontalpodautoscalers")),
      pods_(objects.kinds().byResource("", "v1", "pods")),
      recorder_(objects, "horizontal-pod-autoscaler") {}

HpaController::TimePoint HpaController::now() const {
  return options_.clock ? options_.clock() : objects_.now();
}

void HpaController::setup(ControllerManager& manager, WorkQueue& queue) {
  queue_ = &queue;
  podInformer_ = &manager.informer(*pods_);
  // A new or changed HPA is looked at at once; after that every syncPeriod (sync requeues).
  auto enqueue = [&queue](const CachedObject& hpa) { queue.add(objectKey(*hpa)); };
  auto changed = [enqueue](const CachedObject& old, const CachedObject& hpa) {
    if (fieldOf(*old, "spec") != fieldOf(*hpa, "spec")) enqueue(hpa);
  };
  manager.informer(*hpas_).addHandlers({enqueue, changed, enqueue});
}

Status HpaController::sync(const std::string& key) {
  const auto [ns, name] = splitObjectKey(key);
  auto got = objects_.get(*hpas_, ns, name);
  if (!got.ok()) {
    if (got.status().code() != 404) return got.status();
    std::lock_guard lock(mu_);
    history_.erase(key);
    return {};
  }
  Reconcile r;
  r.key = key;
  r.ns = ns;
  r.hpa = (*got)->parse();
  r.status = fieldOf(r.hpa, "status");
  r.now = now();
  reconcile(r);
  Status rescaled;
  if (!r.keepDesired && r.desired != r.current) rescaled = rescale(r);
  r.status["currentReplicas"] = r.current;
  r.status["desiredReplicas"] =
      r.keepDesired || !rescaled.isOk() ? intField(r.status, "desiredReplicas", 0) : r.desired;
  if (queue_) queue_->addAfter(key, options_.syncPeriod);
  Status written = writeStatusIfChanged(objects_, *hpas_, r.hpa, r.status);
  return rescaled.isOk() ? written : rescaled;
}

Result<json> HpaController::targetScale(Reconcile& r) {
  const json& ref = fieldOf(r.spec(), "scaleTargetRef");
  const std::string apiVersion = ref.value("apiVersion", ""), kind = ref.value("kind", "");
  r.target = objects_.kinds().byKind(apiVersion, kind);
  if (!r.target) {
    const size_t slash = apiVersion.find('/');
    const std::string group = slash == std::string::npos ? "" : apiVersion.substr(0, slash);
    return Status::notFound("no matches for kind \"" + kind + "\" in group \"" + group + "\"");
  }
  if (!r.target->hasSubresource("scale")) {
    return Status::notFound("the server could not find the requested resource");
  }
  return objects_.getScale(*r.target, r.ns, ref.value("name", ""));
}

void HpaController::reconcile(Reconcile& r) {
  auto scale = targetScale(r);
  if (!scale.ok()) {
    recorder_.record(r.hpa, "Warning", "FailedGetScale", scale.status().message());
    setCondition(r.status, "AbleToScale", false, "FailedGetScale",
                 "the HPA controller was unable to get the target's current scale: " +
                     scale.status().message(),
                 r.now);
    r.current = intField(r.status, "currentReplicas", 0);
    r.keepDesired = true;
    return;
  }
  r.scale = std::move(scale).value();
  setCondition(r.status, "AbleToScale", true, "SucceededGetScale",
               "the HPA controller was able to get the target's current scale", r.now);
  r.current = r.desired = intField(fieldOf(r.scale, "spec"), "replicas", 0);
  r.minReplicas = intField(r.spec(), "minReplicas", 1);
  r.maxReplicas = intField(r.spec(), "maxReplicas", r.minReplicas);
  {
    std::lock_guard lock(mu_);
    auto& recs = history_[r.key].recommendations;
    if (recs.empty()) recs.push_back({r.current, r.now});
  }
  if (r.current == 0 && r.minReplicas != 0) {
    setCondition(r.status, "ScalingActive", false, "ScalingDisabled",
                 "scaling is disabled since the replica count of the target is zero", r.now);
  } else if (r.current > r.maxReplicas) {
    r.reason = "Current number of replicas above Spec.MaxReplicas";
    r.desired = r.maxReplicas;
  } else if (r.current < r.minReplicas) {
    r.reason = "Current number of replicas below Spec.MinReplicas";
    r.desired = r.minReplicas;
  } else if (auto proposal = computeFromMetrics(r)) {
    if (proposal->replicas > r.current) r.reason = proposal->metric + " above target";
    if (proposal->replicas < r.current) r.reason = "All metrics below target";
    r.desired = r.hasBehavior() ? normalizeWithBehavior(r, proposal->replicas)
                                : normalize(r, proposal->replicas);
  } else {
    r.keepDesired = true;  // status keeps its last metrics too
  }
}

std::optional<HpaController::Proposal> HpaController::computeFromMetrics(Reconcile& r) {
  const std::string selector = fieldOf(r.scale, "status").value("selector", "");
  auto parsed = api::LabelSelector::parse(selector);
  if (selector.empty() || !parsed.ok()) {
    const std::string error = selector.empty() ? "selector is required" : parsed.status().message();
    recorder_.record(r.hpa, "Warning", selector.empty() ? "SelectorRequired" : "InvalidSelector",
                     error);
    setCondition(r.status, "ScalingActive", false, "InvalidSelector",
                 selector.empty() ? "the HPA target's scale is missing a selector"
                                  : "the HPA target's scale has an invalid selector: " + error,
                 r.now);
    return std::nullopt;
  }
  r.pods = podsMatching(r.ns, selector);
  const json metrics = r.spec().value("metrics", json::array());
  json statuses = json::array();
  std::optional<Proposal> best;
  for (const auto& spec : metrics) {
    json status = {{"type", ""}};  // what Kubernetes leaves for a metric that failed
    auto proposal = computeMetric(r, spec, status);
    statuses.push_back(std::move(status));
    if (proposal && (!best || proposal->replicas > best->replicas)) best = proposal;
  }
  if (!best) {
    const MetricError e =
        r.error.value_or(MetricError{"InvalidMetricSourceType", "", "no metrics"});
    setCondition(r.status, "ScalingActive", false, e.reason, e.message, r.now);
    recorder_.record(r.hpa, "Warning", "FailedComputeMetricsReplicas",
                     "invalid metrics (" + std::to_string(r.invalidMetrics) + " invalid out of " +
                         std::to_string(metrics.size()) + "), first error is: " + e.error);
    return std::nullopt;
  }
  setCondition(r.status, "ScalingActive", true, "ValidMetricFound",
               "the HPA was able to successfully calculate a replica count from " + best->metric,
               r.now);
  r.status["currentMetrics"] = std::move(statuses);
  return best;
}

std::optional<HpaController::Proposal> HpaController::metricFailed(Reconcile& r,
                                                                   const std::string& reason,
                                                                   const std::string& inner,
                                                                   const std::string& error) {
  recorder_.record(r.hpa, "Warning", reason, inner);
  if (r.invalidMetrics++ == 0) {
    r.error =
        MetricError{reason, "the HPA was unable to compute the replica count: " + inner, error};
  }
  return std::nullopt;
}

std::optional<HpaController::Proposal> HpaController::computeMetric(Reconcile& r, const json& spec,
                                                                    json& metricStatus) {
  const std::string type = spec.value("type", "");
  if (type == "Resource" || type == "ContainerResource") {
    return resourceMetric(r, spec, metricStatus);
  }
  if (type == "Pods" || type == "Object" || type == "External") {
    // No custom or external metrics API is served: say so as Kubernetes' metrics client does.
    const std::string api = type == "External" ? "external" : "custom";
    const std::string e = "unable to fetch metrics from " + api + " metrics API: no " + api +
                          " metrics API (" + api + ".metrics.k8s.io) registered";
    return metricFailed(r, "FailedGet" + type + "Metric", e, e);
  }
  const std::string e = "unknown metric source type \"" + type + "\"";
  return metricFailed(r, "InvalidMetricSourceType", e, e);
}

namespace {

// The samples of `pods` for `resource` (metrics.k8s.io's PodMetrics of the selection).
PodMetrics podMetrics(const PodMetricsSource& source, const std::string& ns,
                      const std::vector<json>& pods, const std::string& resource,
                      const std::string& container) {
  PodMetrics metrics;
  if (!source) return metrics;
  for (const auto& pod : pods) {
    auto sample = source(ns, nameOf(pod));
    if (!sample) continue;
    const std::string uid = fieldOf(pod, "metadata").value("uid", "");
    if (!sample->uid.empty() && !uid.empty() && sample->uid != uid) continue;  // an older pod
    if (auto v = sampleValue(*sample, resource, container)) {
      metrics[nameOf(pod)] = {*v, sample->timestamp, sample->window};
    }
  }
  return metrics;
}

}  // namespace

std::optional<HpaController::Proposal> HpaController::resourceMetric(Reconcile& r, const json& spec,
                                                                     json& metricStatus) {
  const std::string type = spec.value("type", "");
  const bool perContainer = type == "ContainerResource";
  const std::string source = perContainer ? "containerResource" : "resource";
  const json& src = fieldOf(spec, source.c_str());
  const json& target = fieldOf(src, "target");
  const std::string resource = src.value("name", ""), container = src.value("container", "");
  auto failed = [&](const std::string& inner) {
    return metricFailed(r, "FailedGet" + type + "Metric", inner,
                        "failed to get " + resource + " utilization: " + inner);
  };
  const bool averageValue = target.contains("averageValue") && !target["averageValue"].is_null();
  const bool utilization = !averageValue && target.contains("averageUtilization") &&
                           target["averageUtilization"].is_number_integer();
  if (!averageValue && !utilization) {
    return failed(
        "invalid resource metric source: neither a utilization target nor a value target was set");
  }
  PodMetrics metrics = podMetrics(options_.metrics, r.ns, r.pods, resource, container);
  if (metrics.empty()) {
    return failed("unable to get metrics for resource " + resource +
                  ": no metrics returned from resource metrics API");
  }
  const PodGroups groups = groupPods(r.pods, metrics, resource, r.now, options_);
  for (const auto* set : {&groups.excluded, &groups.unready}) {
    for (const auto& pod : *set) metrics.erase(pod);
  }

  std::map<std::string, int64_t> requests;
  UsageOf usageOf;
  std::function<int64_t(const std::string&)> fullUse;
  if (averageValue) {
    auto q = api::Quantity::fromJson(target["averageValue"]);
    if (!q.ok()) return failed(q.status().message());
    const int64_t targetMilli = q->milliValue();
    if (targetMilli <= 0) return failed("the target average value must be greater than zero");
    usageOf = averageUsage(targetMilli);
    fullUse = [targetMilli](const std::string&) { return targetMilli; };
  } else {
    auto got = podRequests(r.pods, resource, container);
    if (!got.ok()) return failed(got.status().message());
    requests = std::move(got).value();
    const auto percent = target["averageUtilization"].get<int32_t>();
    if (percent <= 0) return failed("the target utilization must be greater than zero");
    usageOf = utilizationUsage(requests, percent);
    fullUse = [&requests](const std::string& pod) { return requests[pod]; };
  }
  if (metrics.empty()) {
    return failed("did not receive metrics for targeted pods (pods might be unready)");
  }

  const Usage usage = usageOf(metrics);
  json current = {{"averageValue", milliQuantity(usage.average)}};
  if (utilization) current["averageUtilization"] = usage.utilization;
  json status = {{"name", resource}, {"current", std::move(current)}};
  if (perContainer) status["container"] = container;
  metricStatus = {{"type", type}, {source, std::move(status)}};
  const std::string what = resource + (perContainer ? " container resource" : " resource");
  return Proposal{proposeReplicas(metrics, groups, usageOf, fullUse, r.current, options_.tolerance),
                  utilization ? what + " utilization (percentage of request)" : what};
}

std::vector<json> HpaController::podsMatching(const std::string& ns,
                                              const std::string& selector) const {
  std::vector<json> pods;
  auto sel = api::LabelSelector::parse(selector);
  if (!sel.ok()) return pods;
  if (podInformer_) {
    for (const auto& pod : podInformer_->list(ns)) {
      if (sel->matches(api::labelsOf(*pod))) pods.push_back(*pod);
    }
    return pods;
  }
  server::ListOptions o;
  o.labelSelector = selector;
  auto listed = objects_.list(*pods_, ns, o);
  if (listed.ok()) {
    for (const auto& item : listed->items) pods.push_back(item->parse());
  }
  return pods;
}

int32_t HpaController::normalize(Reconcile& r, int32_t proposal) {
  int32_t stabilized = proposal;
  {
    std::lock_guard lock(mu_);
    auto& recs = history_[r.key].recommendations;
    const TimePoint cutoff = r.now - options_.downscaleStabilization;
    std::optional<size_t> old;
    for (size_t i = 0; i < recs.size(); ++i) {
      if (recs[i].at < cutoff) {
        old = i;
      } else {
        stabilized = std::max(stabilized, recs[i].replicas);
      }
    }
    if (old) {
      recs[*old] = {proposal, r.now};
    } else {
      recs.push_back({proposal, r.now});
    }
  }
  if (stabilized != proposal) {
    setCondition(r.status, "AbleToScale", true, "ScaleDownStabilized",
                 "recent recommendations were higher than current one, applying the highest "
                 "recent recommendation",
                 r.now);
  } else {
    setCondition(r.status, "AbleToScale", true, "ReadyForNewScale",
                 "recommended size matches current size", r.now);
  }
  const Limited l = limitWithRules(r.current, stabilized, r.minReplicas, r.maxReplicas);
  setCondition(r.status, "ScalingLimited", l.replicas != stabilized, l.reason, l.message, r.now);
  return l.replicas;
}

int32_t HpaController::normalizeWithBehavior(Reconcile& r, int32_t proposal) {
  const json& behavior = fieldOf(r.spec(), "behavior");
  const ScalingRules up =
      scalingRules(fieldOf(behavior, "scaleUp"), true, options_.downscaleStabilization);
  const ScalingRules down =
      scalingRules(fieldOf(behavior, "scaleDown"), false, options_.downscaleStabilization);
  const bool upward = proposal >= r.current;
  int32_t stabilized = proposal;
  Limited l = withinRange(proposal);
  {
    std::lock_guard lock(mu_);
    History& h = history_[r.key];
    const TimePoint cutoff = r.now - seconds(upward ? up.window : down.window);
    const TimePoint obsolete = r.now - seconds(std::max(up.window, down.window));
    std::optional<size_t> old;
    for (size_t i = 0; i < h.recommendations.size(); ++i) {
      const Recommendation& rec = h.recommendations[i];
      if (rec.at > cutoff) {
        stabilized =
            upward ? std::min(stabilized, rec.replicas) : std::max(stabilized, rec.replicas);
      }
      if (rec.at < obsolete) old = i;
    }
    if (old) {
      h.recommendations[*old] = {proposal, r.now};
    } else {
      h.recommendations.push_back({proposal, r.now});
    }
    l = withinRange(stabilized);
    if (stabilized > r.current) {
      const int32_t rate = std::max(r.current, scaleUpLimit(r.current, h.scaleUps, up, r.now));
      const int32_t top = std::min(r.maxReplicas, rate);
      if (stabilized > top) l = tooMany(top, r.maxReplicas > rate);
    } else if (stabilized < r.current) {
      const int32_t rate =
          std::min(r.current, scaleDownLimit(r.current, h.scaleDowns, down, r.now));
      const int32_t bottom = std::max(r.minReplicas, rate);
      if (stabilized < bottom) l = tooFew(bottom, r.minReplicas < rate);
    }
  }
  if (stabilized != proposal) {
    setCondition(r.status, "AbleToScale", true,
                 upward ? "ScaleUpStabilized" : "ScaleDownStabilized",
                 upward ? "recent recommendations were lower than current one, applying the "
                          "lowest recent recommendation"
                        : "recent recommendations were higher than current one, applying the "
                          "highest recent recommendation",
                 r.now);
  } else {
    setCondition(r.status, "AbleToScale", true, "ReadyForNewScale",
                 "recommended size matches current size", r.now);
  }
  setCondition(r.status, "ScalingLimited", l.replicas != stabilized, l.reason, l.message, r.now);
  return l.replicas;
}

Status HpaController::rescale(Reconcile& r) {
  const std::string name = fieldOf(r.spec(), "scaleTargetRef").value("name", "");
  json body = {{"apiVersion", "autoscaling/v1"},
               {"kind", "Scale"},
               {"metadata", {{"name", name}, {"namespace", r.ns}}},
               {"spec", {{"replicas", r.desired}}}};
  server::WriteOptions o;
  o.subresource = "scale";
  auto written = objects_.update(*r.target, r.ns, name, std::move(body), o);
  const std::string size = "New size: " + std::to_string(r.desired) + "; reason: " + r.reason;
  if (!written.ok()) {
    recorder_.record(r.hpa, "Warning", "FailedRescale",
                     size + "; error: " + written.status().message());
    setCondition(
        r.status, "AbleToScale", false, "FailedUpdateScale",
        "the HPA controller was unable to update the target scale: " + written.status().message(),
        r.now);
    return written.status();
  }
  setCondition(
      r.status, "AbleToScale", true, "SucceededRescale",
      "the HPA controller was able to update the target scale to " + std::to_string(r.desired),
      r.now);
  recorder_.record(r.hpa, "Normal", "SuccessfulRescale", size);
  r.status["lastScaleTime"] = server::formatTime(r.now);
  if (r.hasBehavior()) {
    // Kept as long as the longest policy period of their direction can look back at them.
    std::lock_guard lock(mu_);
    History& h = history_[r.key];
    const bool up = r.desired > r.current;
    auto& events = up ? h.scaleUps : h.scaleDowns;
    const json& behavior = fieldOf(r.spec(), "behavior");
    const ScalingRules rules = scalingRules(fieldOf(behavior, up ? "scaleUp" : "scaleDown"), up,
                                            options_.downscaleStabilization);
    int32_t longest = 0;
    for (const auto& p : rules.policies) longest = std::max(longest, p.periodSeconds);
    std::erase_if(events, [&](const ScaleEvent& e) { return e.at < r.now - seconds(longest); });
    events.push_back({std::abs(r.desired - r.current), r.now});
  }
  return {};
}

}  // namespace kd::controllers

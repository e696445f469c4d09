#include "engine/client/cli/describe.h"

#include <cstdio>
#include <ctime>
#include <functional>
#include <map>

#include "engine/api/quantity.h"
#include "engine/api/selectors.h"
#include "engine/api/table.h"
#include "engine/client/cli/describe_parts.h"
#include "engine/client/cli/table_printer.h"

namespace kd::cli {

using namespace describe;

namespace {

std::string selectorText(const json& selector) {
  auto s = api::LabelSelector::fromJson(selector);
  return s.ok() ? s->toString() : "";
}

std::string intOrString(const json& v) {
  return text(v);
}

void creationTimestamp(std::string& out, const json& o) {
  put(out, 0, "CreationTimestamp:\t" + rfc1123(str(o, "metadata.creationTimestamp")) + "\n");
}

// Deployments and ReplicaSets: "Type \tStatus\tReason".
const std::vector<ConditionColumn> kReasonConditions = {
    {"Type", "type", "----", true}, {"Status", "status", "------"}, {"Reason", "reason", "------"}};

// ---- pods -----------------------------------------------------------------------------

void describePod(std::string& out, const json& pod, const DescribeContext& ctx) {
  const json& spec = at(pod, "spec");
  const json& status = at(pod, "status");
  put(out, 0, "Name:\t" + str(pod, "metadata.name") + "\n");
  put(out, 0, "Namespace:\t" + str(pod, "metadata.namespace") + "\n");
  if (spec.contains("priority")) put(out, 0, "Priority:\t" + text(spec["priority"]) + "\n");
  if (!str(spec, "priorityClassName").empty()) {
    put(out, 0, "Priority Class Name:\t" + str(spec, "priorityClassName") + "\n");
  }
  if (!str(spec, "runtimeClassName").empty()) {
    put(out, 0, "Runtime Class Name:\t" + str(spec, "runtimeClassName") + "\n");
  }
  if (!str(spec, "serviceAccountName").empty()) {
    put(out, 0, "Service Account:\t" + str(spec, "serviceAccountName") + "\n");
  }
  const std::string node = str(spec, "nodeName");
  put(out, 0, "Node:\t" + (node.empty() ? "<none>" : node + "/" + str(status, "hostIP")) + "\n");
  if (!str(status, "startTime").empty()) {
    put(out, 0, "Start Time:\t" + rfc1123(str(status, "startTime")) + "\n");
  }
  labels(out, "", "Labels", at(pod, "metadata.labels"));
  annotations(out, "Annotations", at(pod, "metadata.annotations"));
  const std::string phase = str(status, "phase");
  if (!str(pod, "metadata.deletionTimestamp").empty() && phase != "Failed" &&
      phase != "Succeeded") {
    put(out, 0,
        "Status:\tTerminating (lasts " + since(str(pod, "metadata.deletionTimestamp"), ctx.now) +
            ")\n");
    put(out, 0,
        "Termination Grace Period:\t" + str(pod, "metadata.deletionGracePeriodSeconds") + "s\n");
  } else {
    put(out, 0, "Status:\t" + phase + "\n");
  }
  if (!str(status, "reason").empty()) put(out, 0, "Reason:\t" + str(status, "reason") + "\n");
  if (!str(status, "message").empty()) put(out, 0, "Message:\t" + str(status, "message") + "\n");
  put(out, 0, "IP:\t" + str(status, "podIP") + "\n");
  if (asArray(at(status, "podIPs")).empty()) {
    put(out, 0, "IPs:\t<none>\n");
  } else {
    put(out, 0, "IPs:\n");
    for (const json& ip : status["podIPs"]) put(out, 1, "IP:\t" + str(ip, "ip") + "\n");
  }
  controlledBy(out, pod);
  if (!str(status, "nominatedNodeName").empty()) {
    put(out, 0, "NominatedNodeName:\t" + str(status, "nominatedNodeName") + "\n");
  }
  if (!asArray(at(spec, "initContainers")).empty()) {
    containers(out, "Init Containers", spec["initContainers"], at(status, "initContainerStatuses"),
               "", &pod);
  }
  containers(out, "Containers", at(spec, "containers"), at(status, "containerStatuses"), "", &pod);
  conditionTable(out, at(status, "conditions"),
                 {{"Type", "type", nullptr, true}, {"Status", "status", nullptr, true}});
  volumes(out, at(spec, "volumes"), "");
  put(out, 0, "QoS Class:\t" + str(status, "qosClass") + "\n");
  labels(out, "", "Node-Selectors", at(spec, "nodeSelector"));
  tolerations(out, "Tolerations", at(spec, "tolerations"));
  events(out, ctx.events, ctx.now);
}

// ---- workloads ------------------------------------------------------------------------

json withoutHashLabel(json templ) {
  if (templ.contains("metadata") && templ["metadata"].contains("labels")) {
    templ["metadata"]["labels"].erase("pod-template-hash");
    if (templ["metadata"]["labels"].empty()) templ["metadata"].erase("labels");
  }
  return templ;
}

bool controlledByUid(const json& object, const std::string& uid) {
  for (const json& ref : asArray(at(object, "metadata.ownerReferences"))) {
    if (ref.value("controller", false) && str(ref, "uid") == uid) return true;
  }
  return false;
}

std::string replicaSetSummary(const std::vector<const json*>& sets) {
  std::string out;
  for (const json* rs : sets) {
    if (!out.empty()) out += ", ";
    out += str(*rs, "metadata.name") + " (" +
           text(at(*rs, "status.replicas").is_null() ? json(0) : at(*rs, "status.replicas")) + "/" +
           str(*rs, "spec.replicas") + " replicas created)";
  }
  return orElse(out, "<none>");
}

void describeDeployment(std::string& out, const json& d, const DescribeContext& ctx) {
  const json& spec = at(d, "spec");
  const json& status = at(d, "status");
  put(out, 0, "Name:\t" + str(d, "metadata.name") + "\n");
  put(out, 0, "Namespace:\t" + str(d, "metadata.namespace") + "\n");
  creationTimestamp(out, d);
  labels(out, "", "Labels", at(d, "metadata.labels"));
  annotations(out, "Annotations", at(d, "metadata.annotations"));
  put(out, 0, "Selector:\t" + selectorText(at(spec, "selector")) + "\n");
  auto n = [&](const char* field) { return std::to_string(status.value(field, 0)); };
  put(out, 0,
      "Replicas:\t" + str(spec, "replicas") + " desired | " + n("updatedReplicas") + " updated | " +
          n("replicas") + " total | " + n("availableReplicas") + " available | " +
          n("unavailableReplicas") + " unavailable\n");
  put(out, 0, "StrategyType:\t" + str(spec, "strategy.type") + "\n");
  put(out, 0, "MinReadySeconds:\t" + std::to_string(spec.value("minReadySeconds", 0)) + "\n");
  if (const json& ru = at(spec, "strategy.rollingUpdate"); !ru.is_null()) {
    put(out, 0,
        "RollingUpdateStrategy:\t" + intOrString(at(ru, "maxUnavailable")) + " max unavailable, " +
            intOrString(at(ru, "maxSurge")) + " max surge\n");
  }
  podTemplate(out, at(spec, "template"));
  conditionTable(out, at(status, "conditions"), kReasonConditions);
  std::vector<const json*> owned;
  for (const json& rs : asArray(ctx.replicaSets)) {
    if (controlledByUid(rs, str(d, "metadata.uid"))) owned.push_back(&rs);
  }
  std::stable_sort(owned.begin(), owned.end(), [](const json* a, const json* b) {
    return str(*a, "metadata.creationTimestamp") < str(*b, "metadata.creationTimestamp");
  });
  std::vector<const json*> oldSets, newSets;
  const json wanted = at(spec, "template");
  for (const json* rs : owned) {
    const bool isNew = newSets.empty() && withoutHashLabel(at(*rs, "spec.template")) == wanted;
    (isNew ? newSets : oldSets).push_back(rs);
  }
  if (!owned.empty()) {
    put(out, 0, "OldReplicaSets:\t" + replicaSetSummary(oldSets) + "\n");
    put(out, 0, "NewReplicaSet:\t" + replicaSetSummary(newSets) + "\n");
  }
  events(out, ctx.events, ctx.now);
}

void describeReplicaSet(std::string& out, const json& rs, const DescribeContext& ctx) {
  put(out, 0, "Name:\t" + str(rs, "metadata.name") + "\n");
  put(out, 0, "Namespace:\t" + str(rs, "metadata.namespace") + "\n");
  put(out, 0, "Selector:\t" + selectorText(at(rs, "spec.selector")) + "\n");
  labels(out, "", "Labels", at(rs, "metadata.labels"));
  annotations(out, "Annotations", at(rs, "metadata.annotations"));
  controlledBy(out, rs);
  put(out, 0,
      "Replicas:\t" + std::to_string(at(rs, "status").value("replicas", 0)) + " current / " +
          str(rs, "spec.replicas") + " desired\n");
  put(out, 0, "Pods Status:\t" + podPhaseCounts(ctx.pods, rs) + "\n");
  podTemplate(out, at(rs, "spec.template"));
  conditionTable(out, at(rs, "status.conditions"), kReasonConditions);
  events(out, ctx.events, ctx.now);
}

void describeStatefulSet(std::string& out, const json& sts, const DescribeContext& ctx) {
  const json& spec = at(sts, "spec");
  put(out, 0, "Name:\t" + str(sts, "metadata.name") + "\n");
  put(out, 0, "Namespace:\t" + str(sts, "metadata.namespace") + "\n");
  creationTimestamp(out, sts);
  put(out, 0, "Selector:\t" + selectorText(at(spec, "selector")) + "\n");
  labels(out, "", "Labels", at(sts, "metadata.labels"));
  annotations(out, "Annotations", at(sts, "metadata.annotations"));
  put(out, 0,
      "Replicas:\t" + str(spec, "replicas") + " desired | " +
          std::to_string(at(sts, "status").value("replicas", 0)) + " total\n");
  put(out, 0, "Update Strategy:\t" + str(spec, "updateStrategy.type") + "\n");
  if (const json& ru = at(spec, "updateStrategy.rollingUpdate"); ru.contains("partition")) {
    put(out, 1, "Partition:\t" + text(ru["partition"]) + "\n");
    if (ru.contains("maxUnavailable")) {
      put(out, 1, "MaxUnavailable:\t" + intOrString(ru["maxUnavailable"]) + "\n");
    }
  }
  put(out, 0, "Pods Status:\t" + podPhaseCounts(ctx.pods, sts) + "\n");
  podTemplate(out, at(spec, "template"));
  if (asArray(at(spec, "volumeClaimTemplates")).empty()) {
    put(out, 0, "Volume Claims:\t<none>\n");
  } else {
    put(out, 0, "Volume Claims:\n");
    for (const json& pvc : spec["volumeClaimTemplates"]) {
      put(out, 1, "Name:\t" + str(pvc, "metadata.name") + "\n");
      put(out, 1, "StorageClass:\t" + str(pvc, "spec.storageClassName") + "\n");
      labels(out, "  ", "Labels", at(pvc, "metadata.labels"));
      labels(out, "  ", "Annotations", at(pvc, "metadata.annotations"));
      put(out, 1,
          "Capacity:\t" + orElse(str(pvc, "spec.resources.requests.storage"), "<default>") + "\n");
      put(out, 1,
          "Access Modes:\t" +
              text(at(pvc, "spec.accessModes").is_null() ? json::array()
                                                         : at(pvc, "spec.accessModes")) +
              "\n");
    }
  }
  events(out, ctx.events, ctx.now);
}

void describeDaemonSet(std::string& out, const json& ds, const DescribeContext& ctx) {
  const json& status = at(ds, "status");
  put(out, 0, "Name:\t" + str(ds, "metadata.name") + "\n");
  put(out, 0, "Selector:\t" + selectorText(at(ds, "spec.selector")) + "\n");
  const json& nodeSelector = at(ds, "spec.template.spec.nodeSelector");
  put(out, 0,
      "Node-Selector:\t" + formatLabels(nodeSelector.is_null() ? json::object() : nodeSelector) +
          "\n");
  labels(out, "", "Labels", at(ds, "metadata.labels"));
  annotations(out, "Annotations", at(ds, "metadata.annotations"));
  auto n = [&](const char* field) { return std::to_string(status.value(field, 0)); };
  put(out, 0, "Desired Number of Nodes Scheduled: " + n("desiredNumberScheduled") + "\n");
  put(out, 0, "Current Number of Nodes Scheduled: " + n("currentNumberScheduled") + "\n");
  put(out, 0,
      "Number of Nodes Scheduled with Up-to-date Pods: " + n("updatedNumberScheduled") + "\n");
  put(out, 0, "Number of Nodes Scheduled with Available Pods: " + n("numberAvailable") + "\n");
  put(out, 0, "Number of Nodes Misscheduled: " + n("numberMisscheduled") + "\n");
  put(out, 0, "Pods Status:\t" + podPhaseCounts(ctx.pods, ds) + "\n");
  podTemplate(out, at(ds, "spec.template"));
  events(out, ctx.events, ctx.now);
}

void describeJob(std::string& out, const json& job, const DescribeContext& ctx) {
  const json& spec = at(job, "spec");
  const json& status = at(job, "status");
  put(out, 0, "Name:\t" + str(job, "metadata.name") + "\n");
  put(out, 0, "Namespace:\t" + str(job, "metadata.namespace") + "\n");
  put(out, 0, "Selector:\t" + selectorText(at(spec, "selector")) + "\n");
  labels(out, "", "Labels", at(job, "metadata.labels"));
  annotations(out, "Annotations", at(job, "metadata.annotations"));
  controlledBy(out, job);
  // Optional fields print only when set, in kubectl's order.
  static const std::vector<std::pair<const char*, const char*>> kOptional = {
      {"parallelism", "Parallelism"}};
  for (const auto& [field, title] : kOptional) {
    if (spec.contains(field)) put(out, 0, std::string(title) + ":\t" + text(spec[field]) + "\n");
  }
  put(out, 0, "Completions:\t" + orElse(str(spec, "completions"), "<unset>") + "\n");
  static const std::vector<std::pair<const char*, const char*>> kMore = {
      {"completionMode", "Completion Mode"},
      {"suspend", "Suspend"},
      {"backoffLimit", "Backoff Limit"},
      {"ttlSecondsAfterFinished", "TTL Seconds After Finished"}};
  for (const auto& [field, title] : kMore) {
    if (spec.contains(field)) put(out, 0, std::string(title) + ":\t" + text(spec[field]) + "\n");
  }
  const std::string start = str(status, "startTime"), done = str(status, "completionTime");
  if (!start.empty()) put(out, 0, "Start Time:\t" + rfc1123(start) + "\n");
  if (!done.empty()) put(out, 0, "Completed At:\t" + rfc1123(done) + "\n");
  if (!start.empty() && !done.empty()) {
    put(out, 0, "Duration:\t" + since(start, parseTime(done).value_or(ctx.now)) + "\n");
  }
  if (spec.contains("activeDeadlineSeconds")) {
    put(out, 0, "Active Deadline Seconds:\t" + text(spec["activeDeadlineSeconds"]) + "s\n");
  }
  auto n = [&](const char* field) { return std::to_string(status.value(field, 0)); };
  put(out, 0,
      "Pods Statuses:\t" + n("active") +
          (status.contains("ready") ? " Active (" + n("ready") + " Ready) / " : " Active / ") +
          n("succeeded") + " Succeeded / " + n("failed") + " Failed\n");
  if (str(spec, "completionMode") == "Indexed") {
    put(out, 0, "Completed Indexes:\t" + orElse(str(status, "completedIndexes"), "<none>") + "\n");
  }
  podTemplate(out, at(spec, "template"));
  events(out, ctx.events, ctx.now);
}

void describeCronJob(std::string& out, const json& cj, const DescribeContext& ctx) {
  const json& spec = at(cj, "spec");
  header(out, cj);
  put(out, 0, "Schedule:\t" + str(spec, "schedule") + "\n");
  put(out, 0, "Concurrency Policy:\t" + str(spec, "concurrencyPolicy") + "\n");
  const json& suspend = at(spec, "suspend");
  put(out, 0,
      std::string("Suspend:\t") +
          (suspend.is_null()     ? "<unset>"
           : suspend.get<bool>() ? "True"
                                 : "False") +
          "\n");
  auto optional = [&](const char* title, const char* field, const char* unit) {
    put(out, 0,
        std::string(title) + ":\t" +
            (spec.contains(field) ? text(spec[field]) + unit : std::string("<unset>")) + "\n");
  };
  optional("Successful Job History Limit", "successfulJobsHistoryLimit", "");
  optional("Failed Job History Limit", "failedJobsHistoryLimit", "");
  optional("Starting Deadline Seconds", "startingDeadlineSeconds", "s");
  const json& jobSpec = at(spec, "jobTemplate.spec");
  put(out, 0,
      "Selector:\t" +
          (jobSpec.contains("selector") ? selectorText(jobSpec["selector"]) : "<unset>") + "\n");
  for (const auto& [title, field] :
       {std::pair{"Parallelism", "parallelism"}, std::pair{"Completions", "completions"}}) {
    put(out, 0, std::string(title) + ":\t" + orElse(str(jobSpec, field), "<unset>") + "\n");
  }
  if (jobSpec.contains("activeDeadlineSeconds")) {
    put(out, 0, "Active Deadline Seconds:\t" + text(jobSpec["activeDeadlineSeconds"]) + "s\n");
  }
  podTemplate(out, at(jobSpec, "template"));
  const std::string last = str(cj, "status.lastScheduleTime");
  put(out, 0, "Last Schedule Time:\t" + (last.empty() ? "<unset>" : rfc1123(last)) + "\n");
  std::string active;
  for (const json& ref : asArray(at(cj, "status.active"))) {
    active += (active.empty() ? "" : ", ") + str(ref, "name");
  }
  put(out, 0, "Active Jobs:\t" + orElse(active, "<none>") + "\n");
  events(out, ctx.events, ctx.now);
}

// ---- networking -----------------------------------------------------------------------

// The ready endpoints of the slices serving port `portName`: "10.0.0.1:8080,... + N more...".
std::string sliceEndpoints(const json& slices, const std::string& portName) {
  std::vector<std::string> list;
  size_t count = 0;
  bool more = false;
  for (const json& slice : asArray(slices)) {
    for (const json& port : asArray(at(slice, "ports"))) {
      if (str(port, "name") != portName) continue;
      for (const json& ep : asArray(at(slice, "endpoints"))) {
        if (list.size() == 3) more = true;
        const json& ready = at(ep, "conditions.ready");
        if (!ready.is_null() && !ready.get<bool>()) continue;
        const std::string addr =
            asArray(at(ep, "addresses")).empty() ? "" : text(ep["addresses"][0]);
        if (!more) {
          const bool v6 = addr.find(':') != std::string::npos;
          list.push_back((v6 ? "[" + addr + "]" : addr) + ":" + str(port, "port"));
        }
        ++count;
      }
    }
  }
  if (asArray(slices).empty()) return "<none>";
  std::string out;
  for (const auto& s : list) out += (out.empty() ? "" : ",") + s;
  if (more) out += " + " + std::to_string(count - 3) + " more...";
  return out;
}

std::string joined(const json& list, const char* sep) {
  std::string out;
  for (const json& v : asArray(list)) out += (out.empty() ? "" : sep) + text(v);
  return out;
}

void describeService(std::string& out, const json& svc, const DescribeContext& ctx) {
  const json& spec = at(svc, "spec");
  header(out, svc);
  const json& selector = at(spec, "selector");
  put(out, 0, "Selector:\t" + formatLabels(selector.is_null() ? json::object() : selector) + "\n");
  put(out, 0, "Type:\t" + str(spec, "type") + "\n");
  if (spec.contains("ipFamilyPolicy")) {
    put(out, 0, "IP Family Policy:\t" + str(spec, "ipFamilyPolicy") + "\n");
  }
  put(out, 0, "IP Families:\t" + orElse(joined(at(spec, "ipFamilies"), ","), "<none>") + "\n");
  put(out, 0, "IP:\t" + str(spec, "clusterIP") + "\n");
  put(out, 0, "IPs:\t" + orElse(joined(at(spec, "clusterIPs"), ","), "<none>") + "\n");
  if (!asArray(at(spec, "externalIPs")).empty()) {
    put(out, 0, "External IPs:\t" + joined(spec["externalIPs"], ",") + "\n");
  }
  if (!str(spec, "loadBalancerIP").empty()) {
    put(out, 0, "Desired LoadBalancer IP:\t" + str(spec, "loadBalancerIP") + "\n");
  }
  if (!str(spec, "externalName").empty()) {
    put(out, 0, "External Name:\t" + str(spec, "externalName") + "\n");
  }
  std::string ingress;
  for (const json& i : asArray(at(svc, "status.loadBalancer.ingress"))) {
    ingress += (ingress.empty() ? "" : ", ") + orElse(str(i, "ip"), str(i, "hostname"));
    if (!str(i, "ipMode").empty()) ingress += " (" + str(i, "ipMode") + ")";  // kubectl 1.30+
  }
  if (!ingress.empty()) put(out, 0, "LoadBalancer Ingress:\t" + ingress + "\n");
  for (const json& p : asArray(at(spec, "ports"))) {
    const std::string name = orElse(str(p, "name"), "<unset>");
    const std::string proto = orElse(str(p, "protocol"), "TCP");
    put(out, 0, "Port:\t" + name + "\t" + str(p, "port") + "/" + proto + "\n");
    put(out, 0, "TargetPort:\t" + str(p, "targetPort") + "/" + proto + "\n");
    if (p.contains("appProtocol")) put(out, 0, "AppProtocol:\t" + str(p, "appProtocol") + "\n");
    if (p.value("nodePort", 0) != 0) {
      put(out, 0, "NodePort:\t" + name + "\t" + str(p, "nodePort") + "/" + proto + "\n");
    }
    put(out, 0, "Endpoints:\t" + sliceEndpoints(ctx.endpointSlices, str(p, "name")) + "\n");
  }
  put(out, 0, "Session Affinity:\t" + str(spec, "sessionAffinity") + "\n");
  static const std::vector<std::pair<const char*, const char*>> kPolicies = {
      {"externalTrafficPolicy", "External Traffic Policy"},
      {"internalTrafficPolicy", "Internal Traffic Policy"},
      {"healthCheckNodePort", "HealthCheck NodePort"},
      {"trafficDistribution", "Traffic Distribution"}};
  for (const auto& [field, title] : kPolicies) {
    if (!str(spec, field).empty())
      put(out, 0, std::string(title) + ":\t" + str(spec, field) + "\n");
  }
  events(out, ctx.events, ctx.now);
}

void describeEndpoints(std::string& out, const json& ep, const DescribeContext& ctx) {
  header(out, ep);
  put(out, 0, "Subsets:\n");
  auto ips = [](const json& addresses) {
    std::string s;
    for (const json& a : asArray(addresses)) s += (s.empty() ? "" : ",") + str(a, "ip");
    return orElse(s, "<none>");
  };
  for (const json& subset : asArray(at(ep, "subsets"))) {
    put(out, 1, "Addresses:\t" + ips(at(subset, "addresses")) + "\n");
    put(out, 1, "NotReadyAddresses:\t" + ips(at(subset, "notReadyAddresses")) + "\n");
    if (!asArray(at(subset, "ports")).empty()) {
      put(out, 1, "Ports:\n");
      put(out, 2, "Name\tPort\tProtocol\n");
      put(out, 2, "----\t----\t--------\n");
      for (const json& p : subset["ports"]) {
        put(out, 2,
            orElse(str(p, "name"), "<unset>") + "\t" + str(p, "port") + "\t" + str(p, "protocol") +
                "\n");
      }
    }
    out += "\n";
  }
  events(out, ctx.events, ctx.now);
}

// ---- config and storage ---------------------------------------------------------------

void describeConfigMap(std::string& out, const json& cm, const DescribeContext& ctx) {
  header(out, cm);
  out += "\nData\n====\n";
  for (const auto& [k, v] : asObject(at(cm, "data")).items()) {
    out += k + ":\n----\n" + text(v) + "\n\n";
  }
  out += "\nBinaryData\n====\n";
  for (const auto& [k, v] : asObject(at(cm, "binaryData")).items()) {
    // The API carries base64; kubectl counts decoded bytes.
    const std::string b64 = text(v);
    size_t pad = b64.size() - b64.find_last_not_of('=') - 1;
    out += k + ": " + std::to_string(b64.size() / 4 * 3 - pad) + " bytes\n";
  }
  out += "\n";
  events(out, ctx.events, ctx.now);
}

void describeSecret(std::string& out, const json& secret, const DescribeContext&) {
  header(out, secret);
  out += "\nType:\t" + str(secret, "type") + "\n";
  out += "\nData\n====\n";
  const bool token = str(secret, "type") == "kubernetes.io/service-account-token";
  for (const auto& [k, v] : asObject(at(secret, "data")).items()) {
    const std::string b64 = text(v);
    const size_t pad = b64.empty() ? 0 : b64.size() - b64.find_last_not_of('=') - 1;
    const size_t bytes = b64.size() / 4 * 3 - pad;
    out += k + ":\t" + (token && k == "token" ? b64 : std::to_string(bytes) + " bytes") + "\n";
  }
}

std::string accessModes(const json& modes) {
  static const std::vector<std::pair<const char*, const char*>> kShort = {
      {"ReadWriteOnce", "RWO"},
      {"ReadOnlyMany", "ROX"},
      {"ReadWriteMany", "RWX"},
      {"ReadWriteOncePod", "RWOP"}};
  std::string out;
  for (const auto& [mode, abbrev] : kShort) {
    for (const json& m : asArray(modes)) {
      if (text(m) == mode) {
        out += (out.empty() ? "" : ",") + std::string(abbrev);
        break;
      }
    }
  }
  return out;
}

bool podUsesClaim(const json& pod, const std::string& claim) {
  for (const json& v : asArray(at(pod, "spec.volumes"))) {
    if (str(v, "persistentVolumeClaim.claimName") == claim) return true;
  }
  return false;
}

void describePvc(std::string& out, const json& pvc, const DescribeContext& ctx) {
  const json& spec = at(pvc, "spec");
  put(out, 0, "Name:\t" + str(pvc, "metadata.name") + "\n");
  put(out, 0, "Namespace:\t" + str(pvc, "metadata.namespace") + "\n");
  const std::string cls =
      orElse(str(spec, "storageClassName"),
             text(at(pvc, "metadata.annotations")
                      .value("volume.beta.kubernetes.io/storage-class", json(""))));
  put(out, 0, "StorageClass:\t" + cls + "\n");
  if (!str(pvc, "metadata.deletionTimestamp").empty()) {
    put(out, 0,
        "Status:\tTerminating (lasts " + since(str(pvc, "metadata.deletionTimestamp"), ctx.now) +
            ")\n");
  } else {
    put(out, 0, "Status:\t" + str(pvc, "status.phase") + "\n");
  }
  put(out, 0, "Volume:\t" + str(spec, "volumeName") + "\n");
  labels(out, "", "Labels", at(pvc, "metadata.labels"));
  annotations(out, "Annotations", at(pvc, "metadata.annotations"));
  const json& finalizers = at(pvc, "metadata.finalizers");
  put(out, 0, "Finalizers:\t" + text(finalizers.is_null() ? json::array() : finalizers) + "\n");
  const bool bound = !str(spec, "volumeName").empty();
  put(out, 0, "Capacity:\t" + (bound ? str(pvc, "status.capacity.storage") : "") + "\n");
  put(out, 0, "Access Modes:\t" + (bound ? accessModes(at(pvc, "status.accessModes")) : "") + "\n");
  if (spec.contains("volumeMode")) put(out, 0, "VolumeMode:\t" + str(spec, "volumeMode") + "\n");
  std::vector<std::string> users;
  for (const json& pod : asArray(ctx.pods)) {
    if (podUsesClaim(pod, str(pvc, "metadata.name"))) users.push_back(str(pod, "metadata.name"));
  }
  std::sort(users.begin(), users.end());
  out += "Used By:\t";
  for (size_t i = 0; i < users.size(); ++i) out += (i ? "\t" : "") + users[i] + "\n";
  if (users.empty()) out += "<none>\n";
  conditionTable(out, at(pvc, "status.conditions"),
                 {{"Type", "type", "----", true},
                  {"Status", "status", "------", true},
                  {"LastProbeTime", "lastProbeTime", "-----------------", true, true},
                  {"LastTransitionTime", "lastTransitionTime", "------------------", true, true},
                  {"Reason", "reason", "------", true},
                  {"Message", "message", "-------"}});
  events(out, ctx.events, ctx.now);
}

// ---- cluster --------------------------------------------------------------------------

void describeNamespace(std::string& out, const json& ns, const DescribeContext&) {
  header(out, ns);
  put(out, 0, "Status:\t" + str(ns, "status.phase") + "\n");
  conditionTable(out, at(ns, "status.conditions"),
                 {{"Type", "type", "----"},
                  {"Status", "status", "------"},
                  {"LastTransitionTime", "lastTransitionTime", "------------------", false, true},
                  {"Reason", "reason", "------"},
                  {"Message", "message", "-------"}});
}

// A sum of quantities the way resource.Quantity prints it: CPU in cores or millicores,
// anything else in the binary suffixes when the inputs used them, else decimal ones.
std::string quantityText(int64_t value, bool milli, bool binary) {
  if (milli) return value % 1000 == 0 ? std::to_string(value / 1000) : std::to_string(value) + "m";
  static const char* kBinary[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  static const char* kDecimal[] = {"", "k", "M", "G", "T", "P", "E"};
  const int64_t base = binary ? 1024 : 1000;
  int exp = 0;
  while (value != 0 && value % base == 0 && exp < 6) {
    value /= base;
    ++exp;
  }
  return std::to_string(value) + (binary ? kBinary[exp] : kDecimal[exp]);
}

struct ResourceSum {
  int64_t value = 0;
  bool binary = false;
  void add(const json& q, bool milli) {
    auto parsed = api::Quantity::fromJson(q);
    if (!parsed.ok()) return;
    value += milli ? parsed->milliValue() : parsed->value();
    binary |= text(q).find('i') != std::string::npos;
  }
  void add(const ResourceSum& other) {
    value += other.value;
    binary |= other.binary;
  }
};

// Requests and limits of one pod: the sum over its containers.
std::map<std::string, ResourceSum> podResources(const json& pod, const char* kind) {
  std::map<std::string, ResourceSum> sums;
  for (const json& c : asArray(at(pod, "spec.containers"))) {
    const json& list = at(c, std::string("resources.") + kind);
    if (!list.is_object()) continue;
    for (const auto& [name, q] : list.items()) sums[name].add(q, name == "cpu");
  }
  return sums;
}

std::string withPercent(const ResourceSum& sum, const std::string& name, const json& allocatable) {
  const bool milli = name == "cpu";
  auto total = api::Quantity::fromJson(allocatable.value(name, json("0")));
  const int64_t of = total.ok() ? (milli ? total->milliValue() : total->value()) : 0;
  const int64_t percent = of == 0 ? 0 : static_cast<int64_t>(double(sum.value) / double(of) * 100);
  return quantityText(sum.value, milli, sum.binary) + " (" + std::to_string(percent) + "%)";
}

void nodePods(std::string& out, const json& node, const DescribeContext& ctx) {
  const json& allocatable = at(node, "status.allocatable").is_object()
                                ? node["status"]["allocatable"]
                                : at(node, "status.capacity");
  put(out, 0,
      "Non-terminated Pods:\t(" + std::to_string(asArray(ctx.pods).size()) + " in total)\n");
  put(out, 1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n");
  put(out, 1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n");
  std::map<std::string, ResourceSum> totalReq, totalLim;
  for (const json& pod : asArray(ctx.pods)) {
    auto req = podResources(pod, "requests"), lim = podResources(pod, "limits");
    for (const auto& [k, v] : req) totalReq[k].add(v);
    for (const auto& [k, v] : lim) totalLim[k].add(v);
    put(out, 1,
        str(pod, "metadata.namespace") + "\t" + str(pod, "metadata.name") + "\t\t" +
            withPercent(req["cpu"], "cpu", allocatable) + "\t" +
            withPercent(lim["cpu"], "cpu", allocatable) + "\t" +
            withPercent(req["memory"], "memory", allocatable) + "\t" +
            withPercent(lim["memory"], "memory", allocatable) + "\t" +
            since(str(pod, "metadata.creationTimestamp"), ctx.now) + "\n");
  }
  out += "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n";
  put(out, 1, "Resource\tRequests\tLimits\n");
  put(out, 1, "--------\t--------\t------\n");
  for (const char* name : {"cpu", "memory", "ephemeral-storage"}) {
    put(out, 1,
        std::string(name) + "\t" + withPercent(totalReq[name], name, allocatable) + "\t" +
            withPercent(totalLim[name], name, allocatable) + "\n");
  }
}

void describeNode(std::string& out, const json& node, const DescribeContext& ctx) {
  const json& status = at(node, "status");
  put(out, 0, "Name:\t" + str(node, "metadata.name") + "\n");
  std::vector<std::string> roles;
  for (const auto& [k, v] : asObject(at(node, "metadata.labels")).items()) {
    const std::string prefix = "node-role.kubernetes.io/";
    if (k.starts_with(prefix) && k.size() > prefix.size()) roles.push_back(k.substr(prefix.size()));
    if (k == "kubernetes.io/role" && !text(v).empty()) roles.push_back(text(v));
  }
  std::sort(roles.begin(), roles.end());
  roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
  std::string roleText;
  for (const auto& r : roles) roleText += (roleText.empty() ? "" : ",") + r;
  put(out, 0, "Roles:\t" + orElse(roleText, "<none>") + "\n");
  labels(out, "", "Labels", at(node, "metadata.labels"));
  annotations(out, "Annotations", at(node, "metadata.annotations"));
  creationTimestamp(out, node);
  taints(out, at(node, "spec.taints"));
  put(out, 0,
      "Unschedulable:\t" +
          std::string(at(node, "spec.unschedulable").is_boolean() &&
                              node["spec"]["unschedulable"].get<bool>()
                          ? "true"
                          : "false") +
          "\n");
  put(out, 0, "Lease:\n");
  auto leaseField = [&](const char* title, const char* field, bool time) {
    const std::string v = str(ctx.lease, std::string("spec.") + field);
    put(out, 1,
        std::string(title) + ":\t" +
            (v.empty() ? "<unset>"
             : time    ? rfc1123(v)
                       : v) +
            "\n");
  };
  leaseField("HolderIdentity", "holderIdentity", false);
  leaseField("AcquireTime", "acquireTime", true);
  leaseField("RenewTime", "renewTime", true);
  conditionTable(out, at(status, "conditions"),
                 {{"Type", "type", "----", true},
                  {"Status", "status", "------", true},
                  {"LastHeartbeatTime", "lastHeartbeatTime", "-----------------", true, true},
                  {"LastTransitionTime", "lastTransitionTime", "------------------", true, true},
                  {"Reason", "reason", "------", true},
                  {"Message", "message", "-------"}});
  put(out, 0, "Addresses:\n");
  for (const json& a : asArray(at(status, "addresses"))) {
    put(out, 1, str(a, "type") + ":\t" + str(a, "address") + "\n");
  }
  for (const auto& [field, title] :
       {std::pair{"capacity", "Capacity"}, std::pair{"allocatable", "Allocatable"}}) {
    const json& list = at(status, field);
    if (!list.is_object() || list.empty()) continue;
    put(out, 0, std::string(title) + ":\n");
    for (const auto& [name, q] : list.items()) put(out, 1, name + ":\t" + text(q) + "\n");
  }
  put(out, 0, "System Info:\n");
  static const std::vector<std::pair<const char*, const char*>> kInfo = {
      {"Machine ID", "machineID"},
      {"System UUID", "systemUUID"},
      {"Boot ID", "bootID"},
      {"Kernel Version", "kernelVersion"},
      {"OS Image", "osImage"},
      {"Operating System", "operatingSystem"},
      {"Architecture", "architecture"},
      {"Container Runtime Version", "containerRuntimeVersion"},
      {"Kubelet Version", "kubeletVersion"},
      {"Kube-Proxy Version", "kubeProxyVersion"}};
  for (const auto& [title, field] : kInfo) {
    put(out, 1, std::string(title) + ":\t" + str(status, std::string("nodeInfo.") + field) + "\n");
  }
  if (!str(node, "spec.podCIDR").empty())
    put(out, 0, "PodCIDR:\t" + str(node, "spec.podCIDR") + "\n");
  if (!asArray(at(node, "spec.podCIDRs")).empty()) {
    put(out, 0, "PodCIDRs:\t" + joined(node["spec"]["podCIDRs"], ",") + "\n");
  }
  if (!str(node, "spec.providerID").empty()) {
    put(out, 0, "ProviderID:\t" + str(node, "spec.providerID") + "\n");
  }
  nodePods(out, node, ctx);
  events(out, ctx.events, ctx.now);
}

void describeGeneric(std::string& out, const json& object, const DescribeContext& ctx) {
  header(out, object);
  events(out, ctx.events, ctx.now);
}

using Layout = std::function<void(std::string&, const json&, const DescribeContext&)>;

struct KindLayout {
  const char* resource;
  Layout layout;
  DescribeNeeds needs;
};

const std::vector<KindLayout>& layouts() {
  static const std::vector<KindLayout> kLayouts = {
      {"pods", describePod, {}},
      {"deployments", describeDeployment, {.replicaSets = true}},
      {"replicasets", describeReplicaSet, {.pods = true}},
      {"statefulsets", describeStatefulSet, {.pods = true}},
      {"daemonsets", describeDaemonSet, {.pods = true}},
      {"jobs", describeJob, {}},
      {"cronjobs", describeCronJob, {}},
      {"services", describeService, {.endpointSlices = true}},
      {"endpoints", describeEndpoints, {}},
      {"nodes", describeNode, {.pods = true, .lease = true}},
      {"namespaces", describeNamespace, {.events = false}},
      {"configmaps", describeConfigMap, {}},
      {"secrets", describeSecret, {.events = false}},
      {"persistentvolumeclaims", describePvc, {.pods = true}},
  };
  return kLayouts;
}

const KindLayout* layoutFor(const api::KindInfo& kind) {
  for (const auto& l : layouts()) {
    if (kind.resource == l.resource &&
        (kind.group.empty() || kind.group == "apps" || kind.group == "batch")) {
      return &l;
    }
  }
  return nullptr;
}

}  // namespace

DescribeNeeds describeNeeds(const api::KindInfo& kind) {
  const auto* l = layoutFor(kind);
  return l ? l->needs : DescribeNeeds{};
}

std::string describeObject(const api::KindInfo& kind, const json& object,
                           const DescribeContext& context) {
  std::string out;
  const auto* l = layoutFor(kind);
  (l ? l->layout : Layout(describeGeneric))(out, object, context);
  return alignTabbed(out);
}

std::string eventAge(const json& event, std::chrono::system_clock::time_point now) {
  const std::string first = !str(event, "eventTime").empty()
                                ? since(str(event, "eventTime"), now)
                                : since(str(event, "firstTimestamp"), now);
  if (const json& series = at(event, "series"); series.is_object()) {
    return since(str(series, "lastObservedTime"), now) + " (x" + str(series, "count") + " over " +
           first + ")";
  }
  if (event.value("count", 0) > 1) {
    return since(str(event, "lastTimestamp"), now) + " (x" + str(event, "count") + " over " +
           first + ")";
  }
  return first;
}

std::string rfc1123(const std::string& timestamp) {
  auto t = parseTime(timestamp);
  if (!t) return "";
  const std::time_t secs = std::chrono::system_clock::to_time_t(*t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string describeProbe(const json& probe) {
  auto n = [&](const char* field, int fallback) {
    return std::to_string(probe.value(field, fallback));
  };
  const std::string attrs =
      "delay=" + n("initialDelaySeconds", 0) + "s timeout=" + n("timeoutSeconds", 1) +
      "s period=" + n("periodSeconds", 10) + "s #success=" + n("successThreshold", 1) +
      " #failure=" + n("failureThreshold", 3);
  if (const json& exec = at(probe, "exec"); exec.is_object()) {
    return "exec " + text(exec.value("command", json::array())) + " " + attrs;
  }
  if (const json& get = at(probe, "httpGet"); get.is_object()) {
    std::string scheme = orElse(str(get, "scheme"), "HTTP");
    for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string host = str(get, "host");
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    const std::string port = str(get, "port");
    std::string path = str(get, "path");
    if (!path.empty() && path[0] != '/') path = "/" + path;
    return "http-get " + scheme + "://" + host + (port.empty() ? "" : ":" + port) + path + " " +
           attrs;
  }
  if (const json& tcp = at(probe, "tcpSocket"); tcp.is_object()) {
    return "tcp-socket " + str(tcp, "host") + ":" + str(tcp, "port") + " " + attrs;
  }
  if (const json& grpc = at(probe, "grpc"); grpc.is_object()) {
    return "grpc <pod>:" + str(grpc, "port") + " " + str(grpc, "service") + " " + attrs;
  }
  return "unknown " + attrs;
}

}  // namespace kd::cli

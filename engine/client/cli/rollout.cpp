#include "engine/client/cli/rollout.h"

#include <ostream>
#include <thread>

#include "engine/api/selectors.h"
#include "engine/client/cli/commands.h"
#include "engine/client/cli/describe_parts.h"
#include "engine/client/cli/table_printer.h"

namespace kd::cli {

using describe::asArray;
using describe::at;
using describe::str;

namespace {

constexpr const char* kRevisionAnnotation = "deployment.kubernetes.io/revision";
constexpr const char* kChangeCause = "kubernetes.io/change-cause";

int64_t num(const json& object, std::string_view path) {
  const json& v = at(object, path);
  return v.is_number() ? v.get<int64_t>() : 0;
}

std::string quoted(const json& object) {
  return "\"" + str(object, "metadata.name") + "\"";
}

RolloutStatus deploymentStatus(const json& d) {
  const std::string name = quoted(d);
  if (num(d, "metadata.generation") > num(d, "status.observedGeneration")) {
    return {"Waiting for deployment spec update to be observed...\n", false, {}};
  }
  for (const json& c : asArray(at(d, "status.conditions"))) {
    if (str(c, "type") == "Progressing" && str(c, "reason") == "ProgressDeadlineExceeded") {
      return {"", false,
              Status::badRequest("deployment " + name + " exceeded its progress deadline")};
    }
  }
  const int64_t want = at(d, "spec.replicas").is_number() ? num(d, "spec.replicas") : 1;
  const int64_t updated = num(d, "status.updatedReplicas"), total = num(d, "status.replicas");
  const int64_t available = num(d, "status.availableReplicas");
  const std::string waiting = "Waiting for deployment " + name + " rollout to finish: ";
  if (updated < want) {
    return {waiting + std::to_string(updated) + " out of " + std::to_string(want) +
                " new replicas have been updated...\n",
            false,
            {}};
  }
  if (total > updated) {
    return {
        waiting + std::to_string(total - updated) + " old replicas are pending termination...\n",
        false,
        {}};
  }
  if (available < updated) {
    return {waiting + std::to_string(available) + " of " + std::to_string(updated) +
                " updated replicas are available...\n",
            false,
            {}};
  }
  return {"deployment " + name + " successfully rolled out\n", true, {}};
}

Status onlyRollingUpdate() {
  return Status::badRequest("rollout status is only available for RollingUpdate strategy type");
}

RolloutStatus daemonSetStatus(const json& ds) {
  if (str(ds, "spec.updateStrategy.type") != "RollingUpdate")
    return {"", true, onlyRollingUpdate()};
  if (num(ds, "metadata.generation") > num(ds, "status.observedGeneration")) {
    return {"Waiting for daemon set spec update to be observed...\n", false, {}};
  }
  const std::string waiting = "Waiting for daemon set " + quoted(ds) + " rollout to finish: ";
  const int64_t desired = num(ds, "status.desiredNumberScheduled");
  const int64_t updated = num(ds, "status.updatedNumberScheduled");
  const int64_t available = num(ds, "status.numberAvailable");
  if (updated < desired) {
    return {waiting + std::to_string(updated) + " out of " + std::to_string(desired) +
                " new pods have been updated...\n",
            false,
            {}};
  }
  if (available < desired) {
    return {waiting + std::to_string(available) + " of " + std::to_string(desired) +
                " updated pods are available...\n",
            false,
            {}};
  }
  return {"daemon set " + quoted(ds) + " successfully rolled out\n", true, {}};
}

RolloutStatus statefulSetStatus(const json& sts) {
  if (str(sts, "spec.updateStrategy.type") != "RollingUpdate") {
    return {"", true, onlyRollingUpdate()};
  }
  const int64_t observed = num(sts, "status.observedGeneration");
  if (observed == 0 || num(sts, "metadata.generation") > observed) {
    return {"Waiting for statefulset spec update to be observed...\n", false, {}};
  }
  const int64_t replicas = at(sts, "spec.replicas").is_number() ? num(sts, "spec.replicas") : 1;
  const int64_t ready = num(sts, "status.readyReplicas");
  const int64_t updated = num(sts, "status.updatedReplicas");
  if (ready < replicas) {
    return {
        "Waiting for " + std::to_string(replicas - ready) + " pods to be ready...\n", false, {}};
  }
  const json& rolling = at(sts, "spec.updateStrategy.rollingUpdate");
  if (rolling.is_object()) {
    if (rolling.contains("partition") && updated < replicas - num(rolling, "partition")) {
      return {"Waiting for partitioned roll out to finish: " + std::to_string(updated) +
                  " out of " + std::to_string(replicas - num(rolling, "partition")) +
                  " new pods have been updated...\n",
              false,
              {}};
    }
    return {"partitioned roll out complete: " + std::to_string(updated) +
                " new pods have been updated...\n",
            true,
            {}};
  }
  const std::string update = str(sts, "status.updateRevision");
  if (update != str(sts, "status.currentRevision")) {
    return {"waiting for statefulset rolling update to complete " + std::to_string(updated) +
                " pods at revision " + update + "...\n",
            false,
            {}};
  }
  return {"statefulset rolling update complete " +
              std::to_string(num(sts, "status.currentReplicas")) + " pods at revision " +
              str(sts, "status.currentRevision") + "...\n",
          true,
          {}};
}

bool controlledBy(const json& object, const json& owner) {
  for (const json& ref : asArray(at(object, "metadata.ownerReferences"))) {
    if (ref.value("controller", false) && str(ref, "uid") == str(owner, "metadata.uid")) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string qualifiedName(const api::KindInfo& kind, const std::string& name) {
  return kind.resource + (kind.group.empty() ? "" : "." + kind.group) + " \"" + name + "\"";
}

RolloutStatus rolloutStatus(const api::KindInfo& kind, const json& object) {
  if (kind.resource == "deployments") return deploymentStatus(object);
  if (kind.resource == "daemonsets") return daemonSetStatus(object);
  if (kind.resource == "statefulsets") return statefulSetStatus(object);
  return {"", true, Status::badRequest("no status viewer has been implemented for " + kind.kind)};
}

RevisionHistory revisionHistory(const api::KindInfo& kind, const json& owner,
                                const json& candidates) {
  RevisionHistory history;
  const bool replicaSets = kind.resource == "deployments";
  for (const json& item : asArray(candidates)) {
    if (!controlledBy(item, owner)) continue;
    Revision r;
    int64_t number = 0;
    if (replicaSets) {
      try {
        number = std::stoll(describe::text(describe::asObject(at(item, "metadata.annotations"))
                                               .value(kRevisionAnnotation, json())));
      } catch (...) {
        continue;
      }
      r.podTemplate = at(item, "spec.template");
    } else {
      number = num(item, "revision");
      r.podTemplate = at(item, "data.spec.template");
      r.podTemplate.erase("$patch");
    }
    r.annotations = describe::asObject(at(item, "metadata.annotations"));
    r.changeCause = r.annotations.value(kChangeCause, "");
    r.causeInTemplate = replicaSets && !r.changeCause.empty();
    history[number] = std::move(r);
  }
  return history;
}

Result<std::string> historyText(const RevisionHistory& history, int64_t revision) {
  if (history.empty()) return std::string("No rollout history found.");
  if (revision > 0) {
    auto it = history.find(revision);
    if (it == history.end()) return Status::badRequest("unable to find the specified revision");
    json templ = it->second.podTemplate;
    if (it->second.causeInTemplate) {
      templ["metadata"]["annotations"][kChangeCause] = it->second.changeCause;
    }
    std::string out;
    describe::podTemplate(out, templ);
    return out;
  }
  std::string table = "REVISION\tCHANGE-CAUSE\n";
  for (const auto& [number, r] : history) {
    table +=
        std::to_string(number) + "\t" + (r.changeCause.empty() ? "<none>" : r.changeCause) + "\n";
  }
  return alignTabbed(table);
}

}  // namespace kd::cli

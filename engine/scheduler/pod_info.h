#pragma once
// The parts of a pod the scheduler reads, parsed once from its JSON: requests, host ports,
// node selection (nodeSelector, node affinity), tolerations and pod (anti-)affinity.

#include <optional>
#include <string>
#include <vector>

#include "engine/api/selectors.h"
#include "engine/scheduler/resources.h"

namespace kd::scheduler {

struct HostPort {
  std::string ip;  // "" and "0.0.0.0" mean every address
  std::string protocol;
  int port = 0;
};

struct Toleration {
  std::string key, op, value, effect;  // op "Equal" or "Exists"
};

struct Taint {
  std::string key, value, effect;
};

// One matchExpressions / matchFields requirement of a NodeSelectorTerm.
struct NodeRequirement {
  std::string key, op;  // In, NotIn, Exists, DoesNotExist, Gt, Lt
  std::vector<std::string> values;
};

struct NodeSelectorTerm {
  std::vector<NodeRequirement> matchExpressions;  // on node labels
  std::vector<NodeRequirement> matchFields;       // on metadata.name only
};

struct PreferredNodeTerm {
  int weight = 0;
  NodeSelectorTerm term;
};

struct PodAffinityTerm {
  api::LabelSelector selector = api::LabelSelector::nothing();
  std::vector<std::string> namespaces;  // empty with allNamespaces false: the pod's own
  bool allNamespaces = false;           // namespaceSelector: {}
  std::string topologyKey;
};

struct PodInfo {
  std::string key;  // "namespace/name"
  std::string ns, name;
  api::Labels labels;
  std::string nodeName;       // spec.nodeName (the NodeName filter)
  std::string controllerUid;  // the controlling owner, for spreading replicas
  ResourceList requests, nonZeroRequests;
  std::vector<HostPort> hostPorts;
  api::Labels nodeSelector;
  std::optional<std::vector<NodeSelectorTerm>> requiredNodeTerms;  // ORed
  std::vector<PreferredNodeTerm> preferredNodeTerms;
  std::vector<Toleration> tolerations;
  std::vector<PodAffinityTerm> requiredAffinity, requiredAntiAffinity;
  std::string preemptionPolicy;
  // VolumeBinding: the pod's persistentVolumeClaim volumes (claim names). The scheduler fills
  // in what their bound volumes require: per volume, one of its terms must match the node;
  // a non-empty volumeProblem (a missing claim, an unbound Immediate claim) fits nowhere.
  std::vector<std::string> claimNames;
  std::vector<std::vector<NodeSelectorTerm>> volumeNodeTerms;
  std::string volumeProblem;
};

PodInfo parsePod(const json& pod);
// A core/v1 NodeSelectorTerm (matchExpressions, matchFields).
NodeSelectorTerm parseNodeSelectorTerm(const json& term);

bool tolerates(const std::vector<Toleration>& tolerations, const Taint& taint);
bool matchesTerm(const NodeSelectorTerm& term, const api::Labels& nodeLabels,
                 std::string_view nodeName);
// Whether `term` of a pod in `ownerNs` selects `other`.
bool termSelects(const PodAffinityTerm& term, const std::string& ownerNs, const std::string& ns,
                 const api::Labels& labels);

}  // namespace kd::scheduler

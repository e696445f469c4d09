#include "engine/scheduler/pod_info.h"

#include <algorithm>
#include <charconv>

namespace kd::scheduler {
namespace {

std::vector<std::string> strings(const json& list) {
  std::vector<std::string> out;
  if (!list.is_array()) return out;
  for (const auto& v : list) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

std::vector<NodeRequirement> requirements(const json& list) {
  std::vector<NodeRequirement> out;
  if (!list.is_array()) return out;
  for (const auto& r : list) {
    out.push_back(
        {r.value("key", ""), r.value("operator", ""), strings(r.value("values", json()))});
  }
  return out;
}

std::vector<PodAffinityTerm> affinityTerms(const json& list) {
  std::vector<PodAffinityTerm> out;
  if (!list.is_array()) return out;
  for (const auto& t : list) {
    PodAffinityTerm term;
    if (t.contains("labelSelector") && !t["labelSelector"].is_null()) {
      auto sel = api::LabelSelector::fromJson(t["labelSelector"]);
      if (sel.ok()) term.selector = std::move(sel).value();
    }
    term.namespaces = strings(t.value("namespaces", json()));
    const json& nsSelector = t.value("namespaceSelector", json());
    term.allNamespaces = nsSelector.is_object() && nsSelector.empty();
    term.topologyKey = t.value("topologyKey", "");
    out.push_back(std::move(term));
  }
  return out;
}

void parseAffinity(const json& affinity, PodInfo& info) {
  const json& node = objectField(affinity, "nodeAffinity");
  if (auto required = node.find("requiredDuringSchedulingIgnoredDuringExecution");
      required != node.end() && required->is_object()) {
    std::vector<NodeSelectorTerm> terms;
    for (const auto& t : arrayField(*required, "nodeSelectorTerms")) {
      terms.push_back(parseNodeSelectorTerm(t));
    }
    info.requiredNodeTerms = std::move(terms);
  }
  for (const auto& p : arrayField(node, "preferredDuringSchedulingIgnoredDuringExecution")) {
    info.preferredNodeTerms.push_back(
        {p.value("weight", 0), parseNodeSelectorTerm(objectField(p, "preference"))});
  }
  const char* kRequired = "requiredDuringSchedulingIgnoredDuringExecution";
  info.requiredAffinity =
      affinityTerms(arrayField(objectField(affinity, "podAffinity"), kRequired));
  info.requiredAntiAffinity =
      affinityTerms(arrayField(objectField(affinity, "podAntiAffinity"), kRequired));
}

std::vector<HostPort> hostPorts(const json& spec) {
  std::vector<HostPort> out;
  for (const char* list : {"containers", "initContainers"}) {
    for (const auto& c : arrayField(spec, list)) {
      for (const auto& p : arrayField(c, "ports")) {
        const int port = p.value("hostPort", 0);
        if (port > 0) out.push_back({p.value("hostIP", ""), p.value("protocol", "TCP"), port});
      }
    }
  }
  return out;
}

std::optional<int64_t> toInt(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

bool matchesRequirement(const NodeRequirement& r, const std::string* value) {
  const auto in = [&] {
    return value && std::find(r.values.begin(), r.values.end(), *value) != r.values.end();
  };
  if (r.op == "In") return in();
  if (r.op == "NotIn") return !in();
  if (r.op == "Exists") return value != nullptr;
  if (r.op == "DoesNotExist") return value == nullptr;
  if ((r.op == "Gt" || r.op == "Lt") && value && r.values.size() == 1) {
    auto have = toInt(*value), want = toInt(r.values[0]);
    if (!have || !want) return false;
    return r.op == "Gt" ? *have > *want : *have < *want;
  }
  return false;
}

}  // namespace

NodeSelectorTerm parseNodeSelectorTerm(const json& t) {
  if (!t.is_object()) return {};
  return {requirements(t.value("matchExpressions", json())),
          requirements(t.value("matchFields", json()))};
}

PodInfo parsePod(const json& pod) {
  PodInfo info;
  const json& meta = objectField(pod, "metadata");
  const json& spec = objectField(pod, "spec");
  info.ns = meta.value("namespace", "");
  info.name = meta.value("name", "");
  info.key = info.ns + "/" + info.name;
  info.labels = api::labelsOf(pod);
  info.nodeName = spec.value("nodeName", "");
  for (const auto& ref : arrayField(meta, "ownerReferences")) {
    if (ref.value("controller", false)) info.controllerUid = ref.value("uid", "");
  }
  info.requests = podRequests(spec);
  info.nonZeroRequests = podNonZeroRequests(spec);
  info.hostPorts = hostPorts(spec);
  for (const auto& [k, v] : objectField(spec, "nodeSelector").items()) {
    if (v.is_string()) info.nodeSelector.emplace(k, v.get<std::string>());
  }
  parseAffinity(objectField(spec, "affinity"), info);
  for (const auto& t : arrayField(spec, "tolerations")) {
    info.tolerations.push_back({t.value("key", ""), t.value("operator", "Equal"),
                                t.value("value", ""), t.value("effect", "")});
  }
  info.preemptionPolicy = spec.value("preemptionPolicy", "PreemptLowerPriority");
  for (const auto& v : arrayField(spec, "volumes")) {
    const json& claim = objectField(v, "persistentVolumeClaim");
    if (claim.contains("claimName")) info.claimNames.push_back(claim.value("claimName", ""));
  }
  return info;
}

bool tolerates(const std::vector<Toleration>& tolerations, const Taint& taint) {
  return std::any_of(tolerations.begin(), tolerations.end(), [&](const Toleration& t) {
    if (!t.effect.empty() && t.effect != taint.effect) return false;
    // An empty key with Exists tolerates every taint.
    if (!t.key.empty() && t.key != taint.key) return false;
    if (t.op == "Exists") return true;
    return (t.op.empty() || t.op == "Equal") && t.value == taint.value;
  });
}

bool matchesTerm(const NodeSelectorTerm& term, const api::Labels& nodeLabels,
                 std::string_view nodeName) {
  // A term with no requirements selects no node.
  if (term.matchExpressions.empty() && term.matchFields.empty()) return false;
  for (const auto& r : term.matchExpressions) {
    auto it = nodeLabels.find(r.key);
    if (!matchesRequirement(r, it == nodeLabels.end() ? nullptr : &it->second)) return false;
  }
  const std::string name(nodeName);
  for (const auto& r : term.matchFields) {
    if (r.key != "metadata.name" || !matchesRequirement(r, &name)) return false;
  }
  return true;
}

bool termSelects(const PodAffinityTerm& term, const std::string& ownerNs, const std::string& ns,
                 const api::Labels& labels) {
  if (!term.allNamespaces) {
    const bool listed = term.namespaces.empty()
                            ? ns == ownerNs
                            : std::find(term.namespaces.begin(), term.namespaces.end(), ns) !=
                                  term.namespaces.end();
    if (!listed) return false;
  }
  return term.selector.matches(labels);
}

}  // namespace kd::scheduler

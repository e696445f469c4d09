#include "engine/controllers/endpoints_controller.h"

#include <algorithm>
#include <map>

#include "engine/api/selectors.h"
#include "engine/controllers/controller_manager.h"
#include "engine/controllers/object_fields.h"
#include "engine/controllers/replicaset_controller.h"

namespace kd::controllers {
namespace {

// One Service port as it applies to one pod: the port the pod listens on.
struct ResolvedPort {
  std::string name;
  int port = 0;
  std::string protocol;
  auto operator<=>(const ResolvedPort&) const = default;
};
using PortSet = std::vector<ResolvedPort>;

// Holds its pod: the informer may replace its cached copy while a sync still reads this one.
struct Endpoint {
  CachedObject pod;
  bool ready;
  bool terminating;
};

// The container port named `name` with `protocol` in the pod, or 0.
int namedContainerPort(const json& pod, const std::string& name, const std::string& protocol) {
  for (const auto& c : fieldOf(pod, "spec").value("containers", json::array())) {
    for (const auto& p : c.value("ports", json::array())) {
      if (p.value("name", "") == name && p.value("protocol", "TCP") == protocol) {
        return p.value("containerPort", 0);
      }
    }
  }
  return 0;
}

PortSet resolvePorts(const json& service, const json& pod) {
  PortSet out;
  for (const auto& sp : fieldOf(service, "spec").value("ports", json::array())) {
    ResolvedPort r{sp.value("name", ""), sp.value("port", 0), sp.value("protocol", "TCP")};
    auto target = sp.find("targetPort");
    if (target != sp.end() && target->is_number_integer()) {
      r.port = target->get<int>();
    } else if (target != sp.end() && target->is_string()) {
      r.port = namedContainerPort(pod, target->get<std::string>(), r.protocol);
    }
    if (r.port > 0) out.push_back(std::move(r));
  }
  return out;
}

// Matching pods grouped by the port set they resolve to, each group sorted by pod IP.
std::map<PortSet, std::vector<Endpoint>> groupEndpoints(const json& service,
                                                        const std::vector<CachedObject>& pods,
                                                        const api::LabelSelector& selector) {
  const json& spec = fieldOf(service, "spec");
  const bool publishNotReady = spec.value("publishNotReadyAddresses", false);
  const bool wantsPorts = !spec.value("ports", json::array()).empty();
  std::map<PortSet, std::vector<Endpoint>> groups;
  for (const auto& p : pods) {
    const json& pod = *p;
    const json& status = fieldOf(pod, "status");
    const std::string phase = status.value("phase", "");
    if (status.value("podIP", "").empty() || phase == "Succeeded" || phase == "Failed") continue;
    if (!selector.matches(api::labelsOf(pod))) continue;
    PortSet ports = resolvePorts(service, pod);
    if (wantsPorts && ports.empty()) continue;
    const bool terminating = fieldOf(pod, "metadata").contains("deletionTimestamp");
    groups[std::move(ports)].push_back({p, publishNotReady || podReady(pod), terminating});
  }
  for (auto& [ports, eps] : groups) {
    std::sort(eps.begin(), eps.end(), [](const Endpoint& a, const Endpoint& b) {
      return fieldOf(*a.pod, "status").value("podIP", "") <
             fieldOf(*b.pod, "status").value("podIP", "");
    });
  }
  return groups;
}

json targetRef(const json& pod) {
  const json& meta = fieldOf(pod, "metadata");
  return {{"kind", "Pod"},
          {"namespace", meta.value("namespace", "")},
          {"name", meta.value("name", "")},
          {"uid", meta.value("uid", "")}};
}

json endpointAddress(const json& pod, const std::string& serviceName) {
  json address = {{"ip", fieldOf(pod, "status").value("podIP", "")}, {"targetRef", targetRef(pod)}};
  const json& spec = fieldOf(pod, "spec");
  if (auto node = spec.value("nodeName", ""); !node.empty()) address["nodeName"] = node;
  if (auto host = spec.value("hostname", "");
      !host.empty() && spec.value("subdomain", "") == serviceName) {
    address["hostname"] = host;
  }
  return address;
}

json portsJson(const PortSet& ports, bool namesAlways) {
  json out = json::array();
  for (const auto& p : ports) {
    json port = {{"port", p.port}, {"protocol", p.protocol}};
    if (namesAlways || !p.name.empty()) port["name"] = p.name;
    out.push_back(std::move(port));
  }
  return out;
}

json endpointsSubsets(const std::map<PortSet, std::vector<Endpoint>>& groups,
                      const std::string& serviceName, bool publishNotReady) {
  json subsets = json::array();
  for (const auto& [ports, eps] : groups) {
    json ready = json::array(), notReady = json::array();
    for (const auto& e : eps) {
      if (e.terminating && !publishNotReady) continue;
      (e.ready ? ready : notReady).push_back(endpointAddress(*e.pod, serviceName));
    }
    if (ready.empty() && notReady.empty()) continue;
    json subset = json::object();
    if (!ready.empty()) subset["addresses"] = std::move(ready);
    if (!notReady.empty()) subset["notReadyAddresses"] = std::move(notReady);
    if (!ports.empty()) subset["ports"] = portsJson(ports, false);
    subsets.push_back(std::move(subset));
  }
  return subsets;
}

json sliceEndpoint(const Endpoint& e) {
  const json& pod = *e.pod;
  json ep = {{"addresses", {fieldOf(pod, "status").value("podIP", "")}},
             {"conditions",
              {{"ready", e.ready && !e.terminating},
               {"serving", e.ready},
               {"terminating", e.terminating}}},
             {"targetRef", targetRef(pod)}};
  if (auto node = fieldOf(pod, "spec").value("nodeName", ""); !node.empty()) ep["nodeName"] = node;
  return ep;
}

// The slices the Service should have: endpoints and ports of each, in a stable order. A
// Service with no endpoints keeps one empty placeholder slice, as Kubernetes does.
std::vector<json> desiredSlices(const std::map<PortSet, std::vector<Endpoint>>& groups,
                                size_t perSlice) {
  std::vector<json> slices;
  for (const auto& [ports, eps] : groups) {
    for (size_t i = 0; i < eps.size(); i += perSlice) {
      json endpoints = json::array();
      for (size_t j = i; j < std::min(eps.size(), i + perSlice); ++j) {
        endpoints.push_back(sliceEndpoint(eps[j]));
      }
      slices.push_back({{"endpoints", std::move(endpoints)}, {"ports", portsJson(ports, true)}});
    }
  }
  if (slices.empty()) slices.push_back({{"endpoints", json::array()}});
  return slices;
}

json serviceLabels(const json& service) {
  json labels = fieldOf(service, "metadata").value("labels", json::object());
  if (fieldOf(service, "spec").value("clusterIP", "") == "None") {
    labels["service.kubernetes.io/headless"] = "";
  }
  return labels;
}

// The Service's selector, or nullopt when the Service's endpoints are not ours to manage.
std::optional<api::LabelSelector> managedSelector(const json& service) {
  const json& spec = fieldOf(service, "spec");
  const json& selector = fieldOf(spec, "selector");
  if (selector.empty() || spec.value("type", "") == "ExternalName") return std::nullopt;
  auto parsed = api::LabelSelector::fromJson({{"matchLabels", selector}});
  if (!parsed.ok()) return std::nullopt;
  return std::move(parsed).value();
}

bool sameField(const json& a, const json& b, const char* name) {
  return a.value(name, json()) == b.value(name, json());
}

}  // namespace

EndpointsController::EndpointsController(server::ObjectService& objects, int maxEndpointsPerSlice)
    : objects_(objects),
      maxEndpointsPerSlice_(std::max(1, maxEndpointsPerSlice)),
      services_(objects.kinds().byResource("", "v1", "services")),
      pods_(objects.kinds().byResource("", "v1", "pods")),
      endpoints_(objects.kinds().byResource("", "v1", "endpoints")),
      slices_(objects.kinds().byResource("discovery.k8s.io", "v1", "endpointslices")) {}

void EndpointsController::setup(ControllerManager& manager, WorkQueue& queue) {
  queue_ = &queue;
  serviceInformer_ = &manager.informer(*services_);
  podInformer_ = &manager.informer(*pods_);
  endpointsInformer_ = &manager.informer(*endpoints_);
  sliceInformer_ = &manager.informer(*slices_);
  auto byKey = [&queue](const CachedObject& obj) { queue.add(objectKey(*obj)); };
  serviceInformer_->addHandlers(
      {byKey, [byKey](const CachedObject&, const CachedObject& s) { byKey(s); }, byKey});
  podInformer_->addHandlers({[this](const CachedObject& pod) { enqueueServicesOf(*pod); },
                             [this](const CachedObject& oldPod, const CachedObject& pod) {
                               enqueueServicesOf(*oldPod);
                               if (api::labelsOf(*oldPod) != api::labelsOf(*pod)) {
                                 enqueueServicesOf(*pod);
                               }
                             },
                             [this](const CachedObject& pod) { enqueueServicesOf(*pod); }});
  // Someone else changing what we wrote gets it rewritten.
  endpointsInformer_->addHandlers(
      {nullptr, [byKey](const CachedObject&, const CachedObject& e) { byKey(e); }, byKey});
  auto byServiceLabel = [&queue](const CachedObject& slice) {
    const json& meta = fieldOf(*slice, "metadata");
    const json& labels = fieldOf(meta, "labels");
    if (labels.value(kSliceManagedByLabel, "") != kSliceManagedBy) return;
    queue.add(objectKey(meta.value("namespace", ""), labels.value(kServiceNameLabel, "")));
  };
  sliceInformer_->addHandlers(
      {byServiceLabel,
       [byServiceLabel](const CachedObject&, const CachedObject& s) { byServiceLabel(s); },
       byServiceLabel});
}

void EndpointsController::enqueueServicesOf(const json& pod) {
  const std::string ns = namespaceOf(pod);
  const auto labels = api::labelsOf(pod);
  for (const auto& service : serviceInformer_->list(ns)) {
    auto selector = managedSelector(*service);
    if (selector && selector->matches(labels)) queue_->add(objectKey(*service));
  }
}

Status EndpointsController::sync(const std::string& key) {
  auto [ns, name] = splitObjectKey(key);
  CachedObject service = serviceInformer_->get(key);
  if (!service) return removeOwned(ns, name);
  auto selector = managedSelector(*service);
  if (!selector) return {};
  const auto groups = groupEndpoints(*service, podInformer_->list(ns), *selector);
  const bool publishNotReady = fieldOf(*service, "spec").value("publishNotReadyAddresses", false);
  Status endpoints = syncEndpoints(*service, endpointsSubsets(groups, name, publishNotReady));
  json slices = desiredSlices(groups, static_cast<size_t>(maxEndpointsPerSlice_));
  Status sliced = syncSlices(*service, slices);
  return endpoints.isOk() ? sliced : endpoints;
}

Status EndpointsController::syncEndpoints(const json& service, const json& subsets) {
  const json& meta = fieldOf(service, "metadata");
  const std::string ns = meta.value("namespace", ""), name = meta.value("name", "");
  json desired = {{"apiVersion", "v1"},
                  {"kind", "Endpoints"},
                  {"metadata", {{"name", name}, {"namespace", ns}}}};
  if (json labels = serviceLabels(service); !labels.empty()) desired["metadata"]["labels"] = labels;
  if (!subsets.empty()) desired["subsets"] = subsets;

  CachedObject current = endpointsInformer_->get(objectKey(ns, name));
  if (!current) {
    auto created = objects_.create(*endpoints_, ns, std::move(desired), {});
    return created.ok() || created.status().code() == 409 ? Status() : created.status();
  }
  if (sameField(*current, desired, "subsets") &&
      sameField(fieldOf(*current, "metadata"), desired["metadata"], "labels")) {
    return {};
  }
  json updated = *current;
  updated["metadata"]["labels"] = desired["metadata"].value("labels", json::object());
  if (desired.contains("subsets")) {
    updated["subsets"] = desired["subsets"];
  } else {
    updated.erase("subsets");
  }
  return objects_.update(*endpoints_, ns, name, std::move(updated), {}).status();
}

bool EndpointsController::awaitingOwnSlices(const std::string& key, const std::string& ns) {
  // A slice the informer never shows (deleted before its ADDED event reached a relisting
  // informer) is not waited for longer than this.
  constexpr auto kUnseenLimit = std::chrono::seconds(10);
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(createdMu_);
  auto it = unseenSlices_.find(key);
  if (it == unseenSlices_.end()) return false;
  std::erase_if(it->second, [&](const CreatedSlice& c) {
    return now - c.at > kUnseenLimit || sliceInformer_->get(ns, c.name) != nullptr;
  });
  if (!it->second.empty()) return true;
  unseenSlices_.erase(it);
  return false;
}

Status EndpointsController::syncSlices(const json& service, const json& desired) {
  const json& meta = fieldOf(service, "metadata");
  const std::string ns = meta.value("namespace", ""), name = meta.value("name", "");
  const std::string key = objectKey(ns, name);
  if (awaitingOwnSlices(key, ns)) return {};
  std::vector<CachedObject> existing;
  for (const auto& slice : sliceInformer_->list(ns)) {
    const json& labels = fieldOf(fieldOf(*slice, "metadata"), "labels");
    if (labels.value(kServiceNameLabel, "") == name &&
        labels.value(kSliceManagedByLabel, "") == kSliceManagedBy) {
      existing.push_back(slice);
    }
  }
  std::sort(existing.begin(), existing.end(),
            [](const CachedObject& a, const CachedObject& b) { return nameOf(*a) < nameOf(*b); });

  json labels = serviceLabels(service);
  labels[kServiceNameLabel] = name;
  labels[kSliceManagedByLabel] = kSliceManagedBy;
  Status result;
  auto note = [&result](const Status& st) {
    if (!st.isOk() && result.isOk()) result = st;
  };
  for (size_t i = 0; i < desired.size(); ++i) {
    json slice = desired[i];
    slice["apiVersion"] = "discovery.k8s.io/v1";
    slice["kind"] = "EndpointSlice";
    slice["addressType"] = "IPv4";
    if (i >= existing.size()) {
      slice["metadata"] = {{"generateName", name + "-"},
                           {"namespace", ns},
                           {"labels", labels},
                           {"ownerReferences", json::array({controllerRefTo(service)})}};
      auto created = objects_.create(*slices_, ns, std::move(slice), {});
      note(created.status());
      if (created.ok()) {
        std::lock_guard lock(createdMu_);
        unseenSlices_[key].push_back({nameOf(created->object), std::chrono::steady_clock::now()});
      }
      continue;
    }
    const json& current = *existing[i];
    if (sameField(current, slice, "endpoints") && sameField(current, slice, "ports") &&
        fieldOf(current, "metadata").value("labels", json()) == labels) {
      continue;
    }
    json updated = current;
    updated["endpoints"] = slice["endpoints"];
    if (slice.contains("ports")) {
      updated["ports"] = slice["ports"];
    } else {
      updated.erase("ports");
    }
    updated["metadata"]["labels"] = labels;
    note(objects_.update(*slices_, ns, nameOf(current), std::move(updated), {}).status());
  }
  for (size_t i = desired.size(); i < existing.size(); ++i) {
    auto removed =
        objects_.remove(*slices_, ns, fieldOf(*existing[i], "metadata").value("name", ""), {});
    if (!removed.ok() && removed.status().code() != 404) note(removed.status());
  }
  return result;
}

Status EndpointsController::removeOwned(const std::string& ns, const std::string& name) {
  // Slices go with the Service through their ownerReference (garbage collector); Endpoints
  // carry none, so the controller removes them, as Kubernetes' endpoints controller does.
  if (!endpointsInformer_->get(objectKey(ns, name))) return {};
  auto removed = objects_.remove(*endpoints_, ns, name, {});
  return removed.ok() || removed.status().code() == 404 ? Status() : removed.status();
}

}  // namespace kd::controllers

#include "engine/controllers/volume_controller.h"

#include <algorithm>

#include "engine/api/quantity.h"
#include "engine/controllers/controller_manager.h"
#include "engine/controllers/object_fields.h"

namespace kd::controllers {
namespace {

const std::string kClaimPrefix = "claim:";
const std::string kVolumePrefix = "volume:";

std::vector<std::string> claimsOfPod(const json& pod) {
  std::vector<std::string> out;
  for (const auto& v : fieldOf(pod, "spec").value("volumes", json::array())) {
    const json& c = fieldOf(v, "persistentVolumeClaim");
    if (c.contains("claimName")) out.push_back(c.value("claimName", ""));
  }
  return out;
}

// Bytes of the "storage" entry of a resource list.
std::optional<int64_t> storageOf(const json& resources) {
  auto it = resources.find("storage");
  if (it == resources.end()) return std::nullopt;
  auto q = api::Quantity::fromJson(*it);
  if (!q.ok()) return std::nullopt;
  return q->value();
}

bool hasModes(const json& volume, const json& claim) {
  const json have = fieldOf(volume, "spec").value("accessModes", json::array());
  for (const auto& m : fieldOf(claim, "spec").value("accessModes", json::array())) {
    if (std::find(have.begin(), have.end(), m) == have.end()) return false;
  }
  return true;
}

json claimRef(const json& claim) {
  return {{"kind", "PersistentVolumeClaim"},
          {"apiVersion", "v1"},
          {"namespace", namespaceOf(claim)},
          {"name", nameOf(claim)},
          {"uid", fieldOf(claim, "metadata").value("uid", "")}};
}

}  // namespace

json defaultStorageClass() {
  return {{"apiVersion", "storage.k8s.io/v1"},
          {"kind", "StorageClass"},
          {"metadata",
           {{"name", "standard"},
            {"annotations", {{"storageclass.kubernetes.io/is-default-class", "true"}}}}},
          {"provisioner", kLocalPathProvisioner},
          {"reclaimPolicy", "Delete"},
          {"volumeBindingMode", "WaitForFirstConsumer"}};
}

VolumeController::VolumeController(server::ObjectService& objects)
    : objects_(objects),
      claims_(objects.kinds().byResource("", "v1", "persistentvolumeclaims")),
      volumes_(objects.kinds().byResource("", "v1", "persistentvolumes")),
      pods_(objects.kinds().byResource("", "v1", "pods")),
      classes_(objects.kinds().byResource("storage.k8s.io", "v1", "storageclasses")),
      events_(objects, "persistentvolume-controller") {}

void VolumeController::setup(ControllerManager& manager, WorkQueue& queue) {
  claimInformer_ = &manager.informer(*claims_);
  volumeInformer_ = &manager.informer(*volumes_);
  podInformer_ = &manager.informer(*pods_);
  classInformer_ = &manager.informer(*classes_);
  auto claim = [&queue](const CachedObject& c) { queue.add(kClaimPrefix + objectKey(*c)); };
  auto volume = [&queue](const CachedObject& v) { queue.add(kVolumePrefix + nameOf(*v)); };
  claimInformer_->addHandlers({claim,
                               [claim](const CachedObject&, const CachedObject& c) { claim(c); },
                               [&queue](const CachedObject& c) {
                                 auto v = fieldOf(*c, "spec").value("volumeName", "");
                                 if (!v.empty()) queue.add(kVolumePrefix + v);
                               }});
  // A new volume may be what a waiting claim needs.
  auto pending = [this, &queue](const CachedObject&) {
    for (const auto& c : claimInformer_->list()) {
      if (fieldOf(*c, "spec").value("volumeName", "").empty())
        queue.add(kClaimPrefix + objectKey(*c));
    }
  };
  volumeInformer_->addHandlers({[volume, pending](const CachedObject& v) {
                                  volume(v);
                                  pending(v);
                                },
                                [volume, pending](const CachedObject&, const CachedObject& v) {
                                  volume(v);
                                  pending(v);
                                },
                                nullptr});
  // A consumer being bound to a node is what WaitForFirstConsumer waits for.
  auto bound = [&queue](const CachedObject& p) {
    if (fieldOf(*p, "spec").value("nodeName", "").empty()) return;
    for (const auto& c : claimsOfPod(*p)) queue.add(kClaimPrefix + objectKey(namespaceOf(*p), c));
  };
  podInformer_->addHandlers({bound,
                             [bound](const CachedObject& o, const CachedObject& p) {
                               if (fieldOf(*o, "spec").value("nodeName", "").empty()) bound(p);
                             },
                             nullptr});
}

Status VolumeController::sync(const std::string& key) {
  if (key.starts_with(kClaimPrefix)) return syncClaim(key.substr(kClaimPrefix.size()));
  if (key.starts_with(kVolumePrefix)) return syncVolume(key.substr(kVolumePrefix.size()));
  return {};
}

std::string VolumeController::consumerNode(const json& claim) const {
  const std::string selected = fieldOf(fieldOf(claim, "metadata"), "annotations")
                                   .value("volume.kubernetes.io/selected-node", "");
  if (!selected.empty()) return selected;
  for (const auto& pod : podInformer_->list(namespaceOf(claim))) {
    const std::string node = fieldOf(*pod, "spec").value("nodeName", "");
    if (node.empty()) continue;
    const auto claims = claimsOfPod(*pod);
    if (std::find(claims.begin(), claims.end(), nameOf(claim)) != claims.end()) return node;
  }
  return "";
}

Status VolumeController::syncClaim(const std::string& key) {
  CachedObject cached = claimInformer_->get(key);
  if (!cached || fieldOf(*cached, "metadata").contains("deletionTimestamp")) return {};
  // Binding is not undoable: decide on the stored claim, not a cache that may lag behind
  // this controller's own last write.
  auto [ns, name] = splitObjectKey(key);
  auto stored = objects_.get(*claims_, ns, name);
  if (!stored.ok()) return stored.status().code() == 404 ? Status() : stored.status();
  const json claim = (*stored)->parse();
  const std::string volumeName = fieldOf(claim, "spec").value("volumeName", "");
  if (!volumeName.empty()) {
    CachedObject volume = volumeInformer_->get(volumeName);
    if (volume && fieldOf(claim, "status").value("phase", "") != "Bound")
      return bind(claim, *volume);
    return {};
  }
  const std::string className = fieldOf(claim, "spec").value("storageClassName", "");
  CachedObject storageClass = className.empty() ? nullptr : classInformer_->get(className);
  if (storageClass && storageClass->value("provisioner", "") == kLocalPathProvisioner) {
    const bool waits =
        storageClass->value("volumeBindingMode", "Immediate") == "WaitForFirstConsumer";
    const std::string node = waits ? consumerNode(claim) : "";
    if (waits && node.empty()) {
      events_.record(claim, "Normal", "WaitForFirstConsumer",
                     "waiting for first consumer to be created before binding");
      return {};
    }
    auto volume = provision(claim, *storageClass, node);
    if (!volume.ok()) return volume.status();
    return bind(claim, *volume);
  }
  if (CachedObject volume = matchingVolume(claim)) return bind(claim, *volume);
  return {};
}

Result<json> VolumeController::provision(const json& claim, const json& storageClass,
                                         const std::string& node) {
  const std::string name = "pvc-" + fieldOf(claim, "metadata").value("uid", "");
  if (CachedObject existing = volumeInformer_->get(name)) return *existing;
  const json& spec = fieldOf(claim, "spec");
  json volume = {
      {"apiVersion", "v1"},
      {"kind", "PersistentVolume"},
      {"metadata",
       {{"name", name},
        {"annotations", {{"pv.kubernetes.io/provisioned-by", kLocalPathProvisioner}}}}},
      {"spec",
       {{"capacity",
         {{"storage", fieldOf(fieldOf(spec, "resources"), "requests").value("storage", "0")}}},
        {"accessModes", spec.value("accessModes", json::array())},
        {"persistentVolumeReclaimPolicy", storageClass.value("reclaimPolicy", "Delete")},
        {"storageClassName", nameOf(storageClass)},
        {"volumeMode", spec.value("volumeMode", "Filesystem")},
        {"hostPath",
         {{"path", std::string(kLocalPathRoot) + "/" + name + "_" + namespaceOf(claim) + "_" +
                       nameOf(claim)},
          {"type", "DirectoryOrCreate"}}},
        {"claimRef", claimRef(claim)}}}};
  if (!node.empty()) {
    json expr = {{"key", "kubernetes.io/hostname"}, {"operator", "In"}, {"values", {node}}};
    volume["spec"]["nodeAffinity"] = {
        {"required", {{"nodeSelectorTerms", {{{"matchExpressions", {expr}}}}}}}};
  }
  auto created = objects_.create(*volumes_, "", std::move(volume), {});
  if (!created.ok()) {
    if (created.status().code() != 409) return created.status();
    auto current = objects_.get(*volumes_, "", name);
    if (!current.ok()) return current.status();
    return (*current)->parse();
  }
  events_.record(claim, "Normal", "ProvisioningSucceeded",
                 "Successfully provisioned volume " + name +
                     (node.empty() ? std::string() : " on node " + node));
  return created->object;
}

CachedObject VolumeController::matchingVolume(const json& claim) const {
  const std::string className = fieldOf(claim, "spec").value("storageClassName", "");
  auto wanted = storageOf(fieldOf(fieldOf(fieldOf(claim, "spec"), "resources"), "requests"));
  const std::string uid = fieldOf(claim, "metadata").value("uid", "");
  CachedObject best;
  int64_t bestSize = 0;
  for (const auto& v : volumeInformer_->list()) {
    // A volume already reserved for this very claim (a bind cut short) is the one.
    if (fieldOf(fieldOf(*v, "spec"), "claimRef").value("uid", "") == uid) return v;
  }
  for (const auto& v : volumeInformer_->list()) {
    const json& spec = fieldOf(*v, "spec");
    if (spec.value("storageClassName", "") != className) continue;
    const json& ref = fieldOf(spec, "claimRef");
    if (!ref.empty() && (ref.value("namespace", "") != namespaceOf(claim) ||
                         ref.value("name", "") != nameOf(claim))) {
      continue;
    }
    if (fieldOf(*v, "status").value("phase", "Available") != "Available" || !hasModes(*v, claim)) {
      continue;
    }
    auto size = storageOf(fieldOf(spec, "capacity"));
    if (!size || (wanted && *size < *wanted)) continue;
    if (!best || *size < bestSize) {
      best = v;
      bestSize = *size;
    }
  }
  return best;
}

Status VolumeController::bind(const json& claim, const json& volume) {
  const std::string volumeName = nameOf(volume);
  const bool provisioned = fieldOf(fieldOf(volume, "metadata"), "annotations")
                               .contains("pv.kubernetes.io/provisioned-by");
  // The volume first, so a crash in between leaves a claimRef the next sync completes.
  json pv = volume;
  if (fieldOf(fieldOf(pv, "spec"), "claimRef").value("uid", "") !=
      fieldOf(claim, "metadata").value("uid", "")) {
    pv["spec"]["claimRef"] = claimRef(claim);
    if (!provisioned) pv["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] = "yes";
    auto written = objects_.update(*volumes_, "", volumeName, pv, {});
    if (!written.ok()) return written.status();
    pv = written->object;
  }
  server::WriteOptions status;
  status.subresource = "status";
  if (fieldOf(pv, "status").value("phase", "") != "Bound") {
    pv["status"] = {{"phase", "Bound"}};
    auto written = objects_.update(*volumes_, "", volumeName, pv, status);
    if (!written.ok()) return written.status();
  }

  json pvc = claim;
  if (fieldOf(pvc, "spec").value("volumeName", "") != volumeName) {
    pvc["spec"]["volumeName"] = volumeName;
    json& annotations = pvc["metadata"]["annotations"];
    annotations["pv.kubernetes.io/bind-completed"] = "yes";
    annotations["pv.kubernetes.io/bound-by-controller"] = "yes";
    if (provisioned) {
      annotations["volume.kubernetes.io/storage-provisioner"] = kLocalPathProvisioner;
      annotations["volume.beta.kubernetes.io/storage-provisioner"] = kLocalPathProvisioner;
    }
    auto written = objects_.update(*claims_, namespaceOf(claim), nameOf(claim), pvc, {});
    if (!written.ok()) return written.status();
    pvc = written->object;
  }
  pvc["status"] = {{"phase", "Bound"},
                   {"accessModes", fieldOf(pv, "spec").value("accessModes", json::array())},
                   {"capacity", fieldOf(fieldOf(pv, "spec"), "capacity")}};
  return objects_.update(*claims_, namespaceOf(claim), nameOf(claim), pvc, status).status();
}

Status VolumeController::syncVolume(const std::string& name) {
  CachedObject cached = volumeInformer_->get(name);
  if (!cached || fieldOf(*cached, "metadata").contains("deletionTimestamp")) return {};
  const json& volume = *cached;
  const json& ref = fieldOf(fieldOf(volume, "spec"), "claimRef");
  std::string phase = "Available";
  if (!ref.empty()) {
    CachedObject claim = claimInformer_->get(ref.value("namespace", ""), ref.value("name", ""));
    const bool claimGone =
        !claim || fieldOf(*claim, "metadata").value("uid", "") != ref.value("uid", "");
    if (claimGone && ref.contains("uid")) {
      if (fieldOf(volume, "spec").value("persistentVolumeReclaimPolicy", "Retain") == "Delete") {
        auto removed = objects_.remove(*volumes_, "", name, {});
        return removed.ok() || removed.status().code() == 404 ? Status() : removed.status();
      }
      phase = "Released";
    } else if (!claimGone) {
      phase = "Bound";
    }
  }
  if (fieldOf(volume, "status").value("phase", "") == phase) return {};
  json pv = volume;
  pv["status"] = {{"phase", phase}};
  server::WriteOptions status;
  status.subresource = "status";
  auto written = objects_.update(*volumes_, "", name, std::move(pv), status);
  return written.ok() || written.status().code() == 404 ? Status() : written.status();
}

}  // namespace kd::controllers

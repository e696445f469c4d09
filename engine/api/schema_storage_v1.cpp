#include "engine/api/schema_builders.h"

namespace kd::api {

void addStorageV1Types(std::vector<TypeDef>& out) {
  constexpr TypeMaker type{"storage.v1"};
  out.push_back(type(
      "StorageClass",
      "A class of storage that claims ask for and a provisioner creates volumes of.",
      objectHead(
          "storage.k8s.io/v1", "StorageClass",
          {field("provisioner", "string", "The name of the volume provisioner; cannot change.")
               .req(),
           field("parameters", "map[string]string",
                 "Settings handed to the provisioner; cannot change."),
           field("reclaimPolicy", "string",
                 "What happens to a released volume: Delete, Retain or Recycle; default Delete.")
               .oneOf({"Delete", "Retain", "Recycle"}),
           field("mountOptions", "[]string", "Mount options for the volumes of this class.")
               .list("atomic"),
           field("allowVolumeExpansion", "boolean", "Whether claims of this class may grow."),
           field("volumeBindingMode", "string",
                 "Immediate binds at claim creation, WaitForFirstConsumer once a pod uses the "
                 "claim; default Immediate.")
               .oneOf({"Immediate", "WaitForFirstConsumer"}),
           field("allowedTopologies", "[]core.v1.TopologySelectorTerm",
                 "Where volumes may be provisioned; empty means anywhere.")
               .list("atomic")})));
}

}  // namespace kd::api

#include "engine/api/schema.h"

namespace kd::api {

const SchemaRegistry& SchemaRegistry::builtin() {
  static const SchemaRegistry registry([] {
    std::vector<TypeDef> types;
    addMetaV1Types(types);
    addCoreV1Types(types);
    addAppsV1Types(types);
    addBatchV1Types(types);
    addAutoscalingV1Types(types);
    addAutoscalingV2Types(types);
    addAuthenticationV1Types(types);
    addCoordinationV1Types(types);
    addDiscoveryV1Types(types);
    addEventsV1Types(types);
    addStorageV1Types(types);
    return types;
  }());
  return registry;
}

}  // namespace kd::api

#include "engine/api/schema.h"

namespace kd::api {

void addAutoscalingV2Types(std::vector<TypeDef>& out) { (void)out; }

}  // namespace kd::api

#include "engine/api/schema.h"

namespace kd::api {

void addBatchV1Types(std::vector<TypeDef>& out) { (void)out; }

}  // namespace kd::api

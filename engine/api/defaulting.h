#pragma once
// Defaulting as the Kubernetes API server does it for the served kinds: fields a person may
// omit get the values Kubernetes would give them (restartPolicy Always, imagePullPolicy by
// tag, terminationGracePeriodSeconds 30, deployment strategy 25%/25%, revisionHistoryLimit 10,
// job backoffLimit 6, service sessionAffinity None, ...). Applied on create and update before
// validation; idempotent.

#include "engine/api/kinds.h"
#include "engine/api/status.h"

namespace kd::api {

void applyDefaults(const KindInfo& kind, json& object);

}  // namespace kd::api

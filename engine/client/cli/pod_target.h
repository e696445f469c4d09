#pragma once
// The pod that exec, attach and port-forward reach, chosen as kubectl chooses it: POD names a
// pod; TYPE/NAME (deploy/web, rs/x, svc/y, statefulset/z ...) the first pod its selector
// matches, running pods first.

#include <string>

#include "engine/api/status.h"
#include "engine/client/cli/invocation.h"

namespace kd::cli {

// The pod for `word` in inv.namespaceName(). 404 with kubectl's message when the object or
// any matching pod is missing.
Result<json> attachablePod(Invocation& inv, const std::string& word);

}  // namespace kd::cli

#pragma once
// The pod that logs, exec, attach and port-forward reach, chosen as kubectl chooses it: POD
// names a pod; TYPE/NAME (deploy/web, rs/x, svc/y, statefulset/z ...) the first pod its selector
// matches, running pods first.

#include <string>

#include "engine/api/status.h"
#include "engine/client/cli/invocation.h"

namespace kd::cli {

// The pods `word` reaches in inv.namespaceName(), running ones first: the pod itself for POD or
// pod/NAME, else every pod the object's selector matches (possibly none). The server's 404 when
// the object is missing.
Result<json> podsOf(Invocation& inv, const std::string& word);

// The first of podsOf(word); 404 when no pod matches.
Result<json> attachablePod(Invocation& inv, const std::string& word);

}  // namespace kd::cli

#pragma once
// kubectl's `create` generators: `kdctl create deployment|job|namespace|configmap|secret generic
// NAME ...` build the same object kubectl's generator builds (labels, container names, Go's
// empty structs such as `resources: {}`), then create it, or with --dry-run=client print it.

#include <string_view>

#include "engine/client/cli/invocation.h"

namespace kd::cli {

// True when `word` (the word after `create`) names a generator: deployment, deploy, job,
// namespace, ns, configmap, cm, secret.
bool isCreateGenerator(std::string_view word);

// Runs `kdctl create GENERATOR ...`; output, errors and exit code as kubectl's.
int runCreateGenerator(Invocation& inv);

}  // namespace kd::cli

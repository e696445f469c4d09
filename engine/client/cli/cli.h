#pragma once
// kdctl: cluster lifecycle (start, stop, status, delete, profile list, kubeconfig,
// update-context, version) and the everyday kubectl verbs (get, apply, create, delete, scale,
// label, annotate, patch) over the Kubernetes API. Output, error text and exit codes follow
// kubectl (and minikube for lifecycle) so scripts written for them keep working.

#include <iosfwd>
#include <string>
#include <vector>

#include "engine/api/status.h"

namespace kd::cli {

// Runs one kdctl command line (argv without the program name). Returns the exit code: 0 on
// success, 1 on an error (printed to `err` as kubectl prints it).
int runKdctl(const std::vector<std::string>& argv, std::istream& in, std::ostream& out,
             std::ostream& err);

// How kubectl prints a failed call: "Error from server (NotFound): pods \"x\" not found",
// "The Deployment \"web\" is invalid: spec.replicas: ..." (one "* field: message" line per
// cause when there are several), or "Unable to connect to the server: ..." for transport
// failures. No trailing newline.
std::string formatError(const Status& status);

}  // namespace kd::cli

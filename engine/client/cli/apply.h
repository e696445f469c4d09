#pragma once
// Client-side apply as one reusable step, shared by `apply` and `diff`.

#include <string>

#include "engine/client/cli/invocation.h"
#include "engine/client/cli/manifests.h"

namespace kd::cli {

struct ApplyOutcome {
  api::KindInfo kind;
  std::string label;  // "deployment.apps/web"
  std::string verb;   // created, configured or unchanged
  json live;          // the object before (null when it did not exist)
  json result;        // the server's answer (with dryRun: what apply would leave)
};

// Applies one manifest: create, or the three-way strategic merge patch against the
// last-applied annotation (which it records), as kubectl apply does. With `dryRun` the server
// runs everything but the write. Failures are printed as kubectl prints them; returns the exit
// code.
int applyManifest(Invocation& inv, client::ApiClient& c, Manifest& m, bool dryRun,
                  ApplyOutcome& out);

// Loads -f/-R manifests and runs `action` on each; the highest exit code wins.
int forEachManifest(Invocation& inv, int (*action)(Invocation&, client::ApiClient&, Manifest&));

}  // namespace kd::cli

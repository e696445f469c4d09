#pragma once
// Controller history for DaemonSets and StatefulSets: one apps/v1 ControllerRevision per pod
// template an owner has had, as Kubernetes keeps them (so `kubectl rollout history` and
// `rollout undo` work for these kinds).
//   - A revision is named "<owner>-<hash>", holds data {"spec":{"template":...,"$patch":"replace"}}
//     and a revision number; the newest template has the highest number. Returning to an older
//     template (rollout undo) renumbers that revision as the newest instead of copying it.
//   - Revisions no pod uses (pod label `hashLabel` equal to the revision's hash or name) are
//     deleted, oldest first, beyond the owner's spec.revisionHistoryLimit (default 10).

#include <string>
#include <vector>

#include "engine/controllers/informer.h"
#include "engine/server/object_service.h"

namespace kd::controllers {

struct OwnerRevision {
  std::string name;  // "<owner>-<hash>"
  std::string hash;
};

// The owner's current revision, creating or renumbering its ControllerRevision and pruning
// unused history. `pods` are the owner's pods; `revisions` an informer on controllerrevisions.
Result<OwnerRevision> syncControllerHistory(server::ObjectService& objects,
                                            const Informer& revisions, const json& owner,
                                            const std::vector<CachedObject>& pods,
                                            const std::string& hashLabel);

// The pod template a revision of `owner` recorded, or null when the revision is unknown.
json templateOfRevision(const Informer& revisions, const json& owner,
                        const std::string& revisionName);

}  // namespace kd::controllers

#include "engine/api/schema_builders.h"

namespace kd::api {

void addCoordinationV1Types(std::vector<TypeDef>& out) {
  constexpr TypeMaker type{"coordination.v1"};
  out.push_back(type(
      "Lease",
      "A lock with an expiry, held by one party at a time: node heartbeats and leader election.",
      objectHead(
          "coordination.k8s.io/v1", "Lease",
          {field("spec", "coordination.v1.LeaseSpec", "Who holds the lease and until when.")})));
  out.push_back(
      type("LeaseSpec", "The holder and timing of a lease.",
           {field("holderIdentity", "string", "Who holds the lease now."),
            field("leaseDurationSeconds", "integer",
                  "How long others wait after the last renewal before taking the lease over."),
            field("acquireTime", "MicroTime", "When the current holder took the lease."),
            field("renewTime", "MicroTime", "When the holder last renewed the lease."),
            field("leaseTransitions", "integer", "How many times the lease changed hands."),
            field("strategy", "string",
                  "How a coordinated leader election picks the next holder, such as "
                  "OldestEmulationVersion."),
            field("preferredHolder", "string",
                  "A candidate a coordinated election would like to hand the lease to.")}));
}

}  // namespace kd::api

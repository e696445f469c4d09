#pragma once
// The per-kind steps of Kubernetes' registry strategies that defaulting and validation do not
// cover, run by ObjectService on create and update:
//   Secret   stringData merged into data (base64), as the API's conversion does
//   Service  ClusterIP allocation from 10.96.0.0/12 (10.96.0.1 is the `kubernetes` service),
//            NodePort allocation from 30000-32767, conflicts rejected; kept across updates
//   Job      selector and controller-uid / job-name labels generated from the uid
//   Pod      initial status (phase Pending, qosClass); the ServiceAccount admission plugin
//            (serviceAccountName, the account's imagePullSecrets, the token volume)
// Allocation reads the store for what is in use; a mutex serializes allocations.

#include <mutex>

#include "engine/api/kinds.h"
#include "engine/api/status.h"
#include "engine/store/sqlite_store.h"

namespace kd::server {

class KindStrategies {
 public:
  explicit KindStrategies(store::SqliteStore& store) : store_(store) {}

  // `object` has metadata.uid set. Runs before validation.
  Status prepareForCreate(const api::KindInfo& kind, json& object);
  Status prepareForUpdate(const api::KindInfo& kind, json& object, const json& old);

  static std::string qosClassOf(const json& pod);

 private:
  Status allocateServiceAddresses(json& service, const json* old);
  Status admitServiceAccount(json& pod);
  void assignDefaultClass(json& claim);

  store::SqliteStore& store_;
  std::mutex allocationMu_;
};

}  // namespace kd::server

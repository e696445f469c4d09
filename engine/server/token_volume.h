#pragma once
// The token volume of kube-apiserver's ServiceAccount admission plugin: unless
// automountServiceAccountToken is false on the pod (or, when the pod does not say, on its
// ServiceAccount), a pod gets the projected volume "kube-api-access-<5 random characters>"
//   - serviceAccountToken {expirationSeconds: 3607, path: token}
//   - configMap kube-root-ca.crt, item ca.crt (root_ca_publisher.h keeps it in every namespace)
//   - downwardAPI {path: namespace, fieldRef: metadata.namespace}
// with defaultMode 420, mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount in
// every container and init container that has no mount at that path. A pod that already has a
// kube-api-access-* volume keeps it (and its mounts name it). The node agent fills the volume
// (engine/node/service_account_tokens.h).

#include "engine/api/status.h"

namespace kd::server {

inline constexpr const char* kServiceAccountMountPath =
    "/var/run/secrets/kubernetes.io/serviceaccount";

// `account` is the pod's ServiceAccount, or null when it does not exist (yet).
void mountServiceAccountToken(json& pod, const json* account);

}  // namespace kd::server

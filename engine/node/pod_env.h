#pragma once
// A container's environment and the downward API, resolved the way the kubelet does:
//
//   - the image's Env, then `kubeletEnv`, then envFrom (configMapRef/secretRef, each key with
//     the source's prefix), then env (later wins);
//   - env[].value expands $(VAR) against what is defined so far; valueFrom resolves
//     fieldRef (metadata.name/namespace/uid, metadata.labels['k'], metadata.annotations['k'],
//     spec.nodeName, spec.serviceAccountName, status.podIP, status.hostIP),
//     resourceFieldRef (limits./requests. cpu, memory, ephemeral-storage; divisor, rounded up;
//     an unset limit is the node's capacity), configMapKeyRef and secretKeyRef;
//   - a missing ConfigMap, Secret or key that is not optional fails with 400 and the kubelet's
//     message (`configmap "x" not found`, `couldn't find key k in ConfigMap default/x`), which
//     the pod worker reports as CreateContainerConfigError.

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/api/status.h"

namespace kd::node {

using EnvList = std::vector<std::pair<std::string, std::string>>;

// Reads an object the pod refers to: `resource` is "configmaps", "secrets",
// "persistentvolumeclaims" (in the pod's namespace) or "persistentvolumes". A missing object
// is a 404.
using ObjectGetter =
    std::function<Result<json>(const std::string& resource, const std::string& name)>;

// Expands $(VAR) references as Kubernetes does: defined variables expand, $$ becomes $,
// anything else stays as written.
std::string expandVariables(const std::string& text, const EnvList& env);

// A pod field by its fieldRef path; nullopt for a path the downward API does not offer.
std::optional<std::string> podField(const json& pod, const std::string& path);

// A resourceFieldRef ({containerName?, resource, divisor?}) of `container` (or of the pod's
// container named by containerName) as the decimal string the downward API gives.
Result<std::string> resourceField(const json& pod, const json& container, const json& ref);

// The decoded value of `key` in a ConfigMap (data, then base64 binaryData) or a Secret
// (base64 data).
std::optional<std::string> configValue(const json& object, bool secret, const std::string& key);
// Every key of a ConfigMap or Secret with its decoded value.
std::vector<std::pair<std::string, std::string>> configEntries(const json& object, bool secret);

// The Status for a ConfigMap or Secret that could not be read: `configmap "x" not found`.
Status configLookupError(bool secret, const std::string& name, const Status& cause);

Result<EnvList> resolveContainerEnv(const json& imageConfig, const json& pod, const json& container,
                                    const EnvList& kubeletEnv, const ObjectGetter& get = {});

}  // namespace kd::node

#include "engine/server/token_volume.h"

#include <algorithm>
#include <random>

namespace kd::server {
namespace {

constexpr std::string_view kVolumePrefix = "kube-api-access-";

// Kubernetes' utilrand.String: consonants and digits that spell no words.
std::string randomSuffix() {
  static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  static thread_local std::mt19937 rng{std::random_device{}()};
  std::string out;
  for (int i = 0; i < 5; ++i) out += kAlphabet[rng() % kAlphabet.size()];
  return out;
}

bool automount(const json& spec, const json* account) {
  const json podSays = spec.value("automountServiceAccountToken", json());
  if (podSays.is_boolean()) return podSays.get<bool>();
  if (account) {
    const json accountSays = account->value("automountServiceAccountToken", json());
    if (accountSays.is_boolean()) return accountSays.get<bool>();
  }
  return true;
}

json tokenVolume(const std::string& name) {
  return {
      {"name", name},
      {"projected",
       {{"defaultMode", 420},
        {"sources",
         {{{"serviceAccountToken", {{"expirationSeconds", 3607}, {"path", "token"}}}},
          {{"configMap",
            {{"items", {{{"key", "ca.crt"}, {"path", "ca.crt"}}}}, {"name", "kube-root-ca.crt"}}}},
          {{"downwardAPI",
            {{"items",
              {{{"fieldRef", {{"apiVersion", "v1"}, {"fieldPath", "metadata.namespace"}}},
                {"path", "namespace"}}}}}}}}}}}};
}

// Mounts `name` in each container of `list` without a mount at the token path; true when any
// container got it.
bool mountIn(json& containers, const std::string& name) {
  if (!containers.is_array()) return false;
  bool mounted = false;
  for (auto& c : containers) {
    if (!c.is_object()) continue;
    if (c.contains("volumeMounts") && !c["volumeMounts"].is_array()) continue;  // invalid
    json& mounts = c["volumeMounts"];
    if (mounts.is_null()) mounts = json::array();
    const bool taken = std::any_of(mounts.begin(), mounts.end(), [](const json& m) {
      return m.is_object() && m.value("mountPath", "") == kServiceAccountMountPath;
    });
    if (taken) continue;
    mounts.push_back({{"mountPath", kServiceAccountMountPath}, {"name", name}, {"readOnly", true}});
    mounted = true;
  }
  return mounted;
}

}  // namespace

void mountServiceAccountToken(json& pod, const json* account) {
  json& spec = pod["spec"];
  if (!spec.is_object() || !automount(spec, account)) return;
  if (spec.contains("volumes") && !spec["volumes"].is_array() && !spec["volumes"].is_null())
    return;  // invalid: validation reports it as sent
  json& volumes = spec["volumes"];
  if (!volumes.is_array()) volumes = json::array();
  std::string name;
  for (const auto& v : volumes) {
    const std::string n = v.is_object() ? v.value("name", "") : "";
    if (n.starts_with(kVolumePrefix)) {
      name = n;
      break;
    }
  }
  const bool hasVolume = !name.empty();
  if (!hasVolume) name = std::string(kVolumePrefix) + randomSuffix();
  bool needed = false;
  for (const char* list : {"initContainers", "containers"}) {
    if (spec.contains(list)) needed = mountIn(spec[list], name) || needed;
  }
  if (needed && !hasVolume) volumes.push_back(tokenVolume(name));
  if (volumes.empty()) spec.erase("volumes");
}

}  // namespace kd::server

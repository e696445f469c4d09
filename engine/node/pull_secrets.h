#pragma once
// A pod's registry credentials, as the kubelet finds them: spec.imagePullSecrets names Secrets
// in the pod's namespace; those of type kubernetes.io/dockerconfigjson (".dockerconfigjson",
// {"auths": {<registry>: <entry>}}) and kubernetes.io/dockercfg (".dockercfg", the same map
// without "auths") fill a keyring; every other Secret is ignored. An entry is
// {"username", "password"} or {"auth": base64("user:pass")} (auth wins when both are there).
//
// Matching an image to credentials follows the kubelet's credentialprovider keyring:
//   - a key is a registry host with an optional port and path ("https://" or "http://" and a
//     leading "/v1/" or "/v2/" of the path are dropped: "https://index.docker.io/v1/" is
//     "index.docker.io");
//   - it matches an image repository ("127.0.0.1:5000/team/app", "docker.io/library/busybox")
//     when the ports are equal, the hosts have as many dot-separated parts and each part
//     matches as a glob ("*.example.com" matches "a.example.com", not "a.b.example.com"), and
//     the key's path is a prefix of the repository's path;
//   - every matching key contributes its credentials, keys in reverse lexical order (so
//     "quay.io/team" comes before "quay.io"), entries under one key in the order they were
//     added; the puller tries them in that order until one works;
//   - with no match, an image of Docker Hub ("busybox", "me/app", "docker.io/...",
//     "index.docker.io/...") gets the credentials stored under "index.docker.io".

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/api/status.h"
#include "engine/node/pod_env.h"
#include "engine/node/registry_client.h"

namespace kd::node {

class DockerKeyring {
 public:
  // Adds a docker config's registry map. An entry that is not an object, a field that is not
  // a string, or an "auth" that is not base64("user:pass") fails the whole map (the kubelet's
  // JSON decoding fails the same way), leaving the keyring unchanged.
  Status add(const json& registries);

  // The credentials for `image`, a reference as a pod names it ("busybox",
  // "127.0.0.1:5000/app:1"); empty when none match (pull anonymously) or the name is invalid.
  std::vector<RegistryCredential> lookup(const std::string& image) const;

  bool empty() const { return creds_.empty(); }

 private:
  std::map<std::string, std::vector<RegistryCredential>, std::greater<>> creds_;
};

// The keyring of `secrets` (Secret objects, data base64 as the API serves it), as the
// kubelet's MakeDockerKeyring builds it. A docker Secret whose config does not parse is an
// error naming the Secret.
Result<DockerKeyring> keyringFromSecrets(const std::vector<json>& secrets);

struct PodPullCredentials {
  Result<DockerKeyring> keyring = DockerKeyring{};
  // imagePullSecrets that could not be read (missing, forbidden), in spec order. The kubelet
  // records FailedToRetrieveImagePullSecret (unreadablePullSecretsMessage) and pulls anyway.
  std::vector<std::string> unreadable;

  // keyring->lookup(image), or the keyring's error (the pull fails with it: ErrImagePull).
  Result<std::vector<RegistryCredential>> forImage(const std::string& image) const;
};

// Reads the Secrets `pod` names in spec.imagePullSecrets through `get` ("secrets", name).
PodPullCredentials readPullCredentials(const json& pod, const ObjectGetter& get);

// "Unable to retrieve some image pull secrets (a, b); attempting to pull the image may not
// succeed.", the kubelet's event message.
std::string unreadablePullSecretsMessage(const std::vector<std::string>& names);

}  // namespace kd::node

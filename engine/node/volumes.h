#pragma once
// A pod's volumes on this node, set up the way the kubelet's volume plugins do:
//
//   emptyDir              <podDir>/volumes/<name>; medium Memory is a tmpfs (size=sizeLimit)
//   configMap, secret,    files written by an atomic writer: <dir>/..<timestamp>/ holds the
//   downwardAPI,          payload, <dir>/..data is a symlink to it and each top-level entry is
//   projected             a symlink through ..data, so a refresh swaps everything at once;
//                         items (key/path/mode), defaultMode (0644), optional.
//                         projected serviceAccountToken sources hold the TokenSource's token.
//   hostPath              the host path itself, after its `type` check (DirectoryOrCreate and
//                         FileOrCreate create it)
//   persistentVolumeClaim the Bound claim's PersistentVolume spec.hostPath.path, created if
//                         missing; an unbound claim is an error to wait out
//
// prepareVolumes runs on every pod sync, so ConfigMap/Secret changes reach running containers
// within the sync period (only changed payloads are rewritten). Errors carry the kubelet's
// FailedMount wording: `MountVolume.SetUp failed for volume "v" : configmap "x" not found`.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/api/status.h"
#include "engine/node/oci_spec.h"
#include "engine/node/pod_env.h"

namespace kd::node {

// Host path of each volume, by volume name.
using VolumePaths = std::map<std::string, std::string>;

// The token of a projected serviceAccountToken source (audience, expirationSeconds) of the
// pod being prepared (service_account_tokens.h).
using TokenSource = std::function<Result<std::string>(const json& projection)>;

Result<VolumePaths> prepareVolumes(const std::filesystem::path& podDir, const json& pod,
                                   const ObjectGetter& get, const TokenSource& tokens = {});

// The bind mounts for a container's volumeMounts (subPath below the volume, created as a
// directory when missing; readOnly; configMap/secret/downwardAPI/projected always read-only).
Result<std::vector<BindMount>> containerMounts(const json& pod, const json& container,
                                               const VolumePaths& volumes);

// Unmounts the pod's tmpfs volumes (before the pod directory is removed).
void teardownVolumes(const std::filesystem::path& podDir);

// The atomic writer: makes `dir` hold exactly `files` (relative path -> content, mode).
struct PayloadFile {
  std::string content;
  int mode = 0644;
};
Status writeAtomically(const std::filesystem::path& dir,
                       const std::map<std::string, PayloadFile>& files);

}  // namespace kd::node

#pragma once
// How a container's image reaches the node, as the kubelet's image manager decides it: the
// pull policy chooses between the node's store and the registry, and a pull brings an image
// from an OCI registry (registry_client.h) into the store (image_store.h).
//
// A pull resolves the tag or digest to a manifest, an image index / manifest list to its
// linux/amd64 image, fetches the config and every layer the store lacks (layers already stored
// are shared, never fetched twice), checks each against its digest, and stores the manifests
// last, so a stored manifest always means a complete image. Pulls are serialized node-wide,
// as the kubelet does by default (serializeImagePulls).
//
// Images imported locally (the bundled busybox, `kdctl image load`) have no registry to come
// from: the Always policy uses them as they are instead of reaching out to their domain.
// Pulled images are re-resolved against their registry under Always.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/api/status.h"
#include "engine/node/image_store.h"
#include "engine/node/registry_client.h"

namespace kd::node {

enum class PullPolicy { Always, IfNotPresent, Never };

// A container's imagePullPolicy; "" gets Kubernetes' default: Always for ":latest" or no tag
// at all, else IfNotPresent.
PullPolicy pullPolicyOf(const std::string& policy, const std::string& image);

struct PullReport {
  std::string manifestDigest;  // what the name resolved to (an index's own digest)
  uint64_t imageSize = 0;      // config and layers, as the manifest gives their sizes
  int blobsFetched = 0;
  int blobsShared = 0;  // already in the store
  std::chrono::milliseconds elapsed{0};
  std::chrono::milliseconds waited{0};  // for another pull to finish first
};

// (digest, bytes so far, bytes expected) as a blob arrives.
using PullProgress = std::function<void(const std::string&, uint64_t, uint64_t)>;

// Holds off pulls (they are serialized node-wide on this lock) while an import or a removal
// changes the store, so a removal never deletes a blob a pull has just counted as present.
std::unique_lock<std::mutex> lockImageStoreWrites();

// Pulls `name` into `store` and points its (normalised) reference at it.
Result<PullReport> pullImage(ImageStore& store, const std::string& name,
                             const RegistryOptions& options = {},
                             const PullProgress& progress = {});

// What ensureImage did: an image, or the waiting reason and message the container shows.
struct EnsuredImage {
  std::optional<Image> image;
  std::optional<PullReport> pulled;  // set when a pull succeeded
  std::string reason;                // ErrImagePull, ErrImageNeverPull, InvalidImageName
  std::string message;
};

struct EnsureHooks {
  std::function<void()> beforePull;  // the kubelet's "Pulling" event
  RegistryOptions registry;          // its credential is set from `credentials`
  PullProgress progress;
  // What a pull may present (PodPullCredentials::forImage): each in turn until one pull
  // works, as the kubelet does; none pulls anonymously. An error fails the pull with it.
  Result<std::vector<RegistryCredential>> credentials = std::vector<RegistryCredential>{};
};

// Makes the image `name` present as `policy` says, pulling when it must. When every
// credential fails, the message lists each attempt's error ("[first, second]"), as the
// kubelet's aggregated error does; with one attempt it is that attempt's.
EnsuredImage ensureImage(ImageStore& store, const std::string& name, PullPolicy policy,
                         const EnsureHooks& hooks = {});

}  // namespace kd::node

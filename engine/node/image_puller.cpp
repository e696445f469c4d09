#include "engine/node/image_puller.h"

#include <cstdio>
#include <mutex>
#include <vector>

#include "engine/node/image_ref.h"

namespace kd::node {

namespace fs = std::filesystem;

namespace {

using SteadyClock = std::chrono::steady_clock;

std::mutex& pullMutex() {
  static std::mutex mu;
  return mu;
}

std::chrono::milliseconds since(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t);
}

// Resolves an index to the manifest of this node's platform; `manifests` ends with it.
Status resolvePlatform(RegistryClient& registry, std::vector<FetchedManifest>& manifests) {
  if (!isImageIndex(manifests.back().parsed)) return {};
  auto chosen = selectPlatform(manifests.back().parsed);
  if (!chosen.ok()) {
    return Status::notFound(registry.name() +
                            ": no matching manifest for linux/amd64 in the manifest list entries");
  }
  auto image = registry.fetchManifest(chosen->value("digest", ""));
  if (!image.ok()) return image.status();
  if (isImageIndex(image->parsed)) {
    return Status::badRequest(registry.name() + ": an image index names another index");
  }
  manifests.push_back(std::move(*image));
  return {};
}

// Fetches one blob into the store unless it is there already, verifying its digest.
Status fetchBlob(ImageStore& store, RegistryClient& registry, const json& descriptor,
                 const PullProgress& progress, PullReport& report) {
  const std::string digest = descriptor.value("digest", "");
  if (store.hasBlob(digest)) {
    ++report.blobsShared;
    return {};
  }
  auto tmp = store.createTempFile();
  if (!tmp.ok()) return tmp.status();
  const uint64_t size = descriptor.value("size", uint64_t{0});
  Status s = registry.fetchBlob(digest, *tmp, [&](uint64_t done) {
    if (progress) progress(digest, done, size);
  });
  if (s.isOk()) s = store.addBlobFile(*tmp, digest);
  std::error_code ec;
  fs::remove(*tmp, ec);
  if (!s.isOk()) return Status::badRequest(registry.name() + ": " + s.message());
  ++report.blobsFetched;
  return {};
}

// pullImage with each credential in turn until one works, or anonymously with none.
Result<PullReport> pullWithCredentials(ImageStore& store, const std::string& name,
                                       const EnsureHooks& hooks) {
  if (!hooks.credentials.ok()) return hooks.credentials.status();
  const auto& credentials = *hooks.credentials;
  if (credentials.empty()) return pullImage(store, name, hooks.registry, hooks.progress);
  std::vector<Status> failures;
  for (const auto& credential : credentials) {
    RegistryOptions options = hooks.registry;
    options.credential = credential;
    auto pulled = pullImage(store, name, options, hooks.progress);
    if (pulled.ok()) return pulled;
    failures.push_back(pulled.status());
  }
  if (failures.size() == 1) return failures.front();
  std::string errors;
  for (const auto& f : failures) errors += (errors.empty() ? "" : ", ") + f.message();
  return Status::internal("[" + errors + "]");  // ensureImage reports only the message
}

}  // namespace

std::unique_lock<std::mutex> lockImageStoreWrites() {
  return std::unique_lock(pullMutex());
}

PullPolicy pullPolicyOf(const std::string& policy, const std::string& image) {
  if (policy == "Always") return PullPolicy::Always;
  if (policy == "Never") return PullPolicy::Never;
  if (policy == "IfNotPresent") return PullPolicy::IfNotPresent;
  auto ref = parseImageReference(image);
  return ref.ok() && ref->tag == "latest" ? PullPolicy::Always : PullPolicy::IfNotPresent;
}

Result<PullReport> pullImage(ImageStore& store, const std::string& name,
                             const RegistryOptions& options, const PullProgress& progress) {
  auto ref = parseImageReference(name);
  if (!ref.ok()) return ref.status();
  const auto queued = SteadyClock::now();
  std::lock_guard serial(pullMutex());
  PullReport report;
  report.waited = since(queued);
  const auto start = SteadyClock::now();
  RegistryClient registry(ref->domain, ref->path, options);
  auto top = registry.fetchManifest(ref->digest.empty() ? ref->tag : ref->digest);
  if (!top.ok()) return top.status();
  std::vector<FetchedManifest> manifests = {std::move(*top)};
  if (Status s = resolvePlatform(registry, manifests); !s.isOk()) return s;
  const json& manifest = manifests.back().parsed;
  std::vector<json> blobs = {manifest.value("config", json::object())};
  for (const auto& layer : manifest.value("layers", json::array())) blobs.push_back(layer);
  for (const auto& blob : blobs) {
    if (Status s = fetchBlob(store, registry, blob, progress, report); !s.isOk()) return s;
    report.imageSize += blob.value("size", uint64_t{0});
  }
  for (auto it = manifests.rbegin(); it != manifests.rend(); ++it) {
    if (Status s = store.addBlobBytes(it->body, it->digest); !s.isOk()) return s;
  }
  report.manifestDigest = manifests.front().digest;
  if (Status s = store.setReference(ref->full(), report.manifestDigest, true); !s.isOk()) return s;
  report.elapsed = since(start);
  return report;
}

EnsuredImage ensureImage(ImageStore& store, const std::string& name, PullPolicy policy,
                         const EnsureHooks& hooks) {
  EnsuredImage out;
  auto ref = parseImageReference(name);
  if (!ref.ok()) {
    out.reason = "InvalidImageName";
    out.message = "Failed to apply default image tag \"" + name + "\": " + ref.status().message();
    return out;
  }
  auto present = store.find(name);
  // A digest names fixed content, and a local import has no registry to refresh it from.
  const bool fresh = present.ok() && (policy != PullPolicy::Always || !ref->digest.empty() ||
                                      !store.pulledFromRegistry(name));
  if (fresh) {
    out.image = std::move(*present);
    return out;
  }
  if (policy == PullPolicy::Never) {
    out.reason = "ErrImageNeverPull";
    out.message = "Container image \"" + name + "\" is not present with pull policy of Never";
    return out;
  }
  if (hooks.beforePull) hooks.beforePull();
  auto pulled = pullWithCredentials(store, name, hooks);
  auto image = pulled.ok() ? store.find(name) : Result<Image>(pulled.status());
  if (!image.ok()) {
    out.reason = "ErrImagePull";
    out.message = "failed to pull image \"" + name + "\": " + image.status().message();
    return out;
  }
  out.image = std::move(*image);
  out.pulled = *pulled;
  return out;
}

}  // namespace kd::node

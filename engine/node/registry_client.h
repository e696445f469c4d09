#pragma once
// One image repository on an OCI distribution (v2 API) registry, read the way containerd's
// resolver and fetcher read it: manifests (OCI and docker v2 schema2 manifests, OCI image
// indexes and docker manifest lists) and blobs.
//
// Transport: HTTPS verified against the system's trusted CAs, with the registry's host name
// checked; plain HTTP only for a registry on the loopback host (localhost, 127.0.0.0/8, ::1),
// as containerd and docker allow. "docker.io" is served at registry-1.docker.io. Hosts under
// the reserved ".invalid" domain are never looked up (RFC 6761). Redirects (blob downloads
// are often sent to storage elsewhere) are followed, and credentials never follow one that
// leaves the host they were issued for.
//
// Auth: a 401 is answered once, the way docker does, and the request retried. A Bearer
// challenge: the challenge's token endpoint is asked for a pull token for this repository
// (anonymously, or with the configured credential as Basic auth and `account=<username>`);
// the token serves the client's later requests. A Basic challenge: the configured credential
// as Basic auth on this and later requests; without one, the pull fails saying so. A registry
// that still refuses gives its own 401 message.
//
// Errors: a registry's refusal is a Status whose code follows the HTTP answer (404 NotFound,
// 401 Unauthorized, 403 Forbidden, others Internal) and whose message quotes the registry's
// own error messages ("manifest unknown"); failures to reach it are ServiceUnavailable.
//
// Not thread-safe: one client serves one pull at a time.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/api/status.h"

namespace kd::node {

// A user name and password for one registry, as a docker config entry holds them.
struct RegistryCredential {
  std::string username;
  std::string password;
  bool operator==(const RegistryCredential&) const = default;
};

struct RegistryOptions {
  std::chrono::milliseconds connectTimeout{10'000};
  std::chrono::milliseconds idleTimeout{60'000};  // no progress for this long fails a request
  std::string userAgent = "kubedesk-node";
  std::optional<RegistryCredential> credential;  // none: anonymous
};

struct FetchedManifest {
  std::string digest;     // "sha256:..." of body, verified as fetchManifest says
  std::string mediaType;  // the manifest's own mediaType, else the answer's Content-Type
  std::string body;       // the exact bytes, which the digest names
  json parsed;
};

// Media types a pull accepts, in the order of the Accept header.
inline constexpr const char* kManifestMediaTypes[] = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json"};

class RegistryClient {
 public:
  // `domain` as an image reference names it ("docker.io", "127.0.0.1:5000"); `repository` is
  // the path within it ("library/busybox").
  RegistryClient(std::string domain, std::string repository, RegistryOptions options = {});
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  // GET /v2/<repository>/manifests/<reference>, a tag or a digest. The body must hash to a
  // digest reference, and to the Docker-Content-Digest the registry sends, if it sends one;
  // a mismatch is a BadRequest. A body that is not one of kManifestMediaTypes is refused.
  Result<FetchedManifest> fetchManifest(const std::string& reference);

  // GET /v2/<repository>/blobs/<digest>, streamed into `file` (created or truncated);
  // `onBytes` sees the running count of bytes written. The caller verifies the digest
  // (ImageStore::addBlobFile does).
  Status fetchBlob(const std::string& digest, const std::filesystem::path& file,
                   const std::function<void(uint64_t)>& onBytes = {});

  // "127.0.0.1:5000/library/busybox", for messages.
  std::string name() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kd::node

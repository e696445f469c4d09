#pragma once
// Image references normalised as Kubernetes and docker do: "busybox" is
// "docker.io/library/busybox:latest", "me/app:1" is "docker.io/me/app:1",
// "localhost:5000/app" is "localhost:5000/app:latest"; a digest ("app@sha256:...") is kept and
// then no tag is implied.

#include <string>
#include <string_view>

#include "engine/api/status.h"

namespace kd::node {

struct ImageReference {
  std::string domain;  // "docker.io", "localhost:5000", "registry.example.com"
  std::string path;    // "library/busybox"
  std::string tag;     // "latest"; "" when only a digest names the image
  std::string digest;  // "sha256:<hex>" or ""

  // domain/path[:tag][@digest]
  std::string full() const;
  // domain/path, the repository the image belongs to.
  std::string repository() const { return domain + "/" + path; }
};

// Fails with 400 (InvalidImageName in pod status) when `name` is not a valid reference.
Result<ImageReference> parseImageReference(std::string_view name);

// parseImageReference(name)->full(), or `name` unchanged when it does not parse.
std::string normalizeImageName(std::string_view name);

}  // namespace kd::node

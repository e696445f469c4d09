#pragma once
// The node's image store: content-addressed blobs plus a table of references, as containerd
// keeps them, under one root directory (<state>/images):
//
//   blobs/sha256/<hex>     manifests, configs and layer tarballs, verified against their digest
//   references.json        normalised name ("docker.io/library/busybox:latest") -> manifest digest
//                          (an image manifest, or an image index resolved to linux/amd64)
//   pulled.json            the names whose reference came from a registry pull (image_puller.h)
//   layers/<hex>/          each layer unpacked once, whiteouts in overlayfs form, shared by all
//                          containers that use it
//
// A container's root filesystem is an overlay of its image's layers with a private upper
// directory; where overlayfs cannot be mounted it is a copy of the layers instead.
//
// Thread-safe: one mutex guards the references and layer unpacking.

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "engine/api/status.h"

namespace kd::node {

struct Image {
  std::string name;            // normalised reference it was found by
  std::string manifestDigest;  // "sha256:..."
  std::string configDigest;    // the image ID
  json config;                 // the image config's "config" object (Env, Cmd, Entrypoint, ...)
  std::vector<std::string> layers;  // layer blob digests, bottom first

  // "docker.io/library/busybox@sha256:<manifest>", as a kubelet reports imageID.
  std::string imageId() const;
};

// One stored image as the kubelet reports it in Node.status.images: its repo digests
// ("docker.io/library/busybox@sha256:...") then its tags, and the bytes of its blobs.
struct ImageSummary {
  std::vector<std::string> names;
  int64_t sizeBytes = 0;
};

// "sha256:<hex>" of the bytes / of a file's contents.
std::string sha256Digest(std::string_view bytes);
Result<std::string> sha256FileDigest(const std::filesystem::path& file);

// True when `manifest` is an image index / docker manifest list rather than an image manifest.
bool isImageIndex(const json& manifest);
// The descriptor of an index's linux/amd64 image, the platform this node runs; NotFound when
// the index has none.
Result<json> selectPlatform(const json& index);

// Rewrites the OCI whiteouts of an unpacked layer into overlayfs form: ".wh.NAME" becomes a
// 0:0 character device NAME, ".wh..wh..opq" marks its directory opaque
// (trusted.overlay.opaque=y).
Status convertWhiteouts(const std::filesystem::path& layerDir);

// Applies a layer in overlayfs form on top of `target` by copying: whiteout devices delete
// what they name, opaque directories replace what was there.
Status applyLayerCopy(const std::filesystem::path& layerDir, const std::filesystem::path& target);

class ImageStore {
 public:
  explicit ImageStore(std::filesystem::path root);

  // Creates the directories; loads the references.
  Status open();

  // Imports every image an OCI image layout directory holds; returns their names. An image
  // index inside the layout resolves to its linux/amd64 manifest.
  Result<std::vector<std::string>> importOciLayout(const std::filesystem::path& dir);
  // Imports an oci-archive or docker-archive tarball (docker save / skopeo copy docker-archive:).
  Result<std::vector<std::string>> importArchive(const std::filesystem::path& tarball);

  // The image a pod's `image` field names, after normalisation; NotFound when absent.
  Result<Image> find(const std::string& name) const;
  // Every named image, one entry per manifest, largest first (the kubelet's order).
  std::vector<ImageSummary> list() const;

  // For pulls (image_puller.h). Blobs are content-addressed, so an image that shares layers
  // with one already stored shares their files, and concurrent adds of one blob are harmless.
  bool hasBlob(const std::string& digest) const;
  // Moves `file` into the store as blob `digest` after checking that its contents hash to it;
  // `file` is gone afterwards either way. A mismatch is a BadRequest naming both digests.
  Status addBlobFile(const std::filesystem::path& file, const std::string& digest);
  // Stores `bytes` as blob `digest`, checked the same way.
  Status addBlobBytes(const std::string& bytes, const std::string& digest);
  // A fresh empty file under the store's tmp directory (the blobs' filesystem, so adding it is
  // a rename); the caller removes it or hands it to addBlobFile.
  Result<std::filesystem::path> createTempFile();
  // Names `manifestDigest` (a stored manifest or index) as the normalised `name`, remembering
  // whether a registry pull or a local import (a layout, an archive) put it there.
  Status setReference(const std::string& name, const std::string& manifestDigest, bool pulled);
  // True when `name` (normalised) is present and its reference came from a registry pull.
  bool pulledFromRegistry(const std::string& name) const;
  // Forgets the reference `name` (normalised first), as `crictl rmi` untags an image, and
  // deletes the blobs and unpacked layers only it reached; those another reference reaches
  // stay. NotFound when no such reference. The caller makes sure no container uses it and no
  // pull or import runs meanwhile (lockImageStoreWrites in image_puller.h).
  Status removeImage(const std::string& name);

  // Mounts (or copies) `image`'s root filesystem at `dir`/rootfs, with `dir`/upper and
  // `dir`/work for overlayfs; returns the rootfs path. Idempotent: an existing mount is kept.
  Result<std::filesystem::path> prepareRootfs(const Image& image, const std::filesystem::path& dir);
  // Unmounts and deletes what prepareRootfs made under `dir` (rootfs, upper, work); other files
  // in `dir` stay.
  static Status releaseRootfs(const std::filesystem::path& dir);

 private:
  std::filesystem::path blobPath(const std::string& digest) const;
  Status storeBlob(const std::filesystem::path& source, const std::string& digest);
  Status storeBytes(const std::string& bytes, std::string* digestOut);
  Result<std::string> chooseManifest(const std::filesystem::path& layoutDir,
                                     const json& descriptor);
  Status addReference(const std::string& name, const std::string& manifestDigest);
  Status saveReferences() const;
  Result<json> readManifest(const std::string& digest) const;
  Result<std::filesystem::path> unpackedLayer(const std::string& digest);
  Result<std::vector<std::string>> importDockerArchive(const std::filesystem::path& dir);
  // The blobs a stored manifest or index reaches (itself included): an index's stored
  // children, each manifest's config and layers. Missing blobs are skipped.
  void reachableBlobs(const std::string& digest, std::set<std::string>& out) const;

  std::filesystem::path root_;
  mutable std::mutex mu_;
  json references_ = json::object();
  json pulled_ = json::object();  // name -> true
};

}  // namespace kd::node

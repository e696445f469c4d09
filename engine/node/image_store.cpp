#include "engine/node/image_store.h"

#include <openssl/evp.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "engine/node/file_tree.h"
#include "engine/node/image_ref.h"
#include "engine/node/process.h"

namespace kd::node {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr const char* kOpaqueXattr = "trusted.overlay.opaque";
constexpr std::string_view kManifestType = "application/vnd.oci.image.manifest.v1+json";
constexpr std::string_view kIndexTypes[] = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json"};

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
  }
  void update(const void* data, size_t n) { EVP_DigestUpdate(ctx_.get(), data, n); }
  std::string digest() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), md, &len);
    static const char* kHex = "0123456789abcdef";
    std::string out = "sha256:";
    for (unsigned int i = 0; i < len; ++i) {
      out += kHex[md[i] >> 4];
      out += kHex[md[i] & 15];
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

Result<std::string> readFile(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::notFound("cannot read " + file.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Result<json> readJson(const fs::path& file) {
  auto text = readFile(file);
  if (!text.ok()) return text.status();
  try {
    return json::parse(*text);
  } catch (const std::exception& e) {
    return Status::badRequest(file.string() + ": " + e.what());
  }
}

Status writeFileAtomically(const fs::path& file, const std::string& bytes) {
  const fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << bytes;
    if (!out) return Status::internal("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  return ec ? Status::internal("rename " + tmp.string() + ": " + ec.message()) : Status{};
}

bool isWhiteoutDevice(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

bool isOpaque(const fs::path& dir) {
  char value[4] = {};
  return ::lgetxattr(dir.c_str(), kOpaqueXattr, value, sizeof value) == 1 && value[0] == 'y';
}

Status errnoStatus(const std::string& what) {
  return Status::internal(what + ": " + std::strerror(errno));
}

// Copies one non-directory entry, keeping mode and owner.
Status copyEntry(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::remove_all(to, ec);
  struct stat st {};
  if (::lstat(from.c_str(), &st) != 0) return errnoStatus("lstat " + from.string());
  if (S_ISLNK(st.st_mode)) {
    fs::copy_symlink(from, to, ec);
  } else if (S_ISREG(st.st_mode)) {
    fs::copy_file(from, to, ec);
  } else if (::mknod(to.c_str(), st.st_mode, st.st_rdev) != 0) {
    return errnoStatus("mknod " + to.string());
  }
  if (ec) return Status::internal("copy " + from.string() + ": " + ec.message());
  if (::lchown(to.c_str(), st.st_uid, st.st_gid) != 0) return errnoStatus("chown " + to.string());
  if (!S_ISLNK(st.st_mode) && ::chmod(to.c_str(), st.st_mode & 07777) != 0) {
    return errnoStatus("chmod " + to.string());
  }
  return {};
}

Status copyDirectoryEntry(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  if (isOpaque(from) ||
      (fs::exists(fs::symlink_status(to)) && !fs::is_directory(fs::symlink_status(to)))) {
    fs::remove_all(to, ec);
  }
  fs::create_directory(to, ec);
  struct stat st {};
  if (::lstat(from.c_str(), &st) != 0) return errnoStatus("lstat " + from.string());
  if (::chown(to.c_str(), st.st_uid, st.st_gid) != 0 ||
      ::chmod(to.c_str(), st.st_mode & 07777) != 0) {
    return errnoStatus("chown/chmod " + to.string());
  }
  return {};
}

Status digestMismatch(const std::string& what, const std::string& expected,
                      const std::string& actual) {
  return Status::badRequest("digest mismatch for " + what + ": expected " + expected + ", got " +
                            actual);
}

std::string platformOf(const json& descriptor) {
  const json platform = descriptor.value("platform", json::object());
  return platform.value("os", "") + "/" + platform.value("architecture", "");
}

// The name an index.json entry gives its image: containerd's full name, else ref.name when it
// is a whole reference; a bare tag names nothing on its own.
std::string nameFromAnnotations(const json& descriptor) {
  const json annotations = descriptor.value("annotations", json::object());
  std::string name = annotations.value("io.containerd.image.name", "");
  if (name.empty()) {
    const std::string ref = annotations.value("org.opencontainers.image.ref.name", "");
    if (ref.find_first_of("/:") != std::string::npos) name = ref;
  }
  return name.empty() ? "" : normalizeImageName(name);
}

}  // namespace

bool isImageIndex(const json& manifest) {
  const std::string mediaType = manifest.value("mediaType", "");
  return std::find(std::begin(kIndexTypes), std::end(kIndexTypes), mediaType) !=
             std::end(kIndexTypes) ||
         (mediaType.empty() && manifest.contains("manifests"));
}

Result<json> selectPlatform(const json& index) {
  for (const auto& m : index.value("manifests", json::array())) {
    if (platformOf(m) == "linux/amd64") return m;
  }
  return Status::notFound("the image index has no linux/amd64 image");
}

std::string Image::imageId() const {
  auto ref = parseImageReference(name);
  return (ref.ok() ? ref->repository() : name) + "@" + manifestDigest;
}

std::string sha256Digest(std::string_view bytes) {
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  return h.digest();
}

Result<std::string> sha256FileDigest(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::notFound("cannot read " + file.string());
  Sha256 h;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0)
    h.update(buf, static_cast<size_t>(in.gcount()));
  return h.digest();
}

Status convertWhiteouts(const fs::path& layerDir) {
  std::error_code ec;
  std::vector<fs::path> markers;
  for (auto it = fs::recursive_directory_iterator(layerDir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().filename().string().rfind(kWhiteoutPrefix, 0) == 0)
      markers.push_back(it->path());
  }
  if (ec) return Status::internal("walk " + layerDir.string() + ": " + ec.message());
  for (const auto& marker : markers) {
    const std::string name = marker.filename().string();
    const fs::path parent = marker.parent_path();
    fs::remove(marker, ec);
    if (name == kOpaqueMarker) {
      if (::lsetxattr(parent.c_str(), kOpaqueXattr, "y", 1, 0) != 0) {
        return errnoStatus("set opaque on " + parent.string());
      }
      continue;
    }
    const fs::path hidden = parent / name.substr(kWhiteoutPrefix.size());
    fs::remove_all(hidden, ec);
    if (::mknod(hidden.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) {
      return errnoStatus("whiteout " + hidden.string());
    }
  }
  return {};
}

Status applyLayerCopy(const fs::path& layerDir, const fs::path& target) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(layerDir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path dest = target / fs::relative(it->path(), layerDir);
    if (isWhiteoutDevice(it->path())) {
      fs::remove_all(dest, ec);
      ec.clear();
      continue;
    }
    const Status s = it->is_directory() && !it->is_symlink() ? copyDirectoryEntry(it->path(), dest)
                                                             : copyEntry(it->path(), dest);
    if (!s.isOk()) return s;
  }
  return ec ? Status::internal("walk " + layerDir.string() + ": " + ec.message()) : Status{};
}

ImageStore::ImageStore(fs::path root) : root_(std::move(root)) {}

Status ImageStore::open() {
  std::error_code ec;
  for (const char* sub : {"blobs/sha256", "layers", "tmp"}) fs::create_directories(root_ / sub, ec);
  if (ec) return Status::internal("create " + root_.string() + ": " + ec.message());
  std::lock_guard lock(mu_);
  for (auto [file, table] :
       {std::pair{"references.json", &references_}, {"pulled.json", &pulled_}}) {
    if (!fs::exists(root_ / file)) continue;
    auto loaded = readJson(root_ / file);
    if (!loaded.ok()) return loaded.status();
    *table = *loaded;
  }
  return {};
}

bool ImageStore::hasBlob(const std::string& digest) const {
  return fs::exists(blobPath(digest));
}

Status ImageStore::addBlobFile(const fs::path& file, const std::string& digest) {
  std::error_code ec;
  auto actual = sha256FileDigest(file);
  Status s = actual.ok() ? Status{} : actual.status();
  if (s.isOk() && *actual != digest) s = digestMismatch("blob " + digest, digest, *actual);
  if (s.isOk() && digest.rfind("sha256:", 0) != 0) s = Status::badRequest("unsupported digest");
  if (s.isOk()) fs::rename(file, blobPath(digest), ec);
  if (ec) s = Status::internal("store " + digest + ": " + ec.message());
  fs::remove(file, ec);
  return s;
}

Status ImageStore::addBlobBytes(const std::string& bytes, const std::string& digest) {
  const std::string actual = sha256Digest(bytes);
  if (actual != digest) return digestMismatch("blob " + digest, digest, actual);
  return hasBlob(digest) ? Status{} : writeFileAtomically(blobPath(digest), bytes);
}

Result<fs::path> ImageStore::createTempFile() {
  std::string pattern = (root_ / "tmp" / "blob-XXXXXX").string();
  const int fd = ::mkstemp(pattern.data());
  if (fd < 0) return errnoStatus("mkstemp " + pattern);
  ::close(fd);
  return fs::path(pattern);
}

fs::path ImageStore::blobPath(const std::string& digest) const {
  return root_ / "blobs" / "sha256" / digest.substr(digest.find(':') + 1);
}

Status ImageStore::storeBlob(const fs::path& source, const std::string& digest) {
  if (digest.rfind("sha256:", 0) != 0) return Status::badRequest("unsupported digest " + digest);
  const fs::path dest = blobPath(digest);
  if (fs::exists(dest)) return {};
  auto actual = sha256FileDigest(source);
  if (!actual.ok()) return actual.status();
  if (*actual != digest) return digestMismatch(source.string(), digest, *actual);
  std::error_code ec;
  const fs::path tmp = dest.string() + ".tmp";
  fs::copy_file(source, tmp, fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::rename(tmp, dest, ec);
  return ec ? Status::internal("store " + digest + ": " + ec.message()) : Status{};
}

Status ImageStore::storeBytes(const std::string& bytes, std::string* digestOut) {
  *digestOut = sha256Digest(bytes);
  const fs::path dest = blobPath(*digestOut);
  return fs::exists(dest) ? Status{} : writeFileAtomically(dest, bytes);
}

Result<std::string> ImageStore::chooseManifest(const fs::path& layoutDir, const json& descriptor) {
  const std::string digest = descriptor.value("digest", "");
  const fs::path file = layoutDir / "blobs" / "sha256" / digest.substr(digest.find(':') + 1);
  const std::string mediaType = descriptor.value("mediaType", "");
  if (isImageIndex({{"mediaType", mediaType}})) {
    auto index = readJson(file);
    if (!index.ok()) return index.status();
    auto chosen = selectPlatform(*index);
    if (!chosen.ok())
      return Status::notFound("image index " + digest + " has no linux/amd64 image");
    return chooseManifest(layoutDir, *chosen);
  }
  auto manifest = readJson(file);
  if (!manifest.ok()) return manifest.status();
  std::vector<json> blobs = manifest->value("layers", json::array());
  blobs.push_back(manifest->value("config", json::object()));
  for (const auto& blob : blobs) {
    const std::string d = blob.value("digest", "");
    const Status s = storeBlob(layoutDir / "blobs" / "sha256" / d.substr(d.find(':') + 1), d);
    if (!s.isOk()) return s;
  }
  const Status s = storeBlob(file, digest);  // last: a stored manifest implies its blobs
  if (!s.isOk()) return s;
  return digest;
}

Result<std::vector<std::string>> ImageStore::importOciLayout(const fs::path& dir) {
  auto index = readJson(dir / "index.json");
  if (!index.ok()) return index.status();
  std::vector<std::string> names;
  for (const auto& descriptor : index->value("manifests", json::array())) {
    const std::string name = nameFromAnnotations(descriptor);
    if (name.empty()) continue;
    auto manifest = chooseManifest(dir, descriptor);
    if (!manifest.ok()) return manifest.status();
    const Status s = addReference(name, *manifest);
    if (!s.isOk()) return s;
    names.push_back(name);
  }
  if (names.empty()) return Status::badRequest(dir.string() + ": no named image in index.json");
  return names;
}

Result<std::vector<std::string>> ImageStore::importDockerArchive(const fs::path& dir) {
  auto entries = readJson(dir / "manifest.json");
  if (!entries.ok()) return entries.status();
  std::vector<std::string> names;
  for (const auto& entry : *entries) {
    const fs::path configFile = dir / entry.value("Config", "");
    auto configDigest = sha256FileDigest(configFile);
    if (!configDigest.ok()) return configDigest.status();
    json manifest = {{"schemaVersion", 2}, {"mediaType", kManifestType}};
    manifest["config"] = {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                          {"digest", *configDigest},
                          {"size", fs::file_size(configFile)}};
    manifest["layers"] = json::array();
    std::vector<std::pair<fs::path, std::string>> blobs = {{configFile, *configDigest}};
    for (const auto& layer : entry.value("Layers", json::array())) {
      const fs::path file = dir / layer.get<std::string>();
      auto digest = sha256FileDigest(file);
      if (!digest.ok()) return digest.status();
      manifest["layers"].push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                                    {"digest", *digest},
                                    {"size", fs::file_size(file)}});
      blobs.emplace_back(file, *digest);
    }
    for (const auto& [file, digest] : blobs) {
      const Status s = storeBlob(file, digest);
      if (!s.isOk()) return s;
    }
    std::string manifestDigest;
    if (Status s = storeBytes(manifest.dump(), &manifestDigest); !s.isOk()) return s;
    for (const auto& tag : entry.value("RepoTags", json::array())) {
      const std::string name = normalizeImageName(tag.get<std::string>());
      if (Status s = addReference(name, manifestDigest); !s.isOk()) return s;
      names.push_back(name);
    }
  }
  return names;
}

Result<std::vector<std::string>> ImageStore::importArchive(const fs::path& tarball) {
  char pattern[] = "import-XXXXXX";
  const std::string tmpl = (root_ / "tmp" / pattern).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) return errnoStatus("mkdtemp");
  const fs::path dir(buf.data());
  auto cleanup =
      std::unique_ptr<const fs::path, void (*)(const fs::path*)>(&dir, [](const fs::path* p) {
        std::error_code ec;
        fs::remove_all(*p, ec);
      });
  if (Status s = runChecked({"tar", "-xf", tarball.string(), "-C", dir.string()}); !s.isOk()) {
    return s;
  }
  if (fs::exists(dir / "oci-layout")) return importOciLayout(dir);
  if (fs::exists(dir / "manifest.json")) return importDockerArchive(dir);
  return Status::badRequest(tarball.string() + " is neither an oci-archive nor a docker-archive");
}

Status ImageStore::addReference(const std::string& name, const std::string& manifestDigest) {
  return setReference(name, manifestDigest, false);
}

Status ImageStore::setReference(const std::string& name, const std::string& manifestDigest,
                                bool pulled) {
  std::lock_guard lock(mu_);
  references_[name] = manifestDigest;
  if (pulled) {
    pulled_[name] = true;
  } else {
    pulled_.erase(name);
  }
  return saveReferences();
}

bool ImageStore::pulledFromRegistry(const std::string& name) const {
  std::lock_guard lock(mu_);
  return pulled_.contains(normalizeImageName(name)) &&
         references_.contains(normalizeImageName(name));
}

void ImageStore::reachableBlobs(const std::string& digest, std::set<std::string>& out) const {
  if (digest.empty() || !out.insert(digest).second) return;
  auto blob = readJson(blobPath(digest));
  if (!blob.ok()) return;
  if (isImageIndex(*blob)) {
    for (const auto& child : blob->value("manifests", json::array())) {
      const std::string d = child.value("digest", "");
      if (hasBlob(d)) reachableBlobs(d, out);
    }
    return;
  }
  out.insert(blob->value("config", json::object()).value("digest", ""));
  for (const auto& layer : blob->value("layers", json::array())) {
    out.insert(layer.value("digest", ""));
  }
}

Status ImageStore::removeImage(const std::string& name) {
  auto ref = parseImageReference(name);
  if (!ref.ok()) return ref.status();
  const std::string key = ref->full();
  std::set<std::string> kept, removed;
  {
    std::lock_guard lock(mu_);
    if (!references_.contains(key)) {
      return Status::notFound("image \"" + key + "\" not found in the node's image store");
    }
    const std::string digest = references_.value(key, "");
    references_.erase(key);
    pulled_.erase(key);
    if (Status s = saveReferences(); !s.isOk()) return s;
    for (const auto& [other, d] : references_.items()) reachableBlobs(d.get<std::string>(), kept);
    reachableBlobs(digest, removed);
  }
  std::error_code ec;
  for (const auto& digest : removed) {
    if (kept.contains(digest) || digest.rfind("sha256:", 0) != 0) continue;
    fs::remove(blobPath(digest), ec);
    fs::remove_all(root_ / "layers" / digest.substr(7), ec);
    if (ec) return Status::internal("remove layer " + digest + ": " + ec.message());
  }
  return {};
}

Status ImageStore::saveReferences() const {
  Status s = writeFileAtomically(root_ / "references.json", references_.dump(2));
  return s.isOk() ? writeFileAtomically(root_ / "pulled.json", pulled_.dump(2)) : s;
}

Result<json> ImageStore::readManifest(const std::string& digest) const {
  auto manifest = readJson(blobPath(digest));
  if (!manifest.ok() || !isImageIndex(*manifest)) return manifest;
  auto chosen = selectPlatform(*manifest);
  if (!chosen.ok()) return Status::notFound("image index " + digest + " has no linux/amd64 image");
  return readJson(blobPath(chosen->value("digest", "")));
}

Result<Image> ImageStore::find(const std::string& name) const {
  auto ref = parseImageReference(name);
  if (!ref.ok()) return ref.status();
  Image image;
  image.name = ref->full();
  if (!ref->digest.empty()) {
    image.manifestDigest = ref->digest;
  } else {
    std::lock_guard lock(mu_);
    image.manifestDigest = references_.value(image.name, "");
  }
  if (image.manifestDigest.empty() || !fs::exists(blobPath(image.manifestDigest))) {
    return Status::notFound("image " + image.name + " not found in the node's image store");
  }
  auto manifest = readManifest(image.manifestDigest);
  if (!manifest.ok()) return manifest.status();
  image.configDigest = manifest->value("config", json::object()).value("digest", "");
  auto config = readJson(blobPath(image.configDigest));
  if (!config.ok()) return config.status();
  image.config = config->value("config", json::object());
  for (const auto& layer : manifest->value("layers", json::array())) {
    image.layers.push_back(layer.value("digest", ""));
  }
  return image;
}

std::vector<ImageSummary> ImageStore::list() const {
  json references;
  {
    std::lock_guard lock(mu_);
    references = references_;
  }
  std::map<std::string, ImageSummary> byManifest;  // manifest digest -> summary
  std::map<std::string, std::vector<std::string>> tags;
  for (const auto& [name, digest] : references.items()) {
    auto image = find(name);
    if (!image.ok()) continue;  // a reference whose blobs are gone is not an image
    ImageSummary& summary = byManifest[image->manifestDigest];
    if (summary.names.empty()) {
      std::error_code ec;
      for (const auto& blob : image->layers) {
        summary.sizeBytes += static_cast<int64_t>(fs::file_size(blobPath(blob), ec));
      }
      summary.sizeBytes += static_cast<int64_t>(fs::file_size(blobPath(image->configDigest), ec));
    }
    // Each repository naming the manifest has its repo digest, as containerd reports them.
    if (std::find(summary.names.begin(), summary.names.end(), image->imageId()) ==
        summary.names.end()) {
      summary.names.push_back(image->imageId());
    }
    tags[image->manifestDigest].push_back(name);
  }
  std::vector<ImageSummary> out;
  for (auto& [digest, summary] : byManifest) {
    for (auto& tag : tags[digest]) summary.names.push_back(std::move(tag));
    out.push_back(std::move(summary));
  }
  std::stable_sort(out.begin(), out.end(), [](const ImageSummary& a, const ImageSummary& b) {
    return a.sizeBytes > b.sizeBytes;
  });
  return out;
}

Result<fs::path> ImageStore::unpackedLayer(const std::string& digest) {
  const fs::path dir = root_ / "layers" / digest.substr(digest.find(':') + 1);
  std::lock_guard lock(mu_);
  if (fs::exists(dir)) return dir;
  const fs::path tmp = dir.string() + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  // GNU tar recognises gzip and plain tar by content.
  Status s =
      runChecked({"tar", "--numeric-owner", "-xpf", blobPath(digest).string(), "-C", tmp.string()});
  if (s.isOk()) s = convertWhiteouts(tmp);
  if (!s.isOk()) {
    fs::remove_all(tmp, ec);
    return s;
  }
  fs::rename(tmp, dir, ec);
  if (ec) return Status::internal("rename " + tmp.string() + ": " + ec.message());
  return dir;
}

Result<fs::path> ImageStore::prepareRootfs(const Image& image, const fs::path& dir) {
  const fs::path rootfs = dir / "rootfs";
  std::error_code ec;
  for (const char* sub : {"rootfs", "upper", "work"}) fs::create_directories(dir / sub, ec);
  if (ec) return Status::internal("create " + dir.string() + ": " + ec.message());
  if (fs::exists(dir / "mounted") || fs::exists(dir / "copied")) return rootfs;
  std::vector<fs::path> layers;
  for (const auto& digest : image.layers) {
    auto layer = unpackedLayer(digest);
    if (!layer.ok()) return layer.status();
    layers.push_back(*layer);
  }
  // overlayfs lists lower directories top first.
  std::string lower;
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    lower += (lower.empty() ? "" : ":") + it->string();
  }
  const std::string options = "lowerdir=" + lower + ",upperdir=" + (dir / "upper").string() +
                              ",workdir=" + (dir / "work").string();
  if (!layers.empty() && ::mount("overlay", rootfs.c_str(), "overlay", 0, options.c_str()) == 0) {
    std::ofstream(dir / "mounted").put('\n');
    return rootfs;
  }
  for (const auto& layer : layers) {
    if (Status s = applyLayerCopy(layer, rootfs); !s.isOk()) return s;
  }
  std::ofstream(dir / "copied").put('\n');
  return rootfs;
}

Status ImageStore::releaseRootfs(const fs::path& dir) {
  const fs::path rootfs = dir / "rootfs";
  if (fs::exists(dir / "mounted") && ::umount2(rootfs.c_str(), MNT_DETACH) != 0 &&
      errno != EINVAL && errno != ENOENT) {
    return errnoStatus("umount " + rootfs.string());
  }
  std::error_code ec;
  for (const char* sub : {"rootfs", "upper", "work", "mounted", "copied"}) {
    removeTree(dir / sub, ec);
    if (ec) return Status::internal("remove " + (dir / sub).string() + ": " + ec.message());
  }
  return {};
}

}  // namespace kd::node

#include "engine/node/volumes.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <set>

#include "engine/api/quantity.h"
#include "engine/node/file_tree.h"
#include "engine/node/timestamps.h"

namespace kd::node {

namespace fs = std::filesystem;

namespace {

using Payload = std::map<std::string, PayloadFile>;

constexpr int kDefaultMode = 0644;

json spec(const json& pod) {
  return pod.value("spec", json::object());
}

std::string readAll(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool isMountPoint(const fs::path& dir) {
  struct stat self {
  }, parent{};
  return ::stat(dir.c_str(), &self) == 0 && ::stat(dir.parent_path().c_str(), &parent) == 0 &&
         self.st_dev != parent.st_dev;
}

bool safeRelative(const std::string& path) {
  if (path.empty() || path.front() == '/') return false;
  for (const auto& part : fs::path(path))
    if (part == "..") return false;
  return true;
}

// A configMap or secret volume source (or projection) as files.
Result<Payload> configPayload(const json& source, bool secret, const ObjectGetter& get,
                              int defaultMode) {
  const std::string name = source.value(secret ? "secretName" : "name", source.value("name", ""));
  const bool optional = source.value("optional", false);
  Payload out;
  auto object = get ? get(secret ? "secrets" : "configmaps", name)
                    : Result<json>(Status::notFound("no object source"));
  if (!object.ok()) {
    if (optional && object.status().code() == 404) return out;
    return configLookupError(secret, name, object.status());
  }
  const int mode = source.value("defaultMode", defaultMode);
  if (!source.contains("items")) {
    for (const auto& [k, v] : configEntries(*object, secret)) out[k] = {v, mode};
    return out;
  }
  for (const auto& item : source["items"]) {
    const std::string key = item.value("key", ""), path = item.value("path", key);
    auto value = configValue(*object, secret, key);
    if (!value) {
      if (optional) continue;
      return Status::badRequest(secret ? "references non-existent secret key: " + key
                                       : "configmap references non-existent config key: " + key);
    }
    if (!safeRelative(path)) return Status::badRequest("invalid item path: " + path);
    out[path] = {*value, item.value("mode", mode)};
  }
  return out;
}

// A fieldRef as a downward API file: whole label/annotation maps are key="value" lines.
Result<std::string> fieldText(const json& pod, const std::string& field) {
  if (field == "metadata.labels" || field == "metadata.annotations") {
    std::string text;
    const json meta = pod.value("metadata", json::object());
    const json map = meta.value(field.substr(9), json::object());
    for (const auto& [k, v] : map.items()) text += k + "=" + v.dump() + "\n";
    return text;
  }
  if (auto v = podField(pod, field)) return *v;
  return Status::badRequest("unsupported fieldPath: " + field);
}

Result<Payload> downwardPayload(const json& source, const json& pod, int defaultMode) {
  Payload out;
  const int mode = source.value("defaultMode", defaultMode);
  for (const auto& item : source.value("items", json::array())) {
    const std::string path = item.value("path", "");
    if (!safeRelative(path)) return Status::badRequest("invalid item path: " + path);
    Result<std::string> value = Status::badRequest("item " + path + " has no source");
    if (item.contains("fieldRef")) {
      value = fieldText(pod, item["fieldRef"].value("fieldPath", ""));
    } else if (item.contains("resourceFieldRef")) {
      value = resourceField(pod, json::object(), item["resourceFieldRef"]);
    }
    if (!value.ok()) return value.status();
    out[path] = {*value, item.value("mode", mode)};
  }
  return out;
}

Result<Payload> tokenPayload(const json& projection, const TokenSource& tokens, int mode) {
  const std::string path = projection.value("path", "");
  if (!safeRelative(path)) return Status::badRequest("invalid token path: " + path);
  if (!tokens) return Status::badRequest("failed to fetch token: no token source");
  auto token = tokens(projection);
  if (!token.ok()) return token.status();
  return Payload{{path, {*token, mode}}};
}

Result<Payload> projectedPayload(const json& source, const json& pod, const ObjectGetter& get,
                                 const TokenSource& tokens) {
  Payload out;
  const int mode = source.value("defaultMode", kDefaultMode);
  for (const auto& s : source.value("sources", json::array())) {
    Result<Payload> part = Payload{};
    if (s.contains("configMap")) part = configPayload(s["configMap"], false, get, mode);
    if (s.contains("secret")) part = configPayload(s["secret"], true, get, mode);
    if (s.contains("downwardAPI")) part = downwardPayload(s["downwardAPI"], pod, mode);
    if (s.contains("serviceAccountToken"))
      part = tokenPayload(s["serviceAccountToken"], tokens, mode);
    if (!part.ok()) return part.status();
    for (auto& [k, v] : *part) out[k] = v;
  }
  return out;
}

Status checkHostPath(const fs::path& path, const std::string& type) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  auto fail = [&](const char* what) {
    return Status::badRequest("hostPath type check failed: " + path.string() + " is not " + what);
  };
  if (type == "DirectoryOrCreate" && !fs::exists(st)) fs::create_directories(path, ec);
  if (type == "FileOrCreate" && !fs::exists(st)) {
    fs::create_directories(path.parent_path(), ec);
    std::ofstream(path, std::ios::app).flush();
  }
  const auto now = fs::status(path, ec);
  if ((type == "Directory" || type == "DirectoryOrCreate") && !fs::is_directory(now))
    return fail("a directory");
  if ((type == "File" || type == "FileOrCreate") && !fs::is_regular_file(now))
    return fail("a file");
  if (type == "Socket" && !fs::is_socket(now)) return fail("a socket file");
  if (type == "CharDevice" && !fs::is_character_file(now)) return fail("a character device");
  if (type == "BlockDevice" && !fs::is_block_file(now)) return fail("a block device");
  return {};
}

Result<std::string> claimPath(const json& source, const ObjectGetter& get) {
  const std::string name = source.value("claimName", "");
  if (!get) return Status::badRequest("no object source");
  auto claim = get("persistentvolumeclaims", name);
  if (!claim.ok()) {
    if (claim.status().code() == 404)
      return Status::badRequest("persistentvolumeclaim \"" + name + "\" not found");
    return claim.status();
  }
  const std::string phase = claim->value("status", json::object()).value("phase", "Pending");
  const std::string volume = claim->value("spec", json::object()).value("volumeName", "");
  if (phase != "Bound" || volume.empty())
    return Status::badRequest("PVC " + name + " has non-bound phase (\"" + phase +
                              "\") or empty pvc.Spec.VolumeName");
  auto pv = get("persistentvolumes", volume);
  if (!pv.ok()) return pv.status();
  const std::string path =
      pv->value("spec", json::object()).value("hostPath", json::object()).value("path", "");
  if (path.empty()) return Status::badRequest("volume " + volume + " has no hostPath");
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return Status::internal("create " + path + ": " + ec.message());
  return path;
}

Status emptyDir(const fs::path& dir, const json& source) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::internal("create " + dir.string() + ": " + ec.message());
  if (source.value("medium", "") != "Memory" || isMountPoint(dir)) return {};
  std::string options = "mode=0777";
  if (source.contains("sizeLimit")) {
    auto q = api::Quantity::fromJson(source["sizeLimit"]);
    if (q.ok() && !q->isZero()) options += ",size=" + std::to_string(q->value());
  }
  if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0)
    return Status::internal("mount tmpfs on " + dir.string() + ": " + std::strerror(errno));
  return {};
}

// Sets up one volume; returns its host path.
Result<std::string> setUp(const fs::path& dir, const json& volume, const json& pod,
                          const ObjectGetter& get, const TokenSource& tokens) {
  Result<Payload> payload = Status::notFound("");
  if (volume.contains("emptyDir")) {
    if (Status s = emptyDir(dir, volume["emptyDir"]); !s.isOk()) return s;
    return dir.string();
  }
  if (volume.contains("hostPath")) {
    const std::string path = volume["hostPath"].value("path", "");
    if (Status s = checkHostPath(path, volume["hostPath"].value("type", "")); !s.isOk()) return s;
    return path;
  }
  if (volume.contains("persistentVolumeClaim"))
    return claimPath(volume["persistentVolumeClaim"], get);
  if (volume.contains("configMap"))
    payload = configPayload(volume["configMap"], false, get, kDefaultMode);
  else if (volume.contains("secret"))
    payload = configPayload(volume["secret"], true, get, kDefaultMode);
  else if (volume.contains("downwardAPI"))
    payload = downwardPayload(volume["downwardAPI"], pod, kDefaultMode);
  else if (volume.contains("projected"))
    payload = projectedPayload(volume["projected"], pod, get, tokens);
  else
    return Status::badRequest("unsupported volume type");
  if (!payload.ok()) return payload.status();
  if (Status s = writeAtomically(dir, *payload); !s.isOk()) return s;
  return dir.string();
}

bool alwaysReadOnly(const json& volume) {
  for (const char* kind : {"configMap", "secret", "downwardAPI", "projected"})
    if (volume.contains(kind)) return true;
  return volume.value("persistentVolumeClaim", json::object()).value("readOnly", false);
}

bool payloadMatches(const fs::path& dir, const Payload& files) {
  size_t count = 0;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) count += e.is_regular_file();
  if (count != files.size()) return false;
  for (const auto& [path, file] : files) {
    struct stat st {};
    if (::stat((dir / path).c_str(), &st) != 0 || static_cast<int>(st.st_mode & 07777) != file.mode)
      return false;
    if (readAll(dir / path) != file.content) return false;
  }
  return true;
}

}  // namespace

Status writeAtomically(const fs::path& dir, const Payload& files) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  const fs::path data = dir / "..data";
  const fs::path old = fs::is_symlink(data) ? dir / fs::read_symlink(data, ec) : fs::path();
  if (!old.empty() && payloadMatches(old, files)) return {};
  static std::atomic<int> serial{0};
  const std::string name = ".." + std::to_string(Clock::now().time_since_epoch().count()) + "." +
                           std::to_string(++serial);
  const fs::path fresh = dir / name;
  std::set<std::string> top;
  for (const auto& [path, file] : files) {
    const fs::path target = fresh / path;
    fs::create_directories(target.parent_path(), ec);
    std::ofstream(target, std::ios::binary | std::ios::trunc) << file.content;
    if (::chmod(target.c_str(), static_cast<mode_t>(file.mode)) != 0)
      return Status::internal("chmod " + target.string() + ": " + std::strerror(errno));
    top.insert(fs::path(path).begin()->string());
  }
  fs::create_directories(fresh, ec);
  const fs::path tmp = dir / "..data_tmp";
  fs::remove(tmp, ec);
  fs::create_directory_symlink(name, tmp, ec);
  if (ec) return Status::internal("symlink " + tmp.string() + ": " + ec.message());
  fs::rename(tmp, data, ec);
  if (ec) return Status::internal("rename " + data.string() + ": " + ec.message());
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string n = entry.path().filename().string();
    if (!n.starts_with("..") && !top.count(n)) fs::remove(entry.path(), ec);
  }
  for (const auto& n : top) {
    if (!fs::is_symlink(dir / n)) fs::create_symlink(fs::path("..data") / n, dir / n, ec);
  }
  if (!old.empty() && old != fresh) removeTree(old, ec);
  return {};
}

Result<VolumePaths> prepareVolumes(const fs::path& podDir, const json& pod, const ObjectGetter& get,
                                   const TokenSource& tokens) {
  VolumePaths out;
  for (const auto& volume : spec(pod).value("volumes", json::array())) {
    const std::string name = volume.value("name", "");
    auto path = setUp(podDir / "volumes" / name, volume, pod, get, tokens);
    if (!path.ok()) {
      return Status::badRequest("MountVolume.SetUp failed for volume \"" + name +
                                "\" : " + path.status().message());
    }
    out[name] = *path;
  }
  return out;
}

Result<std::vector<BindMount>> containerMounts(const json& pod, const json& container,
                                               const VolumePaths& volumes) {
  std::map<std::string, json> byName;
  for (const auto& v : spec(pod).value("volumes", json::array())) byName[v.value("name", "")] = v;
  std::vector<BindMount> out;
  for (const auto& m : container.value("volumeMounts", json::array())) {
    const std::string name = m.value("name", ""), subPath = m.value("subPath", "");
    auto it = volumes.find(name);
    if (it == volumes.end()) return Status::badRequest("volume \"" + name + "\" is not set up");
    fs::path source = it->second;
    if (!subPath.empty()) {
      if (!safeRelative(subPath)) return Status::badRequest("invalid subPath: " + subPath);
      source /= subPath;
      std::error_code ec;
      if (!fs::exists(source)) fs::create_directories(source, ec);
    }
    out.push_back({source.string(), m.value("mountPath", ""),
                   m.value("readOnly", false) || alwaysReadOnly(byName[name])});
  }
  return out;
}

void teardownVolumes(const fs::path& podDir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(podDir / "volumes", ec)) {
    if (isMountPoint(entry.path())) ::umount2(entry.path().c_str(), MNT_DETACH);
  }
}

}  // namespace kd::node

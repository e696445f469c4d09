#include "engine/client/kubeconfig.h"

#include "engine/api/base64.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <system_error>

#include "engine/api/yaml_json.h"

namespace kd::client {
namespace {

namespace fs = std::filesystem;

std::string stringField(const json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

Result<std::string> readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::notFound("cannot read " + path.string() + ": " + std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// One kubeconfig document as a JSON object; an empty file is an empty config, as for kubectl.
Result<json> parseKubeconfig(const fs::path& file, const std::string& text) {
  auto docs = api::parseYamlDocuments(text);
  if (!docs) return Status::badRequest(file.string() + ": " + docs.status().message());
  if (docs->empty()) return json::object();
  if (docs->size() > 1 || !docs->front().is_object()) {
    return Status::badRequest(file.string() + ": a kubeconfig must be one YAML mapping");
  }
  json doc = std::move(docs->front());
  for (const char* list : {"clusters", "users", "contexts"}) {
    if (doc.contains(list) && !doc[list].is_null() && !doc[list].is_array()) {
      return Status::badRequest(file.string() + ": \"" + list + "\" must be a list");
    }
  }
  return doc;
}

Result<json> loadKubeconfig(const fs::path& file) {
  auto text = readFile(file);
  if (!text) return text.status();
  return parseKubeconfig(file, *text);
}

// Fills in the fields kubectl always writes, leaving everything else as found.
void normalize(json& doc) {
  if (!doc.contains("apiVersion")) doc["apiVersion"] = "v1";
  if (!doc.contains("kind")) doc["kind"] = "Config";
  if (!doc.contains("preferences") || doc["preferences"].is_null()) {
    doc["preferences"] = json::object();
  }
  if (!doc["current-context"].is_string()) doc["current-context"] = "";
  for (const char* list : {"clusters", "users", "contexts"}) {
    if (!doc[list].is_array()) doc[list] = json::array();
  }
}

void upsertNamed(json& list, const std::string& name, const char* field, json body) {
  json entry = {{"name", name}, {field, std::move(body)}};
  for (auto& existing : list) {
    if (stringField(existing, "name") == name) {
      existing = std::move(entry);
      return;
    }
  }
  list.push_back(std::move(entry));
}

void eraseNamed(json& list, const std::string& name) {
  json kept = json::array();
  for (auto& entry : list) {
    if (stringField(entry, "name") != name) kept.push_back(std::move(entry));
  }
  list = std::move(kept);
}

json clusterBody(const ClusterAccess& access) {
  json cluster = {{"server", access.server}};
  if (!access.caPem.empty())
    cluster["certificate-authority-data"] = api::base64Encode(access.caPem);
  if (!access.tlsServerName.empty()) cluster["tls-server-name"] = access.tlsServerName;
  if (access.insecureSkipTlsVerify) cluster["insecure-skip-tls-verify"] = true;
  return cluster;
}

json userBody(const ClusterAccess& access) {
  json user = json::object();
  if (!access.clientCertPem.empty()) {
    user["client-certificate-data"] = api::base64Encode(access.clientCertPem);
  }
  if (!access.clientKeyPem.empty())
    user["client-key-data"] = api::base64Encode(access.clientKeyPem);
  if (!access.token.empty()) user["token"] = access.token;
  return user;
}

json contextBody(const ClusterAccess& access) {
  json context = {{"cluster", access.contextName}, {"user", access.contextName}};
  if (!access.namespaceName.empty()) context["namespace"] = access.namespaceName;
  return context;
}

// ---- writing in the layout kubectl (go-yaml) uses: a list sits at its key's indentation and
// empty collections stay inline, so a kubeconfig diffs cleanly after either tool wrote it ----

std::string scalarYaml(const json& value) {
  if (!value.is_string()) return value.dump();
  std::string text = api::toYaml(value);
  text.pop_back();
  // A multi-line string as a JSON string, which is also a valid YAML double-quoted scalar.
  return text.find('\n') == std::string::npos ? text : value.dump();
}

bool isInline(const json& value) {
  return !value.is_structured() || value.empty();
}

void emitMap(std::string& out, const json& map, size_t indent, bool firstOnCurrentLine);
void emitSeq(std::string& out, const json& seq, size_t indent);

std::string inlineYaml(const json& value) {
  if (!value.is_structured()) return scalarYaml(value);
  return value.is_object() ? "{}" : "[]";
}

void emitAfterKey(std::string& out, const json& value, size_t indent) {
  if (isInline(value)) {
    out += " " + inlineYaml(value) + "\n";
  } else if (value.is_object()) {
    out += "\n";
    emitMap(out, value, indent + 2, false);
  } else {
    out += "\n";
    emitSeq(out, value, indent);
  }
}

void emitMap(std::string& out, const json& map, size_t indent, bool firstOnCurrentLine) {
  for (const auto& [key, value] : map.items()) {
    if (!firstOnCurrentLine) out.append(indent, ' ');
    firstOnCurrentLine = false;
    out += scalarYaml(key) + ":";
    emitAfterKey(out, value, indent);
  }
}

void emitSeq(std::string& out, const json& seq, size_t indent) {
  for (const auto& item : seq) {
    out.append(indent, ' ');
    out += "-";
    if (item.is_object() && !item.empty()) {
      out += " ";
      emitMap(out, item, indent + 2, true);
    } else {
      emitAfterKey(out, item, indent + 2);
    }
  }
}

std::string kubeconfigYaml(const json& doc) {
  std::string out;
  emitMap(out, doc, 0, false);
  return out;
}

// kubectl's own lock protocol (an exclusive FILE.lock), so a concurrent `kubectl config`
// edit and ours never interleave.
class KubeconfigLock {
 public:
  explicit KubeconfigLock(const fs::path& file) : path_(file.string() + ".lock") {
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      int err = errno;
      error_ = "cannot lock " + file.string() + ": " + path_ + ": " + std::strerror(err) +
               (err == EEXIST ? " (another kubectl may be editing it; remove the lock file "
                                "if none is running)"
                              : "");
      return;
    }
    ::close(fd);
  }
  ~KubeconfigLock() {
    if (error_.empty()) ::unlink(path_.c_str());
  }
  KubeconfigLock(const KubeconfigLock&) = delete;
  KubeconfigLock& operator=(const KubeconfigLock&) = delete;
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  std::string error_;
};

// A temporary file in the same directory renamed over the target: readers see the old or
// the new kubeconfig, never a half-written one.
Status writeAtomically(const fs::path& file, const std::string& text) {
  std::string tmp = file.string() + ".kubedesk-XXXXXX";
  int fd = ::mkstemp(tmp.data());  // creates the file with mode 0600
  if (fd < 0) {
    return Status::internal("cannot write " + file.string() + ": " + std::strerror(errno));
  }
  bool ok = ::fchmod(fd, 0600) == 0;
  for (size_t done = 0; ok && done < text.size();) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  int err = errno;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    if (ok) err = errno;
    ::unlink(tmp.c_str());
    return Status::internal("cannot write " + file.string() + ": " + std::strerror(err));
  }
  return Status::ok();
}

// A symlinked kubeconfig (dotfile managers) is edited where it points, not replaced.
fs::path editTarget(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_symlink(file, ec)) return file;
  fs::path target = fs::canonical(file, ec);
  return ec ? file : target;
}

Status editKubeconfig(const fs::path& file, const std::function<void(json&)>& change) {
  fs::path target = editTarget(file);
  std::error_code ec;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  if (ec)
    return Status::internal("cannot create " + target.parent_path().string() + ": " + ec.message());
  KubeconfigLock lock(target);
  if (!lock.error().empty()) return Status::conflict(lock.error());
  Result<json> doc = fs::exists(target, ec) ? loadKubeconfig(target) : Result<json>(json::object());
  if (!doc) return doc.status();
  normalize(*doc);
  change(*doc);
  return writeAtomically(target, kubeconfigYaml(*doc));
}

// ---- reading, merged as kubectl merges $KUBECONFIG ----

struct NamedEntry {
  json body;
  fs::path file;  // relative paths in the body are relative to this file's directory
};

struct MergedKubeconfig {
  std::vector<fs::path> files;
  std::string currentContext;
  std::map<std::string, NamedEntry> clusters, users, contexts;

  std::string describeFiles() const {
    if (files.empty()) return "no kubeconfig file";
    std::string out;
    for (const auto& f : files) out += (out.empty() ? "" : ", ") + f.string();
    return out;
  }
};

std::vector<fs::path> kubeconfigEnvFiles() {
  std::vector<fs::path> files;
  const char* env = std::getenv("KUBECONFIG");
  std::string list = env ? env : "";
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ':');) {
    if (!item.empty() && std::find(files.begin(), files.end(), item) == files.end()) {
      files.emplace_back(item);
    }
  }
  return files;
}

fs::path homeDirectory() {
  if (const char* home = std::getenv("HOME"); home && *home) return home;
  const passwd* pw = ::getpwuid(::getuid());
  return pw ? fs::path(pw->pw_dir) : fs::path();
}

void mergeEntries(const json& doc, const char* list, const char* field, const fs::path& file,
                  std::map<std::string, NamedEntry>& into) {
  if (!doc.contains(list) || !doc[list].is_array()) return;
  for (const auto& entry : doc[list]) {
    std::string name = stringField(entry, "name");
    if (name.empty() || into.count(name)) continue;
    into.emplace(name, NamedEntry{entry.value(field, json::object()), file});
  }
}

Result<MergedKubeconfig> loadMerged(const std::optional<fs::path>& explicitFile) {
  std::vector<fs::path> candidates;
  if (explicitFile) {
    candidates = {*explicitFile};
  } else {
    candidates = kubeconfigEnvFiles();
    if (candidates.empty()) candidates = {homeDirectory() / ".kube" / "config"};
  }
  MergedKubeconfig merged;
  for (const auto& file : candidates) {
    std::error_code ec;
    if (!explicitFile && !fs::exists(file, ec)) continue;  // kubectl skips missing entries
    auto doc = loadKubeconfig(file);
    if (!doc) return doc.status();
    merged.files.push_back(file);
    if (merged.currentContext.empty()) merged.currentContext = stringField(*doc, "current-context");
    mergeEntries(*doc, "clusters", "cluster", file, merged.clusters);
    mergeEntries(*doc, "users", "user", file, merged.users);
    mergeEntries(*doc, "contexts", "context", file, merged.contexts);
  }
  if (merged.files.empty()) merged.files = candidates;
  return merged;
}

Result<std::string> referencedFile(const NamedEntry& entry, const std::string& what,
                                   const char* fileKey) {
  std::string name = stringField(entry.body, fileKey);
  if (name.empty()) return std::string();
  fs::path path = name;
  if (path.is_relative()) path = entry.file.parent_path() / path;
  auto text = readFile(path);
  if (!text) {
    return Status::notFound(std::string(fileKey) + " of " + what + " in " + entry.file.string() +
                            ": " + text.status().message());
  }
  return text;
}

// The inline -data form wins over the file form, as in client-go.
Result<std::string> dataOrFile(const NamedEntry& entry, const std::string& what,
                               const char* dataKey, const char* fileKey) {
  std::string data = stringField(entry.body, dataKey);
  if (data.empty()) return referencedFile(entry, what, fileKey);
  auto decoded = api::base64Decode(data);
  if (!decoded) {
    return Status::invalid(std::string(dataKey) + " of " + what + " in " + entry.file.string() +
                           " is not valid base64");
  }
  return *decoded;
}

Status fillCluster(const NamedEntry& cluster, const std::string& what, ClusterAccess& access) {
  access.server = stringField(cluster.body, "server");
  access.tlsServerName = stringField(cluster.body, "tls-server-name");
  auto insecure = cluster.body.find("insecure-skip-tls-verify");
  access.insecureSkipTlsVerify =
      insecure != cluster.body.end() && insecure->is_boolean() && insecure->get<bool>();
  auto ca = dataOrFile(cluster, what, "certificate-authority-data", "certificate-authority");
  if (!ca) return ca.status();
  access.caPem = std::move(*ca);
  return Status::ok();
}

Status fillUser(const NamedEntry& user, const std::string& what, ClusterAccess& access) {
  auto cert = dataOrFile(user, what, "client-certificate-data", "client-certificate");
  if (!cert) return cert.status();
  auto key = dataOrFile(user, what, "client-key-data", "client-key");
  if (!key) return key.status();
  access.clientCertPem = std::move(*cert);
  access.clientKeyPem = std::move(*key);
  access.token = stringField(user.body, "token");
  if (access.token.empty()) {
    auto token = referencedFile(user, what, "tokenFile");
    if (!token) return token.status();
    access.token = *token;
    while (!access.token.empty() && std::isspace(static_cast<unsigned char>(access.token.back()))) {
      access.token.pop_back();
    }
  }
  return Status::ok();
}

Result<ClusterAccess> resolveContext(const MergedKubeconfig& merged, const std::string& requested) {
  ClusterAccess access;
  access.contextName = requested.empty() ? merged.currentContext : requested;
  if (access.contextName.empty()) {
    return Status::notFound("no context was named and current-context is not set in " +
                            merged.describeFiles());
  }
  auto context = merged.contexts.find(access.contextName);
  if (context == merged.contexts.end()) {
    return Status::notFound("context \"" + access.contextName + "\" not found in " +
                            merged.describeFiles());
  }
  const json& body = context->second.body;
  access.clusterName = stringField(body, "cluster");
  access.userName = stringField(body, "user");
  access.namespaceName = stringField(body, "namespace");
  auto cluster = merged.clusters.find(access.clusterName);
  if (cluster == merged.clusters.end()) {
    return Status::notFound("cluster \"" + access.clusterName + "\" of context \"" +
                            access.contextName + "\" not found in " + merged.describeFiles());
  }
  if (Status s = fillCluster(cluster->second, "cluster \"" + cluster->first + "\"", access); !s) {
    return s;
  }
  if (access.userName.empty()) return access;  // anonymous
  auto user = merged.users.find(access.userName);
  if (user == merged.users.end()) {
    return Status::notFound("user \"" + access.userName + "\" of context \"" + access.contextName +
                            "\" not found in " + merged.describeFiles());
  }
  if (Status s = fillUser(user->second, "user \"" + user->first + "\"", access); !s) return s;
  return access;
}

}  // namespace

std::filesystem::path defaultKubeconfigPath() {
  std::vector<fs::path> files = kubeconfigEnvFiles();
  if (files.empty()) return homeDirectory() / ".kube" / "config";
  // kubectl writes to the first file of the list that exists, else the first one.
  for (const auto& file : files) {
    std::error_code ec;
    if (fs::exists(file, ec)) return file;
  }
  return files.front();
}

Status mergeIntoKubeconfig(const std::filesystem::path& file, const ClusterAccess& access,
                           bool makeCurrent) {
  if (access.contextName.empty()) return Status::invalid("a kubeconfig context needs a name");
  if (access.server.empty()) {
    return Status::invalid("context \"" + access.contextName + "\" needs a server URL");
  }
  return editKubeconfig(file, [&](json& doc) {
    upsertNamed(doc["clusters"], access.contextName, "cluster", clusterBody(access));
    upsertNamed(doc["users"], access.contextName, "user", userBody(access));
    upsertNamed(doc["contexts"], access.contextName, "context", contextBody(access));
    if (makeCurrent) doc["current-context"] = access.contextName;
  });
}

Status removeFromKubeconfig(const std::filesystem::path& file, const std::string& name) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return Status::ok();
  return editKubeconfig(file, [&](json& doc) {
    for (const char* list : {"clusters", "users", "contexts"}) eraseNamed(doc[list], name);
    if (doc["current-context"] == name) doc["current-context"] = "";
  });
}

Result<ClusterAccess> loadClusterAccess(const std::optional<std::filesystem::path>& explicitFile,
                                        const std::string& context) {
  auto merged = loadMerged(explicitFile);
  if (!merged) return merged.status();
  return resolveContext(*merged, context);
}

Result<std::vector<std::string>> listContexts(
    const std::optional<std::filesystem::path>& explicitFile) {
  auto merged = loadMerged(explicitFile);
  if (!merged) return merged.status();
  std::vector<std::string> names;
  if (merged->contexts.count(merged->currentContext)) names.push_back(merged->currentContext);
  for (const auto& [name, entry] : merged->contexts) {
    if (name != merged->currentContext) names.push_back(name);
  }
  return names;
}

}  // namespace kd::client

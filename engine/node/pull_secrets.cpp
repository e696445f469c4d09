#include "engine/node/pull_secrets.h"

#include <fnmatch.h>

#include <algorithm>
#include <string_view>

#include "engine/api/base64.h"
#include "engine/api/split.h"
#include "engine/node/image_ref.h"

namespace kd::node {

namespace {

constexpr std::string_view kDockerHubIndex = "index.docker.io";

struct DockerSecretType {
  const char* type;
  const char* key;
  bool nestedInAuths;  // the registries sit under "auths"
};
constexpr DockerSecretType kDockerSecretTypes[] = {
    {"kubernetes.io/dockerconfigjson", ".dockerconfigjson", true},
    {"kubernetes.io/dockercfg", ".dockercfg", false},
};

// A schemeless URL split as Go's url.Parse splits "https://" + it.
struct HostPath {
  std::string host;  // with the port, if any
  std::string path;  // "" or starting with '/'
};

HostPath splitHostPath(std::string_view url) {
  const size_t end = std::min(url.find_first_of("?#"), url.size());
  url = url.substr(0, end);
  const size_t slash = std::min(url.find('/'), url.size());
  return {std::string(url.substr(0, slash)), std::string(url.substr(slash))};
}

// The index key of a config entry's location.
std::string keyOf(std::string_view location) {
  for (std::string_view scheme : {"https://", "http://"}) {
    if (location.starts_with(scheme)) location.remove_prefix(scheme.size());
  }
  HostPath hp = splitHostPath(location);
  if (hp.path.starts_with("/v1/") || hp.path.starts_with("/v2/")) hp.path.erase(0, 3);
  return hp.path.empty() || hp.path == "/" ? hp.host : hp.host + hp.path;
}

// Host labels and port, as Go's net.SplitHostPort (the whole host when it has no port).
std::pair<std::vector<std::string>, std::string> splitHost(const std::string& authority) {
  std::string host = authority, port;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close != std::string::npos && close + 1 < authority.size() && authority[close + 1] == ':') {
      host = authority.substr(1, close - 1);
      port = authority.substr(close + 2);
    }
  } else if (std::count(authority.begin(), authority.end(), ':') == 1) {
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  std::vector<std::string> labels;
  for (std::string_view label : api::splitOn(host, '.')) labels.emplace_back(label);
  return {labels, port};
}

bool keyMatches(const std::string& key, const std::string& repository) {
  const HostPath glob = splitHostPath(key), target = splitHostPath(repository);
  const auto [globLabels, globPort] = splitHost(glob.host);
  const auto [targetLabels, targetPort] = splitHost(target.host);
  if (globPort != targetPort || globLabels.size() != targetLabels.size()) return false;
  if (!target.path.starts_with(glob.path)) return false;
  for (size_t i = 0; i < globLabels.size(); ++i) {
    if (::fnmatch(globLabels[i].c_str(), targetLabels[i].c_str(), 0) != 0) return false;
  }
  return true;
}

// Whether `repository` lives on Docker Hub, by the shape of its first component.
bool isDockerHub(const std::string& repository) {
  const size_t slash = repository.find('/');
  const std::string first = repository.substr(0, slash);
  if (first.empty()) return false;
  if (slash == std::string::npos || first == "docker.io" || first == kDockerHubIndex) return true;
  return first.find_first_of(".:") == std::string::npos;
}

Result<std::string> stringField(const json& entry, const char* field) {
  if (!entry.contains(field) || entry[field].is_null()) return std::string();
  if (!entry[field].is_string()) return Status::badRequest(std::string(field) + " is not a string");
  return entry[field].get<std::string>();
}

Result<RegistryCredential> parseEntry(const json& entry) {
  if (!entry.is_object()) return Status::badRequest("an entry is not an object");
  RegistryCredential c;
  auto username = stringField(entry, "username");
  auto password = stringField(entry, "password");
  auto auth = stringField(entry, "auth");
  for (const auto* field : {&username, &password, &auth}) {
    if (!field->ok()) return field->status();
  }
  if (auth->empty()) return RegistryCredential{*username, *password};
  const auto decoded = api::base64Decode(*auth);
  const size_t colon = decoded ? decoded->find(':') : std::string::npos;
  if (colon == std::string::npos) {
    return Status::badRequest(
        "unable to parse auth field, must be formatted as base64(username:password)");
  }
  return RegistryCredential{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

// The registry map of a docker Secret; null when the Secret is not one (or is empty).
Result<json> registriesOf(const json& secret) {
  const std::string type = secret.value("type", "");
  for (const auto& t : kDockerSecretTypes) {
    if (type != t.type) continue;
    const auto config = configValue(secret, true, t.key);
    if (!config || config->empty()) return json();
    try {
      const json parsed = json::parse(*config);
      if (!parsed.is_object()) return Status::badRequest(std::string(t.key) + " is not an object");
      return t.nestedInAuths ? parsed.value("auths", json::object()) : parsed;
    } catch (const std::exception& e) {
      return Status::badRequest(std::string(t.key) + ": " + e.what());
    }
  }
  return json();
}

}  // namespace

Status DockerKeyring::add(const json& registries) {
  if (!registries.is_object()) return Status::badRequest("the registry map is not an object");
  std::vector<std::pair<std::string, RegistryCredential>> parsed;
  for (const auto& [location, entry] : registries.items()) {
    auto credential = parseEntry(entry);
    if (!credential.ok())
      return Status::badRequest(location + ": " + credential.status().message());
    parsed.emplace_back(keyOf(location), std::move(*credential));
  }
  for (auto& [key, credential] : parsed) creds_[key].push_back(std::move(credential));
  return {};
}

std::vector<RegistryCredential> DockerKeyring::lookup(const std::string& image) const {
  auto ref = parseImageReference(image);
  if (!ref.ok()) return {};
  const std::string repository = ref->repository();
  std::vector<RegistryCredential> out;
  for (const auto& [key, credentials] : creds_) {
    if (keyMatches(key, repository)) out.insert(out.end(), credentials.begin(), credentials.end());
  }
  if (!out.empty() || !isDockerHub(repository)) return out;
  const auto hub = creds_.find(kDockerHubIndex);
  return hub == creds_.end() ? out : hub->second;
}

Result<DockerKeyring> keyringFromSecrets(const std::vector<json>& secrets) {
  DockerKeyring keyring;
  for (const auto& secret : secrets) {
    const std::string name = secret.value("metadata", json::object()).value("name", "");
    auto registries = registriesOf(secret);
    Status s = !registries.ok()        ? registries.status()
               : registries->is_null() ? Status{}
                                       : keyring.add(*registries);
    if (!s.isOk()) return Status::badRequest("secret \"" + name + "\": " + s.message());
  }
  return keyring;
}

Result<std::vector<RegistryCredential>> PodPullCredentials::forImage(
    const std::string& image) const {
  if (!keyring.ok()) return keyring.status();
  return keyring->lookup(image);
}

PodPullCredentials readPullCredentials(const json& pod, const ObjectGetter& get) {
  PodPullCredentials out;
  std::vector<json> secrets;
  const json spec = pod.value("spec", json::object());
  for (const auto& ref : spec.value("imagePullSecrets", json::array())) {
    const std::string name = ref.is_object() ? ref.value("name", "") : "";
    if (name.empty()) continue;
    auto secret = get ? get("secrets", name) : Result<json>(Status::notFound(name));
    if (secret.ok()) {
      secrets.push_back(std::move(*secret));
    } else {
      out.unreadable.push_back(name);
    }
  }
  out.keyring = keyringFromSecrets(secrets);
  return out;
}

std::string unreadablePullSecretsMessage(const std::vector<std::string>& names) {
  std::string list;
  for (const auto& name : names) list += (list.empty() ? "" : ", ") + name;
  return "Unable to retrieve some image pull secrets (" + list +
         "); attempting to pull the image may not succeed.";
}

}  // namespace kd::node

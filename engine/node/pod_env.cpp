#include "engine/node/pod_env.h"

#include <unistd.h>

#include <algorithm>
#include <thread>

#include "engine/api/base64.h"
#include "engine/api/quantity.h"

namespace kd::node {

namespace {

void setEnv(EnvList& env, const std::string& name, const std::string& value) {
  auto it = std::find_if(env.begin(), env.end(), [&](const auto& e) { return e.first == name; });
  if (it != env.end()) {
    it->second = value;
  } else {
    env.emplace_back(name, value);
  }
}

const char* kindWord(bool secret) {
  return secret ? "secret" : "configmap";
}
const char* kindName(bool secret) {
  return secret ? "Secret" : "ConfigMap";
}

// The ConfigMap or Secret `name`; nullopt when it is missing and optional.
Result<std::optional<json>> fetchConfig(const ObjectGetter& get, bool secret,
                                        const std::string& name, bool optional) {
  if (!get) return configLookupError(secret, name, Status::notFound("no object source"));
  auto object = get(secret ? "secrets" : "configmaps", name);
  if (object.ok()) return std::optional<json>(*object);
  if (optional && object.status().code() == 404) return std::optional<json>();
  return configLookupError(secret, name, object.status());
}

// What the node offers when a container sets no limit.
int64_t nodeCapacityMilli(const std::string& resource) {
  if (resource == "cpu") return int64_t{1000} * std::max(1u, std::thread::hardware_concurrency());
  return int64_t{1000} * ::sysconf(_SC_PHYS_PAGES) * ::sysconf(_SC_PAGESIZE);
}

int64_t milliOf(const json& map, const std::string& key, int64_t fallback) {
  if (!map.is_object() || !map.contains(key)) return fallback;
  auto q = api::Quantity::fromJson(map[key]);
  return q.ok() ? q->milliValue() : fallback;
}

Result<std::string> valueFrom(const json& pod, const json& container, const json& from,
                              const std::string& ns, const ObjectGetter& get) {
  if (from.contains("fieldRef")) {
    const std::string path = from["fieldRef"].value("fieldPath", "");
    if (auto v = podField(pod, path)) return *v;
    return Status::badRequest("unsupported fieldPath: " + path);
  }
  if (from.contains("resourceFieldRef"))
    return resourceField(pod, container, from["resourceFieldRef"]);
  for (const bool secret : {false, true}) {
    const char* field = secret ? "secretKeyRef" : "configMapKeyRef";
    if (!from.contains(field)) continue;
    const json ref = from[field];
    const std::string name = ref.value("name", ""), key = ref.value("key", "");
    const bool optional = ref.value("optional", false);
    auto object = fetchConfig(get, secret, name, optional);
    if (!object.ok()) return object.status();
    auto value = *object ? configValue(**object, secret, key) : std::nullopt;
    if (value) return *value;
    if (optional) return std::string();
    return Status::badRequest("couldn't find key " + key + " in " + kindName(secret) + " " + ns +
                              "/" + name);
  }
  return Status::badRequest("no value source");
}

Status addEnvFrom(EnvList& env, const json& sources, const ObjectGetter& get) {
  for (const auto& source : sources) {
    const std::string prefix = source.value("prefix", "");
    for (const bool secret : {false, true}) {
      const char* field = secret ? "secretRef" : "configMapRef";
      if (!source.contains(field)) continue;
      const json ref = source[field];
      auto object = fetchConfig(get, secret, ref.value("name", ""), ref.value("optional", false));
      if (!object.ok()) return object.status();
      if (!*object) continue;
      for (const auto& [k, v] : configEntries(**object, secret)) setEnv(env, prefix + k, v);
    }
  }
  return {};
}

}  // namespace

std::string expandVariables(const std::string& text, const EnvList& env) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      out += text[i];
      continue;
    }
    if (text[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    const size_t close = text[i + 1] == '(' ? text.find(')', i + 2) : std::string::npos;
    if (close == std::string::npos) {
      out += text[i];
      continue;
    }
    const std::string name = text.substr(i + 2, close - i - 2);
    auto it = std::find_if(env.begin(), env.end(), [&](const auto& e) { return e.first == name; });
    out += it != env.end() ? it->second : text.substr(i, close - i + 1);
    i = close;
  }
  return out;
}

std::optional<std::string> podField(const json& pod, const std::string& path) {
  const json meta = pod.value("metadata", json::object());
  const auto open = path.find("['");
  if (open != std::string::npos && path.size() > open + 4 && path.ends_with("']")) {
    const std::string mapPath = path.substr(0, open);
    if (mapPath != "metadata.labels" && mapPath != "metadata.annotations") return std::nullopt;
    const std::string key = path.substr(open + 2, path.size() - open - 4);
    return meta.value(mapPath == "metadata.labels" ? "labels" : "annotations", json::object())
        .value(key, "");
  }
  static const std::pair<const char*, json::json_pointer> kFields[] = {
      {"metadata.name", json::json_pointer("/metadata/name")},
      {"metadata.namespace", json::json_pointer("/metadata/namespace")},
      {"metadata.uid", json::json_pointer("/metadata/uid")},
      {"spec.nodeName", json::json_pointer("/spec/nodeName")},
      {"spec.serviceAccountName", json::json_pointer("/spec/serviceAccountName")},
      {"status.hostIP", json::json_pointer("/status/hostIP")},
      {"status.podIP", json::json_pointer("/status/podIP")},
  };
  for (const auto& [name, pointer] : kFields) {
    if (path != name) continue;
    return pod.contains(pointer) && pod[pointer].is_string() ? pod[pointer].get<std::string>()
                                                             : std::string();
  }
  return std::nullopt;
}

Result<std::string> resourceField(const json& pod, const json& container, const json& ref) {
  json target = container;
  if (const std::string named = ref.value("containerName", ""); !named.empty()) {
    target = json::object();
    for (const auto& c : pod.value("spec", json::object()).value("containers", json::array()))
      if (c.value("name", "") == named) target = c;
  }
  const std::string resource = ref.value("resource", "");
  const auto dot = resource.find('.');
  const std::string section = resource.substr(0, dot);
  if (dot == std::string::npos || (section != "limits" && section != "requests"))
    return Status::badRequest("unsupported container resource: " + resource);
  const std::string name = resource.substr(dot + 1);
  const json resources = target.value("resources", json::object());
  const int64_t limit =
      milliOf(resources.value("limits", json::object()), name, nodeCapacityMilli(name));
  const int64_t value =
      section == "limits" ? limit : milliOf(resources.value("requests", json::object()), name, 0);
  const int64_t divisor = std::max<int64_t>(1, milliOf(ref, "divisor", 1000));
  return std::to_string((value + divisor - 1) / divisor);
}

std::optional<std::string> configValue(const json& object, bool secret, const std::string& key) {
  const json data = object.value("data", json::object());
  if (!secret && data.contains(key) && data[key].is_string()) return data[key].get<std::string>();
  const json encoded = secret ? data : object.value("binaryData", json::object());
  if (!encoded.contains(key) || !encoded[key].is_string()) return std::nullopt;
  return api::base64Decode(encoded[key].get<std::string>());
}

std::vector<std::pair<std::string, std::string>> configEntries(const json& object, bool secret) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* field : {"data", "binaryData"}) {
    if (secret && std::string_view(field) == "binaryData") continue;
    const json map = object.value(field, json::object());
    for (const auto& [key, unused] : map.items()) {
      if (auto v = configValue(object, secret, key)) out.emplace_back(key, *v);
    }
  }
  return out;
}

Status configLookupError(bool secret, const std::string& name, const Status& cause) {
  if (cause.code() == 404)
    return Status::badRequest(std::string(kindWord(secret)) + " \"" + name + "\" not found");
  return Status::badRequest("failed to get " + std::string(kindWord(secret)) + " \"" + name +
                            "\": " + cause.message());
}

Result<EnvList> resolveContainerEnv(const json& imageConfig, const json& pod, const json& container,
                                    const EnvList& kubeletEnv, const ObjectGetter& get) {
  EnvList env;
  for (const auto& entry : imageConfig.value("Env", json::array())) {
    if (!entry.is_string()) continue;
    const std::string text = entry.get<std::string>();
    const auto eq = text.find('=');
    setEnv(env, text.substr(0, eq), eq == std::string::npos ? "" : text.substr(eq + 1));
  }
  for (const auto& [k, v] : kubeletEnv) setEnv(env, k, v);
  if (Status s = addEnvFrom(env, container.value("envFrom", json::array()), get); !s.isOk())
    return s;
  const std::string ns = pod.value("metadata", json::object()).value("namespace", "default");
  for (const auto& var : container.value("env", json::array())) {
    const std::string name = var.value("name", "");
    if (!var.contains("valueFrom")) {
      setEnv(env, name, expandVariables(var.value("value", ""), env));
      continue;
    }
    auto value = valueFrom(pod, container, var["valueFrom"], ns, get);
    if (!value.ok()) {
      if (value.status().message() == "no value source" ||
          value.status().message().starts_with("unsupported"))
        return Status::badRequest("cannot resolve the value of environment variable \"" + name +
                                  "\": " + value.status().message());
      return value.status();
    }
    setEnv(env, name, *value);
  }
  return env;
}

}  // namespace kd::node

#include "engine/client/cli/describe_parts.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "engine/api/table.h"
#include "engine/client/cli/describe.h"

namespace kd::cli::describe {

namespace {

constexpr const char* kLastApplied = "kubectl.kubernetes.io/last-applied-configuration";
constexpr size_t kMaxAnnotationLen = 140;

std::vector<std::string> splitLines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl; (nl = s.find('\n', start)) != std::string::npos; start = nl + 1) {
    out.push_back(s.substr(start, nl - start));
  }
  out.push_back(s.substr(start));
  return out;
}

std::string joinPorts(const json& ports, const char* field) {
  std::string out;
  for (const json& p : asArray(ports)) {
    if (!out.empty()) out += ", ";
    out += text(p.value(field, json(0))) + "/" + orElse(str(p, "protocol"), "TCP");
  }
  return out;
}

void portLine(std::string& out, const json& ports, const char* field, const char* singular,
              const char* plural) {
  const std::string list = joinPorts(ports, field);
  const bool many = list.find(',') != std::string::npos;
  put(out, 2, std::string(many ? plural : singular) + ":\t" + orElse(list, "<none>") + "\n");
}

void argLines(std::string& out, const json& container, const char* field, const char* title) {
  if (asArray(container.value(field, json())).empty()) return;
  put(out, 2, std::string(title) + ":\n");
  for (const json& arg : container[field]) {
    for (const auto& l : splitLines(text(arg))) put(out, 3, l + "\n");
  }
}

void resources(std::string& out, const json& requirements) {
  for (const char* kind : {"limits", "requests"}) {
    const json& list = at(requirements, kind);
    if (!list.is_object() || list.empty()) continue;
    put(out, 2, std::string(kind == std::string("limits") ? "Limits" : "Requests") + ":\n");
    for (const auto& [name, q] : list.items()) put(out, 3, name + ":\t" + text(q) + "\n");
  }
}

void containerState(std::string& out, const char* title, const json& state) {
  const std::string t = title;
  if (state.contains("running")) {
    put(out, 2, t + ":\tRunning\n");
    put(out, 3, "Started:\t" + rfc1123(str(state, "running.startedAt")) + "\n");
  } else if (state.contains("terminated")) {
    const json& term = state["terminated"];
    put(out, 2, t + ":\tTerminated\n");
    if (!str(term, "reason").empty()) put(out, 3, "Reason:\t" + str(term, "reason") + "\n");
    if (!str(term, "message").empty()) put(out, 3, "Message:\t" + str(term, "message") + "\n");
    put(out, 3, "Exit Code:\t" + text(term.value("exitCode", json(0))) + "\n");
    if (term.value("signal", 0) > 0) put(out, 3, "Signal:\t" + text(term["signal"]) + "\n");
    put(out, 3, "Started:\t" + rfc1123(str(term, "startedAt")) + "\n");
    put(out, 3, "Finished:\t" + rfc1123(str(term, "finishedAt")) + "\n");
  } else {
    put(out, 2, t + ":\tWaiting\n");
    if (!str(state, "waiting.reason").empty()) {
      put(out, 3, "Reason:\t" + str(state, "waiting.reason") + "\n");
    }
  }
}

// A fieldRef's value on a described pod (kubectl resolves the common paths).
std::string fieldValue(const json* pod, const std::string& fieldPath) {
  return pod ? str(*pod, fieldPath) : "";
}

void envFrom(std::string& out, const json& container) {
  const json& list = at(container, "envFrom");
  if (asArray(list).empty()) return;
  put(out, 2, "Environment Variables from:\n");
  for (const json& e : list) {
    const bool cm = e.contains("configMapRef");
    const json& ref = cm ? e["configMapRef"] : at(e, "secretRef");
    const std::string from = cm ? "ConfigMap" : "Secret";
    const std::string prefix = str(e, "prefix");
    put(out, 3,
        str(ref, "name") + "\t" + from + (prefix.empty() ? "" : " with prefix '" + prefix + "'") +
            "\tOptional: " + (ref.value("optional", false) ? "true" : "false") + "\n");
  }
}

void env(std::string& out, const json& container, const json* pod) {
  const json& list = at(container, "env");
  put(out, 2, std::string("Environment:") + (asArray(list).empty() ? "\t<none>" : "") + "\n");
  for (const json& e : asArray(list)) {
    const std::string name = str(e, "name");
    const json& from = at(e, "valueFrom");
    if (from.is_null()) {
      const auto parts = splitLines(str(e, "value"));
      for (size_t i = 0; i < parts.size(); ++i) {
        put(out, 3, (i == 0 ? name + ":" : std::string()) + "\t" + parts[i] + "\n");
      }
    } else if (from.contains("fieldRef")) {
      const std::string path = str(from, "fieldRef.fieldPath");
      put(out, 3,
          name + ":\t" + fieldValue(pod, path) + " (" + str(from, "fieldRef.apiVersion") + ":" +
              path + ")\n");
    } else if (from.contains("resourceFieldRef")) {
      put(out, 3, name + ":\t (" + str(from, "resourceFieldRef.resource") + ")\n");
    } else {
      const bool secret = from.contains("secretKeyRef");
      const json& ref = secret ? from["secretKeyRef"] : at(from, "configMapKeyRef");
      put(out, 3,
          name + ":\t<set to the key '" + str(ref, "key") +
              (secret ? "' in secret '" : "' of config map '") + str(ref, "name") +
              "'>\tOptional: " + (ref.value("optional", false) ? "true" : "false") + "\n");
    }
  }
}

void mounts(std::string& out, const json& container) {
  json list = at(container, "volumeMounts");
  put(out, 2, std::string("Mounts:") + (asArray(list).empty() ? "\t<none>" : "") + "\n");
  if (!list.is_array()) return;
  std::stable_sort(list.begin(), list.end(), [](const json& a, const json& b) {
    return str(a, "mountPath") < str(b, "mountPath");
  });
  for (const json& m : list) {
    std::string flags = m.value("readOnly", false) ? "ro" : "rw";
    if (!str(m, "subPath").empty()) flags += ",path=\"" + str(m, "subPath") + "\"";
    put(out, 3, str(m, "mountPath") + " from " + str(m, "name") + " (" + flags + ")\n");
  }
}

struct VolumeType {
  const char* key;
  const char* title;
  // Field lines after the type: {label, path in the source}.
  std::vector<std::pair<const char*, const char*>> fields;
};

const std::vector<VolumeType>& volumeTypes() {
  static const std::vector<VolumeType> kTypes = {
      {"hostPath", "HostPath (bare host directory volume)", {{"Path", "path"}}},
      {"emptyDir",
       "EmptyDir (a temporary directory that shares a pod's lifetime)",
       {{"Medium", "medium"}}},
      {"secret",
       "Secret (a volume populated by a Secret)",
       {{"SecretName", "secretName"}, {"Optional", "optional"}}},
      {"configMap",
       "ConfigMap (a volume populated by a ConfigMap)",
       {{"Name", "name"}, {"Optional", "optional"}}},
      {"persistentVolumeClaim",
       "PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)",
       {{"ClaimName", "claimName"}, {"ReadOnly", "readOnly"}}},
      {"nfs",
       "NFS (an NFS mount that lasts the lifetime of a pod)",
       {{"Server", "server"}, {"Path", "path"}, {"ReadOnly", "readOnly"}}},
  };
  return kTypes;
}

// Fields kubectl prints as Go bools default to false when absent.
std::string fieldText(const json& source, const char* path) {
  const json& v = at(source, path);
  const std::string p = path;
  if (v.is_null() && (p == "optional" || p == "readOnly")) return "false";
  return text(v);
}

void volumeSource(std::string& out, const json& volume) {
  for (const auto& type : volumeTypes()) {
    if (!volume.contains(type.key)) continue;
    const json& source = volume[type.key];
    put(out, 2, std::string("Type:\t") + type.title + "\n");
    for (const auto& [label, path] : type.fields) {
      put(out, 2, std::string(label) + ":\t" + fieldText(source, path) + "\n");
    }
    if (std::string(type.key) == "hostPath") {
      put(out, 2, "HostPathType:\t" + orElse(str(source, "type"), "<none>") + "\n");
    } else if (std::string(type.key) == "emptyDir") {
      put(out, 2, "SizeLimit:\t" + orElse(str(source, "sizeLimit"), "<unset>") + "\n");
    }
    return;
  }
  if (volume.contains("projected")) {
    put(out, 2, "Type:\tProjected (a volume that contains injected data from multiple sources)\n");
    for (const json& s : asArray(at(volume, "projected.sources"))) {
      if (s.contains("secret") || s.contains("configMap")) {
        const bool secret = s.contains("secret");
        const json& ref = secret ? s["secret"] : s["configMap"];
        put(out, 2,
            std::string(secret ? "SecretName" : "ConfigMapName") + ":\t" + str(ref, "name") + "\n");
        // kubectl prints the *bool as is: <nil> when unset.
        const std::string optional = ref.contains("optional") ? text(ref["optional"]) : "<nil>";
        put(out, 2,
            std::string(secret ? "SecretOptionalName" : "ConfigMapOptional") + ":\t" + optional +
                "\n");
      } else if (s.contains("downwardAPI")) {
        put(out, 2, "DownwardAPI:\ttrue\n");
      } else if (s.contains("serviceAccountToken")) {
        put(out, 2,
            "TokenExpirationSeconds:\t" + text(at(s, "serviceAccountToken.expirationSeconds")) +
                "\n");
      }
    }
  } else if (volume.contains("downwardAPI")) {
    put(out, 2, "Type:\tDownwardAPI (a volume populated by information about the pod)\n");
    put(out, 2, "Items:\n");
    for (const json& item : asArray(at(volume, "downwardAPI.items"))) {
      const std::string from = item.contains("fieldRef") ? str(item, "fieldRef.fieldPath")
                                                         : str(item, "resourceFieldRef.resource");
      put(out, 3, from + " -> " + str(item, "path") + "\n");
    }
  } else {
    put(out, 1, "<unknown>\n");
  }
}

std::string joinStrings(const json& list, const char* sep) {
  std::string out;
  for (const json& v : asArray(list)) out += (out.empty() ? "" : sep) + text(v);
  return out;
}

}  // namespace

const json& asArray(const json& value) {
  static const json kEmpty = json::array();
  return value.is_array() ? value : kEmpty;
}

const json& asObject(const json& value) {
  static const json kEmpty = json::object();
  return value.is_object() ? value : kEmpty;
}

const json& at(const json& object, std::string_view dottedPath) {
  static const json kNull;
  const json* cur = &object;
  size_t start = 0;
  while (start <= dottedPath.size()) {
    size_t dot = dottedPath.find('.', start);
    if (dot == std::string_view::npos) dot = dottedPath.size();
    if (!cur->is_object()) return kNull;
    auto it = cur->find(dottedPath.substr(start, dot - start));
    if (it == cur->end()) return kNull;
    cur = &*it;
    start = dot + 1;
  }
  return *cur;
}

std::string text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_array()) return "[" + joinStrings(value, " ") + "]";
  return value.dump();
}

std::string str(const json& object, std::string_view dottedPath) {
  return text(at(object, dottedPath));
}

std::string orElse(std::string value, std::string_view fallback) {
  return value.empty() ? std::string(fallback) : value;
}

std::optional<TimePoint> parseTime(const std::string& timestamp) {
  int y, mo, d, h, mi, s;
  char zone = 0;
  if (std::sscanf(timestamp.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &zone) <
      6) {
    return std::nullopt;
  }
  using namespace std::chrono;
  const sys_days day = year{y} / month{static_cast<unsigned>(mo)} / static_cast<unsigned>(d);
  return TimePoint(day) + hours(h) + minutes(mi) + seconds(s);
}

std::string since(const std::string& timestamp, TimePoint now) {
  auto t = parseTime(timestamp);
  if (!t) return "<unknown>";
  return api::humanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - *t));
}

void put(std::string& out, int level, std::string_view line) {
  out.append(static_cast<size_t>(level) * 2, ' ');
  out += line;
}

void labels(std::string& out, std::string_view initialIndent, std::string_view title,
            const json& labelMap) {
  out += std::string(initialIndent) + std::string(title) + ":\t";
  if (!labelMap.is_object() || labelMap.empty()) {
    out += "<none>\n";
    return;
  }
  bool first = true;
  for (const auto& [k, v] : labelMap.items()) {
    if (!first) out += std::string(initialIndent) + "\t";
    out += k + "=" + text(v) + "\n";
    first = false;
  }
}

void annotations(std::string& out, std::string_view title, const json& annotationMap) {
  out += std::string(title) + ":\t";
  bool first = true;
  for (const auto& [k, v] : asObject(annotationMap).items()) {
    if (k == kLastApplied) continue;
    if (!first) out += "\t";
    first = false;
    std::string value = text(v);
    if (!value.empty() && value.back() == '\n') value.pop_back();
    if (value.size() + k.size() + 2 > kMaxAnnotationLen || value.find('\n') != std::string::npos) {
      out += k + ":\n";
      for (auto& l : splitLines(value)) {
        if (l.size() > kMaxAnnotationLen - 2) l = l.substr(0, kMaxAnnotationLen - 2) + "...";
        out += "\t  " + l + "\n";
      }
    } else {
      out += k + ": " + value + "\n";
    }
  }
  if (first) out += "<none>\n";
}

void header(std::string& out, const json& object) {
  put(out, 0, "Name:\t" + str(object, "metadata.name") + "\n");
  if (!str(object, "metadata.namespace").empty()) {
    put(out, 0, "Namespace:\t" + str(object, "metadata.namespace") + "\n");
  }
  labels(out, "", "Labels", at(object, "metadata.labels"));
  annotations(out, "Annotations", at(object, "metadata.annotations"));
}

void tolerations(std::string& out, std::string_view title, const json& list) {
  out += std::string(title) + ":\t";
  json sorted = asArray(list);
  if (sorted.empty()) {
    out += "<none>\n";
    return;
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const json& a, const json& b) { return str(a, "key") < str(b, "key"); });
  for (size_t i = 0; i < sorted.size(); ++i) {
    const json& t = sorted[i];
    if (i) out += "\t";
    const std::string key = str(t, "key"), value = str(t, "value"), effect = str(t, "effect");
    out += key + (value.empty() ? "" : "=" + value) + (effect.empty() ? "" : ":" + effect);
    if (str(t, "operator") == "Exists" && value.empty()) {
      out += key.empty() && effect.empty() ? "op=Exists" : " op=Exists";
    }
    if (t.contains("tolerationSeconds")) out += " for " + text(t["tolerationSeconds"]) + "s";
    out += "\n";
  }
}

void taints(std::string& out, const json& list) {
  out += "Taints:\t";
  json sorted = asArray(list);
  if (sorted.empty()) {
    out += "<none>\n";
    return;
  }
  auto key = [](const json& t) { return str(t, "effect") + "," + str(t, "key"); };
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const json& a, const json& b) { return key(a) < key(b); });
  for (size_t i = 0; i < sorted.size(); ++i) {
    const json& t = sorted[i];
    if (i) out += "\t";
    out += str(t, "key") + (str(t, "value").empty() ? "" : "=" + str(t, "value")) + ":" +
           str(t, "effect") + "\n";
  }
}

void controlledBy(std::string& out, const json& object) {
  for (const json& ref : asArray(at(object, "metadata.ownerReferences"))) {
    if (ref.value("controller", false)) {
      put(out, 0, "Controlled By:\t" + str(ref, "kind") + "/" + str(ref, "name") + "\n");
      return;
    }
  }
}

void containers(std::string& out, std::string_view label, const json& list, const json& statuses,
                std::string_view space, const json* pod) {
  put(out, 0,
      std::string(space) + std::string(label) + ":" + (asArray(list).empty() ? " <none>" : "") +
          "\n");
  const std::string nameIndent = space.empty() ? "" : " ";
  for (const json& c : asArray(list)) {
    const std::string name = str(c, "name");
    const json* status = nullptr;
    for (const json& s : asArray(statuses)) {
      if (str(s, "name") == name) status = &s;
    }
    put(out, 1, nameIndent + name + ":\n");
    if (status) put(out, 2, "Container ID:\t" + str(*status, "containerID") + "\n");
    put(out, 2, "Image:\t" + str(c, "image") + "\n");
    if (status) put(out, 2, "Image ID:\t" + str(*status, "imageID") + "\n");
    portLine(out, at(c, "ports"), "containerPort", "Port", "Ports");
    portLine(out, at(c, "ports"), "hostPort", "Host Port", "Host Ports");
    argLines(out, c, "command", "Command");
    argLines(out, c, "args", "Args");
    if (status) {
      containerState(out, "State", at(*status, "state"));
      if (at(*status, "lastState").contains("terminated")) {
        containerState(out, "Last State", at(*status, "lastState"));
      }
      put(out, 2,
          std::string("Ready:\t") + (status->value("ready", false) ? "True" : "False") + "\n");
      put(out, 2, "Restart Count:\t" + text(status->value("restartCount", json(0))) + "\n");
    }
    resources(out, at(c, "resources"));
    for (const auto& [field, title] :
         {std::pair{"livenessProbe", "Liveness"}, std::pair{"readinessProbe", "Readiness"},
          std::pair{"startupProbe", "Startup"}}) {
      if (c.contains(field))
        put(out, 2, std::string(title) + ":\t" + describeProbe(c[field]) + "\n");
    }
    envFrom(out, c);
    env(out, c, pod);
    mounts(out, c);
  }
}

void volumes(std::string& out, const json& list, std::string_view space) {
  if (asArray(list).empty()) {
    put(out, 0, std::string(space) + "Volumes:\t<none>\n");
    return;
  }
  put(out, 0, std::string(space) + "Volumes:\n");
  for (const json& v : list) {
    put(out, 1, (space.empty() ? "" : " ") + str(v, "name") + ":\n");
    volumeSource(out, v);
  }
}

void podTemplate(std::string& out, const json& templ) {
  put(out, 0, "Pod Template:\n");
  labels(out, "", "  Labels", at(templ, "metadata.labels"));
  const json& annots = at(templ, "metadata.annotations");
  if (annots.is_object() && !annots.empty()) annotations(out, "  Annotations", annots);
  const json& spec = at(templ, "spec");
  if (!str(spec, "serviceAccountName").empty()) {
    put(out, 1, "Service Account:\t" + str(spec, "serviceAccountName") + "\n");
  }
  if (!asArray(at(spec, "initContainers")).empty()) {
    containers(out, "Init Containers", spec["initContainers"], json(), "  ", nullptr);
  }
  containers(out, "Containers", at(spec, "containers"), json(), "  ", nullptr);
  volumes(out, at(spec, "volumes"), "  ");
  if (!str(spec, "priorityClassName").empty()) {
    put(out, 1, "Priority Class Name:\t" + str(spec, "priorityClassName") + "\n");
  }
  labels(out, "", "  Node-Selectors", at(spec, "nodeSelector"));
  tolerations(out, "  Tolerations", at(spec, "tolerations"));
}

void conditionTable(std::string& out, const json& conditions,
                    const std::vector<ConditionColumn>& columns) {
  if (asArray(conditions).empty()) return;
  std::string titles, dashes;
  for (size_t i = 0; i < columns.size(); ++i) {
    const char* end = i + 1 < columns.size() ? "\t" : "\n";
    titles += std::string(columns[i].title) + end;
    if (columns[i].dashes) dashes += std::string(columns[i].dashes) + end;
  }
  out += "Conditions:\n";
  put(out, 1, titles);
  if (!dashes.empty()) put(out, 1, dashes);
  for (const json& c : conditions) {
    std::string row;
    for (size_t i = 0; i < columns.size(); ++i) {
      const ConditionColumn& col = columns[i];
      row += (col.time ? rfc1123(str(c, col.field)) : str(c, col.field)) + (col.spaced ? " " : "") +
             (i + 1 < columns.size() ? "\t" : "\n");
    }
    put(out, 1, row);
  }
}

void events(std::string& out, const json& eventList, TimePoint now) {
  if (eventList.is_null()) return;
  if (asArray(eventList).empty()) {
    out += "Events:\t<none>\n";
    return;
  }
  json sorted = eventList;
  auto last = [](const json& e) {
    return parseTime(str(e, "lastTimestamp")).value_or(TimePoint{});
  };
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const json& a, const json& b) { return last(a) < last(b); });
  out += "Events:\n  Type\tReason\tAge\tFrom\tMessage\n";
  put(out, 1, "----\t------\t----\t----\t-------\n");
  for (const json& e : sorted) {
    std::string message = str(e, "message");
    while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) {
      message.pop_back();
    }
    message.erase(0, message.find_first_not_of(" \t\n"));
    if (!str(e, "involvedObject.fieldPath").empty()) {
      message = str(e, "involvedObject.fieldPath") + ": " + message;
    }
    const std::string from = orElse(str(e, "source.component"), str(e, "reportingComponent"));
    put(out, 1,
        str(e, "type") + "\t" + str(e, "reason") + "\t" + eventAge(e, now) + "\t" + from + "\t" +
            message + "\n");
  }
}

std::string podPhaseCounts(const json& pods, const json& owner) {
  const std::string uid = str(owner, "metadata.uid");
  int running = 0, waiting = 0, succeeded = 0, failed = 0;
  for (const json& pod : asArray(pods)) {
    bool owned = false;
    for (const json& ref : asArray(at(pod, "metadata.ownerReferences"))) {
      owned |= ref.value("controller", false) && str(ref, "uid") == uid;
    }
    if (!owned) continue;
    const std::string phase = str(pod, "status.phase");
    running += phase == "Running";
    waiting += phase == "Pending";
    succeeded += phase == "Succeeded";
    failed += phase == "Failed";
  }
  return std::to_string(running) + " Running / " + std::to_string(waiting) + " Waiting / " +
         std::to_string(succeeded) + " Succeeded / " + std::to_string(failed) + " Failed";
}

}  // namespace kd::cli::describe

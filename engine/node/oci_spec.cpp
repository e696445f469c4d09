#include "engine/node/oci_spec.h"

#include <algorithm>

#include "engine/api/quantity.h"

namespace kd::node {

namespace {

constexpr int64_t kCpuPeriodUs = 100000;

const char* const kDefaultCapabilities[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};

const char* const kMaskedPaths[] = {"/proc/acpi",        "/proc/asound",        "/proc/kcore",
                                    "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
                                    "/proc/timer_stats", "/proc/sched_debug",   "/proc/scsi",
                                    "/sys/firmware"};

const char* const kReadonlyPaths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                      "/proc/sysrq-trigger"};

template <size_t N>
json toJson(const char* const (&items)[N]) {
  json out = json::array();
  for (const char* item : items) out.push_back(item);
  return out;
}

struct StandardMount {
  const char* destination;
  const char* type;
  const char* source;
  std::vector<std::string> options;
};

const std::vector<StandardMount>& standardMounts() {
  static const std::vector<StandardMount> kMounts = {
      {"/proc", "proc", "proc", {}},
      {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
      {"/dev/pts",
       "devpts",
       "devpts",
       {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
      {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
      {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
      {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}},
      {"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}},
  };
  return kMounts;
}

std::vector<std::string> stringList(const json& value) {
  std::vector<std::string> out;
  if (!value.is_array()) return out;
  for (const auto& v : value) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

int64_t quantityOr(const json& map, const char* key, bool milli, int64_t fallback) {
  if (!map.is_object() || !map.contains(key)) return fallback;
  auto q = api::Quantity::fromJson(map[key]);
  if (!q.ok()) return fallback;
  return milli ? q->milliValue() : q->value();
}

json linuxResources(const json& container) {
  const json resources = container.value("resources", json::object());
  const json limits = resources.value("limits", json::object());
  const json requests = resources.value("requests", json::object());
  json out = json::object();
  if (const int64_t memory = quantityOr(limits, "memory", false, 0); memory > 0) {
    out["memory"] = {{"limit", memory}};
  }
  const int64_t cpuLimit = quantityOr(limits, "cpu", true, 0);
  const int64_t cpuRequest = quantityOr(requests, "cpu", true, cpuLimit);
  json cpu = {{"shares", std::max<int64_t>(2, cpuRequest * 1024 / 1000)}};
  if (cpuLimit > 0) {
    cpu["quota"] = std::max<int64_t>(1000, cpuLimit * kCpuPeriodUs / 1000);
    cpu["period"] = kCpuPeriodUs;
  }
  out["cpu"] = cpu;
  out["devices"] = json::array({{{"allow", false}, {"access", "rwm"}}});
  return out;
}

// uid/gid from securityContext, else the image's numeric User ("1000" or "1000:1000").
std::pair<int64_t, int64_t> processUser(const json& imageConfig, const json& container) {
  int64_t uid = 0, gid = 0;
  const std::string user = imageConfig.value("User", "");
  if (!user.empty() && std::isdigit(static_cast<unsigned char>(user[0]))) {
    uid = std::stoll(user);
    const auto colon = user.find(':');
    gid = colon != std::string::npos ? std::stoll(user.substr(colon + 1)) : 0;
  }
  const json sc = container.value("securityContext", json::object());
  uid = sc.value("runAsUser", uid);
  gid = sc.value("runAsGroup", gid);
  return {uid, gid};
}

json processSection(const OciConfigInput& input, const std::vector<std::string>& argv) {
  const auto [uid, gid] = processUser(input.imageConfig, input.container);
  json env = json::array();
  for (const auto& [k, v] : input.env) env.push_back(k + "=" + v);
  std::string cwd = input.container.value("workingDir", "");
  if (cwd.empty()) cwd = input.imageConfig.value("WorkingDir", "");
  const json caps = toJson(kDefaultCapabilities);
  return {{"terminal", input.container.value("tty", false)},
          {"user", {{"uid", uid}, {"gid", gid}}},
          {"args", argv},
          {"env", env},
          {"cwd", cwd.empty() ? "/" : cwd},
          {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
          {"noNewPrivileges", false}};
}

json mountsSection(const OciConfigInput& input) {
  json mounts = json::array();
  for (const auto& m : standardMounts()) {
    mounts.push_back({{"destination", m.destination},
                      {"type", m.type},
                      {"source", m.source},
                      {"options", m.options}});
  }
  for (const auto& b : input.mounts) {
    json options = {"rbind", "rprivate"};
    if (b.readOnly) options.push_back("ro");
    mounts.push_back({{"destination", b.destination},
                      {"type", "bind"},
                      {"source", b.source},
                      {"options", options}});
  }
  return mounts;
}

json linuxSection(const OciConfigInput& input) {
  json namespaces = json::array({{{"type", "pid"}}, {{"type", "mount"}}});
  for (const auto& ns : input.namespaces) {
    json entry = {{"type", ns.type}};
    if (!ns.path.empty()) entry["path"] = ns.path;
    namespaces.push_back(entry);
  }
  json linux = {{"namespaces", namespaces},
                {"resources", linuxResources(input.container)},
                {"maskedPaths", toJson(kMaskedPaths)},
                {"readonlyPaths", toJson(kReadonlyPaths)}};
  if (!input.cgroupsPath.empty()) linux["cgroupsPath"] = input.cgroupsPath;
  return linux;
}

}  // namespace

Result<std::vector<std::string>> containerCommand(const json& imageConfig, const json& container,
                                                  const EnvList& env) {
  const bool hasCommand = container.contains("command");
  const bool hasArgs = container.contains("args");
  std::vector<std::string> argv = hasCommand ? stringList(container["command"])
                                             : stringList(imageConfig.value("Entrypoint", json()));
  const std::vector<std::string> tail =
      hasArgs ? stringList(container["args"])
              : (hasCommand ? std::vector<std::string>{}
                            : stringList(imageConfig.value("Cmd", json())));
  argv.insert(argv.end(), tail.begin(), tail.end());
  if (argv.empty()) return Status::badRequest("no command specified");
  for (auto& arg : argv) arg = expandVariables(arg, env);
  return argv;
}

Result<json> buildOciConfig(const OciConfigInput& input) {
  auto argv = containerCommand(input.imageConfig, input.container, input.env);
  if (!argv.ok()) return argv.status();
  const json sc = input.container.value("securityContext", json::object());
  return json{
      {"ociVersion", "1.0.2"},
      {"process", processSection(input, *argv)},
      {"root", {{"path", input.rootfs}, {"readonly", sc.value("readOnlyRootFilesystem", false)}}},
      {"mounts", mountsSection(input)},
      {"linux", linuxSection(input)}};
}

}  // namespace kd::node

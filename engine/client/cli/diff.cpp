// `kdctl diff -f FILE`: what `apply` would change, as kubectl shows it. Each object's live
// state and the server's dry-run of the apply are written as YAML into two temporary
// directories (LIVE-*, MERGED-*), which `diff -u -N` (or $KUBECTL_EXTERNAL_DIFF) compares.
// Exit code: 0 no differences, 1 differences, >1 an error.

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>

#include "engine/api/yaml_json.h"
#include "engine/client/cli/apply.h"
#include "engine/client/cli/commands.h"

namespace kd::cli {

namespace fs = std::filesystem;

namespace {

struct DiffDirs {
  fs::path live, merged;
  ~DiffDirs() {
    std::error_code ec;
    fs::remove_all(live, ec);
    fs::remove_all(merged, ec);
  }
};

DiffDirs* g_dirs = nullptr;  // the dirs of the running diff (one per process)

// "apps.v1.Deployment.shop.web", kubectl's file name for an object.
std::string fileName(const ApplyOutcome& o, const json& object) {
  std::string group = o.kind.group.empty() ? "" : o.kind.group + ".";
  const json meta = object.value("metadata", json::object());
  std::string ns = meta.value("namespace", "");
  return group + o.kind.version + "." + o.kind.kind + "." + (ns.empty() ? "" : ns + ".") +
         meta.value("name", "");
}

json forDiff(json object) {
  if (object.is_object() && object.contains("metadata")) object["metadata"].erase("managedFields");
  return object;
}

bool writeYaml(const fs::path& path, const json& object) {
  std::ofstream f(path);
  if (object.is_null()) return bool(f);
  f << api::toYaml(object);
  return bool(f);
}

int diffOne(Invocation& inv, client::ApiClient& c, Manifest& m) {
  ApplyOutcome o;
  if (int rc = applyManifest(inv, c, m, true, o); rc != 0) return 2;
  const std::string name = fileName(o, o.result);
  if (!o.live.is_null() && !writeYaml(g_dirs->live / name, forDiff(o.live))) return 2;
  return writeYaml(g_dirs->merged / name, forDiff(o.result)) ? 0 : 2;
}

// The diff program: $KUBECTL_EXTERNAL_DIFF (a command and its flags), else "diff -u -N".
std::string diffProgram() {
  const char* external = std::getenv("KUBECTL_EXTERNAL_DIFF");
  return external && *external ? external : "diff -u -N";
}

std::string shellQuoted(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

}  // namespace

int diffExitCode(int programStatus) {
  if (programStatus < 0) return 2;
  return programStatus <= 1 ? programStatus : std::max(programStatus, 2);
}

int runDiff(Invocation& inv) {
  std::error_code ec;
  const fs::path base = fs::temp_directory_path(ec);
  const std::string suffix = "-" + std::to_string(::getpid());
  DiffDirs dirs{base / ("LIVE" + suffix), base / ("MERGED" + suffix)};
  fs::create_directories(dirs.live, ec);
  fs::create_directories(dirs.merged, ec);
  if (ec) {
    inv.usageError("cannot create a temporary directory: " + ec.message());
    return 2;
  }
  g_dirs = &dirs;
  const int rc = forEachManifest(inv, diffOne);
  g_dirs = nullptr;
  if (rc != 0) return rc > 1 ? rc : 2;
  inv.out << std::flush;
  const std::string command = diffProgram() + " " + shellQuoted(dirs.live.string()) + " " +
                              shellQuoted(dirs.merged.string());
  const int status = std::system(command.c_str());
  return diffExitCode(status == -1 || !WIFEXITED(status) ? -1 : WEXITSTATUS(status));
}

}  // namespace kd::cli

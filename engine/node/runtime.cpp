#include "engine/node/runtime.h"

#include <filesystem>
#include <sstream>

#include "engine/node/process.h"

namespace kd::node {

namespace {

std::string firstLineWord(const std::string& text, size_t word) {
  std::istringstream line(text.substr(0, text.find('\n')));
  std::string w;
  for (size_t i = 0; i <= word && (line >> w); ++i) {
  }
  return w;
}

}  // namespace

bool cgroupV2() {
  return std::filesystem::exists("/sys/fs/cgroup/cgroup.controllers");
}

Result<OciRuntime> OciRuntime::detect(const std::string& requested, const std::string& root) {
  std::vector<std::string> candidates;
  if (!requested.empty()) {
    candidates.push_back(requested);
  } else if (cgroupV2()) {
    candidates = {"crun", "runc"};
  } else {
    candidates = {"runc"};
  }
  std::string tried;
  for (const auto& candidate : candidates) {
    const std::string path =
        candidate.find('/') != std::string::npos ? candidate : findInPath(candidate);
    tried += (tried.empty() ? "" : ", ") + candidate;
    if (path.empty()) continue;
    auto version = runProcess({path, "--version"});
    if (!version.ok() || version->exitCode != 0) continue;
    OciRuntime rt;
    rt.binary_ = path;
    rt.name_ = std::filesystem::path(path).filename().string();
    rt.version_ = firstLineWord(version->output, 2);
    rt.root_ = root;
    return rt;
  }
  return Status::notFound("no usable OCI runtime found (tried " + tried + ")");
}

std::vector<std::string> OciRuntime::command(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {binary_};
  if (!root_.empty()) {
    argv.push_back("--root");
    argv.push_back(root_);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

Status OciRuntime::kill(const std::string& id, const std::string& signal) const {
  return runChecked(command({"kill", "--all", id, signal}));
}

Status OciRuntime::remove(const std::string& id) const {
  auto r = runProcess(command({"delete", "--force", id}));
  if (!r.ok()) return r.status();
  if (r->exitCode == 0 || r->output.find("does not exist") != std::string::npos) return {};
  return Status::internal(name_ + " delete " + id + ": " + r->output);
}

Result<std::vector<std::string>> OciRuntime::list() const {
  auto r = runProcess(command({"list", "-q"}));
  if (!r.ok()) return r.status();
  if (r->exitCode != 0) return Status::internal(name_ + " list: " + r->output);
  std::vector<std::string> ids;
  std::istringstream in(r->output);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) ids.push_back(line);
  }
  return ids;
}

}  // namespace kd::node

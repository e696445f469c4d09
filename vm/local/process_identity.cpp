#include "vm/local/process_identity.h"

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/api/split.h"

namespace kd::vm {

namespace {

std::string readProcFile(int pid, const char* name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + name, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

bool processRunning(int pid) {
  if (pid <= 0) return false;
  const std::string stat = readProcFile(pid, "stat");
  const auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

bool processMatches(int pid, std::string_view program, std::string_view flag,
                    std::string_view value) {
  if (!processRunning(pid)) return false;
  const std::string cmdline = readProcFile(pid, "cmdline");
  const std::vector<std::string_view> argv = api::splitOn(cmdline, '\0');
  if (argv[0].find(program) == std::string_view::npos) return false;
  for (size_t i = 1; i + 1 < argv.size(); ++i) {
    if (argv[i] == flag && argv[i + 1] == value) return true;
  }
  return false;
}

}  // namespace kd::vm

#pragma once
// Telling a recorded pid's process from a stranger that reuses its pid. With pid_max 32768 a
// pid comes round again within minutes on a busy machine, so a pid file alone must never be
// enough to signal a process: kdctl would stop another profile's engine or agent.

#include <string_view>

namespace kd::vm {

// True when `pid` is a live process, not a zombie whose parent has not reaped it yet.
bool processRunning(int pid);

// True when `pid` is running (processRunning) and its argv[0] contains `program` and its
// arguments hold `flag` immediately followed by `value` (e.g. "--state-dir", "/x/state").
bool processMatches(int pid, std::string_view program, std::string_view flag,
                    std::string_view value);

}  // namespace kd::vm

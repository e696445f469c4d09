#pragma once
// What kdctl knows about a profile on this machine, shared by the lifecycle verbs (start, stop,
// delete, status) and `kdctl node`: where its state lives, its engine (engine.json), how its
// cluster was made (cluster.json), and starting its nodes with the driver it was made with.

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/client/cli/invocation.h"

namespace kd::cli {

// ${XDG_DATA_HOME:-~/.local/share}/kubedesk, as ControlPlane::defaultDataDir has it.
std::filesystem::path dataRoot();
// --profile, else "kubedesk".
std::string profileName(const Invocation& inv);
std::string readFile(const std::filesystem::path& path);
// The last 2000 bytes of a log, for error messages.
std::string logTail(const std::filesystem::path& log);
// A binary installed beside this one (build/bin), else the name for PATH lookup.
std::filesystem::path siblingBinary(const char* name);

// Starts `program` detached from this terminal (its own session, stdin /dev/null, output
// appended to `log`) and returns its pid, -1 when it could not be started. The intermediate
// child exits at once, so the program is never our zombie.
pid_t spawnDetached(const std::filesystem::path& program, const std::vector<std::string>& args,
                    const std::filesystem::path& log);

// <profile>/engine.json, written by the engine.
struct EngineState {
  pid_t pid = 0;
  int port = 0;
  int switchPort = 0;  // the VM nodes' cluster switch, 0 when the engine serves none
};
EngineState readState(const std::filesystem::path& dir);

// A pid that is still the live kubedesk-engine of the profile in `dir`, not a stranger reusing
// the pid — possibly another profile's engine.
bool engineAlive(pid_t pid, const std::filesystem::path& dir);
// A client for the profile's own standalone kubeconfig, with short timeouts for probing.
Result<std::unique_ptr<client::ApiClient>> profileClient(const std::filesystem::path& dir);
// GET `path` answers 200.
bool probe(const std::filesystem::path& dir, const char* path);
// The profile's engine is alive and healthy.
bool running(const std::filesystem::path& dir);

// How a profile's cluster was made (<profile>/cluster.json), so stop, delete, a plain
// `kdctl start` and `kdctl node add` treat its nodes the way they were made. `nodes` holds the
// 1-based indices of its nodes ("mNN"), which have gaps once `kdctl node delete` took one; a
// profile recorded before that (a count in "nodes") reads as 1..count.
struct ClusterRecord {
  std::string driver;      // "vm", "local", "simulated"; "" when never recorded
  std::vector<int> nodes;  // ascending
  int cpus = 1;            // per VM node
  int memoryMiB = 512;     // per VM node
};
ClusterRecord readClusterRecord(const std::filesystem::path& dir);
void writeClusterRecord(const std::filesystem::path& dir, const ClusterRecord& record);

// Waits until every node is Ready, showing which are; on timeout, the tail of the log of the
// first node that is not (the pairs are node name and log file). Returns the exit code.
int waitForNodes(Invocation& inv, const std::filesystem::path& dir,
                 const std::vector<std::pair<std::string, std::filesystem::path>>& nodes,
                 std::chrono::seconds timeout);

// Starts the nodes `indices` of a running profile with the record's driver ("local" or "vm";
// running nodes are left alone) and waits until they are Ready. Returns the exit code.
int startNodes(Invocation& inv, const std::filesystem::path& dir, const std::string& profile,
               const ClusterRecord& cluster, const std::vector<int>& indices);

}  // namespace kd::cli

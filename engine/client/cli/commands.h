#pragma once
// One function per kdctl verb; each returns the process exit code. `inv.args.words[0]` is the
// verb itself.

#include <string>

#include "engine/client/cli/invocation.h"

namespace kd::cli {

// lifecycle.cpp
int runStart(Invocation& inv);
int runStop(Invocation& inv);
int runStatus(Invocation& inv);
int runDeleteProfile(Invocation& inv);
int runProfile(Invocation& inv);
int runKubeconfig(Invocation& inv);
int runUpdateContext(Invocation& inv);
int runVersion(Invocation& inv);
// image.cpp, node.cpp
int runImage(Invocation& inv);
int runNode(Invocation& inv);
int runDashboard(Invocation& inv);

// get.cpp
int runGet(Invocation& inv);
// apply.cpp
int runApply(Invocation& inv);
int runCreate(Invocation& inv);
// delete.cpp
int runDelete(Invocation& inv);
// modify.cpp
int runScale(Invocation& inv);
int runLabel(Invocation& inv);  // label and annotate
int runPatch(Invocation& inv);
// describe_command.cpp
int runDescribe(Invocation& inv);
// rollout_command.cpp
int runRollout(Invocation& inv);
// wait.cpp, events.cpp
int runWait(Invocation& inv);
int runEvents(Invocation& inv);
// logs.cpp, top.cpp
int runLogs(Invocation& inv);
int runTop(Invocation& inv);
// edit.cpp
int runEdit(Invocation& inv);
// diff.cpp
int runDiff(Invocation& inv);
// kdctl diff's exit code for the diff program's: 0 same, 1 different, >1 failed (-1: it
// could not run).
int diffExitCode(int programStatus);
// exec.cpp, port_forward.cpp
int runExec(Invocation& inv);
int runAttach(Invocation& inv);
int runPortForward(Invocation& inv);
// help.cpp
int runHelp(Invocation& inv, const std::string& verb);
int runCompletion(Invocation& inv);

// Renders an object or a List per -o (json, yaml, name, jsonpath=...). Returns the exit code.
int printObjects(Invocation& inv, const json& objectOrList, const std::string& format);
// Go's encoding/json escapes <, > and & in strings; kubectl's output does the same.
std::string goJson(const json& value, int indent);

}  // namespace kd::cli

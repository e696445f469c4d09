#pragma once
// `kdctl logs`: the pods/NAME/log requests kubectl makes and how their text is printed.

#include <optional>
#include <string>
#include <vector>

#include "engine/api/status.h"
#include "engine/client/cli/args.h"
#include "engine/client/log_stream.h"

namespace kd::cli {

// The pods/log parameters (the client library's, which builds the request: client::logPath).
using LogOptions = client::LogRequest;

// From -c, -f, -p, --timestamps, --tail, --since, --since-time. A selector (-l) without --tail
// reads the last 10 lines of each pod, as kubectl does. 400 on malformed values or on --since
// together with --since-time.
Result<LogOptions> logOptions(const ParsedArgs& args, bool bySelector);

// The containers a log request reads: -c, every container with --all-containers (init
// containers first), else the default-container annotation or the first container. `notice`
// gets kubectl's "Defaulted container ..." line when it chose among several.
Result<std::vector<std::string>> logContainers(const json& pod, const std::string& wanted, bool all,
                                               std::string& notice);

// Prefixes every line of `text` with "[pod/NAME/CONTAINER] " (--prefix).
std::string prefixLines(const std::string& text, const std::string& prefix);

}  // namespace kd::cli

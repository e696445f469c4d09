#pragma once
// `kdctl events` formatting: kubectl's events table, without I/O.

#include <chrono>
#include <string>

#include "engine/api/status.h"

namespace kd::cli {

// Rows "LAST SEEN  TYPE  REASON  OBJECT  MESSAGE" (a NAMESPACE column first when
// `withNamespace`), aligned as kubectl's printers align (minimum width 6, padding 3).
std::string eventRows(const json& events, bool withNamespace, bool header,
                      std::chrono::system_clock::time_point now);

// Oldest first by when each event was last seen (series, lastTimestamp, eventTime).
json sortEvents(json events);

}  // namespace kd::cli

#pragma once
// Times as the Kubernetes API and the CRI log format write them.

#include <chrono>
#include <string>

namespace kd::node {

using Clock = std::chrono::system_clock;

// RFC 3339 in UTC with second precision: "2026-01-02T03:04:05Z" (meta/v1 Time).
std::string formatTime(Clock::time_point t);
// RFC 3339 in UTC with nanoseconds: "2026-01-02T03:04:05.123456789Z" (CRI logs, MicroTime).
std::string formatTimeNano(Clock::time_point t);
// Parses either form; the epoch when `text` is not a time.
Clock::time_point parseTime(const std::string& text);

}  // namespace kd::node

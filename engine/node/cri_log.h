#pragma once
// Container logs in the CRI format kubelet and `kubectl logs` read:
//
//   2026-01-02T03:04:05.123456789Z stdout F hello
//
// one line per line of output: RFC 3339 time with nanoseconds, the stream, F for a full line or
// P for a partial one (a line longer than the writer's limit is split into P records ending in
// an F), then the content without its newline.

#include <functional>
#include <string>
#include <string_view>

#include "engine/node/timestamps.h"

namespace kd::node {

// One record, newline included.
std::string formatCriLogLine(Clock::time_point t, std::string_view stream, std::string_view content,
                             bool partial);

// Splits one stream's output into records and hands each to `sink`. Not thread-safe; one writer
// per stream.
class CriLogWriter {
 public:
  using Sink = std::function<void(const std::string& record)>;
  CriLogWriter(std::string stream, Sink sink, size_t maxLine = 16 * 1024,
               std::function<Clock::time_point()> clock = Clock::now);

  void write(std::string_view bytes);
  // Emits a pending partial line (at end of stream) as a full record.
  void flush();

 private:
  std::string stream_;
  Sink sink_;
  size_t maxLine_;
  std::function<Clock::time_point()> clock_;
  std::string pending_;
};

}  // namespace kd::node

#pragma once
// Container logs in the CRI format kubelet and `kubectl logs` read:
//
//   2026-01-02T03:04:05.123456789Z stdout F hello
//
// one line per line of output: RFC 3339 time with nanoseconds, the stream, F for a full line or
// P for a partial one (a line longer than the writer's limit is split into P records ending in
// an F), then the content without its newline.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

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

// A container's log file, rotated as the kubelet rotates it (containerLogMaxSize and
// containerLogMaxFiles, defaults 10 MiB and 5): a record that would take the live file past
// `maxBytes` first moves it to `<path>.<UTC yyyymmdd-hhmmss>` (".N" added when that name is
// taken) and starts a new one; at most `maxFiles` files are kept, counting the live one, the
// oldest rotated ones deleted. `kubectl logs` reads only the live file, as from the kubelet.
class RotatingLogFile {
 public:
  static constexpr uint64_t kDefaultMaxBytes = 10 * 1024 * 1024;
  static constexpr int kDefaultMaxFiles = 5;

  RotatingLogFile(std::filesystem::path path, uint64_t maxBytes = kDefaultMaxBytes,
                  int maxFiles = kDefaultMaxFiles,
                  std::function<Clock::time_point()> clock = Clock::now);
  ~RotatingLogFile();
  RotatingLogFile(const RotatingLogFile&) = delete;
  RotatingLogFile& operator=(const RotatingLogFile&) = delete;

  // Opens (appends to) the live file; false when it cannot be opened.
  bool open();
  // Writes one record with a single write, so records from two streams never interleave.
  void append(const std::string& record);
  // The rotated files, oldest first.
  std::vector<std::filesystem::path> rotated() const;

 private:
  void rotate();

  std::filesystem::path path_;
  uint64_t maxBytes_;
  int maxFiles_;
  std::function<Clock::time_point()> clock_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace kd::node

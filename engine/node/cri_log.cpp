#include "engine/node/cri_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

namespace kd::node {

std::string formatCriLogLine(Clock::time_point t, std::string_view stream, std::string_view content,
                             bool partial) {
  std::string out = formatTimeNano(t);
  out += ' ';
  out += stream;
  out += partial ? " P " : " F ";
  out += content;
  out += '\n';
  return out;
}

CriLogWriter::CriLogWriter(std::string stream, Sink sink, size_t maxLine,
                           std::function<Clock::time_point()> clock)
    : stream_(std::move(stream)),
      sink_(std::move(sink)),
      maxLine_(maxLine),
      clock_(std::move(clock)) {}

void CriLogWriter::write(std::string_view bytes) {
  pending_.append(bytes);
  size_t start = 0;
  for (size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view line = std::string_view(pending_).substr(start, nl - start);
    for (; line.size() > maxLine_; line.remove_prefix(maxLine_)) {
      sink_(formatCriLogLine(clock_(), stream_, line.substr(0, maxLine_), true));
    }
    sink_(formatCriLogLine(clock_(), stream_, line, false));
  }
  pending_.erase(0, start);
  while (pending_.size() > maxLine_) {
    sink_(
        formatCriLogLine(clock_(), stream_, std::string_view(pending_).substr(0, maxLine_), true));
    pending_.erase(0, maxLine_);
  }
}

void CriLogWriter::flush() {
  if (pending_.empty()) return;
  sink_(formatCriLogLine(clock_(), stream_, pending_, false));
  pending_.clear();
}

RotatingLogFile::RotatingLogFile(std::filesystem::path path, uint64_t maxBytes, int maxFiles,
                                 std::function<Clock::time_point()> clock)
    : path_(std::move(path)),
      maxBytes_(std::max<uint64_t>(maxBytes, 1)),
      maxFiles_(std::max(maxFiles, 2)),
      clock_(std::move(clock)) {}

RotatingLogFile::~RotatingLogFile() {
  if (fd_ >= 0) ::close(fd_);
}

bool RotatingLogFile::open() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  struct stat st {};
  size_ = fd_ >= 0 && ::fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return fd_ >= 0;
}

void RotatingLogFile::append(const std::string& record) {
  if (size_ > 0 && size_ + record.size() > maxBytes_) rotate();
  if (fd_ < 0) return;
  const ssize_t n = ::write(fd_, record.data(), record.size());
  if (n > 0) size_ += static_cast<uint64_t>(n);
}

std::vector<std::filesystem::path> RotatingLogFile::rotated() const {
  std::vector<std::filesystem::path> out;
  const std::string prefix = path_.filename().string() + ".";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(path_.parent_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(prefix) && !name.ends_with(".tmp")) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void RotatingLogFile::rotate() {
  const std::time_t now = Clock::to_time_t(clock_());
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  std::filesystem::path target = path_.string() + "." + stamp;
  std::error_code ec;
  for (int n = 1; std::filesystem::exists(target, ec); ++n)
    target = path_.string() + "." + stamp + "." + std::to_string(n);
  std::filesystem::rename(path_, target, ec);
  std::vector<std::filesystem::path> old = rotated();
  for (size_t i = 0; i + static_cast<size_t>(maxFiles_ - 1) < old.size(); ++i)
    std::filesystem::remove(old[i], ec);
  open();
}

}  // namespace kd::node

#include "engine/node/cri_log.h"

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

}  // namespace kd::node

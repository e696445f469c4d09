#include "engine/node/container_io.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace kd::node {

namespace attach {

std::string frame(uint8_t channel, std::string_view payload) {
  std::string out(5, '\0');
  out[0] = static_cast<char>(channel);
  const auto n = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) out[1 + i] = static_cast<char>((n >> (24 - 8 * i)) & 0xff);
  out.append(payload);
  return out;
}

std::optional<std::pair<uint8_t, std::string>> FrameReader::next() {
  if (buffer_.size() < 5) return std::nullopt;
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<uint8_t>(buffer_[1 + i]);
  if (buffer_.size() < 5 + static_cast<size_t>(n)) return std::nullopt;
  std::pair<uint8_t, std::string> out{static_cast<uint8_t>(buffer_[0]), buffer_.substr(5, n)};
  buffer_.erase(0, 5 + static_cast<size_t>(n));
  return out;
}

}  // namespace attach

namespace {

constexpr size_t kMaxPendingInput = 1 << 20;

// A unix socket address for `path` of any length: sun_path holds 108 bytes, state directories
// can be deeper, so the directory is reached through /proc/self/fd/<dirfd>. Calls `use` with
// the address while the directory descriptor is open.
template <typename Use>
int withUnixAddress(const std::string& path, Use use) {
  const std::filesystem::path p(path);
  const int dir = ::open(p.parent_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return -1;
  const std::string shortPath =
      "/proc/self/fd/" + std::to_string(dir) + "/" + p.filename().string();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, shortPath.c_str(), sizeof addr.sun_path - 1);
  const int result = use(reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::close(dir);
  return result;
}

void setNonBlocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// The message of a runtime error line: time="..." level=error msg="<message>".
std::optional<std::string> runtimeErrorIn(std::string_view record) {
  constexpr std::string_view kMarker = " level=error msg=\"";
  if (record.find(" stderr F time=\"") == std::string_view::npos) return std::nullopt;
  const auto at = record.find(kMarker);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view msg = record.substr(at + kMarker.size());
  msg = msg.substr(0, msg.rfind('"'));
  return std::string(msg);
}

}  // namespace

int attach::connectUnix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (withUnixAddress(path, [fd](sockaddr* a, socklen_t n) { return ::connect(fd, a, n); }) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int attach::listenUnix(const std::string& path) {
  ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (withUnixAddress(path, [fd](sockaddr* a, socklen_t n) { return ::bind(fd, a, n); }) != 0 ||
      ::listen(fd, 8) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

ContainerIo::ContainerIo(ContainerIoFds fds, RotatingLogFile& log, std::string attachSocket)
    : fds_(fds), log_(log), socketPath_(std::move(attachSocket)) {
  if (fds_.input >= 0) setNonBlocking(fds_.input);
  if (!socketPath_.empty()) listenFd_ = attach::listenUnix(socketPath_);
}

ContainerIo::~ContainerIo() {
  finish(-1);
  for (int fd : {fds_.output, fds_.error, fds_.input}) {
    if (fd >= 0) ::close(fd);
  }
}

std::string ContainerIo::pumpOutput() {
  auto sink = [this](const std::string& record) {
    log_.append(record);
    if (auto error = runtimeErrorIn(record)) runtimeError_ = *error;
  };
  CriLogWriter writers[2] = {CriLogWriter("stdout", sink), CriLogWriter("stderr", sink)};
  int outputs[2] = {fds_.output, fds_.error};
  int open = (outputs[0] >= 0) + (outputs[1] >= 0);
  char buf[16 * 1024];
  while (open > 0) {
    std::vector<pollfd> polled = {
        {outputs[0], POLLIN, 0},
        {outputs[1], POLLIN, 0},
        {listenFd_, POLLIN, 0},
        {pendingInput_.empty() ? -1 : fds_.input, POLLOUT, 0},
    };
    for (const auto& c : clients_) polled.push_back({c.fd, POLLIN, 0});
    if (::poll(polled.data(), polled.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (outputs[i] < 0 || polled[i].revents == 0) continue;
      const ssize_t n = ::read(outputs[i], buf, sizeof buf);
      if (n > 0) {
        const std::string_view data(buf, static_cast<size_t>(n));
        writers[i].write(data);
        broadcast(i == 0 ? kStdout : kStderr, data);
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {  // a master ends with EIO
        writers[i].flush();
        outputs[i] = -1;
        --open;
      }
    }
    if (polled[2].revents) accept();
    if (polled[3].revents) writeInput({});
    for (size_t i = 4; i < polled.size(); ++i) {
      if (polled[i].revents == 0) continue;
      auto it = std::find_if(clients_.begin(), clients_.end(),
                             [&](const Client& c) { return c.fd == polled[i].fd; });
      if (it != clients_.end()) readClient(*it);
    }
    std::erase_if(clients_, [](const Client& c) { return c.fd < 0; });
  }
  return runtimeError_;
}

void ContainerIo::finish(int exitCode) {
  for (auto& c : clients_) {
    if (c.fd < 0) continue;
    if (exitCode >= 0) {
      const std::string f = attach::frame(kError, std::to_string(exitCode));
      [[maybe_unused]] ssize_t n = ::send(c.fd, f.data(), f.size(), MSG_NOSIGNAL);
    }
    ::close(c.fd);
    c.fd = -1;
  }
  clients_.clear();
  if (listenFd_ >= 0) {
    ::close(listenFd_);
    listenFd_ = -1;
    ::unlink(socketPath_.c_str());
  }
}

void ContainerIo::accept() {
  const int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) clients_.push_back({fd, {}, false});
}

void ContainerIo::readClient(Client& client) {
  char buf[16 * 1024];
  const ssize_t n = ::read(client.fd, buf, sizeof buf);
  if (n <= 0) {
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    return dropClient(client);
  }
  client.reader.feed(std::string_view(buf, static_cast<size_t>(n)));
  while (auto f = client.reader.next()) {
    const auto& [channel, payload] = *f;
    if (channel == kStdin) {
      client.sentInput = client.sentInput || !payload.empty();
      writeInput(payload);
    } else if (channel == kResize) {
      resize(payload);
    } else if (channel == kClose) {
      closeInput();
    }
  }
}

void ContainerIo::dropClient(Client& client) {
  ::close(client.fd);
  client.fd = -1;
  if (client.sentInput && fds_.stdinOnce) closeInput();
}

void ContainerIo::broadcast(uint8_t channel, std::string_view data) {
  if (clients_.empty()) return;
  const std::string f = attach::frame(channel, data);
  for (auto& c : clients_) {
    if (c.fd < 0) continue;
    // A client that cannot keep up loses its attachment rather than stall the container.
    const ssize_t n = ::send(c.fd, f.data(), f.size(), MSG_NOSIGNAL);
    if (n != static_cast<ssize_t>(f.size())) dropClient(c);
  }
}

void ContainerIo::writeInput(std::string_view data) {
  if (fds_.input < 0) return;
  if (pendingInput_.size() + data.size() <= kMaxPendingInput) pendingInput_.append(data);
  while (!pendingInput_.empty()) {
    const ssize_t n = ::write(fds_.input, pendingInput_.data(), pendingInput_.size());
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      pendingInput_.clear();  // the container closed its stdin
      break;
    }
    pendingInput_.erase(0, static_cast<size_t>(n));
  }
  if (inputClosing_) closeInput();
}

void ContainerIo::closeInput() {
  if (fds_.input < 0) return;
  inputClosing_ = true;
  if (!pendingInput_.empty()) return;  // once the container has taken the rest
  if (fds_.terminal) {
    // A terminal has no half-close: end of input is the EOT character.
    [[maybe_unused]] ssize_t n = ::write(fds_.input, "\x04", 1);
  }
  ::close(fds_.input);
  fds_.input = -1;
}

void ContainerIo::resize(const std::string& size) {
  if (!fds_.terminal || fds_.output < 0) return;
  unsigned cols = 0, rows = 0;
  if (std::sscanf(size.c_str(), "%u %u", &cols, &rows) != 2) return;
  winsize ws{};
  ws.ws_col = static_cast<unsigned short>(cols);
  ws.ws_row = static_cast<unsigned short>(rows);
  ::ioctl(fds_.output, TIOCSWINSZ, &ws);
}

}  // namespace kd::node

#include "engine/node/probes.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "engine/node/process.h"

namespace kd::node {

namespace {

using Millis = std::chrono::milliseconds;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Connects to 127.0.0.1:port within `timeout`; "" or the Go-style error.
std::string connectLoopback(Fd& sock, int port, Millis timeout) {
  const std::string where = "dial tcp 127.0.0.1:" + std::to_string(port) + ": ";
  sock.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (sock.fd < 0) return where + "socket: " + std::strerror(errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(sock.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return {};
  if (errno != EINPROGRESS) return where + "connect: " + std::strerror(errno);
  pollfd p{sock.fd, POLLOUT, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return where + "i/o timeout";
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(sock.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return where + "connect: " + std::strerror(err);
  return {};
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "connection refused" as Go writes it (strerror capitalises).
std::string goError(std::string message) {
  const auto colon = message.rfind(": ");
  if (colon == std::string::npos) return message;
  return message.substr(0, colon + 2) + lower(message.substr(colon + 2));
}

// Sends the request and reads up to the status line; the status code or an error text.
Result<int> httpStatus(int fd, const std::string& request, Clock::time_point deadline) {
  size_t sent = 0;
  std::string reply;
  while (reply.find("\r\n") == std::string::npos) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
    if (left <= 0) return Status::timeout("timeout");
    pollfd p{fd, static_cast<short>(sent < request.size() ? POLLOUT : POLLIN), 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    if (sent < request.size()) {
      const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n < 0) return Status::internal(std::strerror(errno));
      sent += static_cast<size_t>(n);
      continue;
    }
    char buf[512];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return Status::internal(n == 0 ? "EOF" : std::strerror(errno));
    reply.append(buf, static_cast<size_t>(n));
  }
  const auto space = reply.find(' ');
  if (space == std::string::npos) return Status::internal("malformed HTTP response");
  return std::atoi(reply.c_str() + space + 1);
}

int resolvePort(const json& port, const json& container) {
  if (port.is_number_integer()) return port.get<int>();
  const std::string name = port.is_string() ? port.get<std::string>() : "";
  for (const auto& p : container.value("ports", json::array()))
    if (p.value("name", "") == name) return p.value("containerPort", 0);
  return std::atoi(name.c_str());
}

ProbeOutcome tcpProbe(const json& handler, const ProbeTarget& target, Millis timeout) {
  Fd sock;
  const std::string error =
      connectLoopback(sock, resolvePort(handler.value("port", json()), target.container), timeout);
  return {error.empty(), goError(error)};
}

ProbeOutcome httpProbe(const json& handler, const ProbeTarget& target, Millis timeout) {
  const int port = resolvePort(handler.value("port", json()), target.container);
  std::string path = handler.value("path", "/");
  if (path.empty() || path[0] != '/') path = "/" + path;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  if (lower(handler.value("scheme", "HTTP")) != "http")
    return {false, "scheme " + handler.value("scheme", "") + " is not supported"};
  const auto deadline = Clock::now() + timeout;
  Fd sock;
  if (std::string error = connectLoopback(sock, port, timeout); !error.empty())
    return {false, "Get \"" + url + "\": " + goError(error)};
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                        "\r\nUser-Agent: kube-probe/1.28\r\nAccept: */*\r\nConnection: close\r\n";
  for (const auto& h : handler.value("httpHeaders", json::array()))
    request += h.value("name", "") + ": " + h.value("value", "") + "\r\n";
  request += "\r\n";
  auto code = httpStatus(sock.fd, request, deadline);
  if (!code.ok()) {
    return {false, "Get \"" + url + "\": " +
                       (code.status().code() == 504
                            ? "context deadline exceeded (Client.Timeout exceeded while awaiting "
                              "headers)"
                            : code.status().message())};
  }
  if (*code >= 200 && *code < 400) return {true, ""};
  return {false, "HTTP probe failed with statuscode: " + std::to_string(*code)};
}

// Runs `check` on a thread that has joined the network namespace `netns`.
ProbeOutcome inNetns(const std::string& netns, const std::function<ProbeOutcome()>& check) {
  if (netns.empty()) return check();
  ProbeOutcome out;
  std::thread worker([&] {
    Fd ns;
    ns.fd = ::open(netns.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns.fd < 0 || ::setns(ns.fd, CLONE_NEWNET) != 0) {
      out = {false, "enter network namespace " + netns + ": " + std::strerror(errno)};
      return;
    }
    out = check();
  });
  worker.join();
  return out;
}

ProbeOutcome execProbe(const json& handler, const ProbeTarget& target, int timeoutSeconds) {
  std::vector<std::string> argv = {"timeout", std::to_string(timeoutSeconds)};
  for (const auto& a : target.runtime->command({"exec", target.containerId})) argv.push_back(a);
  for (const auto& a : handler.value("command", json::array()))
    argv.push_back(a.get<std::string>());
  auto r = runProcess(argv);
  if (!r.ok()) return {false, r.status().message()};
  if (r->exitCode == 124)
    return {false, "command timed out after " + std::to_string(timeoutSeconds) + "s"};
  return {r->exitCode == 0, r->output, r->exitCode};
}

}  // namespace

const char* probeKey(ProbeKind kind) {
  static const char* const kKeys[] = {"liveness", "readiness", "startup"};
  return kKeys[static_cast<int>(kind)];
}
const char* probeTitle(ProbeKind kind) {
  static const char* const kTitles[] = {"Liveness", "Readiness", "Startup"};
  return kTitles[static_cast<int>(kind)];
}
const char* resultName(ProbeResult result) {
  static const char* const kNames[] = {"Unknown", "Success", "Failure"};
  return kNames[static_cast<int>(result)];
}

ProbeSettings ProbeSettings::fromJson(const json& probe) {
  ProbeSettings s;
  s.initialDelaySeconds = probe.value("initialDelaySeconds", 0);
  s.periodSeconds = std::max(1, probe.value("periodSeconds", 10));
  s.timeoutSeconds = std::max(1, probe.value("timeoutSeconds", 1));
  s.successThreshold = std::max(1, probe.value("successThreshold", 1));
  s.failureThreshold = std::max(1, probe.value("failureThreshold", 3));
  s.handler = probe;
  return s;
}

ProbeTracker::ProbeTracker(ProbeKind kind, ProbeSettings settings,
                           Clock::time_point containerStarted)
    : kind_(kind),
      settings_(std::move(settings)),
      started_(containerStarted),
      result_(kind == ProbeKind::Readiness  ? ProbeResult::Failure
              : kind == ProbeKind::Liveness ? ProbeResult::Success
                                            : ProbeResult::Unknown),
      lastTransition_(containerStarted) {}

bool ProbeTracker::due(Clock::time_point now) const {
  if (now < started_ + std::chrono::seconds(settings_.initialDelaySeconds)) return false;
  return !probed_ || now >= lastProbe_ + std::chrono::seconds(settings_.periodSeconds);
}

bool ProbeTracker::record(bool success, const std::string& message, Clock::time_point now) {
  probed_ = true;
  lastProbe_ = now;
  if (success) {
    failures_ = 0;
    ++successes_;
  } else {
    successes_ = 0;
    ++failures_;
    lastFailureMessage_ = message;
  }
  ProbeResult next = result_;
  if (success && (successes_ >= settings_.successThreshold || result_ == ProbeResult::Unknown))
    next = ProbeResult::Success;
  if (!success && failures_ >= settings_.failureThreshold) next = ProbeResult::Failure;
  if (next == result_) return false;
  result_ = next;
  lastTransition_ = now;
  return true;
}

json ProbeTracker::statusJson() const {
  return {{"result", resultName(result_)},
          {"consecutiveFailures", failures_},
          {"lastFailureMessage", lastFailureMessage_},
          {"lastTransitionTime", formatTime(lastTransition_)},
          {"lastProbeTime", probed_ ? formatTime(lastProbe_) : ""}};
}

ProbeOutcome runProbe(const ProbeSettings& settings, const ProbeTarget& target) {
  const json& h = settings.handler;
  const Millis timeout = std::chrono::seconds(settings.timeoutSeconds);
  if (h.contains("exec")) return execProbe(h["exec"], target, settings.timeoutSeconds);
  if (h.contains("httpGet"))
    return inNetns(target.netns, [&] { return httpProbe(h["httpGet"], target, timeout); });
  if (h.contains("tcpSocket"))
    return inNetns(target.netns, [&] { return tcpProbe(h["tcpSocket"], target, timeout); });
  return {false, "unsupported probe handler"};
}

Result<int> dialLoopback(const std::string& netns, int port, Millis timeout) {
  Fd sock;
  const ProbeOutcome out = inNetns(netns, [&] {
    const std::string error = connectLoopback(sock, port, timeout);
    return ProbeOutcome{error.empty(), goError(error)};
  });
  if (!out.success) return Status::serviceUnavailable(out.message);
  return std::exchange(sock.fd, -1);
}

}  // namespace kd::node

#pragma once
// A running container's stdio as its shim (shim.h) holds it: the output goes to the CRI log
// and to every attached client; attached clients' input goes to the container's stdin.
//
// Clients (the streaming server, for `kubectl attach` and `kubectl run -it`) connect to the
// unix socket <attempt dir>/attach.sock. Both directions carry frames: a one-byte channel, a
// four-byte big-endian length, the payload.
//   shim -> client   kStdout / kStderr: output from the moment of attaching (a terminal's
//                    output is all kStdout); kError: the exit code in decimal, once the
//                    container ended; then end of file.
//   client -> shim   kStdin: bytes for the container's stdin (ignored when it has none);
//                    kResize: "<columns> <rows>" for a terminal; kClose: end of input.
// A container with `stdinOnce` has its stdin closed when the first client that sent input
// goes away, as the kubelet does.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/node/cri_log.h"

namespace kd::node {

// Stream channels as Kubernetes' remote-command protocol numbers them (exec and attach over
// WebSocket); the attach socket uses the same numbers, with kError carrying the exit code and
// kClose ending the container's stdin.
enum StreamChannel : uint8_t {
  kStdin = 0,
  kStdout = 1,
  kStderr = 2,
  kError = 3,
  kResize = 4,
  kClose = 255,
};

namespace attach {

std::string frame(uint8_t channel, std::string_view payload);

// Collects bytes from a socket and hands out whole frames.
class FrameReader {
 public:
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  std::optional<std::pair<uint8_t, std::string>> next();

 private:
  std::string buffer_;
};

// A unix stream socket connected to, or listening (non-blocking) at, `path` — of any length;
// -1 on failure.
int connectUnix(const std::string& path);
int listenUnix(const std::string& path);

}  // namespace attach

struct ContainerIoFds {
  int output = -1;  // stdout pipe, or a terminal's master
  int error = -1;   // stderr pipe; -1 for a terminal
  int input = -1;   // stdin pipe's write end, or a duplicate of the terminal's master; -1 when
                    // the container has no stdin
  bool terminal = false;
  bool stdinOnce = false;
};

class ContainerIo {
 public:
  // Owns the descriptors; `attachSocket` "" serves no clients.
  ContainerIo(ContainerIoFds fds, RotatingLogFile& log, std::string attachSocket);
  ~ContainerIo();
  ContainerIo(const ContainerIo&) = delete;
  ContainerIo& operator=(const ContainerIo&) = delete;

  // Pumps until the container's output ends (its processes are gone). Returns the runtime's
  // last error line seen on stderr ("" when none), e.g. a missing executable.
  std::string pumpOutput();
  // Tells the attached clients the exit code and hangs up on them.
  void finish(int exitCode);

 private:
  struct Client {
    int fd = -1;
    attach::FrameReader reader;
    bool sentInput = false;
  };
  void accept();
  void readClient(Client& client);
  void dropClient(Client& client);
  void broadcast(uint8_t channel, std::string_view data);
  void writeInput(std::string_view data);
  void closeInput();
  void resize(const std::string& size);

  ContainerIoFds fds_;
  RotatingLogFile& log_;
  std::string socketPath_;
  int listenFd_ = -1;
  std::vector<Client> clients_;
  std::string pendingInput_;  // stdin bytes the container has not taken yet
  bool inputClosing_ = false;
  std::string runtimeError_;
};

}  // namespace kd::node

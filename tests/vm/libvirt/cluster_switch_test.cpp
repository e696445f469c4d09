// The cluster switch with plain TCP clients on 127.0.0.1 speaking qemu's socket netdev stream
// protocol: flooding, learning, dropping malformed frames without losing step, and ports that
// come and go.

#include "vm/libvirt/cluster_switch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <QtTest>
#include <array>
#include <optional>
#include <thread>
#include <vector>

namespace {

using Bytes = std::vector<std::uint8_t>;
using Mac = std::array<std::uint8_t, 6>;

const Mac kBroadcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

Mac mac(std::uint8_t last) {
  return {0x52, 0x54, 0x00, 0x00, 0x00, last};
}

Bytes frame(const Mac& to, const Mac& from, std::size_t payload = 46, std::uint8_t fill = 0) {
  Bytes f(to.begin(), to.end());
  f.insert(f.end(), from.begin(), from.end());
  f.push_back(0x08);
  f.push_back(0x00);
  f.insert(f.end(), payload, fill);
  return f;
}

// One switch port: a TCP connection that sends and receives length-prefixed frames.
class Client {
 public:
  explicit Client(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Sends `length` as the prefix (the frame's size unless a test lies about it).
  bool send(const Bytes& f, std::optional<std::uint32_t> length = {}) {
    const std::uint32_t prefix = htonl(length.value_or(std::uint32_t(f.size())));
    Bytes wire(reinterpret_cast<const std::uint8_t*>(&prefix),
               reinterpret_cast<const std::uint8_t*>(&prefix) + 4);
    wire.insert(wire.end(), f.begin(), f.end());
    return ::send(fd_, wire.data(), wire.size(), MSG_NOSIGNAL) == ssize_t(wire.size());
  }

  // The next frame, or nothing within `timeoutMs`.
  std::optional<Bytes> receive(int timeoutMs = 1000) {
    std::uint8_t prefix[4];
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeoutMs) <= 0) return std::nullopt;
    if (!readExactly(prefix, 4, kFrameMs)) return std::nullopt;
    const std::uint32_t length =
        (std::uint32_t(prefix[0]) << 24) | (prefix[1] << 16) | (prefix[2] << 8) | prefix[3];
    Bytes f(length);
    if (!readExactly(f.data(), length, kFrameMs)) return std::nullopt;
    return f;
  }

 private:
  static constexpr int kFrameMs = 2000;  // a frame that has begun arrives whole

  bool readExactly(std::uint8_t* out, std::size_t n, int timeoutMs) {
    for (std::size_t got = 0; got < n;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, timeoutMs) <= 0) return false;
      const ssize_t r = ::recv(fd_, out + got, n - got, 0);
      if (r <= 0) return false;
      got += std::size_t(r);
    }
    return true;
  }

  int fd_;
  bool connected_ = false;
};

// Waits until the switch counts `ports` connected ports.
bool waitForPorts(const kd::vm::ClusterSwitch& sw, std::size_t ports) {
  for (int i = 0; i < 200; ++i) {
    if (sw.stats().ports == ports) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

const int kQuietMs = 200;  // how long "nothing arrives" is watched for

}  // namespace

class ClusterSwitchTest : public QObject {
  Q_OBJECT

  std::unique_ptr<kd::vm::ClusterSwitch> switch_;

  std::uint16_t port() const { return switch_->port(); }

 private slots:
  void init() {
    auto started = kd::vm::ClusterSwitch::start();
    QVERIFY2(started.ok(), started.status().message().c_str());
    switch_ = std::move(*started);
    QVERIFY(port() != 0);
  }
  void cleanup() { switch_.reset(); }

  void floodsBroadcastToEveryOtherPort() {
    Client a(port()), b(port()), c(port());
    QVERIFY(a.connected() && b.connected() && c.connected());
    QVERIFY(waitForPorts(*switch_, 3));
    const Bytes sent = frame(kBroadcast, mac(1));
    QVERIFY(a.send(sent));
    QCOMPARE(b.receive().value_or(Bytes{}), sent);
    QCOMPARE(c.receive().value_or(Bytes{}), sent);
    QVERIFY(!a.receive(kQuietMs));  // never back to the sender
    QCOMPARE(switch_->stats().flooded, std::uint64_t(1));
  }

  void learnsWhereAMacLivesAndForwardsOnlyThere() {
    Client a(port()), b(port()), c(port());
    QVERIFY(waitForPorts(*switch_, 3));
    // Unknown destination: flooded; the reply teaches the switch where mac(2) lives.
    QVERIFY(a.send(frame(mac(2), mac(1))));
    QVERIFY(b.receive());
    QVERIFY(c.receive());
    const Bytes reply = frame(mac(1), mac(2), 100, 0xab);
    QVERIFY(b.send(reply));
    QCOMPARE(a.receive().value_or(Bytes{}), reply);
    QVERIFY(!c.receive(kQuietMs));
    const Bytes again = frame(mac(2), mac(1), 1500, 0xcd);
    QVERIFY(a.send(again));
    QCOMPARE(b.receive().value_or(Bytes{}), again);
    QVERIFY(!c.receive(kQuietMs));
    QCOMPARE(switch_->stats().forwarded, std::uint64_t(2));
  }

  void dropsMalformedFramesAndKeepsStep_data() {
    QTest::addColumn<int>("payload");
    QTest::addColumn<int>("prefix");  // the length prefix sent; -1 = the true size
    QTest::newRow("runt: shorter than an Ethernet header") << -10 << -1;
    QTest::newRow("oversize: longer than kMaxFrame") << int(kd::vm::ClusterSwitch::kMaxFrame) << -1;
    QTest::newRow("far oversize: skipped in pieces") << 200000 << -1;
    QTest::newRow("empty") << -14 << -1;
  }
  void dropsMalformedFramesAndKeepsStep() {
    QFETCH(int, payload);
    QFETCH(int, prefix);
    Client a(port()), b(port());
    QVERIFY(waitForPorts(*switch_, 2));
    Bytes bad = frame(kBroadcast, mac(1), 0);
    bad.resize(std::size_t(std::max(0, int(bad.size()) + payload)));
    QVERIFY(a.send(bad, prefix < 0 ? std::nullopt : std::optional<std::uint32_t>(prefix)));
    const Bytes good = frame(kBroadcast, mac(1), 60, 0x11);
    QVERIFY(a.send(good));
    QCOMPARE(b.receive(3000).value_or(Bytes{}), good);  // the bad one never arrives
    QCOMPARE(switch_->stats().dropped, std::uint64_t(1));
  }

  void survivesPortsComingAndGoing() {
    Client a(port()), c(port());
    {
      Client b(port());
      QVERIFY(waitForPorts(*switch_, 3));
      QVERIFY(b.send(frame(kBroadcast, mac(2))));  // the switch learns mac(2) on b's port
      QVERIFY(a.receive());
      QVERIFY(c.receive());
    }
    QVERIFY(waitForPorts(*switch_, 2));
    // b's port is gone, so is what the switch knew about it: mac(2) is unknown again.
    const Bytes toGone = frame(mac(2), mac(1));
    QVERIFY(a.send(toGone));
    QCOMPARE(c.receive().value_or(Bytes{}), toGone);
    // mac(2) reappears behind a new port and is reached there.
    Client b2(port());
    QVERIFY(waitForPorts(*switch_, 3));
    QVERIFY(b2.send(frame(mac(1), mac(2))));
    QVERIFY(a.receive());
    QVERIFY(a.send(toGone));
    QCOMPARE(b2.receive().value_or(Bytes{}), toGone);
    QVERIFY(!c.receive(kQuietMs));
  }

  void aSlowReaderDoesNotStallTheOthers() {
    Client a(port()), slow(port()), c(port());
    QVERIFY(waitForPorts(*switch_, 3));
    // `slow` never reads; enough broadcast traffic to fill its socket buffers and queue.
    const Bytes big = frame(kBroadcast, mac(1), 1500);
    int received = 0;
    const int frames = 20000;
    for (int i = 0; i < frames; ++i) {
      QVERIFY(a.send(big));
      while (c.receive(i == frames - 1 ? 2000 : 0)) ++received;
    }
    QCOMPARE(received, frames);
    QVERIFY(switch_->stats().dropped > 0);
  }

  void stopsWithPortsConnected() {
    Client a(port());
    QVERIFY(waitForPorts(*switch_, 1));
    switch_.reset();  // must not hang
    QVERIFY(!a.receive(kQuietMs));
  }
};

QTEST_GUILESS_MAIN(ClusterSwitchTest)
#include "cluster_switch_test.moc"

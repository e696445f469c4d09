#include "vm/libvirt/cluster_switch.h"

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <deque>
#include <thread>
#include <unordered_map>
#include <vector>

namespace kd::vm {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

using Frame = std::shared_ptr<const std::vector<std::uint8_t>>;  // length prefix included

constexpr std::size_t kHeader = 4;
constexpr std::size_t kEthernetHeader = 14;
constexpr std::size_t kMaxQueuedFrames = 512;

std::uint64_t macAt(const std::uint8_t* p) {
  std::uint64_t mac = 0;
  for (int i = 0; i < 6; ++i) mac = (mac << 8) | p[i];
  return mac;
}

bool isGroupAddress(std::uint64_t mac) {
  return (mac >> 40) & 1;
}  // broadcast or multicast

}  // namespace

class ClusterSwitch::Impl {
 public:
  Impl() : acceptor_(io_) {}

  Status listen(std::uint16_t port) {
    boost::system::error_code ec;
    const tcp::endpoint at(asio::ip::make_address_v4("127.0.0.1"), port);
    acceptor_.open(at.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(at, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::internal("cluster switch cannot listen on 127.0.0.1:" + std::to_string(port) +
                              ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
    return {};
  }

  void stop() {
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      for (auto& [id, port] : ports_) port->socket.close(ignored);
    });
    if (thread_.joinable()) thread_.join();
  }

  std::uint16_t port() const { return port_; }

  Stats stats() const {
    return {forwarded_.load(), flooded_.load(), dropped_.load(), connected_.load()};
  }

 private:
  struct Port {
    explicit Port(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    std::uint64_t id = 0;
    std::array<std::uint8_t, kHeader> header{};
    std::vector<std::uint8_t> body;
    std::size_t discard = 0;  // bytes of an oversize frame still to skip
    std::deque<Frame> queue;
  };
  using PortPtr = std::shared_ptr<Port>;

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed by stop()
      socket.set_option(tcp::no_delay(true), ec);
      auto port = std::make_shared<Port>(std::move(socket));
      port->id = ++lastId_;
      ports_[port->id] = port;
      connected_ = ports_.size();
      readHeader(port);
      accept();
    });
  }

  void readHeader(const PortPtr& port) {
    asio::async_read(port->socket, asio::buffer(port->header),
                     [this, port](boost::system::error_code ec, std::size_t) {
                       if (ec) return disconnect(port);
                       const auto& h = port->header;
                       const std::size_t length =
                           (std::size_t(h[0]) << 24) | (h[1] << 16) | (h[2] << 8) | h[3];
                       if (length < kEthernetHeader || length > kMaxFrame) {
                         ++dropped_;
                         port->discard = length;
                         return skip(port);
                       }
                       port->body.resize(length);
                       readBody(port);
                     });
  }

  // Consumes a frame that will not be forwarded, in bounded pieces.
  void skip(const PortPtr& port) {
    if (port->discard == 0) return readHeader(port);
    port->body.resize(std::min<std::size_t>(port->discard, kMaxFrame));
    asio::async_read(port->socket, asio::buffer(port->body),
                     [this, port](boost::system::error_code ec, std::size_t n) {
                       if (ec) return disconnect(port);
                       port->discard -= n;
                       skip(port);
                     });
  }

  void readBody(const PortPtr& port) {
    asio::async_read(port->socket, asio::buffer(port->body),
                     [this, port](boost::system::error_code ec, std::size_t) {
                       if (ec) return disconnect(port);
                       switchFrame(port);
                       readHeader(port);
                     });
  }

  void switchFrame(const PortPtr& from) {
    const std::uint8_t* eth = from->body.data();
    const std::uint64_t source = macAt(eth + 6);
    const std::uint64_t destination = macAt(eth);
    if (!isGroupAddress(source)) macs_[source] = from->id;

    auto frame = std::make_shared<std::vector<std::uint8_t>>(kHeader + from->body.size());
    std::copy(from->header.begin(), from->header.end(), frame->begin());
    std::copy(from->body.begin(), from->body.end(), frame->begin() + kHeader);

    const auto known = isGroupAddress(destination) ? macs_.end() : macs_.find(destination);
    if (known != macs_.end()) {
      const auto to = ports_.find(known->second);
      if (to != ports_.end() && to->first != from->id) {
        ++forwarded_;
        send(to->second, frame);
      }
      return;
    }
    ++flooded_;
    for (auto& [id, port] : ports_) {
      if (id != from->id) send(port, frame);
    }
  }

  void send(const PortPtr& port, const Frame& frame) {
    if (port->queue.size() >= kMaxQueuedFrames) {
      ++dropped_;
      return;
    }
    port->queue.push_back(frame);
    if (port->queue.size() == 1) writeNext(port);
  }

  void writeNext(const PortPtr& port) {
    asio::async_write(port->socket, asio::buffer(*port->queue.front()),
                      [this, port](boost::system::error_code ec, std::size_t) {
                        if (ec) return disconnect(port);
                        port->queue.pop_front();
                        if (!port->queue.empty()) writeNext(port);
                      });
  }

  void disconnect(const PortPtr& port) {
    if (ports_.erase(port->id) == 0) return;
    boost::system::error_code ignored;
    port->socket.close(ignored);
    port->queue.clear();
    std::erase_if(macs_, [&](const auto& entry) { return entry.second == port->id; });
    connected_ = ports_.size();
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  std::uint64_t lastId_ = 0;
  std::unordered_map<std::uint64_t, PortPtr> ports_;       // io thread only
  std::unordered_map<std::uint64_t, std::uint64_t> macs_;  // MAC -> port id, io thread only
  std::atomic<std::uint64_t> forwarded_{0}, flooded_{0}, dropped_{0};
  std::atomic<std::size_t> connected_{0};
};

Result<std::unique_ptr<ClusterSwitch>> ClusterSwitch::start(std::uint16_t port) {
  auto impl = std::make_unique<Impl>();
  if (Status s = impl->listen(port); !s) return s;
  return std::unique_ptr<ClusterSwitch>(new ClusterSwitch(std::move(impl)));
}

ClusterSwitch::ClusterSwitch(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ClusterSwitch::~ClusterSwitch() {
  impl_->stop();
}

std::uint16_t ClusterSwitch::port() const {
  return impl_->port();
}

ClusterSwitch::Stats ClusterSwitch::stats() const {
  return impl_->stats();
}

}  // namespace kd::vm

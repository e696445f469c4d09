#pragma once
// The cluster network of VM nodes without root: a learning Ethernet switch on 127.0.0.1 that
// every node's cluster NIC connects to through qemu's socket netdev
// (`<interface type='client'>`, `-netdev socket,connect=127.0.0.1:PORT`). Each connection is one
// switch port; on the wire every frame is a 4-byte big-endian length followed by the Ethernet
// frame, which is qemu's stream protocol.
//
// Like a hardware switch it learns which port each source MAC lives behind, forwards unicast
// frames to that port only, and floods broadcast, multicast and unknown destinations to every
// other port. Frames shorter than an Ethernet header or longer than kMaxFrame are dropped (the
// stream stays in step); a port whose peer reads too slowly loses frames rather than stalling
// the others. Ports come and go at any time; a MAC moves with the port it was last seen on.
//
// Thread safety: the switch runs on a thread of its own; every public call may come from any
// thread. The destructor closes every port and joins that thread.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "engine/api/status.h"

namespace kd::vm {

class ClusterSwitch {
 public:
  static constexpr std::size_t kMaxFrame = 65535;

  struct Stats {
    std::uint64_t forwarded = 0;  // frames sent to the one port that owns the destination
    std::uint64_t flooded = 0;    // frames sent to every other port
    std::uint64_t dropped = 0;    // malformed, oversize, or queued behind a slow reader
    std::size_t ports = 0;        // connected ports now
  };

  // Listens on 127.0.0.1:`port` (0 picks a free port) and starts serving.
  static Result<std::unique_ptr<ClusterSwitch>> start(std::uint16_t port = 0);

  ~ClusterSwitch();
  ClusterSwitch(const ClusterSwitch&) = delete;
  ClusterSwitch& operator=(const ClusterSwitch&) = delete;

  std::uint16_t port() const;
  Stats stats() const;

 private:
  class Impl;
  explicit ClusterSwitch(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kd::vm

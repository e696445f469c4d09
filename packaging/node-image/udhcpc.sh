#!/bin/sh
# udhcpc's hook: puts the lease's address and default route on the interface. The lease's DNS
# servers are ignored on purpose: nothing in the guest resolves names over the network.
# shellcheck disable=SC2154 # udhcpc passes interface, ip, mask and router in the environment
case "$1" in
deconfig)
  ip addr flush dev "$interface"
  ip link set "$interface" up
  ;;
bound | renew)
  ip addr replace "$ip/${mask:-24}" dev "$interface"
  if [ -n "${router:-}" ]; then
    ip route replace default via "${router%% *}" dev "$interface"
  fi
  ;;
esac
exit 0

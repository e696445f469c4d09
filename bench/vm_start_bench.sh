#!/usr/bin/env bash
# VM cluster start-up, as a person sees it: `kdctl start --driver=vm --nodes N` on a fresh
# profile until every node is Ready, then until a first pod (busybox, image already in the node
# image) is Running; and the host memory each idle VM's qemu holds (RSS and PSS, after the nodes
# have been Ready for a while), with the node image's size and the host's load average (1 min,
# when the memory is read). Needs root, libvirt and qemu (packaging/install-deps.sh) and a
# built tree. Prints one Markdown table row per node count.
#
# Usage: bench/vm_start_bench.sh [BUILD_DIR] [NODE_COUNT...]   (default: build 1 3)
set -euo pipefail

build=${1:-build}
shift || true
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1 3)
kdctl=$(realpath "$build/bin/kdctl")
work=$(mktemp -d)
export XDG_DATA_HOME=$work/data KUBECONFIG=$work/kubeconfig HOME=$work
trap 'for n in "${counts[@]}"; do "$kdctl" delete --profile "vmbench$n" > /dev/null 2>&1 || true; done; rm -rf "$work"' EXIT

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

image=$(dirname "$(dirname "$kdctl")")/node-image
image_mb=$(cat "$image"/vmlinuz "$image"/*.img | wc -c | awk '{ printf "%.1f", $1 / 1e6 }')

echo "| nodes | start → all Ready | → first pod Running | qemu RSS / PSS per idle VM | node image | load |"
echo "|---|---|---|---|---|---|"
for n in "${counts[@]}"; do
  profile=vmbench$n
  t0=$(now)
  "$kdctl" start --profile "$profile" --driver=vm --nodes "$n" > "$work/start-$n.log"
  t1=$(now)
  kubectl run first --image=busybox --restart=Never -- sleep 3600 > /dev/null
  until [ "$(kubectl get pod first -o jsonpath='{.status.phase}')" = Running ]; do sleep 0.2; done
  t2=$(now)
  sleep 20  # idle: boot-time page cache and the agent's start-up settle
  rss=0 pss=0 vms=0
  for pid in $(pgrep -f "guest=kubedesk-$profile-"); do
    rss=$((rss + $(awk '/^Rss:/ { print $2 }' "/proc/$pid/smaps_rollup")))
    pss=$((pss + $(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup")))
    vms=$((vms + 1))
  done
  echo "| $n | $(seconds "$t0" "$t1") s | $(seconds "$t0" "$t2") s |" \
    "$((rss / vms / 1024)) / $((pss / vms / 1024)) MB | $image_mb MB | $(cut -d' ' -f1 /proc/loadavg) |"
  "$kdctl" delete --profile "$profile" > /dev/null
done

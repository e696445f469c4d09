#!/usr/bin/env bash
# Installs every Debian package KubeDesk needs to build, test and run. Idempotent: packages
# already present are left alone, and apt is not touched at all when nothing is missing.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config clang-format
  libboost-dev nlohmann-json3-dev libyaml-cpp-dev libsqlite3-dev libssl-dev zlib1g-dev
  qt6-base-dev qt6-charts-dev libqt6svg6 libqt6opengl6-dev
  libvterm-dev  # the dashboard's exec shell terminal emulator
  # fuzzing (libFuzzer)
  clang libclang-rt-14-dev libfuzzer-14-dev
  # tools the tests and runtime use
  sqlite3 openssl ca-certificates procps psmisc curl
  # node agent: OCI runtime, the bundled busybox image, a registry and skopeo for pull tests
  runc busybox-static iproute2 skopeo docker-registry
  # kubectl exec -it is driven through a pseudo-terminal by a python3 script; nsenter
  python3 util-linux
  # kdctl completion is run in real shells
  zsh
  # desktop app tests: a virtual X server for screenshots
  xvfb xauth
  # VM nodes: libvirt + qemu (TCG where KVM does not work), the kernel and the programs the
  # node image is built from (crun, nftables and dnsmasq run inside the guests)
  libvirt-dev libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils
  linux-image-amd64 crun nftables dnsmasq-base cpio e2fsprogs lz4 squashfs-tools
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# libvirt's QEMU driver does not start without the user and group libvirt-qemu, which Debian's
# libvirt-daemon-system creates along with polkit, a firewall and a default NAT network that
# KubeDesk does not use; create just the account, as that package does.
if ! getent group libvirt-qemu > /dev/null; then
  $SUDO groupadd --system libvirt-qemu
fi
if ! getent passwd libvirt-qemu > /dev/null; then
  $SUDO useradd --system --no-create-home --home-dir /var/lib/libvirt --shell /usr/sbin/nologin \
    -g libvirt-qemu libvirt-qemu
fi

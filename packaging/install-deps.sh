#!/usr/bin/env bash
# Installs every Debian package KubeDesk needs to build, test and run. Idempotent: packages
# already present are left alone, and apt is not touched at all when nothing is missing.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config clang-format
  libboost-dev nlohmann-json3-dev libyaml-cpp-dev libsqlite3-dev libssl-dev zlib1g-dev
  qt6-base-dev qt6-charts-dev libqt6svg6
  # fuzzing (libFuzzer)
  clang libclang-rt-14-dev libfuzzer-14-dev
  # tools the tests and runtime use
  sqlite3 openssl ca-certificates procps psmisc curl
  # node agent: OCI runtime, the bundled busybox image, a registry and skopeo for pull tests
  runc busybox-static iproute2 skopeo docker-registry
  # kubectl exec -it is driven through a pseudo-terminal by a python3 script; nsenter
  python3 util-linux
  # desktop app tests: a virtual X server for screenshots
  xvfb xauth
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

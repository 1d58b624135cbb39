#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, if any is missing.
# Idempotent and quick when everything is there; needs root (or sudo) the first time.
set -euo pipefail

packages=(
    build-essential clang libclang-rt-14-dev   # clang: libFuzzer
    gcc-mingw-w64-x86-64     
    python3-dev python3-pytest python3-setuptools python3-wheel python3-pip python3-venv python3-build
    iproute2 iputils-ping iperf3 util-linux ethtool tcpdump
    wine wine64
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, if any is missing.
# Idempotent and quick when everything is there; needs root (or sudo) the first time.
set -euo pipefail

packages=(
    build-essential clang libclang-rt-14-dev   # clang: libFuzzer
    gcc-mingw-w64-x86-64 gcc-mingw-w64-i686     # Windows x64 and x86 (32-bit) builds
    python3-dev python3-pytest python3-setuptools python3-wheel python3-pip python3-venv python3-build
    iproute2 iputils-ping iperf3 util-linux ethtool tcpdump
    wine wine64
)

installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]; }

missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 32-bit Windows programs run under wine32, from Debian's i386 multiarch. It may not install (an
# i386 index out of sync with the mirror, multiarch version skew): then the x86 programs are still
# built, make test-windows reports them as skipped with the reason kept in build/wine32-missing.txt,
# and the rest goes on.
reason=build/wine32-missing.txt
if installed wine32:i386; then
    rm -f "$reason"
    exit 0
fi
mkdir -p build
log=$(mktemp)
echo "setup: installing wine32:i386 (32-bit Windows programs under Wine)"
if { dpkg --print-foreign-architectures | grep -qx i386 || $sudo dpkg --add-architecture i386; } >"$log" 2>&1 &&
   $sudo apt-get update -qq >>"$log" 2>&1 &&
   $sudo apt-get install -y -qq --no-install-recommends wine32:i386 >>"$log" 2>&1; then
    rm -f "$reason"
else
    { echo "apt-get could not install wine32:i386:"; grep -E '^(E|W):|unmet|Depends|Mirror' "$log" | head -8; } > "$reason"
    cat "$reason"
    # Leave apt as it was if nothing of i386 came in.
    dpkg -l | awk '$1 == "ii" && $2 ~ /:i386$/' | grep -q . || $sudo dpkg --remove-architecture i386 2>/dev/null || true
fi
rm -f "$log"

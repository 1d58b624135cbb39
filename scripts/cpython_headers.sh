#!/usr/bin/env bash
# CPython's headers and a python3.dll import library, for cross-building the extension's Windows
# .pyd with mingw-w64 (the Stable ABI, abi3). Debian has no Windows CPython: the headers come from
# Debian's python3.11 source package (a deb-src entry is added for it) and the import library is
# made with dlltool from the export list in PC/python3dll.c. Idempotent; prints the folder.
#   scripts/cpython_headers.sh DEST   ->  DEST/Include, DEST/PC, DEST/libpython3.a
set -euo pipefail
dest=$1
if [ -f "$dest/libpython3.a" ] && [ -d "$dest/Include" ] && [ -f "$dest/PC/pyconfig.h" ]; then
    echo "$dest"; exit 0
fi
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
shopt -s nullglob
tarballs=("$dest"/python3.11_*.orig.tar.*)
if [ ${#tarballs[@]} -eq 0 ]; then
    if ! apt-get indextargets --format '$(CREATED_BY)' 2>/dev/null | grep -qx Sources; then
        $sudo tee /etc/apt/sources.list.d/wintun-deb-src.sources >/dev/null <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
        $sudo apt-get update -qq >&2
    fi
    (cd "$dest" && apt-get source --download-only -qq python3.11 >&2 2>/dev/null) ||
        (cd "$dest" && apt-get source --download-only python3.11 >&2)
    tarballs=("$dest"/python3.11_*.orig.tar.*)
    [ ${#tarballs[@]} -gt 0 ] || { echo "cpython_headers: apt-get source python3.11 fetched nothing" >&2; exit 1; }
fi
tarball=${tarballs[0]}
version=${tarball##*/python3.11_}
top=Python-${version%%.orig.tar.*}
tar xf "$tarball" -C "$dest" "$top/Include" "$top/PC/pyconfig.h" "$top/PC/python3dll.c"
rm -rf "$dest/Include" "$dest/PC"
mv "$dest/$top/Include" "$dest/$top/PC" "$dest/"
rmdir "$dest/$top"
{
    echo "LIBRARY python3.dll"
    echo "EXPORTS"
    sed -n 's/^EXPORT_FUNC(\(.*\))$/  \1/p; s/^EXPORT_DATA(\(.*\))$/  \1 DATA/p' "$dest/PC/python3dll.c"
} > "$dest/python3.def"
x86_64-w64-mingw32-dlltool -d "$dest/python3.def" -D python3.dll -l "$dest/libpython3.a"
echo "$dest"

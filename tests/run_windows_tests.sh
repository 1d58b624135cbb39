#!/usr/bin/env bash
# Runs Windows test programs under Wine. Exit codes after a crash are unreliable there, so each
# program's final "N passed, N failed, N skipped" line is what counts (docs/windows.md).
set -u
dir=$1; shift
export WINEPREFIX=${WINEPREFIX:-${TMPDIR:-/tmp}/wintun-wine}
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=;winedbg.exe=d"
unset DISPLAY
mkdir -p "$WINEPREFIX"
wineserver -p 2>/dev/null            # one persistent server: about 0.2 s a program instead of 1-4 s
trap 'wineserver -k 2>/dev/null' EXIT
# Creates the prefix on the first run; one another Wine made (say, before wine32 was installed)
# cannot start programs any more ("could not load kernel32.dll"): it is made again.
if ! wine cmd /c ver >/dev/null 2>&1 </dev/null; then
    wineserver -k 2>/dev/null
    rm -rf "$WINEPREFIX" && mkdir -p "$WINEPREFIX"
    wineserver -p 2>/dev/null
    wine cmd /c ver >/dev/null 2>&1 </dev/null || echo "Wine cannot start programs in $WINEPREFIX"
fi
. "$(dirname "$0")/summary.sh"
failed=0
for t in "$@"; do
    out=$(timeout 600 wine "$dir/$t.exe" </dev/null 2>&1 | tr -d '\r'); rc=$?
    last=$(summary_of "$out")
    if [ -z "$last" ] || ! summary_ok "$last"; then
        printf '%s\n' "$out" | tail -40
        echo "FAILED: windows/$t (exit $rc)"
        failed=1
    else
        echo "windows/$t: $last"
    fi
    summary_add "$last"
done
summary_total "C tests (windows)"
exit $failed

#!/usr/bin/env bash
# Runs Windows test programs of one architecture (x64 or x86) under Wine. Exit codes after a
# crash are unreliable there, so each program's final "N passed, N failed, N skipped" line is what
# counts (docs/windows.md). x86 programs need wine32; without it each program is a skip, with the
# reason scripts/setup.sh recorded.
set -u -o pipefail  # a run's exit code is wine's, not that of the tr after it
dir=$1; arch=$2; shift 2
export WINEPREFIX=${WINEPREFIX:-${TMPDIR:-/tmp}/wintun-wine}
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=;winedbg.exe=d"
unset DISPLAY
. "$(dirname "$0")/summary.sh"
label="windows-$arch"

if [ "$arch" = x86 ] && ! [ -x "${WINE32_LOADER:-/usr/lib/wine/wine}" ]; then  # wine32: the 32-bit loader
    why="wine32 is not installed"
    reason_file="$(dirname "$0")/../build/wine32-missing.txt"
    [ -s "$reason_file" ] && why="$why: $(tr '\n' ' ' < "$reason_file" | cut -c1-300)"
    for t in "$@"; do
        echo "$label/$t: not run ($why); built: $dir/$t.exe"
        summary_add "0 passed, 0 failed, 1 skipped"
    done
    summary_total "C tests ($label)"
    exit 0
fi

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
# The runs of one program, a line each: "ARGUMENTS|STDERR", STDERR a pipe or a Wine console (a
# terminal made by script(1), as when the program runs in an interactive shell).
runs_of() {
    case $1 in
    test_crt_logger) printf '%s\n' '|pipe' 'native|pipe' '|console' 'native|console' ;;
    *) echo '|pipe' ;;
    esac
}

# Runs program $1 with arguments $2, stderr as $3; sets out (its stdout, with stderr when a pipe).
run_one() {
    if [ "$3" = console ]; then
        local file; file=$(mktemp)
        timeout 600 script -qec "wine '$1' $2 >'$file'" /dev/null </dev/null >/dev/null 2>&1; rc=$?
        out=$(tr -d '\r' < "$file"); rm -f "$file"
    else
        out=$(timeout 600 wine "$1" $2 </dev/null 2>&1 | tr -d '\r'); rc=$?
    fi
}

failed=0
for t in "$@"; do
    while IFS='|' read -r args how; do
        name="$label/$t${args:+ $args}"; [ "$how" = pipe ] || name="$name (stderr a $how)"
        if [ "$how" = console ] && ! command -v script >/dev/null; then
            echo "$name: not run (script(1), from bsdutils, is not installed)"
            summary_add "0 passed, 0 failed, 1 skipped"
            continue
        fi
        run_one "$dir/$t.exe" "$args" "$how"
        last=$(summary_of "$out")
        if [ -z "$last" ] || ! summary_ok "$last"; then
            printf '%s\n' "$out" | tail -40
            echo "FAILED: $name (exit $rc)"
            failed=1
        else
            echo "$name: $last"
        fi
        summary_add "$last"
    done < <(runs_of "$t")
done
summary_total "C tests ($label)"
exit $failed

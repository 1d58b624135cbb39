#!/usr/bin/env bash
# Runs C test binaries of one flavour; each must print a final "N passed, 0 failed, N skipped" line.
set -u
flavour=$1; shift
build=${BUILD:-build}
. "$(dirname "$0")/summary.sh"
failed=0
for t in "$@"; do
    out=$(timeout 300 "$build/$flavour/$t" 2>&1); rc=$?
    last=$(summary_of "$out")
    if [ $rc -ne 0 ] || [ -z "$last" ] || ! summary_ok "$last"; then
        printf '%s\n' "$out"
        echo "FAILED: $flavour/$t (exit $rc)"
        failed=1
    else
        echo "$flavour/$t: $last"
    fi
    summary_add "$last"
done
summary_total "C tests ($flavour)"
exit $failed

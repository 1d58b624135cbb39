#!/usr/bin/env bash
# Runs C test binaries of one flavour; each must print a final "N passed, 0 failed" line.
set -u
flavour=$1; shift
build=${BUILD:-build}
failed=0; total_pass=0; total_fail=0
for t in "$@"; do
    out=$(timeout 300 "$build/$flavour/$t" 2>&1); rc=$?
    last=$(printf '%s\n' "$out" | tr -d '\r' | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n1)
    if [ $rc -ne 0 ] || [ -z "$last" ] || ! printf '%s' "$last" | grep -q ', 0 failed$'; then
        printf '%s\n' "$out"
        echo "FAILED: $flavour/$t (exit $rc)"
        failed=1
    else
        echo "$flavour/$t: $last"
    fi
    p=$(printf '%s' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p'); f=$(printf '%s' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    total_pass=$((total_pass + ${p:-0})); total_fail=$((total_fail + ${f:-1}))
done
echo "C tests ($flavour): $total_pass passed, $total_fail failed"
exit $failed

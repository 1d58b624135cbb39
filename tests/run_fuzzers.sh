#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time from its corpus (tests/fuzz/corpus/<name>), new
# inputs into <found>/<name>; a crash, a sanitizer report or a leak fails it. Prints
# "C tests (fuzz): N passed, N failed, 0 skipped", a target a test.
set -u
dir=$1 seconds=$2 found=$(realpath -m "$3"); shift 3
root=$(cd "$(dirname "$0")/.." && pwd)
passed=0 failed=0
for f in "$@"; do
    mkdir -p "$found/$f" "$root/tests/fuzz/corpus/$f"
    log=$(mktemp)
    corpora=("$found/$f")
    [ "$found/$f" -ef "$root/tests/fuzz/corpus/$f" ] || corpora+=("$root/tests/fuzz/corpus/$f")
    ( cd "$dir" && UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "./$f" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$found/$f-" "${corpora[@]}" ) >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1)
    if [ $rc -eq 0 ]; then
        echo "fuzz/$f: ${runs:-?} runs in ${seconds} s, ${cov:-cov: ?}, nothing found"
        passed=$((passed + 1))
    else
        tail -n 60 "$log"
        echo "FAILED: fuzz/$f (exit $rc; the input is in $found/$f-*)"
        failed=$((failed + 1))
    fi
    rm -f "$log"
done
echo "C tests (fuzz): $passed passed, $failed failed, 0 skipped"
[ $failed -eq 0 ]

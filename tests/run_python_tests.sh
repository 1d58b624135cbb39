#!/usr/bin/env bash
# Runs the pytest suite against the in-place build and prints "Python tests: N passed, N failed,
# N skipped".
set -uo pipefail
python=$1; shift
root=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" "$python" -m pytest -p wintun.pytest_plugin -p no:cacheprovider \
    -o faulthandler_timeout=300 "$@" "$root/tests/python" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed|error)' "$log" | tail -n1)
count() { printf '%s' "$summary" | grep -oE "[0-9]+ $1" | grep -oE '^[0-9]+' || echo 0; }
passed=$(count passed); failed=$(( $(count failed) + $(count error) )); skipped=$(count skipped)
rm -f "$log"
[ "$rc" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1   # also: no tests collected (5), interrupted
echo "Python tests: $passed passed, $failed failed, $skipped skipped"
exit "$rc"

# Sourced by the test runners: the closing "N passed, N failed, N skipped" line of a test
# program's output, and running totals over several programs.
total_pass=0 total_fail=0 total_skip=0

# The summary line in $1 (the program's output), or "" if there is none.
summary_of() { printf '%s\n' "$1" | tr -d '\r' | grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' | tail -n1; }

# Whether summary $1 reports no failure.
summary_ok() { printf '%s' "$1" | grep -q ', 0 failed,'; }

# Adds summary $1 to the totals; a missing one counts as a failure.
summary_add() {
    local p f s
    read -r p f s < <(printf '%s' "$1" | sed -n -E 's/^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p')
    total_pass=$((total_pass + ${p:-0})); total_fail=$((total_fail + ${f:-1})); total_skip=$((total_skip + ${s:-0}))
}

# "<label>: N passed, N failed, N skipped" over everything added.
summary_total() { echo "$1: $total_pass passed, $total_fail failed, $total_skip skipped"; }

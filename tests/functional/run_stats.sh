#!/usr/bin/env bash
# run_stats.sh: SMFLOW_STATS=1 makes `smflow run` and `smflow resume` print
# their statistics on stderr (the benchmarks read them): the process's own CPU,
# its commits and syncs, and when the last step ended, to the microsecond —
# the same moment as the state database's milliseconds for that step. Without
# the variable nothing of it is printed.
source "$(dirname "$0")/lib/engine.bash"

cat >p.yaml <<'YAML'
smflow: 1
name: stats
steps:
  a:
    run: "true"
  b:
    needs: [a]
    run: "sleep 0.05"
YAML

SMFLOW_STATS=1 sm -q run p.yaml
expect_eq "run: exit" "$rc" 0
err=$(cat "$T/err")
expect_contains "run: cpu" "$err" "stats: self_cpu_ms="
expect_contains "run: commits" "$err" " commits="
us=$(sed -n 's/^stats: last_step_end_us=\([0-9]*\)$/\1/p' "$T/err")
[[ -n $us ]] || fail "no last_step_end_us line: $err"
last_ms=$(q "SELECT MAX(finished_at) FROM steps")
expect_eq "last step's end, in ms" "$((${us:-0} / 1000))" "$last_ms"
expect_eq "the last step is b" "$(q "SELECT id FROM steps ORDER BY finished_at DESC, seq DESC LIMIT 1")" b

sm -q run p.yaml
expect_eq "quiet run: exit" "$rc" 0
grep -q "^stats:" "$T/err" && fail "stats printed without SMFLOW_STATS: $(cat "$T/err")"
finish

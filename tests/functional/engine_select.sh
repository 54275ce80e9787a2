#!/usr/bin/env bash
# engine_select.sh: --only, --from, --dry-run and usage errors of `run`.
source "$(dirname "$0")/lib/engine.bash"

cat >p.yaml <<YAML
smflow: 1
name: select
steps:
  a: {run: "echo a >> $T/ledger; echo v=A\$SMFLOW_RUN_ID >> \$SMFLOW_OUTPUT"}
  b: {needs: [a], run: "echo b >> $T/ledger; echo v=\${steps.a.v} >> \$SMFLOW_OUTPUT"}
  c: {needs: [b], run: "echo c >> $T/ledger"}
  d: {run: "echo d >> $T/ledger"}
YAML
sm run p.yaml
expect_eq "full run" "$rc" 0
first_a=$(step_field a outputs.v)
rm -f ledger

# --only b: just b, with a's outputs from the earlier run.
sm run p.yaml --only b
expect_eq "--only exit" "$rc" 0
expect_eq "--only ran b alone" "$(cat ledger)" b
expect_eq "b used a's earlier output" "$(step_field b outputs.v)" "$first_a"
expect_eq "a not selected" "$(step_field a state)" skipped
expect_eq "c not selected" "$(step_field c state)" skipped
rm -f ledger

# --from b: b and everything downstream of it.
sm run p.yaml --from b
expect_eq "--from exit" "$rc" 0
expect_eq "--from ran b and c" "$(tr '\n' ' ' <ledger)" "b c "
rm -f ledger

# --only twice.
sm run p.yaml --only d --only a
expect_eq "--only twice" "$(sort ledger | tr '\n' ' ')" "a d "
rm -f ledger

# --dry-run: nothing runs, nothing is written.
rm -rf state
sm run p.yaml --dry-run --from b
expect_eq "--dry-run exit" "$rc" 0
expect_contains "--dry-run lists" "$(cat out)" "would run b (run)"
expect_contains "--dry-run skips" "$(cat out)" "would skip a (run)"
[[ -e ledger ]] && fail "--dry-run ran a step"
[[ -e state/state.db ]] && fail "--dry-run wrote state"

# Usage errors: exit 2, nothing started.
sm run p.yaml --only nope
expect_eq "--only unknown step" "$rc" 2
expect_contains "--only message" "$(cat err)" "no step 'nope'"
sm run p.yaml --max-parallel 0
expect_eq "--max-parallel 0" "$rc" 2
sm run missing.yaml
expect_eq "missing pipeline" "$rc" 2
printf 'smflow: 1\nname: bad\nsteps:\n  a: {run: "x", bogus: 1}\n' >bad.yaml
sm run bad.yaml
expect_eq "invalid pipeline" "$rc" 2
expect_contains "diagnostic with position" "$(cat err)" "bad.yaml:4:"
[[ -e ledger ]] && fail "a usage error ran a step"
finish

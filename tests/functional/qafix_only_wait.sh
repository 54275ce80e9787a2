#!/usr/bin/env bash
# qafix_only_wait.sh: with --only, a selected step waits for every selected step
# upstream of it, also through unselected ones, and sees their new outputs.
source "$(dirname "$0")/lib/engine.bash"

cat >p.yaml <<'YAML'
smflow: 1
name: onlywait
steps:
  a: {run: "sleep 0.3; echo x=$N >> $SMFLOW_OUTPUT"}
  b: {run: "true"}
  c: {run: "true"}
  d: {needs: [a, b, c], run: "true"}
  g:
    needs: [d]
    when: 'steps.a.x == "1"'
    run: "echo g >> ledger"
YAML
N=0 sm run p.yaml
expect_eq "first run" "$rc" 0
expect_eq "g skipped in the first run" "$(step_field g state)" skipped
N=1 sm run p.yaml --only a --only g
expect_eq "exit" "$rc" 0
expect_eq "a ran" "$(step_field a outputs.x)" 1
expect_eq "g saw a's new output" "$(step_field g state)" succeeded
expect_eq "g ran" "$(cat ledger 2>/dev/null)" g
finish

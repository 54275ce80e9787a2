#!/usr/bin/env bash
# acceptance_unknown_run.sh: every command that takes a RUN_ID names an unknown
# one the same way — "error: no run 'ID' in DIR" on stderr, exit 2 — and says
# when the state directory holds no database at all.
source "$(dirname "$0")/lib/engine.bash"

cat >p.yaml <<'YAML'
smflow: 1
name: unknownrun
steps:
  a: {run: "true"}
YAML
sm status nosuch
expect_eq "status, no database: exit" "$rc" 2
expect_contains "status, no database" "$(cat err)" "no state database in $T/state"
sm cancel nosuch
expect_eq "cancel, no database: exit" "$rc" 2
expect_contains "cancel, no database" "$(cat err)" "no state database in $T/state"
sm run p.yaml
expect_eq "run" "$rc" 0
for c in "status nosuch" "resume nosuch" "logs nosuch a" "cancel nosuch"; do
  sm $c
  expect_eq "$c: exit" "$rc" 2
  expect_contains "$c: message" "$(cat err)" "error: no run 'nosuch' in $T/state"
done
finish

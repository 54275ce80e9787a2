#!/usr/bin/env bash
# acceptance_when_error.sh: a `when:` that fails at run time (SPEC §3: errors name
# the expression's FILE:LINE:COL) names the condition as written — a bare
# expression, not a `${...}` — at its position; the step fails (HookError, as any
# failing Lua), the steps that need it are not started, and the run exits 1.
source "$(dirname "$0")/lib/engine.bash"

cat >p.yaml <<'YAML'
smflow: 1
name: whenerr
steps:
  a:
    run: "echo x=abc >> $SMFLOW_OUTPUT"
  b:
    needs: [a]
    when: steps.a.x > 1
    run: "echo b"
  c:
    needs: [b]
    run: "echo c"
YAML
sm run p.yaml
expect_eq "exit" "$rc" 1
expect_contains "position and condition" "$(cat err)" "p.yaml:8:11: in when: steps.a.x > 1: attempt to compare"
expect_eq "b failed" "$(step_field b state)" failed
expect_eq "class" "$(step_field b error.class)" HookError
expect_eq "c not started" "$(step_field c state)" cancelled
finish

#!/usr/bin/env bash
# acceptance_run_start.sh: a `run` step that cannot start says why — a missing
# workdir is named as the workdir (not as a missing /bin/sh), a missing program
# as the program — with class ClientError, and is not retried as a script failure.
source "$(dirname "$0")/lib/engine.bash"

cat >p.yaml <<'YAML'
smflow: 1
name: runstart
steps:
  a: {run: {command: "pwd", workdir: nope}}
  b: {run: {command: [nosuchprog_x, y]}}
YAML
sm run p.yaml
expect_eq "exit" "$rc" 1
expect_eq "a: class" "$(step_field a error.class)" ClientError
expect_eq "a: names the workdir" "$(step_field a error.message)" \
  "cannot start /bin/sh: workdir $T/nope: No such file or directory"
expect_eq "b: class" "$(step_field b error.class)" ClientError
expect_contains "b: names the program" "$(step_field b error.message)" "cannot start nosuchprog_x"
finish

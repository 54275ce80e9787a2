#!/usr/bin/env bash
# qafix_run_list.sh: a `run` command written as a list runs as an argument vector, no shell.
source "$(dirname "$0")/lib/engine.bash"

cat >p.yaml <<'YAML'
smflow: 1
name: runlist
steps:
  a:
    run: {command: [printf, "%s|", "a b", "$HOME", "3"]}
  b:
    needs: [a]
    run: {command: [sh, -c, 'echo "v=$0" >> "$SMFLOW_OUTPUT"', "x;y"]}
  c:
    needs: [b]
    run: "printf '%s|' 'c d'"
YAML
sm run p.yaml
expect_eq "exit" "$rc" 0
expect_contains "list argv, no word splitting or expansion" "$(cat err)" 'a b|$HOME|3|'
expect_eq "argument passed verbatim" "$(step_field b outputs.v)" "x;y"
expect_contains "string command through the shell" "$(cat err)" 'c d|'
expect_eq "a succeeded" "$(step_field a state)" succeeded

cat >q.yaml <<'YAML'
smflow: 1
name: runlist2
steps:
  a: {run: {command: [/nonexistent/prog, x]}}
YAML
sm run q.yaml
expect_eq "missing program fails the step" "$rc" 1
expect_eq "state failed" "$(step_field a state)" failed
expect_contains "names the program" "$(cat err)" "/nonexistent/prog"
finish

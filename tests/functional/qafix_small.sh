#!/usr/bin/env bash
# qafix_small.sh: resume with no state creates nothing; `run` takes --opt=VALUE;
# "1 step"; $SMFLOW_OUTPUT's multi-line form.
source "$(dirname "$0")/lib/engine.bash"

mkdir empty
(cd empty && "$SMFLOW" resume >../out 2>../err)
rc=$?
expect_eq "resume with no state: exit 2" "$rc" 2
expect_contains "resume says why" "$(cat err)" "no run to resume"
expect_eq "resume created nothing" "$(ls -A empty)" ""

cat >p.yaml <<'YAML'
smflow: 1
name: small
params: {n: 1}
steps:
  a:
    run: |
      echo "v=${params.n}" >> "$SMFLOW_OUTPUT"
      printf 'text<<EOF_1\nline one\n\nline=three\nEOF_1\nafter=x\n' >> "$SMFLOW_OUTPUT"
  b: {needs: [a], run: "true"}
YAML
sm run p.yaml --param=n=7 --only=a --max-parallel=2 --target=local
expect_eq "= forms accepted" "$rc" 0
expect_eq "--param=n=7" "$(step_field a outputs.v)" 7
expect_eq "--only=a" "$(step_field b state)" skipped
expect_contains "max-parallel=2" "$(cat err)" "at most 2 at a time"
expect_eq "multi-line output" "$(step_field a outputs.text)" $'line one\n\nline=three'
expect_eq "output after a multi-line one" "$(step_field a outputs.after)" x
sm run p.yaml --bogus=1
expect_eq "unknown --opt=V" "$rc" 2

cat >one.yaml <<'YAML'
smflow: 1
name: one
steps:
  a: {run: "true"}
YAML
sm run one.yaml
expect_contains "singular" "$(cat err)" "(1 step, at most"
finish

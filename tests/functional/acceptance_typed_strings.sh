#!/usr/bin/env bash
# acceptance_typed_strings.sh: a value that keeps its type (a scalar that is
# exactly one `${...}`, SPEC §3) becomes text where a string is wanted — a run
# step's env, a command list's arguments, a fit's environment and tags — as
# Python's repr writes it (0.1 is "0.1", not "0.10000000000000001"), like the
# hyperparameters; an unquoted number in a command list is its source text.
source "$(dirname "$0")/lib/engine.bash"

cat >p.yaml <<'YAML'
smflow: 1
name: typed
params: {lr: 0.1, n: 7, on: true}
steps:
  a:
    run:
      command: 'echo "x=$X" >> "$SMFLOW_OUTPUT"; echo "y=$Y" >> "$SMFLOW_OUTPUT"; echo "z=$Z" >> "$SMFLOW_OUTPUT"'
      env: {X: "${params.lr}", Y: "${params.lr * 3}", Z: "${params.n * 1.0}"}
  b:
    run:
      command: [sh, -c, 'echo "args=$*" >> "$SMFLOW_OUTPUT"', sh, "${params.n}", "${params.lr}", "${params.on}", 2, 1.10]
YAML
sm run p.yaml
expect_eq "exit" "$rc" 0
expect_eq "float param in env" "$(step_field a outputs.x)" 0.1
expect_eq "float expression in env" "$(step_field a outputs.y)" 0.30000000000000004
expect_eq "integral float in env" "$(step_field a outputs.z)" 7.0
expect_eq "typed values in a command list" "$(step_field b outputs.args)" "7 0.1 true 2 1.10"

cat >f.yaml <<'YAML'
smflow: 1
name: typedfit
role: arn:aws:iam::123456789012:role/R
params: {lr: 0.1}
steps:
  t:
    fit:
      entry_point: train.py
      image_uri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1
      instance_type: ml.m5.large
      environment: {LR: "${params.lr}"}
      tags: {lr: "${params.lr}"}
YAML
echo 'print(1)' >train.py
sm plan f.yaml --target aws --json
expect_eq "plan exit" "$rc" 0
body=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
b=[r for r in d["steps"][0]["requests"] if r["operation"]=="CreateTrainingJob"][0]["body"]
print(b["Environment"]["LR"], [t["Value"] for t in b["Tags"] if t["Key"]=="lr"][0])' out)
expect_eq "aws Environment and Tags" "$body" "0.1 0.1"
finish

#!/usr/bin/env bash
# acceptance_status_detail.sh: `smflow status` shows the remote job name of a
# step (SPEC §2: "remote job names") also when the step failed: the detail of a
# failed fit names its training job beside the class and message.
source "$(dirname "$0")/lib/engine.bash"

echo 'import sys; sys.exit(3)' >fail.py
cat >p.yaml <<'YAML'
smflow: 1
name: statusdetail
steps:
  train:
    fit: {entry_point: fail.py, instance_type: ml.m5.large}
YAML
sm run p.yaml
expect_eq "run fails" "$rc" 1
job=$(step_field train remote_name)
[[ $job == *-train-1 ]] || fail "remote name: $job"
sm status
expect_contains "status names the failed job" "$(grep '^train ' out)" "[$job] AlgorithmError: "
finish

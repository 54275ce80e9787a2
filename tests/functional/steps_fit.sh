#!/usr/bin/env bash
# steps_fit.sh: the fit kind through pipelines on the local target.
# - tests/data/local/contract_train.py (the training toolkit's contract, checked
#   from inside the job) run by a fit step: typed hyperparameters, two hosts,
#   channels given as a string and as a map, code from an upload step;
# - a failing script: the reason from output/failure, class AlgorithmError,
#   retried per `retry:` with a new job name per attempt; `retry.on` without
#   AlgorithmError is not retried;
# - `timeout:` stops the job (class Timeout) and its process.
source "$(dirname "$0")/lib/steps.bash"

mkdir -p code data/train/nested data/test/st
sed -e 's|^JOB = .*|JOB = os.environ["TRAINING_JOB_NAME"]|' \
  -e 's|^SUBMIT = .*|SUBMIT = os.environ["EXPECT_SUBMIT"]|' \
  "$SRC/tests/data/local/contract_train.py" >code/contract_train.py
grep -q 'os.environ\["EXPECT_SUBMIT"\]' code/contract_train.py || fail "contract script not adapted"
printf '1,2\n' >data/train/a.csv
printf '3,4\n' >data/train/nested/b.csv
printf '5,6\n' >data/test/st/c.csv
cp "$SRC/tests/data/local/fail_train.py" "$SRC/tests/data/local/sleep_train.py" code/

cat >contract.yaml <<'Y'
smflow: 1
name: contract
steps:
  code:
    upload: {source_dir: code, to: "s3://smflow-test/code/"}
  train:
    needs: [code]
    fit:
      entry_point: contract_train.py
      source: "${steps.code.uri}"
      instance_type: ml.m5.large
      instance_count: 2
      hyperparameters:
        epochs: 10
        learning-rate: 0.1
        eps: 1e-05
        flag: true
        optimizer: adam
        layers: [1, 2]
        opts: {a: 1}
        k: 3
      inputs:
        train: data/train
        test: {uri: data/test, content_type: text/csv}
      environment: {EXPECT_SUBMIT: "${steps.code.uri}", MY_SETTING: hello world}
      metric_definitions:
        - {name: loss, regex: "loss=([0-9.]+)"}
Y
sm run contract.yaml
expect_eq "contract run" "$rc" 0
expect_eq "contract step" "$(step_field train state)" succeeded
expect_eq "final loss" "$(step_field train outputs.metrics.loss)" 0.25
if [[ $(step_field train state) != succeeded ]]; then
  tail -20 "$T/state/logs/"*/train.1.log
fi

rm -rf "$T/state"
cat >fail.yaml <<'Y'
smflow: 1
name: failing
steps:
  train:
    fit:
      entry_point: fail_train.py
      source_dir: code
      instance_type: ml.m5.large
      output_path: "s3://smflow-test/models/"
    retry: {max_attempts: 2, backoff: 0s}
  train_once:
    fit:
      entry_point: fail_train.py
      source_dir: code
      instance_type: ml.m5.large
      output_path: "s3://smflow-test/models/"
    retry: {max_attempts: 3, backoff: 0s, on: [CapacityError]}
Y
sm run fail.yaml
expect_eq "failing run" "$rc" 1
expect_eq "failed state" "$(step_field train state)" failed
expect_eq "attempts" "$(step_field train attempts)" 2
expect_eq "class" "$(q "SELECT error_class FROM steps WHERE id='train'")" AlgorithmError
expect_contains "reason" "$(q "SELECT error_message FROM steps WHERE id='train'")" \
  "bad input: no rows in the train channel"
names=$(q "SELECT json_extract(intent_json, '$.job_name') FROM attempts WHERE step_id='train' ORDER BY attempt")
n1=$(echo "$names" | sed -n 1p) n2=$(echo "$names" | sed -n 2p)
[[ $n1 == *-train-1 && $n2 == *-train-2 && $n1 != "$n2" ]] || fail "job names per attempt: $names"
[[ -d $T/state/jobs/$n1 && -d $T/state/jobs/$n2 ]] || fail "one job directory per attempt"
expect_eq "attempts without AlgorithmError in retry.on" "$(step_field train_once attempts)" 1
sm status
expect_contains "status shows the class" "$(cat "$T/out")" "AlgorithmError"
# A step id with '_' gets a hashed part in its job names (valid characters only).
n3=$(q "SELECT json_extract(intent_json, '$.job_name') FROM attempts WHERE step_id='train_once'")
[[ $n3 =~ ^[a-zA-Z0-9-]{1,63}$ && $n3 == *-train-once-*-1 ]] || fail "job name of train_once: $n3"

rm -rf "$T/state"
cat >timeout.yaml <<'Y'
smflow: 1
name: slow
steps:
  train:
    fit:
      entry_point: sleep_train.py
      source_dir: code
      instance_type: ml.m5.large
      hyperparameters: {seconds: 30}
      output_path: "s3://smflow-test/models/"
    timeout: 2s
Y
start=$(date +%s)
sm run timeout.yaml
expect_eq "timeout run" "$rc" 1
expect_eq "timeout class" "$(q "SELECT error_class FROM steps WHERE id='train'")" Timeout
(($(date +%s) - start < 20)) || fail "the timeout did not stop the job in time"
pid=$(grep -ho 'started pid=[0-9]*' "$T/state/logs/"*/train.1.log | tail -1 | cut -d= -f2)
[[ -n $pid ]] || fail "no pid in the job's log"
[[ -z $pid ]] || wait_gone "$pid" || fail "the training process $pid survived the timeout"
finish

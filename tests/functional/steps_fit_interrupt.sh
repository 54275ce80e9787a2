#!/usr/bin/env bash
# steps_fit_interrupt.sh: SIGINT (then SIGTERM) while a local training job runs:
# exit 3, the job's process is left running (not stopped), the attempt keeps
# its intent without a result, and resume re-attaches and completes with one
# job for the one attempt. A timeout still stops the job.
source "$(dirname "$0")/lib/steps.bash"
mkdir -p code
cp "$SRC/tests/data/local/sleep_train.py" code/
cat >p.yaml <<'Y'
smflow: 1
name: intfit
steps:
  train:
    fit:
      entry_point: sleep_train.py
      source_dir: code
      instance_type: ml.m5.large
      hyperparameters: {seconds: 2}
      output_path: "s3://smflow-test/models/"
      metric_definitions: [{name: loss, regex: "loss=([0-9.]+)"}]
  after: {needs: [train], run: "echo after"}
Y

wait_started() {
  for _ in $(seq 1 200); do
    grep -qs "started pid=" "$T"/state/jobs/*/logs/algo-1.log && return 0
    sleep 0.05
  done
  fail "the training job did not start"
}

for sig in INT TERM; do
  rm -rf "$T/state"
  "$SMFLOW" --state-dir "$T/state" run p.yaml >run.out 2>run.err &
  smf=$!
  wait_started
  kill -$sig $smf
  wait $smf
  expect_eq "$sig: exit" "$?" 3
  expect_contains "$sig: resume hint" "$(cat run.err)" "resume with: smflow resume"
  expect_contains "$sig: cancel hint" "$(cat run.err)" "smflow cancel"
  expect_contains "$sig: left running" "$(cat run.err)" "left running"
  job=$(basename "$(ls -d "$T"/state/jobs/*)")
  pid=$(grep -ho 'started pid=[0-9]*' "$T/state/jobs/$job/logs/algo-1.log" | cut -d= -f2)
  alive "$pid" || fail "$sig: the training process was stopped by the interrupt"
  expect_eq "$sig: attempt without result" \
    "$(q "select count(*) from attempts where step_id='train' and result is null")" 1
  expect_eq "$sig: step still running" "$(step_field train state)" running
  sm resume
  expect_eq "$sig: resume exit" "$rc" 0
  expect_contains "$sig: re-attached" "$(cat "$T/err")" "re-attached to job $job"
  expect_eq "$sig: attempts" "$(step_field train attempts)" 1
  expect_eq "$sig: one job" "$(ls "$T/state/jobs" | wc -l)" 1
  expect_eq "$sig: the script ran once" \
    "$(grep -c 'started pid=' "$T/state/jobs/$job/logs/algo-1.log")" 1
  expect_eq "$sig: metric" "$(step_field train outputs.metrics.loss)" 0.125
  expect_eq "$sig: after ran" "$(step_field after state)" succeeded
done

# A timeout still stops the job.
rm -rf "$T/state"
cat >t.yaml <<'Y'
smflow: 1
name: timefit
steps:
  train:
    timeout: 1s
    fit:
      entry_point: sleep_train.py
      source_dir: code
      instance_type: ml.m5.large
      hyperparameters: {seconds: 30}
      output_path: "s3://smflow-test/models/"
Y
sm run t.yaml
expect_eq "timeout exit" "$rc" 1
job=$(basename "$(ls -d "$T"/state/jobs/*)")
pid=$(grep -ho 'started pid=[0-9]*' "$T/state/jobs/$job/logs/algo-1.log" | cut -d= -f2)
sleep 0.5
if alive "$pid"; then fail "a timed-out job's process still runs"; fi
finish

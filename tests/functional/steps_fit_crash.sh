#!/usr/bin/env bash
# steps_fit_crash.sh: smflow killed with SIGKILL while a local training job
# runs, then resumed: the job is re-attached (same job name, its process is not
# started again) and the step completes with one attempt. Then kills at random
# instants of the whole attempt (packing, starting, running, collecting): after
# resuming to the end, every attempt ran at most one job, under its own name,
# and each job's script ran once. Last, the same re-attach for an evaluate
# (processing) job.
source "$(dirname "$0")/lib/steps.bash"
RANDOM=${CRASH_SEED:-$$}
echo "seed: $RANDOM"
mkdir -p code
cp "$SRC/tests/data/local/sleep_train.py" code/
cat >p.yaml <<'Y'
smflow: 1
name: crashfit
steps:
  train:
    fit:
      entry_point: sleep_train.py
      source_dir: code
      instance_type: ml.m5.large
      hyperparameters: {seconds: 2}
      output_path: "s3://smflow-test/models/"
      metric_definitions: [{name: loss, regex: "loss=([0-9.]+)"}]
Y

# 1. Killed while the job runs.
"$SMFLOW" --state-dir "$T/state" run p.yaml >run.out 2>run.err &
smf=$!
for _ in $(seq 1 200); do
  ls "$T"/state/jobs/*/logs/algo-1.log >/dev/null 2>&1 &&
    grep -q "started pid=" "$T"/state/jobs/*/logs/algo-1.log && break
  sleep 0.05
done
kill -9 $smf
wait $smf 2>/dev/null
job=$(basename "$(ls -d "$T"/state/jobs/*)")
pid=$(grep -ho 'started pid=[0-9]*' "$T/state/jobs/$job/logs/algo-1.log" | cut -d= -f2)
alive "$pid" || fail "the training process did not survive smflow's death"
sm resume
expect_eq "resume exit" "$rc" 0
expect_eq "step state" "$(step_field train state)" succeeded
expect_eq "attempts" "$(step_field train attempts)" 1
expect_eq "job name kept" "$(step_field train outputs.job_name)" "$job"
expect_eq "one job" "$(ls "$T/state/jobs" | wc -l)" 1
expect_eq "the script ran once" "$(grep -c 'started pid=' "$T/state/jobs/$job/logs/algo-1.log")" 1
expect_contains "re-attached" "$(cat "$T/err")" "re-attached to job $job"
expect_eq "metric after re-attach" "$(step_field train outputs.metrics.loss)" 0.125

# 2. Kills at random instants, resumed until done (run again when the kill came
# before the run was recorded).
relaunch() {
  local cmd=resume
  [[ $(q "SELECT COUNT(*) FROM runs" 2>/dev/null) == 1 ]] || cmd="run p.yaml"
  # shellcheck disable=SC2086
  "$SMFLOW" --state-dir "$T/state" $cmd >>run.out 2>>run.err &
  # (a kill -9 of the previous one may be reported by bash: expected)
  smf=$!
}
sed -i 's/seconds: 2/seconds: 0.6/' p.yaml
rm -rf "$T/state"
"$SMFLOW" --state-dir "$T/state" run p.yaml >>run.out 2>>run.err &
smf=$!
for i in $(seq 1 6); do
  sleep "0.$((RANDOM % 9 + 1))"
  if ! kill -0 $smf 2>/dev/null; then
    wait $smf
    [[ $? -eq 0 ]] && break
  fi
  kill -9 $smf 2>/dev/null
  wait $smf 2>/dev/null
  relaunch
done
wait $smf
for _ in 1 2 3; do
  [[ $(q "SELECT status FROM runs ORDER BY started_at DESC LIMIT 1") == succeeded ]] && break
  relaunch
  wait $smf
done
expect_eq "random kills: run status" "$(q "SELECT status FROM runs ORDER BY started_at DESC LIMIT 1")" succeeded
expect_eq "random kills: state" "$(step_field train state)" succeeded
attempts=$(step_field train attempts)
for d in "$T"/state/jobs/*; do
  n=$(basename "$d")
  [[ $n =~ -train-([0-9]+)$ ]] || fail "job directory $n"
  ((BASH_REMATCH[1] <= attempts)) || fail "job $n beyond the $attempts attempts"
  c=$(grep -c 'started pid=' "$d/logs/algo-1.log" 2>/dev/null || true)
  ((c <= 1)) || fail "job $n ran its script $c times"
done

# 3. Killed while an evaluate (processing) job runs: re-attached too.
rm -rf "$T/state"
cat >code/slow_eval.py <<'PY'
import argparse, json, os, time
p = argparse.ArgumentParser()
p.add_argument("--model-dir"); p.add_argument("--output-dir")
a = p.parse_args()
print("eval pid=%d" % os.getpid(), flush=True)
time.sleep(1.5)
json.dump({"score": 0.5}, open(os.path.join(a.output_dir, "evaluation.json"), "w"))
PY
python3 -c 'import tarfile; tarfile.open("model.tar.gz", "w:gz").close()'
cat >e.yaml <<'Y'
smflow: 1
name: crasheval
steps:
  check:
    evaluate: {entry_point: slow_eval.py, source_dir: code, model: model.tar.gz}
Y
"$SMFLOW" --state-dir "$T/state" run e.yaml >>run.out 2>>run.err &
smf=$!
for _ in $(seq 1 200); do
  grep -qs "eval pid=" "$T"/state/jobs/*/logs/algo-1.log && break
  sleep 0.05
done
kill -9 $smf
wait $smf 2>/dev/null
sm resume
expect_eq "evaluate resume exit" "$rc" 0
expect_eq "evaluate attempts" "$(step_field check attempts)" 1
expect_eq "evaluate report" "$(step_field check outputs.metrics.score)" 0.5
expect_eq "evaluate ran once" "$(cat "$T"/state/jobs/*/logs/algo-1.log | grep -c 'eval pid=')" 1
expect_contains "evaluate re-attached" "$(cat "$T/err")" "re-attached to job"
finish

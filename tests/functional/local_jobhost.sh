#!/usr/bin/env bash
# local_jobhost.sh: a local job's host process is smflow-jobhost, a program of
# its own started with posix_spawn (src/target/local/hostexec.c), not a fork
# of smflow: /proc/PID/exe is smflow-jobhost, it maps none of smflow's
# libraries, holds no descriptor but stdin/stdout/stderr and its status pipe
# (the state directory's lock is not among them), leads its own session and
# process group, and is the parent of the user's script. When the program is missing
# (here: $SMFLOW_MODULE_DIR holds only the modules) the step fails with a
# message that names it and the place looked at.
source "$(dirname "$0")/lib/steps.bash"
mkdir -p code
cp "$SRC/tests/data/local/sleep_train.py" code/
cat >p.yaml <<'Y'
smflow: 1
name: jobhost
steps:
  train:
    fit:
      entry_point: sleep_train.py
      source_dir: code
      instance_type: ml.m5.large
      hyperparameters: {seconds: 1.5}
      output_path: "s3://smflow-test/models/"
Y

"$SMFLOW" --state-dir "$T/state" run p.yaml >run.out 2>run.err &
smf=$!
EXTRA_PIDS=$smf
log=
for _ in $(seq 1 200); do
  log=$(ls "$T"/state/jobs/*/logs/algo-1.log 2>/dev/null | head -1)
  [[ -n $log ]] && grep -q "started pid=" "$log" && break
  sleep 0.05
done
[[ -n $log ]] || fail "the job never started"
job_dir=$(dirname "$(dirname "$log")")
host=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hosts"][0]["pid"])' \
  "$job_dir/intent.json")
script=$(grep -ho 'started pid=[0-9]*' "$log" | cut -d= -f2)
want_exe=$(realpath "$(dirname "$SMFLOW")/modules/smflow-jobhost")
expect_eq "host executable" "$(readlink "/proc/$host/exe")" "$want_exe"
expect_eq "host name in ps" "$(cat "/proc/$host/comm")" smflow-jobhost
expect_eq "smflow is the host's parent" "$(awk '{print $4}' "/proc/$host/stat")" "$smf"
maps=$(cat "/proc/$host/maps")
[[ $maps == *libsqlite3* || $maps == *liblua* || $maps == *libuv* ]] &&
  fail "the host maps smflow's libraries: a fork of smflow?"
expect_eq "host descriptors" "$(ls "/proc/$host/fd" | sort -n | tr '\n' ' ')" "0 1 2 3 "
# 3 is the write end of the status pipe, whose read end smflow holds; the
# script does not inherit it.
pipe=$(readlink "/proc/$host/fd/3")
[[ $pipe == pipe:* ]] || fail "host descriptor 3 is not the status pipe: $pipe"
[[ " $(ls -l "/proc/$smf/fd" | awk '{print $NF}' | tr '\n' ' ') " == *" $pipe "* ]] ||
  fail "smflow does not hold the host's status pipe ($pipe)"
for fd in /proc/$script/fd/*; do
  [[ $(readlink "$fd") != "$pipe" ]] || fail "the script inherited the status pipe ($fd)"
done
expect_eq "host leads its session" "$(ps -o sid= -p "$host" | tr -d ' ')" "$host"
expect_eq "host leads its process group" "$(ps -o pgid= -p "$host" | tr -d ' ')" "$host"
expect_eq "the script is the host's child" "$(awk '{print $4}' "/proc/$script/stat")" "$host"
expect_eq "the script is in the host's group" "$(ps -o pgid= -p "$script" | tr -d ' ')" "$host"
wait $smf
expect_eq "run exit" "$?" 0
expect_eq "step state" "$(step_field train state)" succeeded
expect_eq "exit file" "$(cat "$job_dir/status/algo-1.exit")" 0

# The program missing: only the modules in $SMFLOW_MODULE_DIR.
mkdir -p mods
cp "$(dirname "$SMFLOW")"/modules/smflow-*.so mods/
rm -rf state
SMFLOW_MODULE_DIR=$T/mods sm run p.yaml
expect_eq "no jobhost: exit" "$rc" 1
expect_eq "no jobhost: step" "$(step_field train state)" failed
expect_contains "no jobhost: message" "$(cat err)" \
  "cannot find smflow's program smflow-jobhost ($T/mods/smflow-jobhost: not found)"
finish

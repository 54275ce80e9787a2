#!/usr/bin/env bash
# engine_dag.sh: order of a DAG of `run` steps, the concurrency limit (pipeline
# `concurrency` and --max-parallel), fan-out/fan-in, a diamond, outputs flowing
# through ${steps.X.key}, and the status/runs commands.
source "$(dirname "$0")/lib/engine.bash"

# A step body that records start/end times (nanoseconds) in the events file.
body() { echo "echo start $1 \$(date +%s%N) >> $T/events; sleep $2; echo end $1 \$(date +%s%N) >> $T/events"; }

{
  echo "smflow: 1"
  echo "name: wide"
  echo "concurrency: 2"
  echo "steps:"
  for i in $(seq 0 9); do
    echo "  w$i:"
    echo "    run: \"$(body w$i 0.2)\""
  done
} >wide.yaml

# max_parallel: the largest number of steps running at the same instant.
max_parallel() {
  python3 - "$T/events" <<'PY'
import sys
ev = []
for line in open(sys.argv[1]):
    kind, step, ts = line.split()
    ev.append((int(ts), 0 if kind == "end" else 1))
ev.sort()
cur = best = 0
for _, k in ev:
    cur += 1 if k else -1
    best = max(best, cur)
print(best)
PY
}

sm run wide.yaml
expect_eq "wide run exit" "$rc" 0
expect_eq "pipeline concurrency 2" "$(max_parallel)" 2
rm -f events
sm run wide.yaml --max-parallel 4
expect_eq "wide --max-parallel 4 exit" "$rc" 0
expect_eq "--max-parallel 4 wins" "$(max_parallel)" 4
rm -f events

# Fan-out / fan-in and a diamond, with outputs flowing downstream.
cat >dag.yaml <<YAML
smflow: 1
name: dag
steps:
  src:
    run: "echo src >> $T/ledger; echo n=5 >> \$SMFLOW_OUTPUT"
  m1: {needs: [src], run: "sleep 0.1; echo m1 >> $T/ledger; echo v=1 >> \$SMFLOW_OUTPUT"}
  m2: {needs: [src], run: "echo m2 >> $T/ledger; echo v=2 >> \$SMFLOW_OUTPUT"}
  m3: {needs: [src], run: "sleep 0.2; echo m3 >> $T/ledger; echo v=3 >> \$SMFLOW_OUTPUT"}
  sink:
    needs: [m1, m2, m3]
    run: "echo sink >> $T/ledger; echo sum=\$((\${steps.m1.v} + \${steps.m2.v} + \${steps.m3.v} + \${steps.src.n})) >> \$SMFLOW_OUTPUT"
  left: {needs: [sink], run: "echo left >> $T/ledger; echo x=L >> \$SMFLOW_OUTPUT"}
  right: {needs: [sink], run: "echo right >> $T/ledger; echo x=R >> \$SMFLOW_OUTPUT"}
  bottom:
    needs: [left, right]
    run:
      command: "echo bottom >> $T/ledger; echo joined=\$A-\$B-\${steps.sink.sum} >> \$SMFLOW_OUTPUT"
      env: {A: "\${steps.left.x}", B: "\${steps.right.x}"}
YAML
sm --json run dag.yaml
expect_eq "dag exit" "$rc" 0
# Order: src first; m* before sink; sink before left/right; bottom last.
order=$(tr '\n' ' ' <ledger)
expect_eq "src first" "$(head -1 ledger)" "src"
expect_eq "sink after the three m" "$(sed -n 5p ledger)" "sink"
expect_eq "bottom last" "$(tail -1 ledger)" "bottom"
expect_eq "ledger length" "$(wc -l <ledger)" 8
expect_eq "fan-in output" "$(step_field sink outputs.sum)" 11
expect_eq "diamond output" "$(step_field bottom outputs.joined)" "L-R-11"
# JSON lines on stdout: one per transition, the last one the run's.
tail -1 "$T/out" | grep -q '"event":"run".*"status":"succeeded"' || fail "last --json line is the run's"
grep -q '"step":"bottom","state":"succeeded"' "$T/out" || fail "--json step line for bottom"

# status (human) and runs.
sm status
expect_eq "status exit" "$rc" 0
expect_contains "status lists bottom" "$(cat out)" "joined=L-R-11"
expect_contains "status shows the run" "$(head -1 out)" "succeeded (exit 0)"
sm runs
expect_eq "runs exit" "$rc" 0
expect_eq "runs lists 3 runs" "$(grep -c succeeded out)" 3
sm runs --json
expect_eq "runs --json" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["runs"]))' out)" 3
run_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"][0]["id"])' out)
[[ $run_id =~ ^[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$ ]] || fail "run id format: $run_id"
sm status "$run_id" --json
expect_eq "status by id" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"]["name"])' out)" dag
sm status no-such-run
expect_eq "status of an unknown run" "$rc" 2
# Logs of every attempt are kept.
[[ -s state/logs/$run_id/sink.1.log || -f state/logs/$run_id/sink.1.log ]] || fail "log file of sink"
finish

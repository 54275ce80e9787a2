#!/usr/bin/env bash
# engine_detach.sh: `run --detach` returns at once (exit 3) while the run goes
# on in the background; its output goes to the run's smflow.log; a detached run
# that cannot start (state dir locked) reports the reason and exit code.
source "$(dirname "$0")/lib/engine.bash"

cat >p.yaml <<YAML
smflow: 1
name: detach
steps:
  a: {run: "sleep 1; echo a >> $T/ledger; echo v=1 >> \$SMFLOW_OUTPUT"}
  b: {needs: [a], run: "echo b \${steps.a.v} >> $T/ledger"}
YAML
start=$(date +%s%N)
sm --json run p.yaml --detach
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "detach exit" "$rc" 3
((elapsed < 900)) || fail "--detach waited for the run (${elapsed} ms)"
expect_contains "detach message" "$(cat err)" "continues in the background"
run_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_id"])' out)
expect_contains "detach json" "$(cat out)" '"status":"detached"'
# While it runs, the state dir is locked: a second detached run says so.
sm run p.yaml --detach
expect_eq "second detached run" "$rc" 4
expect_contains "lock reported" "$(cat err)" "is locked by smflow"
for _ in $(seq 1 100); do
  [[ $(q "select status from runs where id = '$run_id'") == succeeded ]] && break
  sleep 0.1
done
expect_eq "background run finished" "$(q "select status from runs where id = '$run_id'")" succeeded
expect_eq "ledger" "$(tr '\n' ' ' <ledger)" "a b 1 "
grep -q "run $run_id succeeded" "state/logs/$run_id/smflow.log" || fail "smflow.log of the detached run"
finish

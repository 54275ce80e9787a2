#!/usr/bin/env bash
# qafix_status_json.sh: status/runs --json: a cancelled step's error class is
# null, a running run's exit code is null, runs lists the target.
source "$(dirname "$0")/lib/engine.bash"

cat >p.yaml <<'YAML'
smflow: 1
name: sj
steps:
  a: {run: "exit 3"}
  b: {needs: [a], run: "true"}
YAML
sm run p.yaml
expect_eq "exit" "$rc" 1
expect_eq "b cancelled" "$(step_field b state)" cancelled
expect_eq "cancelled step's class is null" "$(step_field b error.class)" None
expect_contains "cancelled step's message" "$(step_field b error.message)" "upstream step 'a' failed"
expect_eq "failed step's class" "$(step_field a error.class)" AlgorithmError
"$SMFLOW" --state-dir "$T/state" runs --json >runs.json
expect_eq "runs: target and exit code" \
  "$(python3 -c 'import json; r=json.load(open("runs.json"))["runs"][0]; print(r.get("target"), r["exit_code"])')" \
  "local 1"

cat >slow.yaml <<'YAML'
smflow: 1
name: slow
steps:
  s: {run: "sleep 30"}
YAML
"$SMFLOW" --state-dir "$T/state" run slow.yaml >/dev/null 2>&1 &
pid=$!
for _ in $(seq 50); do
  [[ "$(step_field s state 2>/dev/null)" == running ]] && break
  sleep 0.1
done
"$SMFLOW" --state-dir "$T/state" runs --json >runs.json
"$SMFLOW" --state-dir "$T/state" status --json >status.json
kill -TERM "$pid"
wait "$pid"
expect_eq "running run: exit_code null in runs" \
  "$(python3 -c 'import json; r=json.load(open("runs.json"))["runs"]; print([x["exit_code"] for x in r if x["name"]=="slow"][0])')" \
  None
expect_eq "running run: exit_code null in status" \
  "$(python3 -c 'import json; print(json.load(open("status.json"))["run"]["exit_code"])')" None
finish

#!/usr/bin/env bash
# steps_quickstart.sh: the quickstart end to end on the local target with the
# real binary: upload → fit → evaluate → register → deploy (smoke test), then
# status, models, endpoints and invoke; a second run reuses the uploaded code,
# registers version 2 and replaces the endpoint's server while it keeps
# answering; approve/reject; endpoints delete stops the server.
source "$(dirname "$0")/lib/steps.bash"
quickstart_copy qs
for f in "$SRC/examples/quickstart/pipeline.yaml" "$SRC/pipelines/nightly-retrain.yaml"; do
  sm validate "$f"
  expect_eq "validate $f" "$rc" 0
done

sm run qs/pipeline.yaml
expect_eq "first run exit" "$rc" 0
for s in data code train evaluate register deploy; do
  expect_eq "state of $s" "$(step_field "$s" state)" succeeded
done
uri1=$(step_field code outputs.uri)
expect_contains "upload uri" "$uri1" "s3://quickstart-bucket/code/sourcedir-"
expect_eq "upload reused (first)" "$(step_field code outputs.reused)" False
[[ $(step_field code outputs.bytes) -gt 0 ]] || fail "upload bytes"
job=$(step_field train outputs.job_name)
[[ $job =~ ^train-[0-9]{8}-[0-9]{6}-[0-9a-f]{4}-train-1$ ]] || fail "job name '$job'"
expect_eq "job arn" "$(step_field train outputs.job_arn)" \
  "arn:aws:sagemaker:us-east-1:000000000000:training-job/$job"
expect_eq "model_data" "$(step_field train outputs.model_data)" \
  "s3://quickstart-bucket/models/$job/output/model.tar.gz"
[[ -f $T/state/store/quickstart-bucket/models/$job/output/model.tar.gz ]] || fail "model stored"
expect_eq "train status" "$(step_field train outputs.status)" Completed
loss=$(step_field train 'outputs.metrics.train:loss')
[[ -n $loss && $loss != None ]] || fail "train:loss metric missing"
acc=$(step_field evaluate outputs.metrics.accuracy)
python3 -c "import sys; sys.exit(0 if float('$acc') >= 0.8 else 1)" || fail "accuracy $acc"
expect_contains "report uri" "$(step_field evaluate outputs.report_uri)" "/evaluation.json"
expect_eq "register version" "$(step_field register outputs.version)" 1
expect_eq "register approval" "$(step_field register outputs.approval)" Approved
expect_eq "register arn" "$(step_field register outputs.arn)" \
  "arn:aws:sagemaker:us-east-1:000000000000:model-package/quickstart-models/1"
url1=$(step_field deploy outputs.url)
[[ $url1 =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "deploy url '$url1'"
expect_eq "deploy endpoint" "$(step_field deploy outputs.endpoint)" quickstart

sm status
expect_eq "status exit" "$rc" 0
expect_contains "status shows deploy" "$(cat "$T/out")" "endpoint=quickstart"

sm invoke quickstart --body qs/sample.csv --content-type text/csv
expect_eq "invoke exit" "$rc" 0
expect_contains "prediction" "$(cat "$T/out")" '"predictions"'
echo '{"instances": [[1.0, -1.0, 0.5, 0.2]]}' >req.json
sm invoke quickstart --body req.json
expect_contains "json prediction" "$(cat "$T/out")" '"label"'
sm invoke quickstart --body qs/sample.csv --content-type text/plain
expect_eq "invoke non-2xx exit" "$rc" 1
expect_contains "invoke non-2xx stderr" "$(cat "$T/err")" "HTTP 5"
sm invoke nosuch --body req.json
expect_eq "invoke unknown endpoint" "$rc" 1

sm models list
expect_contains "models list" "$(cat "$T/out")" "quickstart-models"
sm endpoints
expect_contains "endpoints list" "$(cat "$T/out")" "InService"
pid1=$(q "SELECT pid FROM endpoints WHERE name='quickstart'")

# Second run: same code (reused), version 2, the endpoint replaced while it is
# being called continuously.
(
  while [[ ! -f stop-calls ]]; do
    if "$SMFLOW" --state-dir "$T/state" invoke quickstart --body req.json >/dev/null 2>>calls.err; then
      echo ok >>calls.log
    else
      echo fail >>calls.log
    fi
  done
) &
caller=$!
sm run qs/pipeline.yaml
touch stop-calls
wait $caller
expect_eq "second run exit" "$rc" 0
expect_eq "upload reused (second)" "$(step_field code outputs.reused)" True
expect_eq "same upload uri" "$(step_field code outputs.uri)" "$uri1"
expect_eq "register version 2" "$(step_field register outputs.version)" 2
url2=$(step_field deploy outputs.url)
[[ $url2 != "$url1" ]] || fail "the endpoint was not replaced"
expect_eq "calls that failed during the replacement" "$(grep -c fail calls.log)" 0
[[ $(grep -c ok calls.log) -gt 0 ]] || fail "no call went through during the replacement"
wait_gone "$pid1" || fail "the old server $pid1 is still running"
pid2=$(q "SELECT pid FROM endpoints WHERE name='quickstart'")
alive "$pid2" || fail "the new server is not running"
sm invoke quickstart --body qs/sample.csv --content-type text/csv
expect_eq "invoke after replacement" "$rc" 0

sm models list --json
expect_eq "versions" "$(python3 -c 'import json,sys; print([m["version"] for m in json.load(open(sys.argv[1]))["models"]])' "$T/out")" "[1, 2]"
python3 - "$T/out" <<'PY' || fail "metadata of the registered version"
import json, sys
m = json.load(open(sys.argv[1]))["models"][1]
meta = m["metadata"]
assert meta["pipeline"] == "quickstart", meta
assert meta["step"] == "register" and meta["attempt"] == "1", meta
assert len(meta["run_id"]) == 20, meta
assert m["metrics"].endswith("/evaluation.json"), m
PY
sm models reject quickstart-models 1
expect_eq "reject exit" "$rc" 0
sm models approve quickstart-models 2
expect_eq "approve exit" "$rc" 0
sm models approve quickstart-models 9
expect_eq "approve unknown version" "$rc" 1
expect_eq "approvals" "$(q "SELECT group_concat(approval, ',') FROM (SELECT approval FROM model_packages ORDER BY version)")" "Rejected,Approved"
sm models approve quickstart-models two
expect_eq "approve bad version" "$rc" 2

sm endpoints delete quickstart
expect_eq "delete exit" "$rc" 0
wait_gone "$pid2" || fail "the server $pid2 survived endpoints delete"
sm endpoints
[[ $(cat "$T/out") != *quickstart* ]] || fail "endpoint still listed after delete"
sm invoke quickstart --body req.json
expect_eq "invoke after delete" "$rc" 1
finish

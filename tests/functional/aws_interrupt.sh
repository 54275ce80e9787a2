#!/usr/bin/env bash
# aws_interrupt.sh: SIGINT while three training jobs run on the aws target
# (moto, every request recorded): exit 3 with the resume and cancel hints, no
# StopTrainingJob sent, the attempts keep their intents without a result; resume
# re-attaches (Describe by name) and completes with exactly one CreateTrainingJob
# per job name and one attempt per step; meanwhile `smflow logs --follow` reads
# a job's CloudWatch lines. Then SIGINT during a fit followed by
# `smflow cancel`: StopTrainingJob by name (moto has no StopTrainingJob: the
# SageMaker endpoint of `cancel` is a small recording fake on 127.0.0.1).
source "$(dirname "$0")/lib/aws.bash"
aws_test_init aws_interrupt moto_server aws curl sqlite3
: "${smflow:?}"
cd "$tmp"
aws_test_moto "$tmp/moto"
ep=$AWS_ENDPOINT_URL
curl -sf -X POST "$ep/moto-api/recorder/reset-recording" >/dev/null
curl -sf -X POST "$ep/moto-api/recorder/start-recording" >/dev/null

mkdir -p "$tmp/p"
{
  printf 'smflow: 1\nname: intfit\ntarget: aws\nrole: arn:aws:iam::123456789012:role/R\nsteps:\n'
  for i in 1 2 3; do
    printf '  fit%s:\n    fit:\n      entry_point: train.py\n' "$i"
    printf '      source: "s3://smflow-test-bucket/code/sourcedir.tar.gz"\n'
    printf '      image_uri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/train:1"\n'
    printf '      base_job_name: intr\n      instance_type: ml.m5.large\n'
  done
} >"$tmp/p/pipeline.yaml"
# The first Describe comes 60 s after the start: the jobs are running when SIGINT comes.
SMFLOW_AWS_POLL_MS=60000 SMFLOW_AWS_POLL_MAX_MS=60000 "$smflow" run "$tmp/p/pipeline.yaml" >"$tmp/run.out" 2>"$tmp/run.err" &
p=$!
for _ in $(seq 1 100); do
  [ "$(grep -c 'training job .* started' "$tmp/run.err" || true)" = 3 ] && break
  sleep 0.05
done
[ "$(grep -c 'training job .* started' "$tmp/run.err" || true)" = 3 ] || {
  echo "the three jobs did not start" >&2; cat "$tmp/run.err" >&2; exit 1; }
# STARTED is committed before CreateTrainingJob is sent: wait until moto has the jobs.
njobs() { aws --endpoint-url "$ep" sagemaker list-training-jobs --query 'length(TrainingJobSummaries)' --output text; }
for _ in $(seq 1 100); do [ "$(njobs)" = 3 ] && break; sleep 0.05; done
[ "$(njobs)" = 3 ] || { echo "moto does not have the three jobs" >&2; exit 1; }
kill -INT "$p"
rc=0
wait "$p" || rc=$?
[ "$rc" = 3 ] || { echo "exit $rc after SIGINT, want 3" >&2; cat "$tmp/run.err" >&2; exit 1; }
grep -q "resume with: smflow resume" "$tmp/run.err" || { echo "no resume hint" >&2; exit 1; }
grep -q "smflow cancel" "$tmp/run.err" || { echo "no cancel hint" >&2; exit 1; }
db=$tmp/p/.smflow/state.db
open=$(sqlite3 "$db" "select count(*) from attempts where result is null")
[ "$open" = 3 ] || { echo "$open attempts without a result, want 3" >&2; exit 1; }
curl -sf "$ep/moto-api/recorder/download-recording" >"$tmp/int.rec"
if grep -q "StopTrainingJob" "$tmp/int.rec"; then
  echo "an interrupt sent StopTrainingJob" >&2; exit 1
fi
# smflow logs reads a job left running from CloudWatch (two pages' worth of lines).
job1=$(sqlite3 "$db" "select json_extract(intent_json, '$.job_name') from attempts where step_id='fit1'")
grp=/aws/sagemaker/TrainingJobs
aws --endpoint-url "$ep" logs create-log-group --log-group-name "$grp" 2>/dev/null || true
aws --endpoint-url "$ep" logs create-log-stream --log-group-name "$grp" --log-stream-name "$job1/algo-1-1700000000"
now=$(($(date +%s) * 1000))
aws --endpoint-url "$ep" logs put-log-events --log-group-name "$grp" \
  --log-stream-name "$job1/algo-1-1700000000" \
  --log-events "timestamp=$now,message=epoch 1 loss=0.5" "timestamp=$((now + 1)),message=epoch 2 loss=0.25" >/dev/null
run_id=$(sqlite3 "$db" 'select id from runs')
(cd "$tmp/p" && SMFLOW_AWS_POLL_MS=300 "$smflow" logs "$run_id" fit1 --follow) >"$tmp/logs.out" 2>"$tmp/logs.err" || {
  cat "$tmp/logs.err" >&2; echo "smflow logs failed" >&2; exit 1; }
[ "$(cat "$tmp/logs.out")" = "$(printf 'algo-1 | epoch 1 loss=0.5\nalgo-1 | epoch 2 loss=0.25')" ] || {
  cat "$tmp/logs.out" >&2; echo "smflow logs did not print the CloudWatch lines" >&2; exit 1; }
# ... and does not move the tokens that resume goes on from.
[ ! -e "$tmp/p/.smflow/aws/logs/$job1.json" ] || [ "$(cat "$tmp/p/.smflow/aws/logs/$job1.json")" = "{}" ] || {
  echo "smflow logs saved log tokens" >&2; exit 1; }
SMFLOW_AWS_POLL_MS=300 "$smflow" resume --state-dir "$tmp/p/.smflow" >"$tmp/res.out" 2>"$tmp/res.err" || {
  echo "resume failed" >&2; cat "$tmp/res.err" >&2; exit 1; }
[ "$(grep -c 're-attached to job' "$tmp/res.err")" = 3 ] || {
  echo "resume did not re-attach the three jobs" >&2; cat "$tmp/res.err" >&2; exit 1; }
curl -sf "$ep/moto-api/recorder/download-recording" >"$tmp/all.rec"
"$smflow" status --state-dir "$tmp/p/.smflow" --json >"$tmp/status.json"
python3 - "$tmp/all.rec" "$tmp/status.json" "$src/tests/tools" <<'PY'
import base64, collections, json, sys
sys.path.insert(0, sys.argv[3])
from check_shapes import records
creates = collections.Counter()
for r in records(sys.argv[1]):
    h = {k.lower(): v for k, v in r.get("headers", {}).items()}
    t = h.get("x-amz-target") or ""
    assert "StopTrainingJob" not in t, r
    if t == "SageMaker.CreateTrainingJob":
        body = base64.b64decode(r["body"]).decode() if r.get("body_encoded") else r["body"]
        creates[json.loads(body)["TrainingJobName"]] += 1
st = json.load(open(sys.argv[2]))
assert st["run"]["status"] == "succeeded", st["run"]
assert len(creates) == 3 and all(v == 1 for v in creates.values()), creates
for s in st["steps"]:
    assert s["attempts"] == 1, s
    assert s["outputs"]["job_name"] in creates, s
print("interrupt + resume: 3 jobs, one CreateTrainingJob each, no StopTrainingJob")
PY

echo "== SIGINT, then smflow cancel: StopTrainingJob by name"
mkdir -p "$tmp/c"
cat >"$tmp/c/pipeline.yaml" <<'Y'
smflow: 1
name: cancelfit
target: aws
role: arn:aws:iam::123456789012:role/R
steps:
  fit:
    fit:
      entry_point: train.py
      source: "s3://smflow-test-bucket/code/sourcedir.tar.gz"
      image_uri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/train:1"
      instance_type: ml.m5.large
Y
SMFLOW_AWS_POLL_MS=60000 SMFLOW_AWS_POLL_MAX_MS=60000 "$smflow" run "$tmp/c/pipeline.yaml" >"$tmp/c.out" 2>"$tmp/c.err" &
p=$!
for _ in $(seq 1 100); do grep -q 'training job .* started' "$tmp/c.err" && break; sleep 0.05; done
job=$(grep -o 'training job [^ ]* started' "$tmp/c.err" | awk '{print $3}')
[ -n "$job" ] || { cat "$tmp/c.err" >&2; echo "the job did not start" >&2; exit 1; }
for _ in $(seq 1 100); do [ "$(njobs)" = 4 ] && break; sleep 0.05; done
kill -INT "$p"
rc=0
wait "$p" || rc=$?
[ "$rc" = 3 ] || { echo "exit $rc after SIGINT, want 3" >&2; exit 1; }
cat >"$tmp/fake_stop.py" <<'PY'
import http.server, json, sys
log = open(sys.argv[1], "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        op = self.headers.get("X-Amz-Target", "")
        log.write(json.dumps({"op": op, "auth": bool(self.headers.get("Authorization")),
                              "body": json.loads(body or b"{}")}) + "\n")
        out = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
PY
python3 "$tmp/fake_stop.py" "$tmp/stop.log" >"$tmp/fake.port" &
pids+=("$!")
for _ in $(seq 1 50); do [ -s "$tmp/fake.port" ] && break; sleep 0.1; done
AWS_ENDPOINT_URL_SAGEMAKER="http://127.0.0.1:$(cat "$tmp/fake.port")" \
  "$smflow" cancel --state-dir "$tmp/c/.smflow" "$(sqlite3 "$tmp/c/.smflow/state.db" 'select id from runs')" \
  >"$tmp/cancel.out" 2>"$tmp/cancel.err" || { cat "$tmp/cancel.err" >&2; echo "cancel failed" >&2; exit 1; }
python3 - "$tmp/stop.log" "$job" <<'PY'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
stops = [r for r in reqs if r["op"] == "SageMaker.StopTrainingJob"]
assert len(stops) == 1 and stops[0]["body"] == {"TrainingJobName": sys.argv[2]}, reqs
assert stops[0]["auth"], "StopTrainingJob was not signed"
print("cancel: StopTrainingJob", sys.argv[2])
PY
grep -q "cancelled (0 processes and 1 remote job stopped)" "$tmp/cancel.out" || {
  cat "$tmp/cancel.out" >&2; echo "cancel does not count the stopped job" >&2; exit 1; }
[ "$(sqlite3 "$tmp/c/.smflow/state.db" 'select status from runs')" = cancelled ] || {
  echo "the run is not cancelled" >&2; exit 1; }
[ "$(sqlite3 "$tmp/c/.smflow/state.db" "select result from attempts where step_id='fit'")" = cancelled ] || {
  echo "the attempt is not cancelled" >&2; exit 1; }

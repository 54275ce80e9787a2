#!/usr/bin/env bash
# aws_interrupt.sh: SIGINT while three training jobs run on the aws target
# (moto, every request recorded): exit 3 with the resume and cancel hints, no
# StopTrainingJob sent, the attempts keep their intents without a result; resume
# re-attaches (Describe by name) and completes with exactly one CreateTrainingJob
# per job name and one attempt per step.
set -euo pipefail
src=${SMF_SOURCE_DIR:?}
smflow=${SMFLOW:?}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
for tool in moto_server aws curl sqlite3; do
  command -v "$tool" >/dev/null || { echo "aws_interrupt: $tool not installed" >&2; exit 1; }
done
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy
cd "$tmp"
eval "$("$src/tests/tools/moto_up.sh" "$tmp/moto")"
pids+=("$SMF_MOTO_PID")
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
# The first Describe comes 3 s after the start: the jobs are running when SIGINT comes.
SMFLOW_AWS_POLL_MS=3000 "$smflow" run "$tmp/p/pipeline.yaml" >"$tmp/run.out" 2>"$tmp/run.err" &
p=$!
for _ in $(seq 1 100); do
  [ "$(grep -c 'training job .* started' "$tmp/run.err" || true)" = 3 ] && break
  sleep 0.05
done
[ "$(grep -c 'training job .* started' "$tmp/run.err" || true)" = 3 ] || {
  echo "the three jobs did not start" >&2; cat "$tmp/run.err" >&2; exit 1; }
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

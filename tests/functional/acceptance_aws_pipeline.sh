#!/usr/bin/env bash
# acceptance_aws_pipeline.sh: every step kind on the aws target against moto
# with signature checking, every request recorded
# (tests/data/aws/qa4/pipeline.yaml: upload → fit (pytorch, spot + checkpoints,
# metric definitions, tags, environment) → evaluate → register (metadata,
# copy_to) → deploy with a smoke test). moto runs no script:
# tests/tools/moto_put_reports.py writes the report, the model and the logs.
#   - what was sent: the SDK's spot, checkpoint, metric, tag and environment
#     fields; the processing job's environment; the package's metadata;
#   - `smflow status --json`: every output SPEC §4 names, with its type, and
#     each step's remote object (job, package version, endpoint);
#   - the copy_to object exists; `smflow logs` prints the job's CloudWatch
#     lines; `smflow endpoints` lists the endpoint and `smflow invoke` reaches it;
#   - `smflow plan --target aws --json`;
#   - a second run: the upload is reused (no PutObject of the archive);
#   - kill -9 during a fit, then resume: one CreateTrainingJob for its name.
source "$(dirname "$0")/lib/aws.bash"
aws_test_init acceptance_aws_pipeline moto_server aws curl
: "${smflow:?}"
cd "$tmp"
aws_test_moto "$tmp/moto"
ep=$AWS_ENDPOINT_URL
export SMFLOW_AWS_POLL_MS=300 SMFLOW_AWS_POLL_MAX_MS=1000
die() { echo "acceptance_aws_pipeline: $*" >&2; exit 1; }
rec_start() {
  curl -sf -X POST "$ep/moto-api/recorder/reset-recording" >/dev/null
  curl -sf -X POST "$ep/moto-api/recorder/start-recording" >/dev/null
}
rec_get() { curl -sf "$ep/moto-api/recorder/download-recording" >"$1"; }
# bodies FILE: "TARGET-or-METHOD-PATH JSON-BODY" per recorded request
bodies() {
  python3 -c '
import base64, json, sys
sys.path.insert(0, sys.argv[2])
from check_shapes import records
for r in records(sys.argv[1]):
    h = {k.lower(): v for k, v in r.get("headers", {}).items()}
    b = r.get("body") or ""
    if r.get("body_encoded"):
        b = base64.b64decode(b).decode("latin-1")
    op = h.get("x-amz-target") or (r.get("method", "") + " " + r.get("url", "").split("?")[0])
    print(op, b.replace("\n", " ") if h.get("x-amz-target") else "")
' "$1" "$src/tests/tools"
}
mkdir -p w
cp -r "$src/tests/data/aws/full/code" w/code
cp "$src/tests/data/aws/qa4/pipeline.yaml" "$src/tests/data/aws/qa4/request.csv" w/
aws --endpoint-url "$ep" s3 mb s3://qa4-bucket >/dev/null
curl -sf -X POST "$ep/moto-api/static/sagemaker/endpoint-results" -H 'Content-Type: application/json' \
  -d '{"results": [{"Body": "0.75", "ContentType": "text/csv"}, {"Body": "0.25", "ContentType": "text/csv"}]}' \
  >/dev/null
python3 "$src/tests/tools/moto_put_reports.py" 2>"$tmp/reports.log" &
pids+=("$!")

echo "== the pipeline"
rec_start
"$smflow" run w/pipeline.yaml >run.out 2>&1 || die "run: exit $?: $(cat run.out)"
rec_get first.rec
bodies first.rec >first.ops
python3 - first.ops <<'PY' || die "request bodies: $(cat first.ops)"
import json, sys
b = {}
for line in open(sys.argv[1]):
    op, _, body = line.rstrip("\n").partition(" ")
    if op.startswith("SageMaker.") and body:
        b.setdefault(op[10:], []).append(json.loads(body))
t = b["CreateTrainingJob"][0]
assert t["EnableManagedSpotTraining"] is True, t
assert t["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}, t
assert t["CheckpointConfig"]["S3Uri"] == "s3://qa4-bucket/ckpt/", t
assert {"Name": "loss", "Regex": "loss=([0-9.]+)"} in t["AlgorithmSpecification"]["MetricDefinitions"], t
assert t["Environment"] == {"MODE": "fast"}, t
tags = {x["Key"]: x["Value"] for x in t["Tags"]}
assert tags["team"] == "ml" and tags["cost"] == "42", tags
assert all(k in ("team", "cost") or k.startswith("smflow:") for k in tags), tags
hp = t["HyperParameters"]
assert (hp["epochs"], hp["lr"], hp["opt"], hp["small"], hp["flag"]) == ("3", "0.1", '"adam"', "1e-05", "true"), hp
p = b["CreateProcessingJob"][0]
assert p["Environment"]["E"] == "1", p
m = b["CreateModelPackage"][0]
md = m["CustomerMetadataProperties"]
assert md["sha"] == "abc" and md["run"], md
assert m["ModelApprovalStatus"] == "Approved", m
assert b["CreateEndpoint"][0]["EndpointName"] == "qa4-ep", b["CreateEndpoint"]
PY

echo "== status --json"
"$smflow" status --state-dir w/.smflow --json >status.json
python3 - status.json <<'PY' || die "status outputs: $(cat status.json)"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["run"]["status"] == "succeeded" and d["run"]["target"] == "aws", d["run"]
o = {s["id"]: s["outputs"] for s in d["steps"]}
want = {
    "code": {"uri": str, "sha256": str, "bytes": int, "reused": bool},
    "train": {"job_name": str, "job_arn": str, "model_data": str, "output_data": str,
              "image_uri": str, "metrics": dict, "status": str, "billable_seconds": int},
    "evaluate": {"job_name": str, "report_uri": str, "metrics": dict},
    "register": {"arn": str, "group": str, "version": int, "approval": str, "uri": str},
    "deploy": {"endpoint": str, "endpoint_arn": str, "config": str, "model_name": str},
}
for step, keys in want.items():
    for k, ty in keys.items():
        assert k in o[step], (step, k, o[step])
        v = o[step][k]
        assert isinstance(v, ty) and not (ty is int and isinstance(v, bool)), (step, k, v)
t = o["train"]
assert t["job_arn"].endswith(":training-job/" + t["job_name"]), t
assert t["model_data"].endswith("/" + t["job_name"] + "/output/model.tar.gz"), t
assert t["image_uri"] == "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-training:2.1-cpu-py310", t
assert t["status"] == "Completed", t
assert o["code"]["reused"] is False and len(o["code"]["sha256"]) == 64, o["code"]
assert o["code"]["uri"].endswith("/sourcedir-" + o["code"]["sha256"][:12] + ".tar.gz"), o["code"]
assert o["evaluate"]["metrics"] == {"accuracy": 0.91}, o["evaluate"]
r = o["register"]
assert (r["group"], r["version"], r["approval"]) == ("qa4-models", 1, "Approved"), r
assert r["uri"].startswith("s3://qa4-bucket/registry/"), r
assert o["deploy"]["endpoint_arn"].endswith(":endpoint/qa4-ep"), o["deploy"]
# The remote object of each step, by name.
rn = {s["id"]: s["remote_name"] for s in d["steps"]}
assert rn["train"] == t["job_name"] and rn["evaluate"] == o["evaluate"]["job_name"], rn
assert rn["register"] == "qa4-models/1" and rn["deploy"] == "qa4-ep", rn
print(o["register"]["uri"], d["run"]["id"])
PY
read -r copy run_id < <(python3 - status.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print([s for s in d["steps"] if s["id"] == "register"][0]["outputs"]["uri"], d["run"]["id"])
PY
)
bucket_key=${copy#s3://}
aws --endpoint-url "$ep" s3api head-object --bucket "${bucket_key%%/*}" --key "${bucket_key#*/}" \
  >/dev/null || die "copy_to: no object at $copy"

echo "== logs, endpoints, invoke"
"$smflow" logs "$run_id" train --state-dir w/.smflow >logs.out 2>&1 || die "logs: $(cat logs.out)"
grep -q "epoch 2 loss=0.25" logs.out || die "logs: no CloudWatch lines: $(cat logs.out)"
"$smflow" endpoints list --state-dir w/.smflow >ep.out || die "endpoints: exit $?"
grep -q "^qa4-ep .*InService" ep.out || die "endpoints: $(cat ep.out)"
"$smflow" invoke qa4-ep --state-dir w/.smflow --body w/request.csv --content-type text/csv \
  >inv.out 2>inv.err || die "invoke: exit $?: $(cat inv.err)"
[ -s inv.out ] || die "invoke: no body"

echo "== plan --target aws --json"
"$smflow" plan w/pipeline.yaml --target aws --json >plan.json || die "plan: exit $?"
python3 - plan.json <<'PY' || die "plan: $(cat plan.json)"
import json, sys
d = json.load(open(sys.argv[1]))
s = {x["id"]: x for x in d["steps"]}
assert [r["operation"] for r in s["code"]["requests"]] == ["HeadObject", "PutObject"], s["code"]
t = s["train"]["requests"][0]
assert (t["service"], t["operation"]) == ("sagemaker", "CreateTrainingJob"), t
assert t["body"]["EnableManagedSpotTraining"] is True, t
assert t["body"]["AlgorithmSpecification"]["TrainingImage"].endswith("pytorch-training:2.1-cpu-py310"), t
# The archive is packed offline: its key is known before the run.
assert t["body"]["HyperParameters"]["sagemaker_submit_directory"].startswith('"s3://qa4-bucket/code/sourcedir-'), t
assert t["body"]["TrainingJobName"] == "pytorch-${run.id}-train-1", t
for k in ("evaluate", "register", "deploy"):
    assert s[k]["action"] in ("run", "unknown"), s[k]
PY

echo "== a second run: the upload is reused"
"$smflow" endpoints delete qa4-ep --state-dir w/.smflow >/dev/null  # moto has no UpdateEndpoint
rec_start
"$smflow" run w/pipeline.yaml >run2.out 2>&1 || die "second run: exit $?: $(cat run2.out)"
rec_get second.rec
bodies second.rec >second.ops
grep -q "^PUT .*/code/sourcedir-" second.ops && die "second run: the archive was uploaded again"
"$smflow" status --state-dir w/.smflow --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
o = {s["id"]: s["outputs"] for s in d["steps"]}
assert o["code"]["reused"] is True, o["code"]
assert o["register"]["version"] == 2, o["register"]
' || die "second run: outputs"

echo "== kill -9 during a fit, then resume"
"$smflow" endpoints delete qa4-ep --state-dir w/.smflow >/dev/null
rm -rf w/.smflow
rec_start
SMFLOW_AWS_POLL_MS=60000 SMFLOW_AWS_POLL_MAX_MS=60000 "$smflow" run w/pipeline.yaml >run3.out 2>&1 &
runner=$!
for _ in $(seq 1 100); do
  grep -q "training job .* started" run3.out && break
  sleep 0.1
done
grep -q "training job .* started" run3.out || die "kill -9: the fit did not start: $(cat run3.out)"
kill -9 "$runner"
wait "$runner" 2>/dev/null || true
"$smflow" resume --state-dir w/.smflow >res.out 2>&1 || die "resume: exit $?: $(cat res.out)"
rec_get third.rec
bodies third.rec >third.ops
[ "$(grep -c '^SageMaker.CreateTrainingJob ' third.ops)" = 1 ] ||
  die "kill -9: not one CreateTrainingJob: $(grep CreateTrainingJob third.ops)"
"$smflow" status --state-dir w/.smflow --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["run"]["status"] == "succeeded", d["run"]
t = [s for s in d["steps"] if s["id"] == "train"][0]
assert t["attempts"] == 1 and t["state"] == "succeeded", t
' || die "kill -9: status after resume"
echo "acceptance_aws_pipeline: ok"

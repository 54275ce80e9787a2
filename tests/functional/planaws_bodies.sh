#!/usr/bin/env bash
# planaws_bodies.sh: `smflow plan --json --target aws` shows the bodies the aws
# target sends. Plan runs with no AWS credentials and an unreachable endpoint
# and must create nothing; then the pipeline runs against moto (request
# recorder on) and every planned CreateTrainingJob / CreateProcessingJob /
# CreateModelPackageGroup / CreateModelPackage / CreateModel /
# CreateEndpointConfig / CreateEndpoint body (deploy of model_data or of a
# model_package, `${steps.ID.arn}` or GROUP/VERSION), placeholders replaced
# by the run's values (tests/tools/plan_compare.py), equals the recorded one
# field by field: the SDK-parity pipeline of tests/data/aws/sdk (nine
# estimators, five deploys, two registers) and the five-step pipeline of
# tests/data/aws/full.
source "$(dirname "$0")/lib/aws.bash"
aws_test_init planaws_bodies moto_server aws curl
: "${smflow:?}"

# plan DIR: plan offline (no credentials, nothing listening on the endpoint).
plan() {
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
    AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
    AWS_ENDPOINT_URL=http://127.0.0.1:9 AWS_REGION=eu-west-1 \
    "$smflow" plan --json --target aws "$1/pipeline.yaml" >"$1.plan.json"
  [ ! -e "$1/.smflow" ] || { echo "plan created $1/.smflow" >&2; exit 1; }
}

mkdir -p "$tmp/sdk/code" "$tmp/sdk/model"
cp "$src/tests/data/aws/sdk/pipeline.yaml" "$tmp/sdk/"
printf 'def model_fn(model_dir):\n    return None\n' >"$tmp/sdk/code/inference.py"
echo "weights" >"$tmp/sdk/model/model.pkl"
tar -czf "$tmp/sdk/model.tar.gz" -C "$tmp/sdk/model" .
cp -r "$src/tests/data/aws/full" "$tmp/full"
plan "$tmp/sdk"
plan "$tmp/full"
# Placeholders for what only a run knows; values of earlier steps kept as ${...}.
python3 - "$tmp/full.plan.json" <<'PY'
import json, sys
d = {s["id"]: s for s in json.load(open(sys.argv[1]))["steps"]}
req = {r["operation"]: r for r in d["train"]["requests"]}
b = req["CreateTrainingJob"]["body"]
assert b["TrainingJobName"] == "sklearn-${run.id}-train-1", b["TrainingJobName"]
assert b["OutputDataConfig"]["S3OutputPath"] == "s3://${aws.default_bucket}/", b
# the upload's key is known offline (a function of the archive's content)
uri = d["code"]["outputs"]["uri"]
assert uri.startswith("s3://smflow-test-bucket/code/sourcedir-"), uri
assert b["HyperParameters"]["sagemaker_submit_directory"] == '"%s"' % uri, b
tags = {t["Key"]: t["Value"] for t in b["Tags"]}
assert tags["smflow:run-id"] == "${run.id}" and tags["smflow:attempt"] == "1", tags
assert tags["smflow:fingerprint"] == "${request.fingerprint}", tags
assert "SMFPLAN" not in json.dumps(d), "sentinel left in the plan"
PY

# Secrets: environment values whose names look secret are "***" in the real body.
mkdir -p "$tmp/sec"
cat >"$tmp/sec/pipeline.yaml" <<'YAML'
smflow: 1
name: sec
role: arn:aws:iam::123456789012:role/SageMakerRole
steps:
  train:
    fit:
      image_uri: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/mine:1
      instance_type: ml.m5.large
      environment: {API_KEY: hunter2secret, DB_PASSWORD: pw123456, PLAIN: visible}
YAML
plan "$tmp/sec"
python3 - "$tmp/sec.plan.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
b = d["steps"][0]["requests"][-1]["body"]
assert b["Environment"] == {"API_KEY": "***", "DB_PASSWORD": "***", "PLAIN": "visible"}, b
assert b["TrainingJobName"] == "mine-${run.id}-train-1", b["TrainingJobName"]
assert "hunter2secret" not in json.dumps(d) and "pw123456" not in json.dumps(d), d
PY

# A deploy of GROUP/VERSION: CreateModel names the ARN that version has.
mkdir -p "$tmp/pkg"
cat >"$tmp/pkg/pipeline.yaml" <<'YAML'
smflow: 1
name: pkg
role: arn:aws:iam::123456789012:role/SageMakerRole
steps:
  serve:
    deploy:
      endpoint: pkg-ep
      model_package: my-models/3
      instance_type: ml.m5.large
      environment: {MODE: fast}
YAML
plan "$tmp/pkg"
python3 - "$tmp/pkg.plan.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
req = {r["operation"]: r for r in d["steps"][0]["requests"]}
b = req["CreateModel"]["body"]
assert b["Containers"] == [{"ModelPackageName":
    "arn:aws:sagemaker:eu-west-1:${aws.account_id}:model-package/my-models/3",
    "Environment": {"MODE": "fast"}}], b
assert b["ModelName"] == "pkg-ep-${run.id}-serve-1" and "PrimaryContainer" not in b, b
assert req["CreateEndpoint"]["body"]["EndpointName"] == "pkg-ep", req
PY

cd "$tmp"  # moto writes its recording file into its working directory
aws_test_moto "$tmp/moto"
ep=$AWS_ENDPOINT_URL
export SMFLOW_AWS_POLL_MS=300 SMFLOW_AWS_POLL_MAX_MS=1000
awsc() { aws --endpoint-url "$ep" "$@"; }
rec_start() {
  curl -sf -X POST "$ep/moto-api/recorder/reset-recording" >/dev/null
  curl -sf -X POST "$ep/moto-api/recorder/start-recording" >/dev/null
}
rec_get() { curl -sf "$ep/moto-api/recorder/download-recording" >"$1"; }
account=$(awsc sts get-caller-identity --query Account --output text)
awsc s3 mb s3://smflow-test-bucket >/dev/null
echo "fake" >"$tmp/sourcedir.tar.gz"
awsc s3 cp "$tmp/sourcedir.tar.gz" s3://smflow-test-bucket/code/sourcedir.tar.gz --quiet
awsc s3 cp "$tmp/sdk/model.tar.gz" s3://smflow-test-bucket/models/model.tar.gz --quiet

echo "== SDK-parity pipeline (nine estimators, five deploys, two registers): plan vs run"
rec_start
"$smflow" run -q "$tmp/sdk/pipeline.yaml"
rec_get "$tmp/sdk.rec"
"$smflow" status --state-dir "$tmp/sdk/.smflow" --json >"$tmp/sdk.status.json"
python3 "$src/tests/tools/plan_compare.py" "$tmp/sdk.plan.json" "$tmp/sdk.rec" \
  "$tmp/sdk.status.json" "$account" "$AWS_REGION" CreateTrainingJob \
  CreateModelPackageGroup CreateModelPackage CreateModel CreateEndpointConfig CreateEndpoint

echo "== five-step pipeline: plan vs run"
python3 "$src/tests/tools/moto_put_reports.py" 2>"$tmp/reports.log" &
reports=$!
pids+=("$reports")
rec_start
SMFLOW_AWS_POLL_MS=2500 "$smflow" run -q "$tmp/full/pipeline.yaml" --target aws
kill "$reports"
rec_get "$tmp/full.rec"
"$smflow" status --state-dir "$tmp/full/.smflow" --json >"$tmp/full.status.json"
python3 "$src/tests/tools/plan_compare.py" "$tmp/full.plan.json" "$tmp/full.rec" \
  "$tmp/full.status.json" "$account" "$AWS_REGION" CreateTrainingJob CreateProcessingJob \
  CreateModelPackageGroup CreateModelPackage CreateModel CreateEndpointConfig CreateEndpoint
echo "planaws_bodies: ok"

#!/usr/bin/env bash
# aws_target.sh: `smflow run --target aws` against moto with signature checking
# on (tests/tools/moto_up.sh), every request recorded by moto's recorder:
#   - SDK parity: nine estimators' CreateTrainingJob bodies, five deploys' and
#     two registers' bodies against the ones the SDK sent
#     (tests/data/aws/sdk-recorded), the inference code where those bodies say,
#     and every request body against botocore's shapes;
#   - upload only: HeadObject first, multipart above 16 MiB, read back with the
#     AWS CLI; a second run uploads nothing;
#   - the five-step pipeline (moto runs no script and writes no artifact: a
#     helper writes each evaluation report where the script would have);
#   - kill -9 at random instants during fits, then resume: one CreateTrainingJob
#     per job name (= per step attempt);
#   - a CreateTrainingJob answer dropped by mitmproxy after moto acted: resolved
#     by Describe + the fingerprint tag, no second job;
#   - a throttling storm: the run completes on its first attempts.
source "$(dirname "$0")/lib/aws.bash"
aws_test_init aws_target moto_server aws mitmdump curl
: "${smflow:?}"
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
# ops FILE: "METHOD TARGET-or-PATH" per recorded request
ops() {
  python3 -c '
import sys, json
sys.path.insert(0, sys.argv[2])
from check_shapes import records
for r in records(sys.argv[1]):
    h = {k.lower(): v for k, v in r.get("headers", {}).items()}
    print(r.get("method"), h.get("x-amz-target") or r.get("url", ""))
' "$1" "$src/tests/tools"
}
status_json() { "$smflow" status --state-dir "$1" --json; }
awsc s3 mb s3://smflow-test-bucket >/dev/null
echo "fake" >"$tmp/sourcedir.tar.gz"
awsc s3 cp "$tmp/sourcedir.tar.gz" s3://smflow-test-bucket/code/sourcedir.tar.gz --quiet

echo "== SDK parity of CreateTrainingJob, CreateModel, CreateEndpointConfig, CreateEndpoint, CreateModelPackage; request shapes"
mkdir -p "$tmp/sdk/code" "$tmp/sdk/model"
cp "$src/tests/data/aws/sdk/pipeline.yaml" "$tmp/sdk/"
printf 'def model_fn(model_dir):\n    return None\n' >"$tmp/sdk/code/inference.py"
echo "weights" >"$tmp/sdk/model/model.pkl"
tar -czf "$tmp/sdk/model.tar.gz" -C "$tmp/sdk/model" .
awsc s3 cp "$tmp/sdk/model.tar.gz" s3://smflow-test-bucket/models/model.tar.gz --quiet
rec_start
"$smflow" run -q "$tmp/sdk/pipeline.yaml"
rec_get "$tmp/sdk.rec"
python3 "$src/tests/tools/sdk_compare.py" "$tmp/sdk.rec" "$src/tests/data/aws/sdk-recorded"
python3 "$src/tests/tools/check_shapes.py" "$tmp/sdk.rec"
# The code is where those bodies say: sourcedir.tar.gz with inference.py at its
# root (SKLearn / XGBoost deploy, SKLearn register), a model repacked with
# code/inference.py (PyTorch).
python3 - "$tmp/sdk.rec" "$src/tests/tools" >"$tmp/sdk.code" <<'PY'
import base64, json, sys
sys.path.insert(0, sys.argv[2])
from check_shapes import records
for r in records(sys.argv[1]):
    op = r.get("headers", {}).get("X-Amz-Target", "")
    if op not in ("SageMaker.CreateModel", "SageMaker.CreateModelPackage"):
        continue
    b = json.loads(base64.b64decode(r["body"]).decode() if r.get("body_encoded") else r["body"])
    for c in [b.get("PrimaryContainer")] + b.get("InferenceSpecification", {}).get("Containers", []):
        d = (c or {}).get("Environment", {}).get("SAGEMAKER_SUBMIT_DIRECTORY", "")
        if d.startswith("s3://"):
            print("code", d)
        elif d == "/opt/ml/model/code":
            print("model", c["ModelDataUrl"])
PY
[ "$(grep -c '^code .*/sourcedir.tar.gz$' "$tmp/sdk.code")" = 3 ] && grep -q '^model ' "$tmp/sdk.code" || {
  cat "$tmp/sdk.code" >&2; echo "want three uploaded sources and a repacked model" >&2; exit 1; }
while read -r kind uri; do
  awsc s3 cp "$uri" "$tmp/code.tar.gz" --quiet
  want=inference.py
  [ "$kind" = code ] || want=code/inference.py
  # (listed to a file: grep -q may stop reading before tar has written it all,
  # and the SIGPIPE would fail the pipeline under pipefail)
  tar -tzf "$tmp/code.tar.gz" >"$tmp/code.list"
  grep -qx "$want" "$tmp/code.list" || {
    echo "$uri lacks $want" >&2; tar -tzf "$tmp/code.tar.gz" >&2; exit 1; }
done <"$tmp/sdk.code"

echo "== upload only: HeadObject first, multipart, read back with the AWS CLI; then reused"
mkdir -p "$tmp/up/src"
head -c $((20 * 1024 * 1024)) /dev/urandom >"$tmp/up/src/big.bin"
echo 'print("hello")' >"$tmp/up/src/train.py"
cat >"$tmp/up/pipeline.yaml" <<'EOF'
smflow: 1
name: uponly
target: aws
steps:
  code:
    upload: {source_dir: src, to: "s3://smflow-test-bucket/up/"}
EOF
rec_start
"$smflow" run -q "$tmp/up/pipeline.yaml"
rec_get "$tmp/up1.rec"
ops "$tmp/up1.rec" >"$tmp/up1.ops"
head -n 3 "$tmp/up1.ops" | grep -q '^HEAD ' || { echo "no HeadObject before the upload" >&2; cat "$tmp/up1.ops"; exit 1; }
grep -q '^POST .*sourcedir-.*?uploads' "$tmp/up1.ops" || { echo "no CreateMultipartUpload" >&2; cat "$tmp/up1.ops"; exit 1; }
grep -q '^PUT .*sourcedir-.*partNumber=2' "$tmp/up1.ops" || { echo "no second part" >&2; cat "$tmp/up1.ops"; exit 1; }
uri=$(status_json "$tmp/up/.smflow" | python3 -c 'import json,sys; print(json.load(sys.stdin)["steps"][0]["outputs"]["uri"])')
sha=$(status_json "$tmp/up/.smflow" | python3 -c 'import json,sys; print(json.load(sys.stdin)["steps"][0]["outputs"]["sha256"])')
awsc s3 cp "$uri" "$tmp/up/back.tar.gz" --quiet
echo "$sha  $tmp/up/back.tar.gz" | sha256sum -c --quiet
mkdir -p "$tmp/up/x" && tar -xzf "$tmp/up/back.tar.gz" -C "$tmp/up/x"
cmp "$tmp/up/src/big.bin" "$tmp/up/x/big.bin"
cmp "$tmp/up/src/train.py" "$tmp/up/x/train.py"
rec_start
"$smflow" run -q "$tmp/up/pipeline.yaml"
rec_get "$tmp/up2.rec"
ops "$tmp/up2.rec" >"$tmp/up2.ops"
if grep -q '^PUT \|^POST .*uploads' "$tmp/up2.ops"; then
  echo "the second run uploaded again" >&2; cat "$tmp/up2.ops"; exit 1
fi
status_json "$tmp/up/.smflow" | python3 -c 'import json,sys; assert json.load(sys.stdin)["steps"][0]["outputs"]["reused"] is True'

echo "== local inputs are uploaded first, content-addressed, once"
mkdir -p "$tmp/local/data/train/part" "$tmp/local/data/test"
echo "a,b" >"$tmp/local/data/train/one.csv"
echo "c,d" >"$tmp/local/data/train/part/two.csv"
echo "e,f" >"$tmp/local/data/test/three.csv"
cat >"$tmp/local/pipeline.yaml" <<'EOF'
smflow: 1
name: localin
target: aws
role: arn:aws:iam::123456789012:role/R
steps:
  train:
    fit:
      entry_point: train.py
      source: "s3://smflow-test-bucket/code/sourcedir.tar.gz"
      image_uri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/train:1"
      instance_type: ml.m5.large
      inputs: {train: data/train, test: data/test/three.csv}
EOF
for round in 1 2; do
  rec_start
  "$smflow" run -q "$tmp/local/pipeline.yaml"
  rec_get "$tmp/local$round.rec"
  ops "$tmp/local$round.rec" >"$tmp/local$round.ops"
done
python3 - "$tmp/local1.rec" "$src/tests/tools" >"$tmp/local.uris" <<'PY'
import base64, json, sys
sys.path.insert(0, sys.argv[2])
from check_shapes import records
for r in records(sys.argv[1]):
    if r.get("headers", {}).get("X-Amz-Target") == "SageMaker.CreateTrainingJob":
        b = json.loads(base64.b64decode(r["body"]).decode() if r.get("body_encoded") else r["body"])
        for c in b["InputDataConfig"]:
            print(c["ChannelName"], c["DataSource"]["S3DataSource"]["S3Uri"])
PY
cat "$tmp/local.uris"
train=$(awk '$1 == "train" {print $2}' "$tmp/local.uris")
test_uri=$(awk '$1 == "test" {print $2}' "$tmp/local.uris")
case "$train" in s3://sagemaker-eu-west-1-123456789012/smflow/inputs/*/) ;; *) echo "bad train URI $train" >&2; exit 1;; esac
case "$test_uri" in s3://sagemaker-eu-west-1-123456789012/smflow/inputs/*/three.csv) ;; *) echo "bad test URI $test_uri" >&2; exit 1;; esac
[ "$(awsc s3 cp "${train}part/two.csv" -)" = "c,d" ]
[ "$(awsc s3 cp "${train}one.csv" -)" = "a,b" ]
[ "$(awsc s3 cp "$test_uri" -)" = "e,f" ]
if grep -q '^PUT .*/smflow/inputs/' "$tmp/local2.ops"; then
  echo "the second run uploaded the inputs again" >&2; cat "$tmp/local2.ops"; exit 1
fi
echo "== the five-step pipeline"
cp -r "$src/tests/data/aws/full" "$tmp/full"
python3 "$src/tests/tools/moto_put_reports.py" 2>"$tmp/reports.log" &
reports=$!
pids+=("$reports")
rec_start
SMFLOW_AWS_POLL_MS=2500 "$smflow" run -q "$tmp/full/pipeline.yaml" --target aws
kill "$reports"
rec_get "$tmp/full.rec"
python3 "$src/tests/tools/check_shapes.py" "$tmp/full.rec"
ops "$tmp/full.rec" >"$tmp/full.ops"
for op in CreateTrainingJob CreateProcessingJob CreateModelPackageGroup CreateModelPackage \
  CreateModel CreateEndpointConfig CreateEndpoint; do
  grep -q "SageMaker.$op\$" "$tmp/full.ops" || { echo "no $op" >&2; exit 1; }
done
status_json "$tmp/full/.smflow" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["run"]["status"] == "succeeded", d["run"]
o = {s["id"]: s.get("outputs", {}) for s in d["steps"]}
assert o["evaluate"]["metrics"]["accuracy"] == 0.91, o["evaluate"]
assert o["register"]["version"] == 1 and o["register"]["approval"] == "Approved", o["register"]
assert o["deploy"]["endpoint"] == "awsfull", o["deploy"]
assert o["deploy_pkg"]["endpoint"] == "awsfull-pkg", o["deploy_pkg"]
assert o["train"]["model_data"].endswith("/output/model.tar.gz"), o["train"]
'
# The `aws` globals of expressions.
grep -q '"ModelPackageDescription": "trained in eu-west-1 for 123456789012, stored in sagemaker-eu-west-1-123456789012"' \
  <(python3 -c '
import base64, json, sys
sys.path.insert(0, sys.argv[2])
from check_shapes import records
for r in records(sys.argv[1]):
    if r.get("headers", {}).get("X-Amz-Target") == "SageMaker.CreateModelPackage":
        b = base64.b64decode(r["body"]).decode() if r.get("body_encoded") else r["body"]
        print(json.dumps(json.loads(b)))
' "$tmp/full.rec" "$src/tests/tools") || { echo "aws.* globals not in the description" >&2; exit 1; }
# deploy_pkg names the registered version (ModelPackage.deploy: Containers
# [{ModelPackageName}]); deploy, an SKLearnModel with an entry point, leaves the
# model as it is and uploads the code as MODEL/sourcedir.tar.gz, as the SDK does.
model=$(status_json "$tmp/full/.smflow" | python3 -c 'import json,sys; print([s for s in json.load(sys.stdin)["steps"] if s["id"] == "deploy"][0]["outputs"]["model_name"])')
status_json "$tmp/full/.smflow" >"$tmp/full.status.json"
python3 - "$tmp/full.rec" "$src/tests/tools" "$tmp/full.status.json" "$model" <<'PY'
import base64, json, sys
sys.path.insert(0, sys.argv[2])
from check_shapes import records
outputs = {s["id"]: s.get("outputs", {}) for s in json.load(open(sys.argv[3]))["steps"]}
models = {}
for r in records(sys.argv[1]):
    if r.get("headers", {}).get("X-Amz-Target") == "SageMaker.CreateModel":
        b = base64.b64decode(r["body"]).decode() if r.get("body_encoded") else r["body"]
        m = json.loads(b)
        models[m["ModelName"]] = m
pkg = [m for n, m in models.items() if n.startswith("awsfull-pkg")]
assert len(pkg) == 1, models
assert pkg[0]["Containers"] == [{"ModelPackageName": outputs["register"]["arn"]}], pkg
assert "PrimaryContainer" not in pkg[0], pkg
c = models[sys.argv[4]]["PrimaryContainer"]
assert c["ModelDataUrl"] == outputs["train"]["model_data"], c
code = "s3://sagemaker-eu-west-1-123456789012/%s/sourcedir.tar.gz" % sys.argv[4]
assert c["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == code, c
assert c["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py", c
PY
# The endpoint records keep the model each one serves (the package's, from the registry).
"$smflow" endpoints list --json --state-dir "$tmp/full/.smflow" | python3 -c '
import json, sys
e = {x["name"]: x for x in json.load(sys.stdin)["endpoints"]}
o = {s["id"]: s.get("outputs", {}) for s in json.load(open(sys.argv[1]))["steps"]}
assert e["awsfull-pkg"]["model_data"] == o["train"]["model_data"], e
assert e["awsfull"]["model_data"] == o["train"]["model_data"], e
' "$tmp/full.status.json"
awsc s3 cp "s3://sagemaker-eu-west-1-123456789012/$model/sourcedir.tar.gz" "$tmp/sourcedir-up.tar.gz" --quiet
grep -qx 'inference.py' <(tar -tzf "$tmp/sourcedir-up.tar.gz") || {
  echo "the uploaded code lacks inference.py at its root" >&2; tar -tzf "$tmp/sourcedir-up.tar.gz"; exit 1; }
# The training log lines came from CloudWatch, with their host.
grep -q 'algo-1 | epoch 2 loss=0.25' "$tmp"/full/.smflow/logs/*/train.1.log || {
  echo "the training job's CloudWatch lines are not in the step log" >&2; exit 1; }

echo "== kill -9 at random instants during fits, then resume"
mkdir -p "$tmp/crash"
{
  printf 'smflow: 1\nname: crashfit\ntarget: aws\nrole: arn:aws:iam::123456789012:role/R\nsteps:\n'
  for i in 1 2 3 4 5 6 7 8 9 10; do
    printf '  fit%s:\n    fit:\n      entry_point: train.py\n' "$i"
    printf '      source: "s3://smflow-test-bucket/code/sourcedir.tar.gz"\n'
    printf '      image_uri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/train:1"\n'
    printf '      base_job_name: crash\n      instance_type: ml.m5.large\n'
  done
} >"$tmp/crash/pipeline.yaml"
rec_start
first=1
killed=0
for round in 1 2 3 4 5 6 7 8; do
  if [ "$first" = 1 ]; then
    SMFLOW_AWS_POLL_MS=1500 "$smflow" run -q "$tmp/crash/pipeline.yaml" >/dev/null 2>&1 &
  else
    SMFLOW_AWS_POLL_MS=1500 "$smflow" resume -q --state-dir "$tmp/crash/.smflow" >/dev/null 2>&1 &
  fi
  p=$!
  sleep "$(python3 -c 'import random; print(round(random.uniform(0.05, 1.2), 2))')"
  if kill -9 "$p" 2>/dev/null; then killed=$((killed + 1)); fi
  wait "$p" 2>/dev/null || true
  if [ -f "$tmp/crash/.smflow/state.db" ]; then first=0; fi
done
if [ "$first" = 1 ]; then
  "$smflow" run -q "$tmp/crash/pipeline.yaml"
else
  "$smflow" resume -q --state-dir "$tmp/crash/.smflow" || true
  "$smflow" resume -q --state-dir "$tmp/crash/.smflow" 2>/dev/null || true
fi
echo "killed smflow $killed times"
rec_get "$tmp/crash.rec"
status_json "$tmp/crash/.smflow" >"$tmp/crash.status"
python3 - "$tmp/crash.rec" "$tmp/crash.status" "$src/tests/tools" <<'PY'
import base64, collections, json, sys
sys.path.insert(0, sys.argv[3])
from check_shapes import records
creates = collections.Counter()
for r in records(sys.argv[1]):
    h = {k.lower(): v for k, v in r.get("headers", {}).items()}
    if h.get("x-amz-target") == "SageMaker.CreateTrainingJob":
        body = base64.b64decode(r["body"]).decode() if r.get("body_encoded") else r["body"]
        creates[json.loads(body)["TrainingJobName"]] += 1
st = json.load(open(sys.argv[2]))
assert st["run"]["status"] == "succeeded", st["run"]
dups = {k: v for k, v in creates.items() if v != 1}
assert not dups, "CreateTrainingJob sent more than once for %s" % dups
for s in st["steps"]:
    assert s["outputs"]["job_name"] in creates, s
print("%d CreateTrainingJob for %d steps, each job name once; attempts: %s" % (
    sum(creates.values()), len(st["steps"]), sorted(s["attempts"] for s in st["steps"])))
PY

echo "== faults through mitmproxy: a dropped CreateTrainingJob answer, a throttling storm"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
STORM_COUNT=8 mitmdump --mode "reverse:http://127.0.0.1:$SMF_MOTO_PORT" --listen-port "$port" \
  --set keep_host_header=true -s "$src/tests/tools/aws_target_faults.py" -q >"$tmp/mitm.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), timeout=0.2)" 2>/dev/null; then
    break
  fi
  sleep 0.1
done
for case in fault-drop storm; do
  mkdir -p "$tmp/$case"
  cat >"$tmp/$case/pipeline.yaml" <<EOF
smflow: 1
name: $case
target: aws
role: arn:aws:iam::123456789012:role/R
steps:
  train:
    fit:
      entry_point: train.py
      source: "s3://smflow-test-bucket/code/sourcedir.tar.gz"
      image_uri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/train:1"
      base_job_name: $case
      instance_type: ml.m5.large
EOF
  rec_start
  AWS_ENDPOINT_URL_SAGEMAKER="http://127.0.0.1:$port" "$smflow" run -q "$tmp/$case/pipeline.yaml"
  rec_get "$tmp/$case.rec"
  ops "$tmp/$case.rec" >"$tmp/$case.ops"
  n=$(grep -c 'SageMaker.CreateTrainingJob$' "$tmp/$case.ops" || true)
  [ "$n" = 1 ] || { echo "$case: $n CreateTrainingJob reached moto" >&2; cat "$tmp/$case.ops"; exit 1; }
  status_json "$tmp/$case/.smflow" | python3 -c '
import json, sys
s = json.load(sys.stdin)["steps"][0]
assert s["state"] == "succeeded" and s["attempts"] == 1, s'
done
grep -q 'SageMaker.ListTags$' "$tmp/fault-drop.ops" || { echo "the dropped answer was not resolved by the fingerprint" >&2; exit 1; }
echo "== credentials that expire are refreshed during the run (assumed role)"
mkdir -p "$tmp/role"
cat >"$tmp/role/config" <<EOF
[profile base]
aws_access_key_id = $AWS_ACCESS_KEY_ID
aws_secret_access_key = $AWS_SECRET_ACCESS_KEY
[profile role]
role_arn = arn:aws:iam::123456789012:role/smflow-test
source_profile = base
region = eu-west-1
EOF
{
  printf 'smflow: 1\nname: rolefit\ntarget: aws\nrole: arn:aws:iam::123456789012:role/R\nsteps:\n'
  prev=
  for i in 1 2 3; do
    printf '  fit%s:\n' "$i"
    [ -n "$prev" ] && printf '    needs: [%s]\n' "$prev"
    printf '    fit:\n      entry_point: train.py\n'
    printf '      source: "s3://smflow-test-bucket/code/sourcedir.tar.gz"\n'
    printf '      image_uri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/train:1"\n'
    printf '      instance_type: ml.m5.large\n'
    prev=fit$i
  done
} >"$tmp/role/pipeline.yaml"
rec_start
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_REGION -u AWS_DEFAULT_REGION \
  AWS_CONFIG_FILE="$tmp/role/config" AWS_SHARED_CREDENTIALS_FILE="$tmp/role/none" \
  AWS_PROFILE=role SMFLOW_AWS_CREDS_CHECK_MS=300 SMFLOW_AWS_CREDS_REFRESH_EARLY_MS=100000000 \
  SMFLOW_AWS_POLL_MS=1000 "$smflow" run -q "$tmp/role/pipeline.yaml"
rec_get "$tmp/role.rec"
python3 - "$tmp/role.rec" "$src/tests/tools" <<'PY'
import base64, sys
sys.path.insert(0, sys.argv[2])
from check_shapes import records
keys, assumes = set(), 0
for r in records(sys.argv[1]):
    body = base64.b64decode(r["body"]).decode() if r.get("body_encoded") else (r.get("body") or "")
    if "Action=AssumeRole" in body:
        assumes += 1
    auth = r.get("headers", {}).get("Authorization", "")
    if "SageMaker" in r.get("headers", {}).get("X-Amz-Target", "") and "Credential=" in auth:
        keys.add(auth.split("Credential=")[1].split("/")[0])
assert assumes >= 3, "only %d AssumeRole calls" % assumes
assert len(keys) >= 2, "SageMaker calls were signed with %d key(s) only" % len(keys)
print("%d AssumeRole calls; SageMaker calls signed with %d different session keys" % (assumes, len(keys)))
PY
echo "== endpoint updates (blue/green) and the restore of a failed update (fake hosting API)"
python3 "$src/tests/tools/fake_sagemaker_hosting.py" "$tmp/hosting.rec" >"$tmp/hosting.port" &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$tmp/hosting.port" ] && break; sleep 0.1; done
hport=$(cat "$tmp/hosting.port")
for case in good broken; do
  mkdir -p "$tmp/dep-$case"
  cat >"$tmp/dep-$case/pipeline.yaml" <<EOF
smflow: 1
name: dep$case
target: aws
role: arn:aws:iam::123456789012:role/R
steps:
  deploy:
    deploy:
      endpoint: existing
      model_data: "s3://smflow-test-bucket/models/model.tar.gz"
      image_uri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/$case:1"
      instance_type: ml.m5.large
      strategy:
        blue_green: {canary: 10, wait: 5m}
        rollback_alarms: [endpoint-5xx]
EOF
  set +e
  AWS_ENDPOINT_URL_SAGEMAKER="http://127.0.0.1:$hport" SMFLOW_AWS_POLL_MS=100 \
    "$smflow" run "$tmp/dep-$case/pipeline.yaml" >"$tmp/dep-$case.out" 2>&1
  rc=$?
  set -e
  if [ "$case" = good ]; then
    [ "$rc" = 0 ] || { cat "$tmp/dep-$case.out" >&2; exit 1; }
  else
    [ "$rc" = 1 ] || { echo "a failed update did not fail the step" >&2; cat "$tmp/dep-$case.out" >&2; exit 1; }
    grep -q 'restored the previous config' "$tmp/dep-$case.out" || { cat "$tmp/dep-$case.out" >&2; exit 1; }
  fi
done
python3 "$src/tests/tools/check_shapes.py" "$tmp/hosting.rec"
python3 - "$tmp/hosting.rec" <<'PY'
import json, sys
ups = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1]) if '"SageMaker.UpdateEndpoint"' in l]
assert len(ups) == 3, ups  # good, broken, the restore
want = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
    "Type": "CANARY", "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
    "WaitIntervalInSeconds": 300}},
    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "endpoint-5xx"}]}}
assert ups[0]["DeploymentConfig"] == want, ups[0]
assert ups[1]["DeploymentConfig"] == want, ups[1]
# The restore goes back to what served before the broken update: the good config.
assert ups[2] == {"EndpointName": "existing", "EndpointConfigName": ups[0]["EndpointConfigName"]}, ups
print("updates:", [u["EndpointConfigName"] for u in ups])
PY
echo "aws_target: all cases passed"

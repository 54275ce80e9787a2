#!/usr/bin/env bash
# acceptance_aws_local_paths.sh: SPEC §5 "local paths given where a URI is
# needed are uploaded first (content-addressed) under the default bucket" for
# register's and deploy's model_data on the aws target (moto with signature
# checking): CreateModelPackage and CreateModel name the uploaded object, never
# the local path; the key is the one an evaluate step's input of the same file
# gets; a second run uploads nothing; copy_to copies the uploaded object; a
# repacking deploy (PyTorch with an entry point) reads it; a missing file fails
# the step naming it.
source "$(dirname "$0")/lib/aws.bash"
aws_test_init acceptance_aws_local_paths moto_server aws curl
: "${smflow:?}"
cd "$tmp"
aws_test_moto "$tmp/moto"
ep=$AWS_ENDPOINT_URL
export SMFLOW_AWS_POLL_MS=200 SMFLOW_AWS_POLL_MAX_MS=500
die() { echo "acceptance_aws_local_paths: $*" >&2; exit 1; }
awsc() { aws --endpoint-url "$ep" "$@"; }
rec_start() {
  curl -sf -X POST "$ep/moto-api/recorder/reset-recording" >/dev/null
  curl -sf -X POST "$ep/moto-api/recorder/start-recording" >/dev/null
}
rec_get() { curl -sf "$ep/moto-api/recorder/download-recording" >"$1"; }
awsc s3 mb s3://qa4-bucket >/dev/null
awsc s3 mb s3://sagemaker-eu-west-1-123456789012 >/dev/null
mkdir -p w/code w/m
echo "weights" >w/m/model.pkl
tar -C w/m -czf w/model.tar.gz model.pkl
printf 'def model_fn(model_dir):\n    return None\n' >w/code/inference.py
cat >w/p.yaml <<'Y'
smflow: 1
name: qa4local
target: aws
role: arn:aws:iam::123456789012:role/SageMakerRole
steps:
  reg:
    register:
      model_package_group: qa4-local
      model_data: model.tar.gz
      image_uri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/inf:1"
      content_types: [text/csv]
      response_types: [text/csv]
      copy_to: "s3://qa4-bucket/registry/"
  dep:
    deploy:
      endpoint: qa4-local-ep
      model_data: model.tar.gz
      image_uri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/inf:1"
      instance_type: ml.m5.large
  dep_repack:
    deploy:
      endpoint: qa4-local-repack
      model_data: "file://${env.PWD}/w/model.tar.gz"
      framework: pytorch
      framework_version: "2.1"
      py_version: py310
      entry_point: inference.py
      source_dir: code
      instance_type: ml.m5.large
Y
# The key of the file: SHA-256 over "model.tar.gz\0" and the file's SHA-256.
sum=$(python3 -c '
import hashlib, sys
h = hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest()
print(hashlib.sha256(b"model.tar.gz\0" + h.encode()).hexdigest()[:16])' w/model.tar.gz)
want="s3://sagemaker-eu-west-1-123456789012/smflow/inputs/$sum/model.tar.gz"

rec_start
"$smflow" run w/p.yaml >run.out 2>&1 || die "run: exit $?: $(cat run.out)"
rec_get first.rec
pkg=$(awsc sagemaker describe-model-package --output text \
  --model-package-name "arn:aws:sagemaker:eu-west-1:123456789012:model-package/qa4-local/1" \
  --query 'InferenceSpecification.Containers[0].ModelDataUrl')
[ "$pkg" = "$want" ] || die "register: ModelDataUrl $pkg, want $want"
awsc s3 cp "$want" got.tar.gz --quiet
cmp got.tar.gz w/model.tar.gz || die "register: the uploaded object differs from the file"
awsc s3api head-object --bucket qa4-bucket --key registry/qa4-local/1/model.tar.gz >/dev/null ||
  die "register: copy_to has no object"
"$smflow" status --state-dir w/.smflow --json >status.json
model=$(python3 -c '
import json, sys
o = {s["id"]: s["outputs"] for s in json.load(open(sys.argv[1]))["steps"]}
print(o["dep"]["model_name"])' status.json)
md=$(awsc sagemaker describe-model --model-name "$model" --output text --query PrimaryContainer.ModelDataUrl)
[ "$md" = "$want" ] || die "deploy: ModelDataUrl $md, want $want"
grep -q '/tmp/\|file://' <(python3 -c '
import base64, sys
sys.path.insert(0, sys.argv[2])
from check_shapes import records
for r in records(sys.argv[1]):
    if r.get("headers", {}).get("X-Amz-Target", "").startswith("SageMaker."):
        b = r.get("body") or ""
        print(base64.b64decode(b).decode() if r.get("body_encoded") else b)
' first.rec "$src/tests/tools") && die "a SageMaker request names a local path"

echo "== a second run uploads nothing"
"$smflow" endpoints delete qa4-local-ep --state-dir w/.smflow >/dev/null   # moto has no UpdateEndpoint
"$smflow" endpoints delete qa4-local-repack --state-dir w/.smflow >/dev/null
rec_start
"$smflow" run w/p.yaml >run2.out 2>&1 || die "second run: exit $?: $(cat run2.out)"
rec_get second.rec
grep -q "smflow/inputs/$sum/model.tar.gz\"" <(python3 -c '
import sys
sys.path.insert(0, sys.argv[2])
from check_shapes import records
for r in records(sys.argv[1]):
    if r.get("method") == "PUT":
        print("\"" + r.get("url", "").split("?")[0].split("/", 3)[-1] + "\"")
' second.rec "$src/tests/tools") && die "second run: the model was uploaded again"

echo "== a missing file"
sed 's/model_data: model.tar.gz/model_data: missing.tar.gz/' w/p.yaml >w/missing.yaml
set +e
"$smflow" run w/missing.yaml --only reg >miss.out 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || die "missing file: exit $rc: $(cat miss.out)"
grep -q "missing.tar.gz" miss.out || die "missing file: not named: $(cat miss.out)"
echo "acceptance_aws_local_paths: ok"

#!/usr/bin/env bash
# plan_upload.sh: `smflow plan` shows what an `upload` step would send: the
# archive packed as the run packs it (SHA-256, size, content-addressed key),
# HeadObject then PutObject (or a multipart upload above 16 MiB, part by part,
# with each part's x-amz-checksum-sha256), and the step's outputs, which later
# steps then use instead of `${steps.ID.uri}`.
#
# Plan runs offline (no credentials, an unreachable endpoint) and leaves
# nothing behind: no state directory, nothing in TMPDIR. Then the pipeline runs
# against moto (signatures checked) with its request recorder on, and
#  - every planned S3 call equals the recorded one (tests/tools/plan_compare.py:
#    bucket, key, part number, Content-Length, Content-Type, checksums, the
#    CompleteMultipartUpload part list), and so does the downstream
#    CreateTrainingJob, whose sagemaker_submit_directory is the planned URI;
#  - the AWS CLI reads back objects of the planned size and SHA-256 at the
#    planned keys, in the planned number of parts;
#  - the run's outputs are the planned ones;
#  - a second run finds the objects (HeadObject) and sends no PutObject.
# The local target: the planned outputs equal those of a local run.
source "$(dirname "$0")/lib/aws.bash"
aws_test_init plan_upload moto_server aws curl sha256sum
: "${smflow:?}"

p=$tmp/proj
mkdir -p "$p/code/pkg" "$p/lib/helpers" "$p/big" "$tmp/plantmp"
printf 'import pkg\nprint("train")\n' >"$p/code/train.py"
printf '' >"$p/code/pkg/__init__.py"
printf 'def helper():\n    return 1\n' >"$p/lib/helpers/util.py"
# Incompressible and above the 16 MiB multipart threshold: two parts.
head -c $((17 * 1024 * 1024 + 12345)) /dev/urandom >"$p/big/blob.bin"
cat >"$p/pipeline.yaml" <<'YAML'
smflow: 1
name: planup
role: arn:aws:iam::123456789012:role/SageMakerRole
steps:
  code:
    upload: {source_dir: code, dependencies: [lib/helpers]}
  blob:
    upload: {source_dir: big, to: "s3://smflow-plan-bucket/blobs"}
  train:
    needs: [code]
    fit:
      entry_point: train.py
      source: "${steps.code.uri}"
      framework: sklearn
      framework_version: "1.2-1"
      instance_type: ml.m5.large
  note:
    needs: [code, blob]
    run: "echo code=${steps.code.uri} blob=${steps.blob.sha256}"
  reused:
    needs: [code]
    run: "echo reused=${steps.code.reused}"
YAML

# plan TARGET OUT: plan offline (no credentials, nothing listening).
plan() {
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
    AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
    AWS_ENDPOINT_URL=http://127.0.0.1:9 AWS_REGION=eu-west-1 TMPDIR="$tmp/plantmp" \
    "$smflow" plan --json --target "$1" "$p/pipeline.yaml" >"$2"
  [ ! -e "$p/.smflow" ] || { echo "plan created $p/.smflow" >&2; exit 1; }
  [ -z "$(ls -A "$tmp/plantmp")" ] || { echo "plan left files in TMPDIR" >&2; exit 1; }
}

echo "== plan offline"
plan aws "$tmp/aws.plan.json"
python3 - "$tmp/aws.plan.json" "$p" <<'PY'
import base64, hashlib, json, subprocess, sys
d = {s["id"]: s for s in json.load(open(sys.argv[1]))["steps"]}
ops = lambda s: [r["operation"] for r in d[s]["requests"]]
code, blob = d["code"], d["blob"]
assert ops("code") == ["HeadObject", "CreateBucket", "PutObject"], ops("code")
assert ops("blob") == ["HeadObject", "CreateMultipartUpload", "UploadPart", "UploadPart",
                       "CompleteMultipartUpload"], ops("blob")
for s in ("code", "blob"):
    assert d[s]["action"] == "run", d[s]
    out = d[s]["outputs"]
    assert sorted(out) == ["bytes", "sha256", "uri"], out
    assert out["uri"].endswith("/sourcedir-%s.tar.gz" % out["sha256"][:12]), out
    assert all("when" in r for r in d[s]["requests"][1:]), d[s]["requests"]
    assert "when" not in d[s]["requests"][0]
# The default bucket (its account is not known offline), the pipeline's name.
assert code["outputs"]["uri"].startswith("s3://${aws.default_bucket}/planup/code/"), code
head, bucket, put = code["requests"]
assert head["body"] == {"Bucket": "${aws.default_bucket}",
                        "Key": code["outputs"]["uri"].split("/", 3)[3]}, head
assert bucket["body"] == {"Bucket": "${aws.default_bucket}",
                          "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}, bucket
assert put["body"]["ContentLength"] == code["outputs"]["bytes"], put
assert put["body"]["ContentType"] == "application/octet-stream", put
assert base64.b64decode(put["body"]["ChecksumSHA256"]).hex() == code["outputs"]["sha256"], put
# Multipart: 16 MiB parts, the rest in the last; the part list of the completion.
parts = [r["body"] for r in blob["requests"] if r["operation"] == "UploadPart"]
assert [b["PartNumber"] for b in parts] == [1, 2], parts
assert parts[0]["ContentLength"] == 16 * 1024 * 1024, parts[0]
assert sum(b["ContentLength"] for b in parts) == blob["outputs"]["bytes"], parts
assert blob["outputs"]["bytes"] > 17 * 1024 * 1024, blob["outputs"]
done = blob["requests"][-1]["body"]["MultipartUpload"]["Parts"]
assert [x["ChecksumSHA256"] for x in done] == [b["ChecksumSHA256"] for b in parts], done
assert blob["outputs"]["uri"].startswith("s3://smflow-plan-bucket/blobs/sourcedir-"), blob
# Later steps get the values; `reused` (the HeadObject answer) stays unknown.
hp = d["train"]["requests"][-1]["body"]["HyperParameters"]
assert hp["sagemaker_submit_directory"] == '"%s"' % code["outputs"]["uri"], hp
assert d["train"]["action"] == "run", d["train"]
cmd = d["note"]["requests"][0]["body"]["command"]
assert cmd == "echo code=%s blob=%s" % (code["outputs"]["uri"], blob["outputs"]["sha256"]), cmd
assert d["note"]["action"] == "run", d["note"]
assert d["reused"]["action"] == "unknown", d["reused"]
assert "SMFPLAN" not in json.dumps(d), "a stand-in left in the plan"
print("plan: code %d bytes, blob %d bytes in %d parts" % (
    code["outputs"]["bytes"], blob["outputs"]["bytes"], len(parts)))
PY
"$smflow" plan --target aws "$p/pipeline.yaml" >"$tmp/table" 2>/dev/null || true
grep -q 's3:UploadPart(x2)' "$tmp/table" || { echo "table: no UploadPart(x2)" >&2; cat "$tmp/table"; exit 1; }
grep -q 'stored unless it exists' "$tmp/table" || { echo "table: no upload note" >&2; exit 1; }

# Code that cannot be packed: the run would fail, and plan says so.
mkdir -p "$tmp/bad"
printf 'smflow: 1\nname: bad\nsteps:\n  code:\n    upload: {source_dir: nothere}\n  use:\n    needs: [code]\n    run: "echo ${steps.code.uri}"\n' \
  >"$tmp/bad/pipeline.yaml"
TMPDIR="$tmp/plantmp" "$smflow" plan --json --target aws "$tmp/bad/pipeline.yaml" >"$tmp/bad.json"
TMPDIR="$tmp/plantmp" "$smflow" plan --target aws "$tmp/bad/pipeline.yaml" >"$tmp/bad.table"
grep -q 'the run would fail: source directory .*nothere' "$tmp/bad.table" || { cat "$tmp/bad.table"; exit 1; }
[ -z "$(ls -A "$tmp/plantmp")" ] || { echo "plan left files in TMPDIR" >&2; exit 1; }
python3 - "$tmp/bad.json" <<'PY'
import json, sys
d = {s["id"]: s for s in json.load(open(sys.argv[1]))["steps"]}
assert d["code"]["action"] == "unknown" and "outputs" not in d["code"], d["code"]
assert "nothere" in d["code"]["requests"][0]["error"], d["code"]
assert d["use"]["action"] == "unknown", d["use"]
PY

echo "== local target: planned outputs are the run's"
plan local "$tmp/local.plan.json"
"$smflow" run -q --target local --only code --only blob "$p/pipeline.yaml"
"$smflow" status --state-dir "$p/.smflow" --json >"$tmp/local.status.json"
python3 - "$tmp/local.plan.json" "$tmp/local.status.json" <<'PY'
import json, sys
plan = {s["id"]: s for s in json.load(open(sys.argv[1]))["steps"]}
run = {s["id"]: s for s in json.load(open(sys.argv[2]))["steps"]}
for s in ("code", "blob"):
    got = {k: run[s]["outputs"][k] for k in ("uri", "sha256", "bytes")}
    assert plan[s]["outputs"] == got, (plan[s]["outputs"], got)
    body = plan[s]["requests"][-1]["body"]
    assert body["uri"] == got["uri"] and body["sha256"] == got["sha256"], body
assert plan["code"]["outputs"]["uri"].startswith("s3://sagemaker-us-east-1-000000000000/planup/code/")
PY
rm -rf "$p/.smflow"

echo "== aws: run against moto and compare"
cd "$tmp"  # moto writes its recording file into its working directory
aws_test_moto "$tmp/moto"
ep=$AWS_ENDPOINT_URL
export SMFLOW_AWS_POLL_MS=300 SMFLOW_AWS_POLL_MAX_MS=1000
awsc() { aws --endpoint-url "$ep" "$@"; }
account=$(awsc sts get-caller-identity --query Account --output text)
awsc s3 mb s3://smflow-plan-bucket >/dev/null
curl -sf -X POST "$ep/moto-api/recorder/reset-recording" >/dev/null
curl -sf -X POST "$ep/moto-api/recorder/start-recording" >/dev/null
"$smflow" run -q --target aws "$p/pipeline.yaml"
curl -sf -X POST "$ep/moto-api/recorder/stop-recording" >/dev/null
curl -sf "$ep/moto-api/recorder/download-recording" >"$tmp/aws.rec"
"$smflow" status --state-dir "$p/.smflow" --json >"$tmp/aws.status.json"
python3 "$src/tests/tools/plan_compare.py" "$tmp/aws.plan.json" "$tmp/aws.rec" \
  "$tmp/aws.status.json" "$account" "$AWS_REGION" HeadObject CreateBucket PutObject \
  CreateMultipartUpload UploadPart CompleteMultipartUpload CreateTrainingJob

# The AWS CLI reads back what the plan promised.
python3 - "$tmp/aws.plan.json" "$tmp/aws.status.json" "$account" "$AWS_REGION" >"$tmp/objects" <<'PY'
import json, sys
plan = {s["id"]: s for s in json.load(open(sys.argv[1]))["steps"]}
run = {s["id"]: s for s in json.load(open(sys.argv[2]))["steps"]}
bucket = "sagemaker-%s-%s" % (sys.argv[4], sys.argv[3])
for s in ("code", "blob"):
    out = dict(plan[s]["outputs"])
    out["uri"] = out["uri"].replace("${aws.default_bucket}", bucket)
    got = {k: run[s]["outputs"][k] for k in ("uri", "sha256", "bytes")}
    assert out == got, (out, got)
    assert run[s]["outputs"]["reused"] is False, run[s]["outputs"]
    parts = sum(r["operation"] == "UploadPart" for r in plan[s]["requests"])
    print(out["uri"], out["sha256"], out["bytes"], parts)
PY
while read -r uri sha bytes parts; do
  b=${uri#s3://}; key=${b#*/}; b=${b%%/*}
  awsc s3api get-object --bucket "$b" --key "$key" "$tmp/got.tar.gz" >/dev/null
  [ "$(sha256sum <"$tmp/got.tar.gz" | cut -d' ' -f1)" = "$sha" ] || { echo "$uri: SHA-256" >&2; exit 1; }
  [ "$(stat -c %s "$tmp/got.tar.gz")" = "$bytes" ] || { echo "$uri: size" >&2; exit 1; }
  if [ "$parts" -gt 0 ]; then
    n=$(awsc s3api head-object --bucket "$b" --key "$key" --part-number 1 --query PartsCount --output text)
    [ "$n" = "$parts" ] || { echo "$uri: $n parts, planned $parts" >&2; exit 1; }
  fi
done <"$tmp/objects"
tar -tzf "$tmp/got.tar.gz" >/dev/null

echo "== a second run reuses the objects: HeadObject, no PutObject"
curl -sf -X POST "$ep/moto-api/recorder/reset-recording" >/dev/null
curl -sf -X POST "$ep/moto-api/recorder/start-recording" >/dev/null
"$smflow" run -q --target aws --only code --only blob "$p/pipeline.yaml"
curl -sf "$ep/moto-api/recorder/download-recording" >"$tmp/again.rec"
python3 - "$tmp/again.rec" "$src/tests/tools" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
from plan_compare import s3_call
from check_shapes import records
ops = [c[0] for c in (s3_call(r) for r in records(sys.argv[1])) if c]
assert ops.count("HeadObject") == 2, ops
assert not {"PutObject", "UploadPart", "CreateMultipartUpload"} & set(ops), ops
PY
echo "plan_upload: ok"

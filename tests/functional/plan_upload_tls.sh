#!/usr/bin/env bash
# plan_upload_tls.sh: `smflow plan --target aws` shows the checksums a run
# sends to the S3 endpoint it would use. Over https (AWS itself, or an https
# override) the run sends UNSIGNED-PAYLOAD with a CRC32 trailer, and plan shows
# ChecksumAlgorithm CRC32 and the CRC32 of the archive (PutObject) or of each
# part (UploadPart, CompleteMultipartUpload's part list); over an http override
# it shows SHA-256, as before.
#
#  - plan offline with no endpoint override (AWS's https endpoint), with an
#    https override and with an http one: CRC32, CRC32, SHA-256 of the same
#    archive bytes;
#  - the pipeline runs against an https moto (tests/tools/moto_up.sh with
#    SMF_MOTO_TLS=1, signatures checked) with its request recorder on, and
#    every planned S3 call equals the recorded one (tests/tools/plan_compare.py
#    decodes the aws-chunked bodies: decoded length, the trailer's CRC32);
#  - the objects read back with the AWS CLI have zlib's CRC32 (per part) and
#    SHA-256 the plan showed.
source "$(dirname "$0")/lib/aws.bash"
aws_test_init plan_upload_tls moto_server aws curl openssl
: "${smflow:?}"
unset AWS_ENDPOINT_URL_S3

p=$tmp/proj
mkdir -p "$p/code" "$p/big" "$tmp/plantmp"
printf 'print("train")\n' >"$p/code/train.py"
# Incompressible and above the 16 MiB multipart threshold: two parts.
head -c $((17 * 1024 * 1024 + 4321)) /dev/urandom >"$p/big/blob.bin"
cat >"$p/pipeline.yaml" <<'YAML'
smflow: 1
name: plantls
steps:
  code:
    upload: {source_dir: code, to: "s3://smflow-tls-bucket/code"}
  blob:
    upload: {source_dir: big, to: "s3://smflow-tls-bucket/blobs"}
YAML

# plan ENDPOINT OUT: plan offline (no credentials; ENDPOINT "" = no override).
plan() {
  local override=()
  [ -z "$1" ] || override=(AWS_ENDPOINT_URL="$1")
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
    -u AWS_ENDPOINT_URL AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
    AWS_REGION=eu-west-1 TMPDIR="$tmp/plantmp" "${override[@]}" \
    "$smflow" plan --json --target aws "$p/pipeline.yaml" >"$2"
  [ ! -e "$p/.smflow" ] || { echo "plan created $p/.smflow" >&2; exit 1; }
  [ -z "$(ls -A "$tmp/plantmp")" ] || { echo "plan left files in TMPDIR" >&2; exit 1; }
}

cd "$tmp"  # moto writes its recording file into its working directory
aws_test_moto "$tmp/moto" tls
ep=$AWS_ENDPOINT_URL
case $ep in https://*) ;; *) echo "moto is not on https: $ep" >&2; exit 1 ;; esac

echo "== plan offline: https (AWS, an https override) and http"
plan "" "$tmp/aws.plan.json"
plan "$ep" "$tmp/tls.plan.json"
plan "http://127.0.0.1:9" "$tmp/http.plan.json"
python3 - "$tmp/aws.plan.json" "$tmp/tls.plan.json" "$tmp/http.plan.json" <<'PY'
import base64, json, sys
def load(path):
    return {s["id"]: s for s in json.load(open(path))["steps"]}
aws, tls, http = (load(a) for a in sys.argv[1:4])
# No override and an https override plan the same calls.
assert aws == tls, "AWS's endpoint and an https override plan differently"
def bodies(d, s, op):
    return [r["body"] for r in d[s]["requests"] if r["operation"] == op]
for d, crc in ((tls, True), (http, False)):
    member = "ChecksumCRC32" if crc else "ChecksumSHA256"
    other = "ChecksumSHA256" if crc else "ChecksumCRC32"
    put, = bodies(d, "code", "PutObject")
    assert put.get("ChecksumAlgorithm") == ("CRC32" if crc else None), put
    assert member in put and other not in put, put
    assert len(base64.b64decode(put[member])) == (4 if crc else 32), put
    create, = bodies(d, "blob", "CreateMultipartUpload")
    assert create["ChecksumAlgorithm"] == ("CRC32" if crc else "SHA256"), create
    parts = bodies(d, "blob", "UploadPart")
    assert [b["PartNumber"] for b in parts] == [1, 2], parts
    for b in parts:
        assert b.get("ChecksumAlgorithm") == ("CRC32" if crc else None), b
        assert member in b and other not in b, b
    done, = bodies(d, "blob", "CompleteMultipartUpload")
    assert [x[member] for x in done["MultipartUpload"]["Parts"]] == [b[member] for b in parts]
    assert all(other not in x for x in done["MultipartUpload"]["Parts"]), done
# The same archive either way; the SHA-256 over http is the archive's own.
for s in ("code", "blob"):
    assert tls[s]["outputs"] == http[s]["outputs"], (tls[s]["outputs"], http[s]["outputs"])
put, = bodies(http, "code", "PutObject")
assert base64.b64decode(put["ChecksumSHA256"]).hex() == http["code"]["outputs"]["sha256"]
print("plan: CRC32 over https, SHA-256 over http")
PY

echo "== run against moto over https and compare"
awsc() { aws --endpoint-url "$ep" "$@"; }
moto_api() { curl -sf --cacert "$AWS_CA_BUNDLE" -X "$1" "$ep/moto-api/recorder/$2"; }
account=$(awsc sts get-caller-identity --query Account --output text)
awsc s3 mb s3://smflow-tls-bucket >/dev/null
moto_api POST reset-recording >/dev/null
moto_api POST start-recording >/dev/null
"$smflow" run -q --target aws "$p/pipeline.yaml"
moto_api POST stop-recording >/dev/null
moto_api GET download-recording >"$tmp/tls.rec"
"$smflow" status --state-dir "$p/.smflow" --json >"$tmp/status.json"
# The run really sent aws-chunked bodies with a CRC32 trailer, unsigned.
python3 - "$tmp/tls.rec" "$src/tests/tools" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[2])
from check_shapes import records
bodies = 0
for r in records(sys.argv[1]):
    h = {k.lower(): v for k, v in r.get("headers", {}).items()}
    if r["method"] == "PUT" and "x-amz-decoded-content-length" in h:
        assert h["content-encoding"] == "aws-chunked", h
        assert h["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER", h
        assert h["x-amz-trailer"] == "x-amz-checksum-crc32", h
        bodies += 1
assert bodies == 3, "%d aws-chunked bodies, want 3 (a PutObject, two parts)" % bodies
PY
python3 "$src/tests/tools/plan_compare.py" "$tmp/tls.plan.json" "$tmp/tls.rec" \
  "$tmp/status.json" "$account" "$AWS_REGION" HeadObject PutObject CreateMultipartUpload \
  UploadPart CompleteMultipartUpload

echo "== the stored objects have the planned CRC32 and SHA-256"
python3 - "$tmp/tls.plan.json" >"$tmp/objects" <<'PY'
import json, sys
for s in json.load(open(sys.argv[1]))["steps"]:
    print(s["id"], s["outputs"]["uri"])
PY
while read -r id uri; do
  b=${uri#s3://}; key=${b#*/}; b=${b%%/*}
  awsc s3api get-object --bucket "$b" --key "$key" "$tmp/$id.tar.gz" >/dev/null
done <"$tmp/objects"
python3 - "$tmp/tls.plan.json" "$tmp" <<'PY'
import base64, hashlib, json, sys, zlib
d = {s["id"]: s for s in json.load(open(sys.argv[1]))["steps"]}
def crc(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
for s in ("code", "blob"):
    data = open("%s/%s.tar.gz" % (sys.argv[2], s), "rb").read()
    assert hashlib.sha256(data).hexdigest() == d[s]["outputs"]["sha256"], s
    assert len(data) == d[s]["outputs"]["bytes"], s
    off = 0
    for r in d[s]["requests"]:
        b = r["body"]
        if r["operation"] == "PutObject":
            assert b["ChecksumCRC32"] == crc(data), (b, crc(data))
        if r["operation"] == "UploadPart":
            part = data[off:off + b["ContentLength"]]
            assert b["ChecksumCRC32"] == crc(part), (b["PartNumber"], b, crc(part))
            off += len(part)
    assert off in (0, len(data)), (s, off)
print("objects: zlib's CRC32 and SHA-256 as planned")
PY
echo "plan_upload_tls: ok"

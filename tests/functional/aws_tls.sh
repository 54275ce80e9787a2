#!/usr/bin/env bash
# aws_tls.sh: the AWS client against moto over https, signature checking on,
# the CA of a throwaway certificate given through AWS_CA_BUNDLE. Uploads go as
# UNSIGNED-PAYLOAD with CRC32 checksums; the AWS CLI reads them back (its
# downloads verify a stored full-object CRC32) and boto3 reads the checksums.
# Without the CA, or with another one, the client refuses the server at once.
source "$(dirname "$0")/lib/aws.bash"
aws_test_init aws_tls moto_server aws openssl
: "${smflow:?}"
it=${SMF_BUILD_DIR:?}/tests/aws/aws_it

aws_test_moto "$tmp" tls
case $AWS_ENDPOINT_URL in https://*) ;; *) echo "aws_tls: moto is not on https" >&2; exit 1 ;; esac
aws="aws --endpoint-url $AWS_ENDPOINT_URL"

echo "== uploads over https"
head -c 1234567 /dev/urandom >"$tmp/small.bin"
head -c $((40 * 1024 * 1024 + 4321)) /dev/urandom >"$tmp/big.bin"
"$it" tls smf-tls "$tmp/small.bin" "$tmp/big.bin"

echo "== read back with the AWS CLI"
printf 'The quick brown fox jumps over the lazy dog' >"$tmp/mem.txt"
for k in mem.txt small.bin; do
  $aws s3 cp "s3://smf-tls/$k" "$tmp/$k.back" --quiet
  cmp "$tmp/$k" "$tmp/$k.back"
done
$aws s3 cp "s3://smf-tls/big/data file.bin" "$tmp/big.back" --quiet
cmp "$tmp/big.bin" "$tmp/big.back"

echo "== checksums as boto3 sees them"
python3 - "$tmp" <<'PY'
import base64, os, sys, zlib
import boto3
d = sys.argv[1]
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
b64 = lambda v: base64.b64encode(v.to_bytes(4, "big")).decode()
for key, name in (("mem.txt", "mem.txt"), ("small.bin", "small.bin")):
    data = open(os.path.join(d, name), "rb").read()
    h = s3.head_object(Bucket="smf-tls", Key=key, ChecksumMode="ENABLED")
    print(key, h.get("ChecksumCRC32"), "file:", b64(zlib.crc32(data)))
    assert h.get("ChecksumCRC32") == b64(zlib.crc32(data)), key
# The multipart object's checksum is S3's composite: the CRC32 of the parts' CRC32s.
data, part = open(os.path.join(d, "big.bin"), "rb").read(), 8 << 20
crcs = b"".join(zlib.crc32(data[i:i + part]).to_bytes(4, "big") for i in range(0, len(data), part))
want = "%s-%d" % (b64(zlib.crc32(crcs)), (len(data) + part - 1) // part)
h = s3.head_object(Bucket="smf-tls", Key="big/data file.bin", ChecksumMode="ENABLED")
print("big/data file.bin", h.get("ChecksumCRC32"), "parts:", want)
assert h.get("ChecksumCRC32", "").split("-")[0] == want.split("-")[0], (h, want)
assert h.get("ContentLength") == len(data)

# The read-back check has teeth: an object stored with a CRC32 that is not its
# bytes' fails the AWS CLI's download (moto itself does not check checksums).
from botocore.config import Config
raw = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                   config=Config(request_checksum_calculation="when_required"))
def wrong(request, **kw):
    request.headers["x-amz-sdk-checksum-algorithm"] = "CRC32"
    request.headers["x-amz-checksum-crc32"] = "AAAAAA=="
raw.meta.events.register("before-sign.s3.PutObject", wrong)
raw.put_object(Bucket="smf-tls", Key="wrong.bin", Body=b"hello world")
PY
if $aws s3 cp s3://smf-tls/wrong.bin "$tmp/wrong.back" >"$tmp/wrong.err" 2>&1; then
  echo "aws_tls: the CLI accepted an object whose CRC32 does not match" >&2
  exit 1
fi
grep -q "did not match" "$tmp/wrong.err"

echo "== an upload-only pipeline over https: read back intact, then reused"
mkdir -p "$tmp/up/src"
head -c $((20 * 1024 * 1024)) /dev/urandom >"$tmp/up/src/big.bin"
echo 'print("hello")' >"$tmp/up/src/train.py"
cat >"$tmp/up/pipeline.yaml" <<'Y'
smflow: 1
name: uptls
target: aws
steps:
  code:
    upload: {source_dir: src, to: "s3://smf-tls/up/"}
Y
(cd "$tmp/up" && "$smflow" run -q pipeline.yaml)
out() { "$smflow" status --state-dir "$tmp/up/.smflow" --json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["steps"][0]["outputs"][sys.argv[1]])' "$1"; }
$aws s3 cp "$(out uri)" "$tmp/up/back.tar.gz" --quiet
echo "$(out sha256)  $tmp/up/back.tar.gz" | sha256sum -c --quiet
mkdir -p "$tmp/up/x" && tar -xzf "$tmp/up/back.tar.gz" -C "$tmp/up/x"
cmp "$tmp/up/src/big.bin" "$tmp/up/x/big.bin"
(cd "$tmp/up" && "$smflow" run -q pipeline.yaml)
[ "$(out reused)" = True ] || { echo "aws_tls: the second run uploaded again" >&2; exit 1; }

echo "== TLS verification still refuses an unknown CA"
env -u AWS_CA_BUNDLE "$it" tlsrefused
"$src/tests/tools/tls_ca.sh" "$tmp/other" other
AWS_CA_BUNDLE=$tmp/other/other-ca.pem "$it" tlsrefused
echo "aws_tls: ok"

#!/usr/bin/env bash
# aws_endpoints.sh: `smflow endpoints` and `smflow invoke` for an endpoint that
# a run deployed on the aws target (moto with signature checking, every request
# recorded): the deploy records it; list shows it; invoke sends InvokeEndpoint
# with --content-type / --accept and prints moto's configured answer; delete
# removes the endpoint, its config and its model, and the record. Also the
# SDK's server-side encryption of uploads: a fit's packed code with aws:kms and
# its output_kms_key, the repacked model with aws:kms.
source "$(dirname "$0")/lib/aws.bash"
aws_test_init aws_endpoints moto_server aws curl
: "${smflow:?}"
cd "$tmp"
aws_test_moto "$tmp/moto"
ep=$AWS_ENDPOINT_URL
export SMFLOW_AWS_POLL_MS=300
awsc() { aws --endpoint-url "$ep" "$@"; }
ops() {
  python3 -c '
import sys
sys.path.insert(0, sys.argv[2])
from check_shapes import records
for r in records(sys.argv[1]):
    h = {k.lower(): v for k, v in r.get("headers", {}).items()}
    print(r.get("method"), h.get("x-amz-target") or r.get("url", ""), h.get("content-type", ""), h.get("accept", ""))
' "$1" "$src/tests/tools"
}
rec_start() {
  curl -sf -X POST "$ep/moto-api/recorder/reset-recording" >/dev/null
  curl -sf -X POST "$ep/moto-api/recorder/start-recording" >/dev/null
}
die() { echo "$*" >&2; exit 1; }

mkdir -p "$tmp/p/code" "$tmp/m"
echo 'def model_fn(d): return d' >"$tmp/p/code/inference.py"
echo 'print("train")' >"$tmp/p/code/train.py"
echo model >"$tmp/m/model.txt"
tar -czf "$tmp/model.tar.gz" -C "$tmp/m" model.txt
awsc s3 mb s3://smflow-test-bucket >/dev/null
awsc s3 cp "$tmp/model.tar.gz" s3://smflow-test-bucket/model/model.tar.gz --quiet
cat >"$tmp/p/pipeline.yaml" <<'Y'
smflow: 1
name: awsep
target: aws
role: arn:aws:iam::123456789012:role/R
steps:
  deploy:
    deploy:
      endpoint: smf-ep
      model_data: "s3://smflow-test-bucket/model/model.tar.gz"
      image_uri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/serve:1"
      entry_point: inference.py
      source_dir: code
      instance_type: ml.m5.large
  fit:
    fit:
      entry_point: train.py
      source_dir: code
      image_uri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/train:1"
      instance_type: ml.m5.large
      output_kms_key: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
Y
rec_start
"$smflow" run -q "$tmp/p/pipeline.yaml"
curl -sf "$ep/moto-api/recorder/download-recording" >"$tmp/run.rec"

echo "== server-side encryption of the code and of the repacked model"
python3 - "$tmp/run.rec" "$src/tests/tools" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
from check_shapes import records
puts = {}
for r in records(sys.argv[1]):
    h = {k.lower(): v for k, v in r.get("headers", {}).items()}
    if r.get("method") == "PUT" and "uploadId" not in r.get("url", ""):
        puts[r["url"].split("?")[0]] = (h.get("x-amz-server-side-encryption"),
                                        h.get("x-amz-server-side-encryption-aws-kms-key-id"))
code = [v for k, v in puts.items() if k.endswith("/source/sourcedir.tar.gz")]
model = [v for k, v in puts.items() if k.endswith("/model.tar.gz")]
key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
assert code == [("aws:kms", key)], puts
assert model and all(v == ("aws:kms", None) for v in model), puts
print("SSE: code", code, "repacked model", model)
PY
cd "$tmp/p"

echo "== list"
"$smflow" endpoints list >"$tmp/list.out"
grep -q "^smf-ep .*InService .*runtime.sagemaker.eu-west-1.amazonaws.com/endpoints/smf-ep/invocations" \
  "$tmp/list.out" || { cat "$tmp/list.out" >&2; die "the aws endpoint is not listed"; }
"$smflow" endpoints list --json | python3 -c '
import json, sys
e = json.load(sys.stdin)["endpoints"]
assert [x["name"] for x in e] == ["smf-ep"], e
assert e[0]["model_data"].startswith("s3://sagemaker-eu-west-1-123456789012/smf-ep-"), e  # repacked
assert e[0]["model_name"] and e[0]["config"], e
'

echo "== invoke"
curl -sf -X POST "$ep/moto-api/static/sagemaker/endpoint-results" -H 'Content-Type: application/json' \
  -d '{"region": "eu-west-1", "results": [{"Body": "0.75\n", "ContentType": "text/csv", "InvokedProductionVariant": "AllTraffic", "CustomAttributes": ""}]}' >/dev/null
printf '1,2,3\n' >"$tmp/req.csv"
rec_start
"$smflow" invoke smf-ep --body "$tmp/req.csv" --content-type text/csv --accept text/csv >"$tmp/inv.out"
[ "$(cat "$tmp/inv.out")" = "0.75" ] || die "invoke printed '$(cat "$tmp/inv.out")'"
curl -sf "$ep/moto-api/recorder/download-recording" >"$tmp/inv.rec"
ops "$tmp/inv.rec" | grep -q "^POST .*/endpoints/smf-ep/invocations text/csv text/csv$" || {
  ops "$tmp/inv.rec" >&2; die "no InvokeEndpoint with the content type and accept"; }
# Unknown endpoints are not invoked.
if "$smflow" invoke nope --body "$tmp/req.csv" 2>"$tmp/inv.err"; then die "invoke of an unknown endpoint succeeded"; fi

# An error answer: exit 1 with the status, the AWS error code, the message and
# the request id (a small fake of the runtime API: moto always answers 200).
cat >"$tmp/fake_rt.py" <<'PY'
import http.server, json
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        out = json.dumps({"__type": "ModelError", "message": "Received client error (400) from model"}).encode()
        self.send_response(424)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-RequestId", "req-1234-abcd")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
PY
python3 "$tmp/fake_rt.py" >"$tmp/rt.port" &
pids+=("$!")
for _ in $(seq 1 50); do [ -s "$tmp/rt.port" ] && break; sleep 0.1; done
rc=0
AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME="http://127.0.0.1:$(cat "$tmp/rt.port")" \
  "$smflow" invoke smf-ep --body "$tmp/req.csv" >"$tmp/bad.out" 2>"$tmp/bad.err" || rc=$?
[ "$rc" = 1 ] || { cat "$tmp/bad.err" >&2; die "invoke of a failing endpoint exited $rc, want 1"; }
for want in "HTTP 424" "ModelError" "Received client error (400) from model" "req-1234-abcd"; do
  grep -qF "$want" "$tmp/bad.err" || { cat "$tmp/bad.err" >&2; die "invoke error lacks '$want'"; }
done

echo "== delete"
rec_start
"$smflow" endpoints delete smf-ep >"$tmp/del.out"
grep -q "endpoint smf-ep deleted" "$tmp/del.out" || die "no deleted message"
curl -sf "$ep/moto-api/recorder/download-recording" >"$tmp/del.rec"
ops "$tmp/del.rec" | awk '{print $2}' | grep '^SageMaker\.' >"$tmp/del.ops"
for op in DescribeEndpoint DescribeEndpointConfig DeleteEndpoint DeleteEndpointConfig DeleteModel; do
  grep -q "^SageMaker.$op$" "$tmp/del.ops" || { cat "$tmp/del.ops" >&2; die "delete sent no $op"; }
done
[ "$(awsc sagemaker list-endpoints --query 'length(Endpoints)' --output text)" = 0 ] || die "the endpoint is still there"
[ "$(awsc sagemaker list-models --query 'length(Models)' --output text)" = 0 ] || die "the model is still there"
"$smflow" endpoints list --json | python3 -c '
import json, sys
assert json.load(sys.stdin)["endpoints"] == []
'
if "$smflow" endpoints delete smf-ep 2>"$tmp/del2.err"; then die "a second delete succeeded"; fi
echo "aws endpoints: ok"

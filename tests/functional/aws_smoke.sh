#!/usr/bin/env bash
# aws_smoke.sh: deploy's smoke_test on the aws target. The test request goes
# through the target's InvokeEndpoint (SageMaker Runtime, SigV4):
#   - against moto with signature checking on (moto's runtime answers 200 with
#     the canned results of /moto-api/static/sagemaker/endpoint-results): a
#     passing smoke test; a failing one (expect_status mismatch) fails the step
#     with a clear message and removes the new endpoint (it had no previous one);
#   - against tests/tools/fake_sagemaker_hosting.py (moto has no UpdateEndpoint):
#     an update whose smoke test fails is undone with UpdateEndpoint back to the
#     previous config; a model error (HTTP 424) names its code and request id;
#     a step timeout during the request fails the step at once.
source "$(dirname "$0")/lib/aws.bash"
aws_test_init aws_smoke moto_server aws curl
: "${smflow:?}"
cd "$tmp"
aws_test_moto "$tmp/moto"
ep=$AWS_ENDPOINT_URL
export SMFLOW_AWS_POLL_MS=200 SMFLOW_AWS_POLL_MAX_MS=500
awsc() { aws --endpoint-url "$ep" "$@"; }
die() { echo "$*" >&2; exit 1; }
rec_start() {
  curl -sf -X POST "$ep/moto-api/recorder/reset-recording" >/dev/null
  curl -sf -X POST "$ep/moto-api/recorder/start-recording" >/dev/null
}
# invocations FILE: "METHOD URL CONTENT-TYPE AUTHORIZATION-SCHEME BODY" per InvokeEndpoint
invocations() {
  python3 -c '
import base64, sys
sys.path.insert(0, sys.argv[2])
from check_shapes import records
for r in records(sys.argv[1]):
    if "/invocations" not in r.get("url", ""):
        continue
    h = {k.lower(): v for k, v in r.get("headers", {}).items()}
    b = r.get("body") or ""
    if r.get("body_encoded"):
        b = base64.b64decode(b).decode()
    path = "/" + r["url"].split("?")[0].split("://", 1)[-1].split("/", 1)[-1]
    print(r.get("method"), path, h.get("content-type", ""),
          h.get("authorization", "").split(" ")[0], b.strip())
' "$1" "$src/tests/tools"
}

mkdir -p "$tmp/m"
echo model >"$tmp/m/model.txt"
tar -czf "$tmp/model.tar.gz" -C "$tmp/m" model.txt
awsc s3 mb s3://smflow-test-bucket >/dev/null
awsc s3 cp "$tmp/model.tar.gz" s3://smflow-test-bucket/model/model.tar.gz --quiet

# pipeline DIR ENDPOINT IMAGE EXPECT: one deploy step with a smoke test
pipeline() {
  mkdir -p "$1"
  printf '1,2,3\n' >"$1/request.csv"
  cat >"$1/pipeline.yaml" <<EOF
smflow: 1
name: smoke
target: aws
role: arn:aws:iam::123456789012:role/R
steps:
  deploy:
    deploy:
      endpoint: $2
      model_data: "s3://smflow-test-bucket/model/model.tar.gz"
      image_uri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/$3:1"
      instance_type: ml.m5.large
      smoke_test: {body: request.csv, content_type: text/csv, expect_status: $4}
EOF
}

echo "== a passing smoke test (moto, signed InvokeEndpoint)"
curl -sf -X POST "$ep/moto-api/static/sagemaker/endpoint-results" -H 'Content-Type: application/json' \
  -d '{"region": "eu-west-1", "results": [{"Body": "0.75", "ContentType": "text/csv", "InvokedProductionVariant": "AllTraffic", "CustomAttributes": ""}]}' >/dev/null
pipeline "$tmp/ok" smf-smoke serve 200
rec_start
"$smflow" run "$tmp/ok/pipeline.yaml" >"$tmp/ok.out" 2>&1 || { cat "$tmp/ok.out" >&2; die "the smoke-tested deploy failed"; }
curl -sf "$ep/moto-api/recorder/download-recording" >"$tmp/ok.rec"
invocations "$tmp/ok.rec" >"$tmp/ok.inv"
[ "$(wc -l <"$tmp/ok.inv")" = 1 ] || { cat "$tmp/ok.inv" >&2; die "want one InvokeEndpoint"; }
grep -q "^POST /endpoints/smf-smoke/invocations text/csv AWS4-HMAC-SHA256 1,2,3$" "$tmp/ok.inv" || {
  cat "$tmp/ok.inv" >&2; die "InvokeEndpoint lacks the endpoint, content type, signature or body"; }
grep -q "smoke test: HTTP 200" "$tmp"/ok/.smflow/logs/*/deploy.1.log || {
  cat "$tmp"/ok/.smflow/logs/*/deploy.1.log >&2; die "no smoke test line in the step log"; }
if grep -q "smoke test skipped" "$tmp"/ok/.smflow/logs/*/deploy.1.log; then die "the smoke test was skipped"; fi

echo "== a failing smoke test (expect_status mismatch): the new endpoint is removed"
pipeline "$tmp/bad" smf-smoke-bad serve 201
rc=0
"$smflow" run "$tmp/bad/pipeline.yaml" >"$tmp/bad.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$tmp/bad.out" >&2; die "a failed smoke test exited $rc, want 1"; }
grep -q "smoke test of smf-smoke-bad: HTTP 200, expected 201" "$tmp/bad.out" || {
  cat "$tmp/bad.out" >&2; die "the failure does not say what the smoke test got"; }
"$smflow" status --state-dir "$tmp/bad/.smflow" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
s = [s for s in d["steps"] if s["id"] == "deploy"][0]
assert s["state"] == "failed" and s["error"]["class"] == "ClientError", s
assert "smoke test of smf-smoke-bad: HTTP 200, expected 201" in json.dumps(s), s
'
grep -q "endpoint smf-smoke-bad removed" "$tmp"/bad/.smflow/logs/*/deploy.1.log || {
  cat "$tmp"/bad/.smflow/logs/*/deploy.1.log >&2; die "the new endpoint was not removed"; }
[ "$(awsc sagemaker list-endpoints --query 'Endpoints[].EndpointName' --output text)" = smf-smoke ] ||
  die "smf-smoke-bad is still there (or smf-smoke is gone)"

echo "== an update whose smoke test fails is undone (fake hosting API)"
python3 "$src/tests/tools/fake_sagemaker_hosting.py" "$tmp/hosting.rec" >"$tmp/hosting.port" &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$tmp/hosting.port" ] && break; sleep 0.1; done
fake="http://127.0.0.1:$(cat "$tmp/hosting.port")"
fake_run() {
  AWS_ENDPOINT_URL_SAGEMAKER=$fake AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=$fake SMFLOW_AWS_POLL_MS=100 \
    "$smflow" run "$1/pipeline.yaml" >"$1.out" 2>&1
}
pipeline "$tmp/upd" existing serve 201
rc=0
fake_run "$tmp/upd" || rc=$?
[ "$rc" = 1 ] || { cat "$tmp/upd.out" >&2; die "a failed smoke test of an update exited $rc, want 1"; }
grep -q "smoke test of existing: HTTP 200, expected 201: ok" "$tmp/upd.out" || {
  cat "$tmp/upd.out" >&2; die "no smoke test failure"; }
grep -q "endpoint existing serves its previous config existing-old again" "$tmp"/upd/.smflow/logs/*/deploy.1.log || {
  cat "$tmp"/upd/.smflow/logs/*/deploy.1.log >&2; die "the previous config was not restored"; }
python3 - "$tmp/hosting.rec" <<'PY'
import json, sys
ops = [(json.loads(l)["headers"].get("X-Amz-Target", json.loads(l)["url"]), json.loads(l)["body"])
       for l in open(sys.argv[1])]
ups = [json.loads(b)["EndpointConfigName"] for o, b in ops if o == "SageMaker.UpdateEndpoint"]
assert len(ups) == 2 and ups[0].startswith("existing-") and ups[1] == "existing-old", ups
names = [o for o, _ in ops]
i = names.index("/endpoints/existing/invocations")
assert names[i + 1:i + 3] == ["SageMaker.DescribeEndpointConfig", "SageMaker.UpdateEndpoint"], names
assert names[-1] == "SageMaker.DescribeEndpoint", names
PY
python3 "$src/tests/tools/check_shapes.py" "$tmp/hosting.rec" >/dev/null

echo "== a model error (HTTP 424): its code, message and request id"
pipeline "$tmp/err" smf-modelerror modelerror 200
rc=0
fake_run "$tmp/err" || rc=$?
[ "$rc" = 1 ] || { cat "$tmp/err.out" >&2; die "a model error exited $rc, want 1"; }
for want in "smoke test of smf-modelerror: HTTP 424, expected 200" "ModelError" \
  "Received server error (500) from model" "request id fake-invoke-424"; do
  grep -qF "$want" "$tmp/err.out" || { cat "$tmp/err.out" >&2; die "the failure lacks '$want'"; }
done
echo "== a timeout during the smoke test fails the step at once"
pipeline "$tmp/slow" smf-slow slow 200
printf '    timeout: 4s\n' >>"$tmp/slow/pipeline.yaml"
start=$(date +%s)
rc=0
fake_run "$tmp/slow" || rc=$?
took=$(($(date +%s) - start))
[ "$rc" = 1 ] || { cat "$tmp/slow.out" >&2; die "a timed-out smoke test exited $rc, want 1"; }
[ "$took" -lt 15 ] || die "the run waited ${took}s for the smoke test's answer"
grep -q "Timeout: timed out after 4.0s" "$tmp/slow.out" || { cat "$tmp/slow.out" >&2; die "no timeout failure"; }
grep -q "smoke test of smf-slow: InvokeEndpoint, 6 bytes of text/csv" "$tmp"/slow/.smflow/logs/*/deploy.1.log || {
  cat "$tmp"/slow/.smflow/logs/*/deploy.1.log >&2; die "the timeout did not come during the smoke test"; }
echo "aws smoke: ok"

#!/usr/bin/env bash
# acceptance_aws_errors.sh: the error paths of a run on the aws target against
# moto with signature checking (tests/data/aws/qa4/pipeline.yaml):
#   - a wrong secret: moto's SignatureDoesNotMatch with its message and request
#     id, exit 4, no run recorded;
#   - no `role:` in the pipeline: exit 2 before any step starts (nothing to
#     retry: every attempt would fail the same way), the message names the
#     pipeline file and the step;
#   - a bucket that does not exist: the upload fails with NoSuchBucket and the
#     request id, exit 1;
#   - AWS_ENDPOINT_URL_<SERVICE> wins over AWS_ENDPOINT_URL, both ways.
source "$(dirname "$0")/lib/aws.bash"
aws_test_init acceptance_aws_errors moto_server aws
: "${smflow:?}"
cd "$tmp"
aws_test_moto "$tmp/moto"
ep=$AWS_ENDPOINT_URL
export SMFLOW_AWS_POLL_MS=200 SMFLOW_AWS_POLL_MAX_MS=500
die() { echo "acceptance_aws_errors: $*" >&2; exit 1; }
mkdir -p w
cp -r "$src/tests/data/aws/full/code" w/code
cp "$src/tests/data/aws/qa4/request.csv" w/
# One attempt per step: every failure here would repeat the same way.
sed 's/max_attempts: 3/max_attempts: 1/' "$src/tests/data/aws/qa4/pipeline.yaml" >w/pipeline.yaml
aws --endpoint-url "$ep" s3 mb s3://qa4-bucket >/dev/null
# runs PIPELINE [ARGS...]: a fresh state dir; rc, out and err are set
runs() {
  rm -rf w/.smflow
  set +e
  timeout 60 "$smflow" run "$@" >out 2>err
  rc=$?
  set -e
}
nruns() { "$smflow" runs --state-dir w/.smflow --json 2>/dev/null | grep -c '"id"' || true; }

echo "== a wrong secret"
AWS_SECRET_ACCESS_KEY=wrong-secret runs w/pipeline.yaml
[ "$rc" = 4 ] || die "wrong secret: exit $rc: $(cat err)"
grep -q "SignatureDoesNotMatch: The request signature we calculated does not match" err ||
  die "wrong secret: no AWS code and message: $(cat err)"
grep -Eq "\(request id [A-Za-z0-9-]+\)" err || die "wrong secret: no request id: $(cat err)"
grep -q "wrong-secret" err out && die "wrong secret: the secret was printed"
[ "$(nruns)" = 0 ] || die "wrong secret: a run was recorded"

echo "== no role"
sed '/^role:/d' w/pipeline.yaml >w/norole.yaml
runs w/norole.yaml
[ "$rc" = 2 ] || die "no role: exit $rc (want 2): $(cat out err)"
grep -q "norole.yaml" err || die "no role: the file is not named: $(cat err)"
grep -q "execution role" err || die "no role: no reason: $(cat err)"
grep -q "step 'train'" err || die "no role: the step is not named: $(cat err)"
grep -q "started (attempt" out err && die "no role: a step started: $(cat out)"
# Steps that need no role still run without one.
runs w/norole.yaml --only code
[ "$rc" = 0 ] || die "no role, upload only: exit $rc: $(cat err)"

echo "== a bucket that does not exist"
sed 's/bucket: qa4-bucket/bucket: qa4-no-such-bucket/' w/pipeline.yaml >w/nobucket.yaml
runs w/nobucket.yaml
[ "$rc" = 1 ] || die "no bucket: exit $rc: $(cat err)"
grep -Eq "NoSuchBucket: The specified bucket does not exist \(request id [A-Za-z0-9-]+\)" err ||
  die "no bucket: no AWS code, message and request id: $(cat err)"

echo "== AWS_ENDPOINT_URL_<SERVICE> wins"
AWS_ENDPOINT_URL=http://127.0.0.1:9 AWS_ENDPOINT_URL_SAGEMAKER=$ep AWS_ENDPOINT_URL_S3=$ep \
  AWS_ENDPOINT_URL_STS=$ep AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=$ep \
  runs w/pipeline.yaml --only code --only train
[ "$rc" = 0 ] || die "service endpoints: exit $rc: $(cat err)"
AWS_ENDPOINT_URL_SAGEMAKER=http://127.0.0.1:9 runs w/pipeline.yaml --only code --only train
[ "$rc" = 1 ] || die "dead SageMaker endpoint: exit $rc: $(cat err)"
grep -q "SageMaker CreateTrainingJob: .*127.0.0.1 port 9" err ||
  die "dead SageMaker endpoint: not the one used: $(cat err)"
echo "acceptance_aws_errors: ok"

#!/usr/bin/env bash
# bench_aws.sh: the AWS client's CPU cost against moto, next to the AWS CLI's and
# boto3's for the same work. Compares client CPU (user+sys), not wall time:
# moto is the bottleneck.
#   1. a 256 MiB upload: bench_aws vs `aws s3 cp` of the same file
#   2. 1,000 DescribeTrainingJob calls: bench_aws vs boto3 (bench_aws.py)
# Usage: bench/bench_aws.sh [BUILD_DIR]   (default: build)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
bin=$build/bench/bench_aws
size_mib=${SMF_BENCH_MIB:-256}
calls=${SMF_BENCH_CALLS:-1000}
tmp=$(mktemp -d)
moto_pid=
cleanup() {
  [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

eval "$("$src/tests/tools/moto_up.sh" "$tmp")"
moto_pid=$SMF_MOTO_PID
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy
aws="aws --endpoint-url $AWS_ENDPOINT_URL"
$aws s3 mb s3://smf-bench >/dev/null
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$tmp/file.bin"

# CPU (user+sys) and wall of a command, from getrusage of the child.
measure() {
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t = time.time()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("wall=%.3f cpu=%.3f" % (time.time() - t, r.ru_utime + r.ru_stime))
PY
}
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }

echo "== upload of $size_mib MiB to moto"
ours=$("$bin" upload "$tmp/file.bin" smf-bench smflow.bin)
cli=$(measure $aws s3 cp "$tmp/file.bin" s3://smf-bench/cli.bin --quiet)
$aws s3 cp s3://smf-bench/smflow.bin "$tmp/check.bin" --quiet
cmp "$tmp/file.bin" "$tmp/check.bin"
printf '  smflow  : wall %6.2f s  client CPU %6.2f s\n' "$(field wall "$ours")" "$(field cpu "$ours")"
printf '  aws cli : wall %6.2f s  client CPU %6.2f s\n' "$(field wall "$cli")" "$(field cpu "$cli")"
python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('  CPU ratio smflow/aws-cli: %.3f (1/%.1f)' % (a/b, b/max(a,1e-9)))" \
  "$(field cpu "$ours")" "$(field cpu "$cli")"

echo "== $calls DescribeTrainingJob calls"
$aws sagemaker create-training-job --training-job-name smf-bench-job \
  --algorithm-specification TrainingImage=x:1,TrainingInputMode=File \
  --role-arn arn:aws:iam::123456789012:role/smflow-test \
  --output-data-config S3OutputPath=s3://smf-bench/out \
  --resource-config InstanceType=ml.m5.large,InstanceCount=1,VolumeSizeInGB=10 \
  --stopping-condition MaxRuntimeInSeconds=3600 >/dev/null
ours=$("$bin" describe "$calls" smf-bench-job 1)
py=$(python3 "$src/bench/bench_aws.py" "$calls" smf-bench-job)
printf '  smflow  : wall %6.2f s  client CPU %6.3f s  %7.1f us/call\n' "$(field wall "$ours")" \
  "$(field cpu "$ours")" "$(field per_call_us "$ours")"
printf '  boto3   : wall %6.2f s  client CPU %6.3f s  %7.1f us/call\n' "$(field wall "$py")" \
  "$(field cpu "$py")" "$(field per_call_us "$py")"
python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('  CPU per call ratio smflow/boto3: %.3f (1/%.1f)' % (a/b, b/max(a,1e-9)))" \
  "$(field per_call_us "$ours")" "$(field per_call_us "$py")"

#!/usr/bin/env bash
# bench_aws.sh: the AWS client's CPU cost against moto, next to the AWS CLI's and
# boto3's for the same work. Compares client CPU (user+sys of the client
# process, from wait4), not wall time: moto is the bottleneck.
#   1. a 256 MiB upload over https (moto with a throwaway CA, AWS_CA_BUNDLE for
#      both clients) and over plain http: bench_aws vs `aws s3 cp` of the same
#      file, SMF_BENCH_RUNS times (default 3), each object read back and compared
#   2. 1,000 DescribeTrainingJob calls: bench_aws vs boto3 (bench_aws.py)
# Usage: bench/bench_aws.sh [BUILD_DIR]   (default: build)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
bin=$build/bench/bench_aws
size_mib=${SMF_BENCH_MIB:-256}
calls=${SMF_BENCH_CALLS:-1000}
runs=${SMF_BENCH_RUNS:-3}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy

# One moto per scheme; each one's environment in a file.
"$src/tests/tools/moto_up.sh" "$tmp/http" >"$tmp/http.env"
SMF_MOTO_TLS=1 "$src/tests/tools/moto_up.sh" "$tmp/https" >"$tmp/https.env"
for s in http https; do pids+=("$(sed -n 's/^export SMF_MOTO_PID=//p' "$tmp/$s.env")"); done
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$tmp/file.bin"

measure() { python3 "$src/bench/bench_rusage.py" "$@"; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('%.3f (1/%.1f)' % (a/b, b/max(a,1e-9)))" "$1" "$2"; }
spread() { tr ' ' '\n' <<<"$*" | sort -n | sed -n '1p;$p' | paste -sd' ' | awk '{printf "%s-%s", $1, $2}'; }

upload_bench() {
  local scheme=$1
  # shellcheck disable=SC1090
  source "$tmp/$scheme.env"
  local aws="aws --endpoint-url $AWS_ENDPOINT_URL"
  $aws s3 mb s3://smf-bench >/dev/null
  echo "== upload of $size_mib MiB to moto over $scheme ($runs runs)"
  local ours_cpu=() ours_up=() cli_cpu=() r ours inproc cli
  for r in $(seq 1 "$runs"); do
    # bench_aws prints the upload's own CPU; bench_rusage the whole process's.
    inproc=$("$bin" upload "$tmp/file.bin" smf-bench smflow.bin)
    ours=$(measure "$bin" upload "$tmp/file.bin" smf-bench smflow.bin)
    cli=$(measure $aws s3 cp "$tmp/file.bin" s3://smf-bench/cli.bin --quiet)
    printf '  run %d  smflow : wall %6.2f s  client CPU %6.3f s (upload alone %6.3f s)\n' "$r" \
      "$(field wall "$ours")" "$(field cpu "$ours")" "$(field cpu "$inproc")"
    printf '  run %d  aws cli: wall %6.2f s  client CPU %6.3f s\n' "$r" "$(field wall "$cli")" \
      "$(field cpu "$cli")"
    ours_cpu+=("$(field cpu "$ours")")
    ours_up+=("$(field cpu "$inproc")")
    cli_cpu+=("$(field cpu "$cli")")
  done
  $aws s3 cp s3://smf-bench/smflow.bin "$tmp/check.bin" --quiet
  cmp "$tmp/file.bin" "$tmp/check.bin"
  rm -f "$tmp/check.bin"
  local mo mc
  mo=$(tr ' ' '\n' <<<"${ours_cpu[*]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
  mc=$(tr ' ' '\n' <<<"${cli_cpu[*]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
  echo "  smflow client CPU $(spread "${ours_cpu[*]}") s (upload alone $(spread "${ours_up[*]}") s)," \
    "aws cli $(spread "${cli_cpu[*]}") s; read back with the AWS CLI: identical"
  echo "  $scheme CPU ratio smflow/aws-cli (medians): $(ratio "$mo" "$mc")"
}

upload_bench https
upload_bench http

echo "== $calls DescribeTrainingJob calls (http)"
# shellcheck disable=SC1090
source "$tmp/http.env"
aws="aws --endpoint-url $AWS_ENDPOINT_URL"
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
echo "  CPU per call ratio smflow/boto3: $(ratio "$(field per_call_us "$ours")" "$(field per_call_us "$py")")"

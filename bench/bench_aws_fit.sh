#!/usr/bin/env bash
# bench_aws_fit.sh: N concurrent fit steps (default 500) of one generated
# pipeline on the aws target against moto (signature checking on), through a
# mitmproxy that timestamps every request. Prints: wall time, smflow's peak
# RSS and CPU (user+sys, per step), API calls per job by operation, and the
# highest number of Describe* calls in any one-second window against the
# configured rate (SMFLOW_AWS_DESCRIBE_RATE, burst = 2 x rate).
#
# Usage: bench/bench_aws_fit.sh [BUILD_DIR] [N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
n=${2:-500}
rate=${SMFLOW_AWS_DESCRIBE_RATE:-50}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy
cd "$tmp"
eval "$("$root/tests/tools/moto_up.sh" "$tmp/moto")"
pids+=("$SMF_MOTO_PID")
aws --endpoint-url "$AWS_ENDPOINT_URL" s3 mb s3://bench-bucket >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
TIMING_LOG="$tmp/timing.log" mitmdump --mode "reverse:http://127.0.0.1:$SMF_MOTO_PORT" \
  --listen-port "$port" --set keep_host_header=true -s "$root/bench/timing_addon.py" -q \
  >"$tmp/mitm.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), timeout=0.2)" \
    2>/dev/null && break
  sleep 0.1
done

{
  printf 'smflow: 1\nname: benchfit\ntarget: aws\nconcurrency: %s\n' "$n"
  printf 'role: arn:aws:iam::123456789012:role/R\nsteps:\n'
  for i in $(seq 1 "$n"); do
    printf '  fit%s:\n    fit:\n      entry_point: train.py\n' "$i"
    printf '      source: "s3://bench-bucket/code/sourcedir.tar.gz"\n'
    printf '      framework: pytorch\n      framework_version: "2.1"\n      py_version: py310\n'
    printf '      instance_type: ml.g5.xlarge\n      hyperparameters: {epochs: 10, lr: 0.001}\n'
    printf '      inputs: "s3://bench-bucket/data/"\n'
  done
} >"$tmp/pipeline.yaml"

export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export SMFLOW_AWS_DESCRIBE_RATE=$rate SMFLOW_AWS_POLL_MS=${SMFLOW_AWS_POLL_MS:-2000}
start=$(date +%s.%N)
/usr/bin/time -v "$build/smflow" run -q "$tmp/pipeline.yaml" 2>"$tmp/time.txt" >/dev/null || {
  cat "$tmp/time.txt" >&2; exit 1; }
end=$(date +%s.%N)
python3 - "$tmp/time.txt" "$tmp/timing.log" "$n" "$rate" "$start" "$end" <<'PY'
import collections, re, sys
time_txt, timing, n, rate, start, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
t = open(time_txt).read()
rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
user = float(re.search(r"User time \(seconds\): ([\d.]+)", t).group(1))
sys_ = float(re.search(r"System time \(seconds\): ([\d.]+)", t).group(1))
ops = collections.Counter()
describes = []
for line in open(timing):
    ts, op = line.split()
    ops[op] += 1
    if ".Describe" in op and op.startswith("SageMaker."):
        describes.append(float(ts))
describes.sort()
peak, j = 0, 0
for i, x in enumerate(describes):
    while describes[j] < x - 1.0:
        j += 1
    peak = max(peak, i - j + 1)
print("fit steps:              %d (all at once)" % n)
print("wall time:              %.1f s" % (end - start))
print("peak RSS:               %.1f MB" % (rss_kb / 1024))
print("smflow CPU:             %.2f s user+sys, %.2f ms per step" % (user + sys_, (user + sys_) * 1000 / n))
print("API calls per job:      %.2f" % (sum(ops.values()) / n))
for op, c in sorted(ops.items()):
    print("  %-42s %6d  (%.2f per job)" % (op, c, c / n))
print("Describe* peak:         %d in one second (rate %.0f/s, burst %.0f: the token bucket allows %.0f)"
      % (peak, rate, 2 * rate, 3 * rate))
ok = rss_kb / 1024 < 100 and peak <= 3 * rate
print("goal (< 100 MB RSS, polling within the rate): %s" % ("met" if ok else "NOT met"))
PY

#!/usr/bin/env bash
# bench_aws_ab.sh: compare the client CPU of two builds' https uploads, A and B
# alternating run after run against one https moto (a change worth a few
# percent is otherwise lost in the load of a shared machine, which drifts
# between two separate series). Prints every run's CPU (user+sys of the whole
# process, wait4) and wall time, and each build's median.
# Usage: bench/bench_aws_ab.sh BENCH_AWS_A BENCH_AWS_B [RUNS]   (default 10)
#   BENCH_AWS_*: build/bench/bench_aws of each build (copy one aside first).
# Environment: SMF_BENCH_MIB (default 256).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: $0 BENCH_AWS_A BENCH_AWS_B [RUNS]" >&2; exit 2; }
a=$(realpath "$1")
b=$(realpath "$2")
runs=${3:-10}
size_mib=${SMF_BENCH_MIB:-256}
tmp=$(mktemp -d)
pid=
cleanup() {
  [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy

SMF_MOTO_TLS=1 "$src/tests/tools/moto_up.sh" "$tmp/moto" >"$tmp/env"
# shellcheck disable=SC1091
source "$tmp/env"
pid=$SMF_MOTO_PID
aws --endpoint-url "$AWS_ENDPOINT_URL" s3 mb s3://smf-bench >/dev/null
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$tmp/file.bin"

median() { tr ' ' '\n' <<<"$*" | grep . | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
cpu_a=() cpu_b=()
echo "== $size_mib MiB upload over https, $runs runs each, A and B alternating ($(uptime))"
for r in $(seq 1 "$runs"); do
  for which in a b; do
    bin=$a
    [ "$which" = a ] || bin=$b
    out=$(python3 "$src/bench/bench_rusage.py" "$bin" upload "$tmp/file.bin" smf-bench ab.bin)
    cpu=$(sed -n 's/.*cpu=\([0-9.]*\).*/\1/p' <<<"$out")
    wall=$(sed -n 's/.*wall=\([0-9.]*\).*/\1/p' <<<"$out")
    printf '  run %2d  %s: client CPU %6.3f s  wall %6.2f s\n' "$r" "${which^^}" "$cpu" "$wall"
    if [ "$which" = a ]; then cpu_a+=("$cpu"); else cpu_b+=("$cpu"); fi
  done
done
aws --endpoint-url "$AWS_ENDPOINT_URL" s3 cp s3://smf-bench/ab.bin "$tmp/check.bin" --quiet
cmp "$tmp/file.bin" "$tmp/check.bin"
ma=$(median "${cpu_a[*]}")
mb=$(median "${cpu_b[*]}")
echo "  median client CPU: A $ma s, B $mb s (B/A $(python3 -c "import sys; print('%.3f' % (float(sys.argv[2]) / float(sys.argv[1])))" "$ma" "$mb")); $(uptime)"

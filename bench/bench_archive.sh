#!/usr/bin/env bash
# bench_archive.sh: pack a generated ~64 MiB source tree (compressible text and
# random bytes) with smflow's writer (ISA-L levels 0-3) against `tar czf`
# (gzip/zlib -6) and Python's tarfile "w:gz" (zlib -9, what the SageMaker SDK
# uses), printing MiB/s, compression ratio and speed relative to each.
#
# usage: bench/bench_archive.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-${SMF_BUILD_DIR:-build}}
driver=$build/bench/bench_archive_pack
[[ -x $driver ]] || { echo "build first: $driver is missing" >&2; exit 1; }

work=$(mktemp -d /tmp/smf-bench-archive-XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$work/src

# 40 MiB of source-like text in 160 files, 24 MiB of random bytes in 12 files.
python3 - "$src" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(42)
words = ("def return import self data model train loss epoch batch tensor numpy "
         "torch optimizer learning_rate for in range if else print json path").split()
for i in range(160):
    d = os.path.join(root, "pkg%02d" % (i % 16))
    os.makedirs(d, exist_ok=True)
    lines, size = [], 0
    while size < 256 * 1024:
        line = "    " * rng.randint(0, 3) + " ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) + "\n"
        lines.append(line)
        size += len(line)
    with open(os.path.join(d, "mod%03d.py" % i), "w") as f:
        f.write("".join(lines))
os.makedirs(os.path.join(root, "weights"), exist_ok=True)
for i in range(12):
    with open(os.path.join(root, "weights", "w%02d.bin" % i), "wb") as f:
        f.write(os.urandom(2 * 1024 * 1024))
PY
input=$(du -sb "$src" | cut -f1)
mib=$(python3 -c "print($input / 1048576)")
echo "input: $(printf '%.1f' "$mib") MiB in $(find "$src" -type f | wc -l) files"
sync

best_of() {  # best_of N CMD...: smallest wall time in seconds
  local best=
  for _ in $(seq "$1"); do
    local t0 t1
    t0=$(date +%s.%N)
    "${@:2}" >/dev/null
    t1=$(date +%s.%N)
    best=$(python3 -c "a=$t1-$t0; b='$best'; print(a if not b or a < float(b) else b)")
  done
  echo "$best"
}

declare -A secs size
for lvl in -1 1 2 3; do
  out=$("$driver" "$src" "$work/smf.tar.gz" "$lvl" 3)
  secs[smflow$lvl]=$(sed 's/.*wall=\([0-9.]*\).*/\1/' <<<"$out")
  size[smflow$lvl]=$(sed 's/.*bytes=\([0-9]*\).*/\1/' <<<"$out")
done
secs[tar]=$(best_of 2 tar czf "$work/tar.tar.gz" -C "$src" .)
size[tar]=$(stat -c %s "$work/tar.tar.gz")
pyc='import sys, tarfile
with tarfile.open(sys.argv[2], "w:gz") as t:
    t.add(sys.argv[1], arcname=".")'
secs[python]=$(best_of 1 python3 -c "$pyc" "$src" "$work/py.tar.gz")
size[python]=$(stat -c %s "$work/py.tar.gz")

printf '%-22s %9s %9s %8s %12s %12s\n' tool MiB/s seconds ratio "x tar czf" "x tarfile"
row() {
  python3 -c "
m=$mib; s=$2; b=${3}; t=${secs[tar]}; p=${secs[python]}
print('%-22s %9.1f %9.3f %8.3f %12.1f %12.1f' % ('$1', m/s, s, b/$input, t/s, p/s))"
}
row "smflow ISA-L level 0" "${secs[smflow-1]}" "${size[smflow-1]}"
row "smflow ISA-L level 1*" "${secs[smflow1]}" "${size[smflow1]}"
row "smflow ISA-L level 2" "${secs[smflow2]}" "${size[smflow2]}"
row "smflow ISA-L level 3" "${secs[smflow3]}" "${size[smflow3]}"
row "tar czf (zlib -6)" "${secs[tar]}" "${size[tar]}"
row "python tarfile w:gz" "${secs[python]}" "${size[python]}"
echo "(* the default; ratio = compressed/input, x = speed-up over that tool)"

#!/usr/bin/env bash
# bench_quickstart_ab.sh: two smflow builds on the quickstart, their runs
# interleaved (A, B, A, B, ...) so that the machine's load, which on a shared
# machine moves the absolute figures by tens of milliseconds from one minute to
# the next, reaches both alike. Per build: the median and the minimum of the
# run's wall time and of smflow's overhead, counted as bench_quickstart.sh
# counts it (wall time outside the user scripts and the model server's start-up
# until deployed; the same python3 timing shim), except that the deploy step's
# end is the state database's milliseconds for both builds alike (an older
# build does not print it to the microsecond).
#
# usage: bench/bench_quickstart_ab.sh SMFLOW_A SMFLOW_B [RUNS]   (RUNS per build, default 6)
# EPOCHS=N passes --param epochs=N.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -n ${EPOCHREALTIME:-} ]] || { echo "bash >= 5.0 is needed (EPOCHREALTIME)" >&2; exit 1; }
a=$(realpath "$1")
b=$(realpath "$2")
runs=${3:-6}
pyshim=$(realpath "${SMF_BUILD_DIR:-build}/bench/bench_pyshim")
[[ -x $pyshim ]] || { echo "build first: $pyshim is missing" >&2; exit 1; }
work=$(mktemp -d /tmp/smf-bench-ab-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/shim"
ln -s "$pyshim" "$work/shim/python3"
export SMF_PYSHIM_REAL
SMF_PYSHIM_REAL=$(python3 -c "import sys; print(sys.executable)")

# One run of build $1, printed as "TAG WALL_MS OVERHEAD_MS".
one_run() {
  local smflow=$1 tag=$2 t0 t1 dep_end
  rm -rf "$work/qs" "$work/state" "$work/intervals"
  cp -r examples/quickstart "$work/qs"
  rm -rf "$work/qs/.smflow" "$work/qs/data"
  t0=${EPOCHREALTIME//[.,]/}000
  SMF_PYSHIM_LOG=$work/intervals PATH="$work/shim:$PATH" "$smflow" -q --state-dir "$work/state" \
    run "$work/qs/pipeline.yaml" ${EPOCHS:+--param "epochs=$EPOCHS"} >/dev/null 2>"$work/err" ||
    { cat "$work/err" >&2; exit 1; }
  t1=${EPOCHREALTIME//[.,]/}000
  dep_end=$(sqlite3 "$work/state/state.db" "SELECT finished_at FROM steps WHERE id='deploy'")
  "$smflow" --state-dir "$work/state" endpoints delete quickstart >/dev/null 2>&1 || true
  python3 - "$work/intervals" "$t0" "$t1" "$dep_end" "$tag" <<'PY'
import sys
path, t0, t1, dep_end, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) * 10**6, sys.argv[5]
user, starts, srv = [], {}, None
for line in open(path):
    what, t, pid, name = line.split()[:4]
    if what == "start":
        starts[pid] = int(t)
        if name == "model_server.py":
            srv = int(t)
    elif name != "model_server.py":
        user.append((starts.pop(pid), int(t)))
def union(iv):
    tot, cur = 0, None
    for s, e in sorted(iv):
        if cur and s <= cur[1]:
            cur[1] = max(cur[1], e)
        else:
            if cur:
                tot += cur[1] - cur[0]
            cur = [s, e]
    return tot + (cur[1] - cur[0] if cur else 0)
both = union(user + ([(srv, dep_end)] if srv else []))
print(tag, (t1 - t0) / 1e6, (t1 - t0 - both) / 1e6)
PY
}

for i in $(seq 1 "$runs"); do
  one_run "$a" A
  one_run "$b" B
done >"$work/results"
echo "A = $a"
echo "B = $b"
python3 - "$work/results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    tag, wall, over = line.split()
    rows.setdefault(tag, []).append((float(wall), float(over)))
print("%-3s %5s %22s %26s" % ("", "runs", "wall ms (median, min)", "overhead ms (median, min)"))
for tag in sorted(rows):
    w = [r[0] for r in rows[tag]]
    o = [r[1] for r in rows[tag]]
    print("%-3s %5d %13.0f %8.0f %17.1f %8.1f" % (tag, len(w), statistics.median(w), min(w),
                                                 statistics.median(o), min(o)))
PY

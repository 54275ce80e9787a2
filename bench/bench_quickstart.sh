#!/usr/bin/env bash
# bench_quickstart.sh: the quickstart pipeline's wall time split into the user
# scripts' time and smflow's own overhead.
#
# - user scripts: every python3 the run starts (make_data.py, train.py,
#   evaluate.py) goes through a PATH shim that records its start and end; their
#   union is the time user code ran;
# - model server: share/smflow/model_server.py from its start until the deploy
#   step ended (it loads the model and answers the smoke test: the serving
#   container's start-up on SageMaker);
# - smflow overhead (wall): the rest of the run's wall time, i.e. the time no
#   user script or server was working: parsing, state commits, packing,
#   extraction, copying, polling gaps;
# - smflow CPU: user+system CPU of the smflow process itself (not its
#   children), sampled from /proc/PID/stat every 5 ms until it exits.
# Goal: overhead < 5 % of the run. Median of RUNS runs (default 5); EPOCHS=N
# passes --param epochs=N (the quickstart's default, 200, trains in ~0.1 s:
# a larger N shows the same fixed overhead against a longer training).
#
# usage: bench/bench_quickstart.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-${SMF_BUILD_DIR:-build}}
smflow=$(realpath "$build/smflow")
[[ -x $smflow ]] || { echo "build first: $smflow is missing" >&2; exit 1; }
runs=${RUNS:-5}
work=$(mktemp -d /tmp/smf-bench-qs-XXXXXX)
cleanup() {
  "$smflow" --state-dir "$work/state" endpoints delete quickstart >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
# The interpreter itself (not a version-manager shim, whose start-up would count as user time).
real_python=$(python3 -c "import sys; print(sys.executable)")
mkdir -p "$work/shim"
cat >"$work/shim/python3" <<SH
#!/bin/bash
s=\$(date +%s%N)
echo "start \$s \$\$ \${1##*/}" >>"$work/intervals"
"$real_python" "\$@"
rc=\$?
echo "end \$(date +%s%N) \$\$ \${1##*/}" >>"$work/intervals"
exit \$rc
SH
chmod +x "$work/shim/python3"
hz=$(getconf CLK_TCK)

one_run() {
  rm -rf "$work/qs" "$work/state" "$work/intervals"
  cp -r examples/quickstart "$work/qs"
  rm -rf "$work/qs/.smflow" "$work/qs/data"
  local t0 t1 pid ticks=0 line
  t0=$(date +%s%N)
  PATH="$work/shim:$PATH" "$smflow" -q --state-dir "$work/state" run "$work/qs/pipeline.yaml" \
    ${EPOCHS:+--param "epochs=$EPOCHS"} >/dev/null 2>"$work/err" &
  pid=$!
  while line=$(cat "/proc/$pid/stat" 2>/dev/null); do
    line=${line##*) }
    read -r -a f <<<"$line"
    [[ ${f[0]} == Z ]] && break
    ticks=$((f[11] + f[12]))  # utime + stime (fields 14, 15 of stat)
    sleep 0.005
  done
  wait "$pid" || { cat "$work/err" >&2; exit 1; }
  t1=$(date +%s%N)
  local dep_end
  dep_end=$(sqlite3 "$work/state/state.db" "SELECT finished_at FROM steps WHERE id='deploy'")
  python3 - "$work/intervals" "$t0" "$t1" "$ticks" "$hz" "$dep_end" <<'PY'
import sys
path, t0, t1, ticks, hz, dep_end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]) * 10**6
user, server, starts = [], [], {}
for line in open(path):
    what, t, pid, name = line.split()[:4]
    if what == "start":
        starts[pid] = int(t)
        if name == "model_server.py":
            server.append((int(t), dep_end))
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
# The server outlives the run: counted from its start until the deploy step ended.
srv_start = min((s for s, _ in server), default=None)
wall = t1 - t0
u = union(user)
sv = union([(srv_start, dep_end)]) if srv_start else 0
both = union(user + ([(srv_start, dep_end)] if srv_start else []))
print(wall / 1e6, u / 1e6, (both - u) / 1e6, (wall - both) / 1e6, ticks * 1000.0 / hz)
PY
}

echo "quickstart: $runs runs of examples/quickstart/pipeline.yaml on the local target${EPOCHS:+ (epochs=$EPOCHS)}"
results=()
for i in $(seq 1 "$runs"); do
  results+=("$(one_run)")
  "$smflow" --state-dir "$work/state" endpoints delete quickstart >/dev/null 2>&1 || true
done
printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
cols = list(zip(*rows))
wall, user, srv, over, cpu = (statistics.median(c) for c in cols)
print("%-44s %9s" % ("median of %d runs" % len(rows), "ms"))
print("%-44s %9.0f" % ("wall time of smflow run", wall))
print("%-44s %9.0f  (%4.1f %%)" % ("user scripts (data, train, evaluate)", user, 100 * user / wall))
print("%-44s %9.0f  (%4.1f %%)" % ("model server start-up until deployed", srv, 100 * srv / wall))
print("%-44s %9.0f  (%4.1f %%)" % ("smflow overhead (wall outside the above)", over, 100 * over / wall))
print("%-44s %9.0f  (%4.1f %%)" % ("smflow CPU (its own user+sys)", cpu, 100 * cpu / wall))
print("goal: overhead < 5 %% of the run: %s" % ("met" if over < 0.05 * wall else "NOT met"))
'

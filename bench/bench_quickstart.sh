#!/usr/bin/env bash
# bench_quickstart.sh: the quickstart pipeline's wall time split into the user
# scripts' time and smflow's own overhead.
#
# - user scripts: every python3 the run starts (make_data.py, train.py,
#   evaluate.py) goes through a PATH shim that records its start and end; their
#   union is the time user code ran. The shim is bench_pyshim (bench_pyshim.c,
#   built with the benchmarks), not a script: it reads the clock, appends one
#   line with one write(2), forks and execs the real interpreter, waits for
#   it, reads the clock again and appends the end line. Recording the start
#   just before fork and the end just after wait charges the shim's own fork
#   and exec to the user script rather than to smflow; exec'ing the
#   interpreter in place would be cheaper still but leaves no one to record
#   the end. What happens before it can read the clock (its own exec) is
#   charged to smflow: the shim is linked statically, with the C library
#   alone, so that no dynamic loader runs there (~0.3 ms per start, four
#   starts per run). Its cost is measured below (an empty interpreter start
#   through the shim and directly, interleaved) and printed per python3 start;
# - model server: share/smflow/model_server.py from its start until the deploy
#   step ended (it loads the model and answers the smoke test: the serving
#   container's start-up on SageMaker). That end is the last step's end as
#   smflow prints it with SMFLOW_STATS, in microseconds: the state database
#   records milliseconds, whose truncation counted 0-1 ms (0.5 on average) of
#   the server's time as smflow's;
# - smflow overhead (wall): the rest of the run's wall time, i.e. the time no
#   user script or server was working: parsing, state commits, packing,
#   extraction, copying, polling gaps;
# - smflow CPU: user+system CPU of the smflow process itself (not its
#   children): getrusage(RUSAGE_SELF) at the end of the run, which smflow
#   prints with SMFLOW_STATS=1. (Sampling /proc/PID/stat from a shell loop, as
#   this script first did, forked `cat` and `sleep` every ~7 ms next to the run
#   and noticed smflow's exit only at the loop's next turn: up to ~8 ms late,
#   which counted as smflow overhead. The run's end is now `wait` itself.)
# - clocks: bash's $EPOCHREALTIME (microseconds, no process), not $(date
#   +%s%N), whose fork and exec (1-6 ms each on a busy machine) fell inside
#   every measured interval, the smflow run's and the peer's alike.
# - peer: the same user scripts run directly from bash without smflow, in the
#   pipeline's order: make_data.py, train.py with the contract's SM_MODEL_DIR
#   and SM_CHANNEL_TRAIN set by hand, evaluate.py --model-dir/--output-dir/
#   --test, then the model server until it answers /ping. smflow's wall time is
#   also shown as a ratio to this peer.
# Goal: overhead < 5 % of the run. Median of RUNS runs (default 5); EPOCHS=N
# passes --param epochs=N (the quickstart's default, 200, trains in ~0.1 s:
# a larger N shows the same fixed overhead against a longer training).
#
# KEEP=1 leaves the work directory (intervals file, peer outputs) in /tmp.
# usage: bench/bench_quickstart.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -n ${EPOCHREALTIME:-} ]] || { echo "bash >= 5.0 is needed (EPOCHREALTIME)" >&2; exit 1; }
build=${1:-${SMF_BUILD_DIR:-build}}
smflow=$(realpath "$build/smflow")
[[ -x $smflow ]] || { echo "build first: $smflow is missing" >&2; exit 1; }
runs=${RUNS:-5}
work=$(mktemp -d /tmp/smf-bench-qs-XXXXXX)
cleanup() {
  "$smflow" --state-dir "$work/state" endpoints delete quickstart >/dev/null 2>&1 || true
  [[ -n ${KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT
# The interpreter itself (not a version-manager shim, whose start-up would count as user time).
real_python=$(python3 -c "import sys; print(sys.executable)")
pyshim=$(realpath "$build/bench/bench_pyshim")
[[ -x $pyshim ]] || { echo "build first: $pyshim is missing" >&2; exit 1; }
mkdir -p "$work/shim"
ln -s "$pyshim" "$work/shim/python3"
export SMF_PYSHIM_REAL=$real_python SMF_PYSHIM_LOG=$work/intervals

one_run() {
  rm -rf "$work/qs" "$work/state" "$work/intervals"
  cp -r examples/quickstart "$work/qs"
  rm -rf "$work/qs/.smflow" "$work/qs/data"
  local t0 t1 cpu
  t0=${EPOCHREALTIME//[.,]/}000
  PATH="$work/shim:$PATH" SMFLOW_STATS=1 "$smflow" -q --state-dir "$work/state" \
    run "$work/qs/pipeline.yaml" ${EPOCHS:+--param "epochs=$EPOCHS"} >/dev/null 2>"$work/err" ||
    { cat "$work/err" >&2; exit 1; }
  t1=${EPOCHREALTIME//[.,]/}000
  cpu=$(sed -n 's/^stats: self_cpu_ms=\([0-9]*\).*/\1/p' "$work/err")
  [[ -n $cpu ]] || { echo "no stats line from smflow" >&2; cat "$work/err" >&2; exit 1; }
  local dep_ms dep_us dep_end
  dep_ms=$(sqlite3 "$work/state/state.db" "SELECT finished_at FROM steps WHERE id='deploy'")
  # The deploy step's end to the microsecond (the last step's, printed with
  # SMFLOW_STATS) when it is the same moment as the database's milliseconds;
  # else those milliseconds (up to 1 ms early).
  dep_us=$(sed -n 's/^stats: last_step_end_us=\([0-9]*\).*/\1/p' "$work/err")
  dep_end=$((dep_ms * 1000000))
  [[ -n $dep_us && $((dep_us / 1000)) -eq $dep_ms ]] && dep_end=$((dep_us * 1000))
  python3 - "$work/intervals" "$t0" "$t1" "$cpu" "$dep_end" <<'PY'
import sys
path, t0, t1, cpu, dep_end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
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
print(wall / 1e6, u / 1e6, (both - u) / 1e6, (wall - both) / 1e6, cpu)
PY
}

# The peer: the user scripts in sequence from bash, no smflow. $1 = the
# interpreter to run.
# Prints the wall time in ms.
peer_run() {
  local py=$1 p=$work/peer t0 t1 port srv
  rm -rf "$p" && mkdir -p "$p/model" "$p/eval"
  cp -r examples/quickstart "$p/qs" && rm -rf "$p/qs/.smflow" "$p/qs/data"
  port=$("$real_python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  t0=${EPOCHREALTIME//[.,]/}000
  (cd "$p/qs" && "$py" make_data.py --out data >/dev/null) || return 1
  (cd "$p/qs/code" && SM_MODEL_DIR=$p/model SM_CHANNEL_TRAIN=$p/qs/data/train \
    "$py" train.py --epochs "${EPOCHS:-200}" --learning-rate 0.1 >/dev/null) || return 1
  (cd "$p/qs/code" && "$py" evaluate.py --model-dir "$p/model" --output-dir "$p/eval" \
    --test "$p/qs/data/test" >/dev/null) || return 1
  SAGEMAKER_SUBMIT_DIRECTORY=$p/qs/code SAGEMAKER_PROGRAM=inference.py \
    "$py" -S share/smflow/model_server.py --port "$port" --model-dir "$p/model" >/dev/null 2>&1 &
  srv=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/ping"; do
    kill -0 "$srv" 2>/dev/null || return 1
    sleep 0.002
  done
  t1=${EPOCHREALTIME//[.,]/}000
  kill "$srv" && wait "$srv" 2>/dev/null || true
  [[ -s $p/model/model.json && -s $p/eval/evaluation.json ]] || return 1
  echo $(((t1 - t0) / 1000))
}

echo "quickstart: $runs runs of examples/quickstart/pipeline.yaml on the local target${EPOCHS:+ (epochs=$EPOCHS)}"
# smflow runs and peer runs alternate, so that a change in the machine's load
# during the benchmark reaches both alike.
results=() peers=()
for i in $(seq 1 "$runs"); do
  results+=("$(one_run)")
  "$smflow" --state-dir "$work/state" endpoints delete quickstart >/dev/null 2>&1 || true
  peers+=("$(peer_run "$real_python")") || { echo "the peer run failed" >&2; exit 1; }
done
# The instrument's own cost: one interpreter start (python3 -S -c pass, the
# shortest a script can be) timed directly and through the shim, interleaved,
# 4 x RUNS times each; the difference of the medians is what the shim adds to
# every python3 of the run (and is charged to the user scripts, not smflow).
direct=() shimmed=()
for i in $(seq 1 $((4 * runs))); do
  t0=${EPOCHREALTIME//[.,]/}000; "$real_python" -S -c pass; t1=${EPOCHREALTIME//[.,]/}000
  direct+=($(((t1 - t0) / 1000)))
  t0=${EPOCHREALTIME//[.,]/}000; SMF_PYSHIM_LOG=/dev/null "$pyshim" -S -c pass; t1=${EPOCHREALTIME//[.,]/}000
  shimmed+=($(((t1 - t0) / 1000)))
done
export PEERS="${peers[*]}" DIRECT="${direct[*]}" SHIMMED="${shimmed[*]}"
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
import os
peer = statistics.median(map(int, os.environ["PEERS"].split())) / 1000
direct = statistics.median(map(int, os.environ["DIRECT"].split())) / 1000
shim = statistics.median(map(int, os.environ["SHIMMED"].split())) / 1000
print("%-44s %9.0f  (smflow wall = %.2f x)" % ("peer: the same scripts from bash, no smflow", peer, wall / peer))
print("%-44s %9.1f  (python3 -S -c pass: %.1f direct)" % ("instrument: shim cost per python3 start", shim - direct, direct))
print("goal: overhead < 5 %% of the run: %s" % ("met" if over < 0.05 * wall else "NOT met"))
'

#!/usr/bin/env bash
# engine_dag.sh: N no-op `run` steps (`true`) in a random DAG at concurrency 64,
# against GNU make -j64 running the same DAG as a generated Makefile.
# Prints wall time, smflow's own CPU per step (children excluded: getrusage
# RUSAGE_SELF, printed by smflow when SMFLOW_STATS=1), peak RSS and commits.
# usage: bench/engine_dag.sh [N] [SMFLOW]   (default 10000, build/smflow)
set -euo pipefail
N=${1:-10000}
SMFLOW=$(realpath "${2:-build/smflow}")
J=64
T=$(mktemp -d /tmp/smf-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"
python3 - "$N" <<'PY'
import random, sys
n = int(sys.argv[1])
random.seed(42)
deps = []
for i in range(n):
    k = min(i, random.randint(0, 3))
    # Mostly recent steps: a DAG that is wide but has long chains too.
    d = sorted(set(random.randint(max(0, i - 200), i - 1) for _ in range(k))) if i else []
    deps.append(d)
with open("p.yaml", "w") as f:
    f.write(f"smflow: 1\nname: bench\nconcurrency: 64\nsteps:\n")
    for i, d in enumerate(deps):
        f.write(f"  s{i}:\n")
        if d:
            f.write("    needs: [" + ", ".join(f"s{j}" for j in d) + "]\n")
        f.write("    run: \"true\"\n")
with open("Makefile", "w") as f:
    f.write("all: " + " ".join(f"s{i}" for i in range(n)) + "\n")
    f.write(".PHONY: all " + " ".join(f"s{i}" for i in range(n)) + "\n")
    for i, d in enumerate(deps):
        f.write(f"s{i}: " + " ".join(f"s{j}" for j in d) + "\n\t@true\n")
PY
now() { date +%s.%N; }
t0=$(now)
make -s -j$J -f Makefile all
t1=$(now)
make_wall=$(echo "$t1 - $t0" | bc)
t0=$(now)
SMFLOW_STATS=1 "$SMFLOW" -q --state-dir "$T/state" run p.yaml 2>stats.txt >/dev/null
t1=$(now)
smf_wall=$(echo "$t1 - $t0" | bc)
grep '^stats:' stats.txt || { tail stats.txt; exit 1; }
self_ms=$(sed -n 's/.*self_cpu_ms=\([0-9]*\).*/\1/p' stats.txt)
rss=$(sed -n 's/.*max_rss_kb=\([0-9]*\).*/\1/p' stats.txt)
printf 'steps                 %d (concurrency %d)\n' "$N" "$J"
printf 'make -j%d wall        %.2f s\n' "$J" "$make_wall"
printf 'smflow wall           %.2f s  (%.2fx make)\n' "$smf_wall" "$(echo "$smf_wall / $make_wall" | bc -l)"
printf 'smflow own CPU        %.1f us/step\n' "$(echo "$self_ms * 1000 / $N" | bc -l)"
printf 'smflow peak RSS       %.1f MB\n' "$(echo "$rss / 1024" | bc -l)"

#!/usr/bin/env bash
# bench_validate.sh [STEPS]: time `smflow validate` on a generated pipeline of
# STEPS steps (default 10000) against PyYAML merely parsing the same file
# (yaml.safe_load), best of 3 runs each, and print the ratio.
#   SMFLOW      the smflow binary (default build/smflow); when it has no
#               `validate` command yet, build/bench/dsl_validate is timed instead.
#   DSL_VALIDATE the bare loader driver (default build/bench/dsl_validate).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
steps="${1:-10000}"
smflow="${SMFLOW:-$root/build/smflow}"
driver="${DSL_VALIDATE:-$root/build/bench/dsl_validate}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
file="$tmp/pipeline.yaml"
python3 "$root/bench/gen_pipeline.py" "$steps" >"$file"
printf -- '-- hooks file used by the generated pipeline\nfunction notify(run) end\n' >"$tmp/hooks.lua"

cmd=("$smflow" validate "$file")
if ! "${cmd[@]}" >/dev/null 2>&1; then
  echo "note: '$smflow validate' is not available or failed; timing $driver" >&2
  cmd=("$driver" "$file")
  "${cmd[@]}" >/dev/null
fi

# best_of3 CMD...: the smallest wall time of three runs, in seconds.
best_of3() {
  local best="" t
  for _ in 1 2 3; do
    t=$(python3 - "$@" <<'PY'
import subprocess, sys, time
t0 = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print("%.4f" % (time.perf_counter() - t0))
PY
)
    if [[ -z "$best" ]] || awk "BEGIN{exit !($t < $best)}"; then best="$t"; fi
  done
  echo "$best"
}

t_smf=$(best_of3 "${cmd[@]}")
t_py=$(best_of3 python3 -c 'import yaml,sys; yaml.safe_load(open(sys.argv[1]))' "$file")
bytes=$(wc -c <"$file")
echo "pipeline: $steps steps, $bytes bytes"
echo "smflow validate: ${t_smf}s  (${cmd[0]##*/})"
echo "PyYAML safe_load: ${t_py}s"
awk "BEGIN{printf \"ratio: smflow is %.1fx faster than PyYAML's parse alone\n\", $t_py / $t_smf}"

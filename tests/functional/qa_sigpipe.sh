#!/usr/bin/env bash
# qa_sigpipe.sh: a reader of smflow's output that goes away (`smflow run p.yaml 2>&1 |
# head -1`) does not kill the run half-way: the later steps still run and the run
# is recorded as succeeded, not left "running".
# Needs $SMFLOW (the binary).
set -u
: "${SMFLOW:?path of the smflow binary}"
SMFLOW=$(realpath "$SMFLOW")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

cat >"$T/p.yaml" <<YAML
smflow: 1
name: reader-gone
steps:
  a: {run: "sleep 0.5; echo one; echo two"}
  b: {needs: [a], run: "echo b-ran > $T/b-ran"}
YAML
for out in stderr stdout; do
  rm -f "$T/b-ran"
  if [[ $out == stderr ]]; then
    "$SMFLOW" run "$T/p.yaml" --state-dir "$T/sd-$out" 2>&1 >/dev/null | head -1 >/dev/null
  else
    "$SMFLOW" run "$T/p.yaml" --json --state-dir "$T/sd-$out" 2>/dev/null | head -1 >/dev/null
  fi
  rc=${PIPESTATUS[0]}
  [[ $rc -eq 0 ]] || fail "$out closed early: smflow exits $rc, expected 0"
  [[ -e $T/b-ran ]] || fail "$out closed early: step b did not run"
  st=$("$SMFLOW" status --json --state-dir "$T/sd-$out" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["run"]["status"])')
  [[ $st == succeeded ]] || fail "$out closed early: run is '$st', expected succeeded"
done

if [[ $failures -ne 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "ok"

#!/usr/bin/env bash
# qa_expr_pos.sh: a failing `${...}` at run time names the FILE:LINE:COL of its `${`
# as an editor shows it, also in quoted scalars written with escapes (`\"`, `\\`,
# `\t`, `\u00e9`, `''`) where the value is shorter than the source.
# Needs $SMFLOW (the binary).
set -u
: "${SMFLOW:?path of the smflow binary}"
SMFLOW=$(realpath "$SMFLOW")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

cat >"$T/p.yaml" <<'YAML'
smflow: 1
name: positions
steps:
  a: {run: "echo \t é ${'x' .. nil}"}
  b:
    run: 'it''s ${1 + {}}'
  c: {run: "a\"b\\c ${nil .. 'q'} \u00e9 ${nil .. 'r'}"}
  d: {run: 'x''y ${1} ''${nil .. 2}'}
  e: {run: "plain ${nil .. 3}"}
  f: {run: "$${HOME} \t${nil .. 4}"}
  g:
    run: |
      echo ${error('boom')}
YAML
(cd "$T" && "$SMFLOW" run p.yaml >"$T/out" 2>"$T/err")
rc=$?
[[ $rc -eq 1 ]] || fail "run exits 1 (a step failed), got $rc"
expect() {  # STEP POSITION
  grep -qE "^\[$1\] error: failed after 0 attempts: [A-Za-z]+: p\.yaml:$2: in " "$T/err" ||
    fail "step $1: error at p.yaml:$2 expected; got: $(grep -F "[$1] error" "$T/err")"
}
expect a 4:23
expect b 6:17
expect c 7:21
expect d 8:25
expect e 9:19
expect f 10:24
expect g 12:10  # a block scalar: the scalar's own position

if [[ $failures -ne 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "ok"

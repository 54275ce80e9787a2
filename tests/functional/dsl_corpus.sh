#!/usr/bin/env bash
# dsl_corpus.sh: `smflow validate` over the pipeline-language corpus.
#   tests/dsl/valid/*.yaml    must validate (exit 0);
#   tests/dsl/invalid/*.yaml  must fail (exit 2), and every comment line
#     `# expect: LINE:COL: fragment` of the file must match a diagnostic line
#     `FILE:LINE:COL: ...fragment...` on stderr (`0:0` = a diagnostic without a
#     position, printed `FILE: ...fragment...`); `# param: NAME=VALUE` lines are
#     passed as `--param NAME=VALUE`.
# Passes on whatever corpus exists (an empty one included).
set -u
: "${SMFLOW:?path of the smflow binary}"
: "${SMF_SOURCE_DIR:?source tree}"
SMFLOW=$(realpath "$SMFLOW")
corpus=${SMF_DSL_CORPUS:-$SMF_SOURCE_DIR/tests/dsl}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
shopt -s nullglob
failures=0 checked=0 expects=0

fail() {
  echo "FAIL: $*"
  sed 's/^/    /' "$T/err"
  failures=$((failures + 1))
}

# has_diag FILE LINE COL FRAGMENT: is there a stderr line "FILE:LINE:COL: ..." containing FRAGMENT?
has_diag() {
  local prefix="$1:$2:$3: " line
  if [[ $2 == 0 && $3 == 0 ]]; then
    prefix="$1: "
  fi
  while IFS= read -r line; do
    if [[ $line == "$prefix"* && ${line#"$prefix"} == *"$4"* ]]; then
      return 0
    fi
  done <"$T/err"
  return 1
}

for f in "$corpus"/valid/*.yaml; do
  checked=$((checked + 1))
  (cd "$(dirname "$f")" && "$SMFLOW" validate "$(basename "$f")") >"$T/out" 2>"$T/err"
  rc=$?
  [[ $rc -eq 0 ]] || fail "valid/$(basename "$f"): exit $rc, expected 0"
done

re='^[[:space:]]*#[[:space:]]*expect:[[:space:]]*([0-9]+):([0-9]+):[[:space:]]?(.*)$'
re_param='^#[[:space:]]*param:[[:space:]]*(.+)$'
for f in "$corpus"/invalid/*.yaml; do
  checked=$((checked + 1))
  name=$(basename "$f")
  params=()
  while IFS= read -r line; do
    [[ $line =~ $re_param ]] && params+=(--param "${BASH_REMATCH[1]%$'\r'}")
  done <"$f"
  (cd "$(dirname "$f")" && "$SMFLOW" validate "$name" "${params[@]}") >"$T/out" 2>"$T/err"
  rc=$?
  [[ $rc -eq 2 ]] || fail "invalid/$name: exit $rc, expected 2"
  while IFS= read -r line; do
    if [[ $line =~ $re ]]; then
      expects=$((expects + 1))
      want_line=${BASH_REMATCH[1]} want_col=${BASH_REMATCH[2]} frag=${BASH_REMATCH[3]}
      frag=${frag%$'\r'}
      has_diag "$name" "$want_line" "$want_col" "$frag" ||
        fail "invalid/$name: no diagnostic '$name:$want_line:$want_col: ...$frag...'"
    fi
  done <"$f"
done

echo "dsl corpus: $checked files, $expects expectations, $failures failures"
[[ $failures -eq 0 ]]

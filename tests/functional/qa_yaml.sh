#!/usr/bin/env bash
# qa_yaml.sh: pipeline files as editors and users write them — a UTF-8 byte order
# mark, CRLF line endings — keep their exact LINE:COL in diagnostics.
# Needs $SMFLOW (the binary).
set -u
: "${SMFLOW:?path of the smflow binary}"
SMFLOW=$(realpath "$SMFLOW")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# check FILE RC FRAGMENT: `smflow validate FILE` exits RC and stderr holds FRAGMENT.
check() {
  local rc
  "$SMFLOW" validate "$T/$1" >"$T/out" 2>"$T/err"
  rc=$?
  [[ $rc -eq $2 ]] || fail "$1: exit $rc, expected $2: $(cat "$T/err")"
  if [[ -n $3 ]] && ! grep -qF -- "$3" "$T/err"; then
    fail "$1: stderr lacks '$3': $(cat "$T/err")"
  fi
}

# A byte order mark is not a character of line 1: columns count as editors show them.
printf '\xef\xbb\xbfsmflow: 1\nname: bom\nsteps:\n  a:\n    run: echo hi\n' >"$T/bom.yaml"
check bom.yaml 0 ""
printf '\xef\xbb\xbfsmflow: 1\nnam: bom\nsteps:\n  a:\n    run: echo hi\n' >"$T/bom-bad.yaml"
check bom-bad.yaml 2 "bom-bad.yaml:2:1: unknown key 'nam' (did you mean 'name'?)"
printf '\xef\xbb\xbfsmflo: 1\nname: bom\nsteps:\n  a:\n    run: echo hi\n' >"$T/bom-bad1.yaml"
check bom-bad1.yaml 2 "bom-bad1.yaml:1:1: unknown key 'smflo'"

# CRLF line endings: lines count once per CRLF.
printf 'smflow: 1\r\nname: crlf\r\nsteps:\r\n  a:\r\n    run: echo hi\r\n    bogus: 1\r\n' >"$T/crlf.yaml"
check crlf.yaml 2 "crlf.yaml:6:5: step 'a': unknown key 'bogus'"

# A tab that indents: the message says what is wrong, not libyaml's scanner state.
printf 'smflow: 1\nname: tab\nsteps:\n  a:\n\trun: echo hi\n' >"$T/tab.yaml"
check tab.yaml 2 "tab.yaml:5:1: YAML syntax error: a tab character here; YAML indents with spaces only"

if [[ $failures -ne 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "ok"

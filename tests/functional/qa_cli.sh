#!/usr/bin/env bash
# qa_cli.sh: help texts and usage errors as a user meets them — every command's
# `help` says what it does and lists its options; a usage error shows the
# synopsis only and points to `help COMMAND`; an option without its value says so.
# Needs $SMFLOW (the binary).
set -u
: "${SMFLOW:?path of the smflow binary}"
SMFLOW=$(realpath "$SMFLOW")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0
run() {
  "$SMFLOW" "$@" >"$T/out" 2>"$T/err"
  rc=$?
}
fail() { echo "FAIL: $*"; sed 's/^/    /' "$T/out" "$T/err"; failures=$((failures + 1)); }
expect_rc() { [[ $rc -eq $1 ]] || fail "$2: exit $rc, expected $1"; }
expect_out() { grep -qF -- "$1" "$T/out" || fail "$2: stdout lacks '$1'"; }
expect_err() { grep -qF -- "$1" "$T/err" || fail "$2: stderr lacks '$1'"; }
expect_no_err() { ! grep -qF -- "$1" "$T/err" || fail "$2: stderr has '$1'"; }

# Each command's help describes it and each option of its synopsis.
run help run
expect_rc 0 "help run"
for o in "--param NAME=VALUE" "--target local|aws" "--max-parallel N" "--only STEP" \
  "--from STEP" "--dry-run" "--detach" "--json"; do
  expect_out "  $o" "help run explains $o"
done
expect_out "Exit status: 0 succeeded" "help run lists the exit codes"
run help resume
expect_rc 0 "help resume"
expect_out "  --allow-changed" "help resume explains --allow-changed"
expect_out "newest unfinished run" "help resume says which run by default"
for c in status runs; do
  run help "$c"
  expect_rc 0 "help $c"
  expect_out "  --json" "help $c explains --json"
done
run run --help
expect_rc 0 "run --help"
expect_out "  --only STEP" "run --help is help run"

# A usage error: the message, the synopsis, a pointer to the details; not the whole help.
run run
expect_rc 2 "run without a pipeline"
expect_err "smflow run: missing PIPELINE.yaml" "run without a pipeline"
expect_err "usage: smflow run PIPELINE.yaml" "run usage error shows the synopsis"
expect_err "Run 'smflow help run' for details." "run usage error points to help"
expect_no_err "Options:" "run usage error does not repeat the options"
run validate
expect_rc 2 "validate without a pipeline"
expect_no_err "Options:" "validate usage error does not repeat the options"
expect_err "Run 'smflow help validate' for details." "validate usage error points to help"

# --color without a value, before or after the command.
run --color
expect_rc 2 "--color without a value"
expect_err "--color needs a value" "--color without a value"
run version --color
expect_rc 2 "version --color without a value"
expect_err "--color needs a value" "version --color without a value"
run --color=sometimes version
expect_rc 2 "--color=sometimes"
expect_err "not 'sometimes'" "--color=sometimes"

# `--` ends the options: a pipeline file whose name starts with '-'.
printf 'smflow: 1\nname: dash\nsteps:\n  a: {run: echo}\n' >"$T/-dash.yaml"
(cd "$T" && "$SMFLOW" validate -- -dash.yaml >"$T/out" 2>"$T/err")
rc=$?
expect_rc 0 "validate -- -dash.yaml"
expect_out "ok: 1 step" "validate -- -dash.yaml"
(cd "$T" && "$SMFLOW" graph -- -dash.yaml >"$T/out" 2>"$T/err")
rc=$?
expect_rc 0 "graph -- -dash.yaml"
expect_out 'digraph "dash"' "graph -- -dash.yaml"
(cd "$T" && "$SMFLOW" validate -- -dash.yaml extra >"$T/out" 2>"$T/err")
rc=$?
expect_rc 2 "validate -- FILE EXTRA"
expect_err "expected one pipeline file" "validate -- FILE EXTRA"

if [[ $failures -ne 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "ok"

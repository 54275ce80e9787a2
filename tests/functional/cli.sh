#!/usr/bin/env bash
# cli.sh: the command line as a user meets it — help, version, usage errors and
# exit codes, global options before and after the command, `validate` and `graph`.
# Needs $SMFLOW (the binary) and $SMF_SOURCE_DIR.
set -u
: "${SMFLOW:?path of the smflow binary}"
: "${SMF_SOURCE_DIR:?source tree}"
SMFLOW=$(realpath "$SMFLOW")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0

# run ARGS...: runs smflow; sets $rc, $out, $err.
run() {
  "$SMFLOW" "$@" >"$T/out" 2>"$T/err"
  rc=$?
  out=$(cat "$T/out")
  err=$(cat "$T/err")
}
fail() {
  echo "FAIL: $*"
  echo "  command exit $rc; stdout:"; sed 's/^/    /' "$T/out"
  echo "  stderr:"; sed 's/^/    /' "$T/err"
  failures=$((failures + 1))
}
expect_rc() { [[ $rc -eq $1 ]] || fail "$2: exit $rc, expected $1"; }
expect_out() { grep -qF -- "$1" "$T/out" || fail "$2: stdout lacks '$1'"; }
expect_err() { grep -qF -- "$1" "$T/err" || fail "$2: stderr lacks '$1'"; }
expect_no_out() { [[ ! -s $T/out ]] || fail "$1: stdout should be empty"; }
expect_no_esc() { ! grep -q $'\033' "$T/err" "$T/out" || fail "$1: colour escape found"; }

version=$(sed -n 's/^project(smflow VERSION \([0-9.]*\).*/\1/p' "$SMF_SOURCE_DIR/CMakeLists.txt")

# ---- version and help ----
run version
expect_rc 0 "version"
[[ $out == "smflow $version" ]] || fail "version prints 'smflow $version'"
run --version
expect_rc 0 "--version"
[[ $out == "smflow $version" ]] || fail "--version prints 'smflow $version'"
run version extra
expect_rc 2 "version with an argument"

run help
expect_rc 0 "help"
expect_out "usage: smflow" "help"
expect_out "Commands:" "help"
for c in validate graph version help; do
  grep -qE "^  $c +[A-Z]" "$T/out" || fail "help lists '$c'"
done
expect_out "--state-dir DIR" "help lists global options"
expect_out "Exit codes:" "help lists exit codes"
run --help
expect_rc 0 "--help"
expect_out "Commands:" "--help"
run -h
expect_rc 0 "-h"

run help validate
expect_rc 0 "help validate"
expect_out "usage: smflow validate PIPELINE.yaml" "help validate"
expect_out "--param NAME=VALUE" "help validate"
run validate --help
expect_rc 0 "validate --help"
expect_out "usage: smflow validate PIPELINE.yaml" "validate --help"
run graph -h
expect_rc 0 "graph -h"
expect_out "--format dot|mermaid" "graph -h"
run help nosuch
expect_rc 2 "help of an unknown command"
expect_err "unknown command 'nosuch'" "help of an unknown command"

# ---- usage errors: exit 2, message and usage on stderr, nothing on stdout ----
run
expect_rc 2 "no command"
expect_err "usage: smflow" "no command"
expect_no_out "no command"
run valdate x.yaml
expect_rc 2 "misspelt command"
expect_err "unknown command 'valdate' (did you mean 'validate'?)" "misspelt command"
expect_err "usage: smflow" "misspelt command"
expect_no_out "misspelt command"
run frobnicate
expect_rc 2 "unknown command"
expect_err "unknown command 'frobnicate'" "unknown command"
grep -q "did you mean" "$T/err" && fail "no suggestion for a far-off command"
run --bogus version
expect_rc 2 "unknown global option"
expect_err "unknown option '--bogus'" "unknown global option"
run validate --bogus x.yaml
expect_rc 2 "unknown command option"
expect_err "unknown option '--bogus'" "unknown command option"
expect_err "usage: smflow validate" "unknown command option"
run validate
expect_rc 2 "validate without a file"
expect_err "missing the pipeline file" "validate without a file"
run validate a.yaml b.yaml
expect_rc 2 "validate with two files"
run validate x.yaml --param
expect_rc 2 "--param without a value"
run validate x.yaml --param novalue
expect_rc 2 "--param without '='"
expect_err "--param needs NAME=VALUE" "--param without '='"
run --color sometimes version
expect_rc 2 "bad --color value"
expect_err "--color must be auto, always or never" "bad --color value"
run version --state-dir
expect_rc 2 "--state-dir without a value"
run validate --json x.yaml
expect_rc 2 "--json on a command without it"

# ---- global options are accepted before and after the command ----
for args in "--state-dir $T/s version" "version --state-dir $T/s" "--state-dir=$T/s version" \
  "-v version" "version -v" "-vv version" "version --verbose" "-q version" "version --quiet" \
  "--color never version" "version --color=always" "--colour=auto version"; do
  # shellcheck disable=SC2086
  run $args
  expect_rc 0 "global options: smflow $args"
  [[ $out == "smflow $version" ]] || fail "global options: smflow $args prints the version"
done
SMFLOW_STATE_DIR=$T/env run version
expect_rc 0 "SMFLOW_STATE_DIR"
[[ ! -e $T/s && ! -e $T/env ]] || fail "version must not create a state directory"

# ---- validate ----
data="$SMF_SOURCE_DIR/tests/data/cli"
cp "$data/graph.yaml" "$data/invalid.yaml" "$T/"
cd "$T" || exit 1
run validate graph.yaml
expect_rc 0 "validate a valid pipeline"
[[ $out == "ok: 4 steps" ]] || fail "validate prints 'ok: 4 steps'"
[[ ! -e $T/.smflow ]] || fail "validate must not create a state directory"
run -q validate graph.yaml
expect_rc 0 "validate -q"
expect_no_out "validate -q"
run validate graph.yaml --quiet
expect_no_out "validate --quiet after the command"
run validate graph.yaml --param publish=false
expect_rc 0 "validate with --param"

run validate invalid.yaml
expect_rc 2 "validate an invalid pipeline"
expect_no_out "validate an invalid pipeline"
grep -qE "^invalid\.yaml:8:5: .*needs" "$T/err" || fail "diagnostic 'invalid.yaml:8:5: ...needs...'"
expect_err "error: 1 problem in invalid.yaml" "validate summary line"
expect_no_esc "validate without a terminal"
run validate "$T/invalid.yaml"
grep -qE "^$T/invalid\.yaml:8:5: " "$T/err" || fail "the path is printed as given"
run validate missing.yaml
expect_rc 2 "validate a missing file"
expect_err "missing.yaml" "validate a missing file"

# Colour: forced by --color always (before or after), never without a terminal in auto.
for args in "--color always validate invalid.yaml" "validate invalid.yaml --color=always"; do
  # shellcheck disable=SC2086
  run $args
  expect_rc 2 "smflow $args"
  grep -q $'^\033\\[1minvalid\\.yaml:8:5:\033\\[0m ' "$T/err" || fail "smflow $args: bold position"
  grep -q $'\033\\[1;31merror:\033\\[0m' "$T/err" || fail "smflow $args: red 'error'"
done
NO_COLOR=1 run validate invalid.yaml
expect_no_esc "NO_COLOR"
if command -v script >/dev/null; then
  # On a terminal (a pty from script(1)) auto colours; NO_COLOR and --color never do not.
  script -qec "$SMFLOW validate invalid.yaml" /dev/null >"$T/tty" 2>&1
  grep -q $'\033\\[1m' "$T/tty" || fail "auto colour on a terminal"
  NO_COLOR=1 script -qec "$SMFLOW validate invalid.yaml" /dev/null >"$T/tty" 2>&1
  ! grep -q $'\033' "$T/tty" || fail "NO_COLOR on a terminal"
  script -qec "$SMFLOW --color never validate invalid.yaml" /dev/null >"$T/tty" 2>&1
  ! grep -q $'\033' "$T/tty" || fail "--color never on a terminal"
  grep -q "invalid.yaml:8:5: " "$T/tty" || fail "diagnostic on a terminal"
fi

# ---- graph ----
run graph graph.yaml
expect_rc 0 "graph (dot)"
cp "$T/out" "$T/graph.dot"
head -1 "$T/graph.dot" | grep -qx 'digraph "cli-graph" {' || fail "dot header"
tail -1 "$T/graph.dot" | grep -qx '}' || fail "dot footer"
for node in "prepare (run)" "train (run)" "report (run)" "publish (run)"; do
  id=${node%% *}
  grep -qF "  \"$id\" [label=\"$node\"" "$T/graph.dot" || fail "dot node $id"
done
grep -qE '^  "publish" \[.*style=dashed' "$T/graph.dot" || fail "dot: when-step dashed"
grep -qE '^  "prepare" \[.*style=dashed' "$T/graph.dot" && fail "dot: plain step not dashed"
for e in '"prepare" -> "train";' '"prepare" -> "report";' \
  '"train" -> "publish" [style=dashed];' '"report" -> "publish" [style=dashed];'; do
  grep -qxF "  $e" "$T/graph.dot" || fail "dot edge $e"
done
[[ $(grep -c -- '->' "$T/graph.dot") -eq 4 ]] || fail "dot: exactly 4 edges"
if command -v dot >/dev/null; then
  dot -Tsvg "$T/graph.dot" >"$T/graph.svg" 2>"$T/dot.err" || fail "dot rejects the output: $(cat "$T/dot.err")"
  [[ ! -s $T/dot.err ]] || fail "dot warns: $(cat "$T/dot.err")"
  grep -q "prepare (run)" "$T/graph.svg" || fail "dot rendered the labels"
fi
run graph --format=dot graph.yaml
cmp -s "$T/out" "$T/graph.dot" || fail "--format dot is the default"

run graph graph.yaml --format mermaid
expect_rc 0 "graph (mermaid)"
cp "$T/out" "$T/graph.mmd"
head -1 "$T/graph.mmd" | grep -qx 'flowchart LR' || fail "mermaid header"
for want in '  s0["prepare (run)"]' '  s1["train (run)"]' '  s2["report (run)"]' \
  '  s3["publish (run)"]' '  s0 --> s1' '  s0 --> s2' '  s1 -.-> s3' '  s2 -.-> s3' \
  '  class s3 when'; do
  grep -qxF "$want" "$T/graph.mmd" || fail "mermaid line '$want'"
done
grep -q '^  classDef when ' "$T/graph.mmd" || fail "mermaid classDef"

run graph graph.yaml --format svg
expect_rc 2 "graph --format svg"
expect_err "--format must be dot or mermaid" "graph --format svg"
run graph invalid.yaml
expect_rc 2 "graph of an invalid pipeline"
expect_no_out "graph of an invalid pipeline"
grep -qE "^invalid\.yaml:8:5: " "$T/err" || fail "graph prints the diagnostics"

# ---- run and resume report a pipeline error exactly as validate does ----
run validate invalid.yaml
cp "$T/err" "$T/err.validate"
run run invalid.yaml
expect_rc 2 "run an invalid pipeline"
cmp -s "$T/err" "$T/err.validate" || fail "run prints the same diagnostics and summary as validate"
[[ ! -e $T/.smflow ]] || fail "run of an invalid pipeline must not create a state directory"
run --color always run invalid.yaml
grep -q $'^\033\\[1minvalid\\.yaml:8:5:\033\\[0m ' "$T/err" || fail "run: bold position"
grep -q $'\033\\[1;31merror:\033\\[0m 1 problem in invalid.yaml' "$T/err" || fail "run: red summary"
mkdir -p "$T/rs"
printf 'smflow: 1\nname: rs\nsteps:\n  a: {run: "exit 1"}\n' >"$T/rs/p.yaml"
run -q run "$T/rs/p.yaml"
expect_rc 1 "a failing run to resume"
printf 'smflow: 1\nname: rs\nsteps:\n  a: {run: "exit ${ 1 + }"}\n' >"$T/rs/p.yaml"
run validate "$T/rs/p.yaml"
cp "$T/err" "$T/err.validate"
expect_rc 2 "validate the broken pipeline of a run"
run resume --allow-changed --state-dir "$T/rs/.smflow"
expect_rc 2 "resume a run whose pipeline no longer validates"
cmp -s "$T/err" "$T/err.validate" || fail "resume prints the same diagnostics and summary as validate"
expect_err "$T/rs/p.yaml:4:18: step 'a': invalid expression '1 +'" "resume: the expression's position"

# ---- the state directory: --state-dir before or after, SMFLOW_STATE_DIR, default ----
# (through `run`, the first command that writes one)
mkdir -p "$T/sd/sub"
printf 'smflow: 1\nname: sd\nsteps:\n  a: {run: "true"}\n' >"$T/sd/sub/p.yaml"
cd "$T/sd" || exit 1
run -q run sub/p.yaml
expect_rc 0 "run with the default state dir"
[[ -f $T/sd/sub/.smflow/state.db ]] || fail "default state dir is .smflow beside the pipeline"
run --state-dir "$T/sd/before" run sub/p.yaml -q
[[ -f $T/sd/before/state.db ]] || fail "--state-dir before the command"
run run sub/p.yaml --state-dir="$T/sd/after" -q
[[ -f $T/sd/after/state.db ]] || fail "--state-dir= after the command"
SMFLOW_STATE_DIR=$T/sd/env run -q run sub/p.yaml
[[ -f $T/sd/env/state.db ]] || fail "SMFLOW_STATE_DIR"
SMFLOW_STATE_DIR=$T/sd/env2 run -q --state-dir "$T/sd/opt" run sub/p.yaml
[[ -f $T/sd/opt/state.db && ! -e $T/sd/env2 ]] || fail "--state-dir wins over SMFLOW_STATE_DIR"
run runs --state-dir "$T/sd/before" --json
expect_rc 0 "runs --json after the command"
expect_out '"name": "sd"' "runs --json lists the run"
run --json --state-dir "$T/sd/before" runs
expect_rc 0 "--json before the command"
expect_out '"runs"' "--json before the command"
cd "$T" || exit 1

echo "cli.sh: $failures failures"
[[ $failures -eq 0 ]]

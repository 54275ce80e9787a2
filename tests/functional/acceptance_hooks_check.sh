#!/usr/bin/env bash
# acceptance_hooks_check.sh: the hooks file is part of the pipeline: a missing or
# broken hooks file, or a function name (on_success, on_failure, a step's hooks,
# a lua step) that it does not define, is a pipeline error — FILE:LINE:COL of the
# name, every one of them, exit 2 — for validate, plan and run alike; nothing runs.
source "$(dirname "$0")/lib/engine.bash"

echo 'function g(step) return {} end' >ok.lua
cat >names.yaml <<'YAML'
smflow: 1
name: names
hooks: ok.lua
on_success: nothere
steps:
  a: {lua: nofn}
  b:
    run: "echo b >> ran"
    hooks: {before: nada}
  c: {lua: {function: g}}
YAML
for cmd in validate plan run; do
  sm "$cmd" names.yaml
  expect_eq "$cmd: undefined functions: exit" "$rc" 2
  expect_contains "$cmd: on_success" "$(cat err)" "names.yaml:4:13: on_success: function 'nothere' is not defined in ok.lua"
  expect_contains "$cmd: lua step" "$(cat err)" "names.yaml:6:12: step 'a': lua: function 'nofn' is not defined in ok.lua"
  expect_contains "$cmd: step hook" "$(cat err)" "names.yaml:9:21: step 'b': hooks.before: function 'nada' is not defined in ok.lua"
done
[[ ! -e ran ]] || fail "a step ran"

cat >missing.yaml <<'YAML'
smflow: 1
name: missing
hooks: nothere.lua
steps:
  a: {run: "echo a >> ran"}
YAML
for cmd in validate plan run; do
  sm "$cmd" missing.yaml
  expect_eq "$cmd: missing hooks file: exit" "$rc" 2
  expect_contains "$cmd: missing hooks file: where" "$(cat err)" "missing.yaml:3:8: hooks: cannot open"
done

echo 'function f( end' >broken.lua
sed 's/nothere.lua/broken.lua/' missing.yaml >broken.yaml
sm validate broken.yaml
expect_eq "syntax error in the hooks file: exit" "$rc" 2
expect_contains "names the hooks file's line" "$(cat err)" "broken.yaml:3:8: hooks: "
expect_contains "and the Lua message" "$(cat err)" "broken.lua:1:"
[[ ! -e ran ]] || fail "a step ran"

# The check runs the file's top-level code quietly: validate prints none of its
# lines, a run prints them once (when it loads the file).
printf 'smflow.log("top-level line")\nfunction g(step) return {} end\n' >tl.lua
printf 'smflow: 1\nname: tl\nhooks: tl.lua\nsteps:\n  a: {lua: g}\n' >tl.yaml
sm validate tl.yaml
expect_eq "validate: exit" "$rc" 0
expect_eq "validate prints no hook line" "$(grep -c 'top-level line' err)" 0
sm run tl.yaml
expect_eq "run: exit" "$rc" 0
expect_eq "run prints the line once" "$(grep -c 'top-level line' err)" 1

sm validate --param x=1 names.yaml
expect_eq "an unknown param is still reported" "$rc" 2
finish

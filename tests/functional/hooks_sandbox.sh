#!/usr/bin/env bash
# hooks_sandbox.sh: the sandbox end to end through the binary. Every escape
# attempt (os.execute, io.open, load of bytecode, string.dump, debug,
# package.loadlib, require of a C module) and every runaway (endless loop,
# memory bomb, both inside pcall) — in a `before` hook, in a `lua` step and in a
# `${...}` expression — fails its step with class HookError and a message naming
# FILE:LINE; nothing escapes; `smflow resume` afterwards works once the hooks
# file (or, with --allow-changed, the pipeline) is fixed.
source "$(dirname "$0")/lib/hooks.bash"
export SMFLOW_LUA_INSTRUCTIONS=2000000 SMFLOW_LUA_MEMORY_MB=16

# Each attack, as a Lua expression (one line: it is used in all three places).
declare -A ATTACK=(
  [execute]='os.execute("touch PWNED")'
  [io]='io.open("PWNED", "w")'
  [bytecode]='assert(load("\27Lua\84\0\25\147\13\10\26\10\4\8\8\120\86\0\0\0\0\0\0\0\0\0\0\0\40\119\64"))'
  [dump]='string.dump(print)'
  [debug]='debug.getregistry()'
  [loadlib]='package.loadlib("libc.so.6", "system")'
  [cmodule]='require("lfs")'
  [loop]='(function() while true do end end)()'
  [loop_pcall]='(function() for i = 1, 100 do pcall(function() while true do end end) end end)()'
  [bomb]='(function() local t = {} for i = 1, 1e8 do t[i] = string.rep("x", 64) .. i end end)()'
  [bomb_pcall]='(function() local t = {} pcall(function() for i = 1, 1e8 do t[i] = string.rep("y", 64) .. i end end) return #t end)()'
)
# What the message must say besides FILE:LINE.
declare -A SAYS=(
  [execute]="field 'execute'" [io]="global 'io'" [bytecode]="binary" [dump]="field 'dump'"
  [debug]="global 'debug'" [loadlib]="global 'package'" [cmodule]="module 'lfs' is not available"
  [loop]="instruction limit" [loop_pcall]="instruction limit" [bomb]="memory limit"
  [bomb_pcall]="memory limit"
)
names=(execute io bytecode dump debug loadlib cmodule loop loop_pcall bomb bomb_pcall)

{
  for n in "${names[@]}"; do
    printf 'function hook_%s(step)\n  local r = %s\n  return nil\nend\n' "$n" "${ATTACK[$n]}"
    printf 'function step_%s(step, args)\n  smflow.sleep(0)\n  local r = %s\n  return {}\nend\n' "$n" "${ATTACK[$n]}"
  done
  echo 'function fine(step) return {} end'
} >hooks.lua
cp hooks.lua hooks.bad

{
  echo 'smflow: 1'
  echo 'name: sandbox'
  echo 'hooks: hooks.lua'
  echo 'steps:'
  for n in "${names[@]}"; do
    echo "  h_$n: {hooks: {before: hook_$n}, run: \"touch ran_h_$n\"}"
    echo "  l_$n: {lua: step_$n}"
    # a single-quoted YAML scalar: double the single quotes (none here)
    echo "  e_$n: {run: 'echo \${ ${ATTACK[$n]} }'}"
  done
} >p.yaml

sm run p.yaml
expect_eq "exit" "$rc" 1
for n in "${names[@]}"; do
  for kind in h l e; do
    s=${kind}_$n
    expect_eq "$s state" "$(step_field "$s" state)" failed
    expect_eq "$s class" "$(step_field "$s" error.class)" HookError
    msg=$(step_field "$s" error.message)
    expect_contains "$s message" "$msg" "${SAYS[$n]}"
    case $kind in
      e) expect_contains "$s names the pipeline position" "$msg" "p.yaml:$(grep -n "^  $s:" p.yaml | cut -d: -f1):" ;;
      *) [[ $msg =~ hooks\.lua:[0-9]+ ]] || fail "$s: no hooks.lua:LINE in: $msg" ;;
    esac
  done
  [[ -e ran_h_$n ]] && fail "the step whose before hook failed ($n) ran anyway"
done
[[ -e PWNED ]] && fail "an escape attempt wrote a file"
expect_eq "bytecode refused as binary" "$(step_field l_bytecode error.message | grep -c 'attempt to load a binary chunk')" 1

# Fix the hooks file (same function names, harmless bodies): resume reruns the
# failed steps and succeeds, with no --allow-changed (the hooks file's hash is
# recorded in the run's events but does not count as a pipeline change).
sed -i 's/^  local r = .*/  local r = 1/' hooks.lua
sm resume
expect_eq "resume exit" "$rc" 1  # the expression steps still fail: their text is in the pipeline
expect_eq "hook step fixed" "$(step_field h_execute state)" succeeded
expect_eq "lua step fixed" "$(step_field l_bomb state)" succeeded
expect_eq "expression still failing" "$(step_field e_io state)" failed
expect_eq "hooks hash recorded twice" "$(q "select count(*) from events where type='hooks'")" 2
expect_eq "two different hashes" "$(q "select count(distinct detail_json) from events where type='hooks'")" 2

# Fix the pipeline too: resume refuses a changed pipeline unless --allow-changed.
sed -i "s/^  e_\([a-z_]*\): {run: .*/  e_\1: {run: 'echo fixed'}/" p.yaml
sm resume
expect_eq "changed pipeline refused" "$rc" 2
expect_contains "refusal says how" "$(cat err)" "--allow-changed"
sm resume --allow-changed
expect_eq "resume after fixing both" "$rc" 0
expect_eq "expression step fixed" "$(step_field e_loop state)" succeeded
[[ -e PWNED ]] && fail "an escape attempt wrote a file"

# The hooks file's own top-level code: a syntax error, an escape attempt or a
# runaway stops the run before anything starts (exit 2), naming FILE:LINE.
for case in 'function x(|top.lua:2:|expected near' \
            'os.execute("touch PWNED")|top.lua:1:|field '"'"'execute'"'"'' \
            'while true do end|top.lua:1:|instruction limit'; do
  IFS='|' read -r code where what <<<"$case"
  echo "$code" >top.lua
  printf 'smflow: 1\nname: top\nhooks: top.lua\nsteps:\n  a: {run: "touch ran_top"}\n' >top.yaml
  sm run top.yaml
  expect_eq "top-level '$code' exit" "$rc" 2
  expect_contains "top-level '$code' position" "$(cat err)" "$where"
  expect_contains "top-level '$code' message" "$(cat err)" "$what"
done
[[ -e ran_top ]] && fail "a step ran although the hooks file failed to load"
[[ -e PWNED ]] && fail "an escape attempt wrote a file"
finish

#!/usr/bin/env bash
# qafix_secrets.sh: a value read from the environment (through vars, a run
# step's env, a lua step's args) never reaches state.db or the logs; resume
# evaluates such vars again.
source "$(dirname "$0")/lib/engine.bash"

export MY_SECRET="s3cr3t-$RANDOM-token-$RANDOM"
cat >hooks.lua <<'LUA'
function check(ctx, args)
  if args.tok ~= os.getenv_unavailable and #args.tok < 5 then error("short") end
  return {ok = "yes"}
end
LUA
sed -i 's/os.getenv_unavailable/nil/' hooks.lua
cat >p.yaml <<'YAML'
smflow: 1
name: secrets
hooks: hooks.lua
vars:
  plain: "hello"
  tok: "${env.MY_SECRET}"
  tok2: "${vars.tok .. '-x'}"
steps:
  a:
    run:
      command: 'test "$TOK" = "$MY_SECRET-x" && test -e go && echo done=1 >> $SMFLOW_OUTPUT'
      env: {TOK: "${vars.tok2}"}
  b:
    needs: [a]
    lua: {function: check, args: {tok: "${vars.tok}"}}
YAML
sm run p.yaml
expect_eq "first run fails (no go file)" "$rc" 1
touch go
sm resume
expect_eq "resume" "$rc" 0
expect_eq "resume re-evaluated the env var" "$(step_field a outputs.done)" 1
expect_eq "b ran" "$(step_field b state)" succeeded
expect_eq "plain var persisted" "$(q "select json_extract(vars_json, '$.plain') from runs")" hello
"$SMFLOW" --state-dir "$T/state" status --json >status.json
"$SMFLOW" --state-dir "$T/state" runs --json >runs.json
if grep -rqa -- "$MY_SECRET" state status.json runs.json out err; then
  fail "the secret was persisted or printed: $(grep -rla -- "$MY_SECRET" state status.json runs.json out err | tr '\n' ' ')"
fi
finish

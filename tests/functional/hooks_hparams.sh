#!/usr/bin/env bash
# hooks_hparams.sh: the `before` and `after` recipes of docs/hooks.md —
# hyperparameters chosen from an earlier step's metrics by before() (merged into
# a `run` step's env/command, validated again, persisted with the attempt's
# intent before the command starts), extra outputs from after(), and the
# failures: a hook that raises (traceback FILE:LINE), a result that makes the
# spec invalid (named hook, class HookError), an unknown function name (exit 2
# with the step's position, nothing started).
source "$(dirname "$0")/lib/hooks.bash"

cat >hooks.lua <<'LUA'
-- Learning rate from the previous step's loss: halve it when the loss is high.
function tune(step)
  local loss = tonumber(steps.baseline.loss)
  local lr = loss > 0.5 and 0.05 or 0.1
  smflow.log(string.format("loss %.2f -> lr %.3f (attempt %d of %s)", loss, lr, step.attempt, step.id))
  return {env = {LR = tostring(lr), EPOCHS = tostring(params.epochs * 2)},
          command = step.spec.command .. " --lr $LR"}
end

function score(step, outputs)
  return {score = tonumber(outputs.acc) * 100, from_hook = step.id}
end

function broken(step)
  local t = nil
  return t.field
end

function not_a_spec(step)
  return {env = {LR = {1, 2}}}
end

function scalar(step) return 42 end
LUA

cat >p.yaml <<'YAML'
smflow: 1
name: hparams
hooks: hooks.lua
params: {epochs: 5}
steps:
  baseline:
    run: "echo loss=0.73 >> $SMFLOW_OUTPUT"
  train:
    needs: [baseline]
    hooks: {before: tune, after: score}
    run: {command: "echo acc=0.5 >> $SMFLOW_OUTPUT; echo lr=$LR epochs=$EPOCHS args", env: {LR: "1.0"}}
  shell:
    needs: [train]
    run: "echo acc=0.9 >> $SMFLOW_OUTPUT; echo ${steps.train.score} > score.txt"
YAML
sm run p.yaml
expect_eq "exit" "$rc" 0
log=$(cat "$T"/state/logs/*/train.1.log)
expect_contains "the command saw the hook's env and command" "$log" "lr=0.05 epochs=10 args --lr 0.05"
expect_contains "smflow.log has the step's prefix" "$(cat err)" "[train] loss 0.73 -> lr 0.050 (attempt 1 of train)"
event=$(q "select detail_json from events where step_id='train' and type='before_hook'")
expect_eq "before's result persisted" "$event" \
  '{"function":"tune","result":{"command":"echo acc=0.5 >> $SMFLOW_OUTPUT; echo lr=$LR epochs=$EPOCHS args --lr $LR","env":{"EPOCHS":"10","LR":"0.05"}}}'
[[ $(q "select min(seq) from events where step_id='train' and type='before_hook'") -lt \
   $(q "select min(seq) from events where step_id='train' and type='state' and detail_json like '%\"to\":\"running\"%'") ]] ||
  fail "before's result was not persisted before the step started"
expect_eq "after added outputs" "$(step_field train outputs)" '{"acc": "0.5", "from_hook": "train", "score": 50.0}'

# after() sees the outputs: a step that writes acc.
cat >p2.yaml <<'YAML'
smflow: 1
name: hparams2
hooks: hooks.lua
steps:
  eval:
    hooks: {after: score}
    run: "echo acc=0.93 >> $SMFLOW_OUTPUT"
  use:
    needs: [eval]
    run: "echo score=${steps.eval.score} >> $SMFLOW_OUTPUT"
YAML
sm run p2.yaml
expect_eq "after exit" "$rc" 0
expect_eq "downstream saw the hook's output" "$(step_field use outputs.score)" 93.0

# Failures.
cat >p3.yaml <<'YAML'
smflow: 1
name: hparams3
hooks: hooks.lua
steps:
  raises: {hooks: {before: broken}, run: "touch ran_raises"}
  invalid: {hooks: {before: not_a_spec}, run: "touch ran_invalid"}
  scalar: {hooks: {before: scalar}, run: "touch ran_scalar"}
  after_raises: {hooks: {after: broken}, retry: {max_attempts: 2, backoff: 0.01s}, run: "echo x >> ledger"}
YAML
sm run p3.yaml
expect_eq "failures exit" "$rc" 1
for s in raises invalid scalar after_raises; do
  expect_eq "$s class" "$(step_field $s error.class)" HookError
done
expect_contains "raise: traceback with FILE:LINE" "$(step_field raises error.message)" \
  "hook 'broken' (before): $T/hooks.lua:16: attempt to index a nil value (local 't')"
expect_contains "raise: stack traceback" "$(step_field raises error.message)" "in function 'broken'"
expect_contains "invalid spec names the hook" "$(step_field invalid error.message)" \
  "hook 'not_a_spec' (before) made the run spec of step 'invalid' invalid"
expect_contains "scalar result" "$(step_field scalar error.message)" "must return a table or nil, not a int"
for s in raises invalid scalar; do
  [[ -e ran_$s ]] && fail "step $s ran although its before hook failed"
done
expect_eq "after failure is retried like an attempt" "$(wc -l <ledger)" 2

# Unknown function names: a validation error at run start with the position.
cat >p4.yaml <<'YAML'
smflow: 1
name: hparams4
hooks: hooks.lua
steps:
  a: {run: "true"}
  b:
    run: "touch ran_b"
    hooks: {after: scroe}
YAML
sm run p4.yaml
expect_eq "unknown hook exit" "$rc" 2
expect_contains "unknown hook message" "$(cat err)" "p4.yaml:8:20: step 'b': hooks.after: function 'scroe' is not defined in hooks.lua"
[[ -e ran_b ]] && fail "a step ran although a hook name was unknown"
printf 'smflow: 1\nname: hparams5\nhooks: hooks.lua\nsteps:\n  a: {lua: nope}\non_success: gone\n' >p5.yaml
sm run p5.yaml
expect_eq "unknown lua function exit" "$rc" 2
expect_contains "unknown pipeline hook" "$(cat err)" "p5.yaml:6:13: on_success: function 'gone' is not defined in hooks.lua"
finish

#!/usr/bin/env bash
# engine_hooks.sh: hooks around steps and runs — before(step) changes a run
# step's command and env, after(step, outputs) adds outputs, on_failure(step, err)
# is told the class and message, a hook error fails the step with HookError, and
# the pipeline's on_success / on_failure run at the end.
source "$(dirname "$0")/lib/engine.bash"

cat >hooks.lua <<'LUA'
calls = 0
function before(step)
  calls = calls + 1
  if step.id == "changed" then
    return {command = "echo changed-by-hook $X >> " .. step.spec.command, env = {X = "x1"}}
  end
end
function after(step, outputs)
  return {seen_by_after = step.id .. ":" .. tostring(outputs.k)}
end
function report(step, err)
  smflow.log("REPORT " .. step.id .. " " .. err.class .. " " .. err.message)
end
function broken_hook(step)
  error("hook exploded")
end
function done(run)
  smflow.log("RUN " .. run.status .. " " .. run.name .. " before-calls=" .. calls .. " failed=" .. table.concat(run.failed_steps, ","))
end
LUA
cat >p.yaml <<YAML
smflow: 1
name: hooks
hooks: hooks.lua
on_success: done
on_failure: done
steps:
  changed:
    run: {command: "$T/ledger"}
  plain:
    run: "echo k=v >> \$SMFLOW_OUTPUT"
  failing:
    hooks: {on_failure: report}
    run: "exit 3"
  hook_error:
    hooks: {before: broken_hook}
    run: "echo never >> $T/ledger"
YAML
sm run p.yaml
expect_eq "exit" "$rc" 1
expect_eq "before changed command and env" "$(cat ledger)" "changed-by-hook x1"
expect_eq "after added an output" "$(step_field plain outputs.seen_by_after)" "plain:v"
expect_eq "after kept the outputs" "$(step_field plain outputs.k)" "v"
expect_contains "on_failure told" "$(cat err)" "[failing] REPORT failing AlgorithmError command exited with status 3"
expect_eq "hook error class" "$(step_field hook_error error.class)" HookError
expect_contains "hook error message" "$(step_field hook_error error.message)" "hook exploded"
expect_contains "pipeline on_failure" "$(cat err)" "RUN failed hooks before-calls=3 failed=failing,hook_error"
run_id=$(q "select id from runs")
grep -q "REPORT failing" "state/logs/$run_id/failing.1.log" || fail "smflow.log kept in the step's log"
sed -i '/failing:/,$d' p.yaml
sm run p.yaml
expect_eq "exit without failures" "$rc" 0
expect_contains "pipeline on_success" "$(cat err)" "RUN succeeded hooks"
finish

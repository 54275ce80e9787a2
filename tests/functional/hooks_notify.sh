#!/usr/bin/env bash
# hooks_notify.sh: the recipes of docs/hooks.md that talk to a chat webhook (a
# local http.server that records each JSON body): a `lua` step posting a
# message with smflow.http.request, the pipeline's on_failure(run) posting the
# failed step's class and message (collected by the step's on_failure hook),
# and on_success(run) summarising the outputs.
source "$(dirname "$0")/lib/hooks.bash"
start_recorder

cat >hooks.lua <<'LUA'
local webhook = require "smflow.webhook"
local failures = {}  -- module-level: filled by step hooks, read by the pipeline hook

function notify(step, args)
  local res = smflow.http.request{
    method = "POST", url = env.WEBHOOK_URL,
    headers = {["Content-Type"] = "application/json"},
    body = smflow.json.encode({text = args.text .. " " .. steps.train.accuracy}),
  }
  if res.status ~= 200 then smflow.fail("webhook answered " .. res.status) end
  return {status = res.status, reply = smflow.json.decode(res.body).ok,
          header = res.headers["x-recorder"]}
end

function remember(step, err)
  failures[#failures + 1] = step.id .. ": " .. err.class .. ": " .. err.message
end

function post(run, text)
  smflow.http.request{method = "POST", url = env.WEBHOOK_URL .. "/" .. run.status,
                      headers = {["Content-Type"] = "application/json"},
                      body = smflow.json.encode({text = text, run = run.id})}
end

function alarm(run)
  post(run, webhook.text(run) .. "\n" .. table.concat(failures, "\n"))
end

function announce(run)
  local keys = {}
  for id, s in pairs(run.steps) do
    for k, v in pairs(s.outputs) do keys[#keys + 1] = id .. "." .. k .. "=" .. tostring(v) end
  end
  table.sort(keys)
  post(run, table.concat(keys, " "))
end
LUA

cat >p.yaml <<'YAML'
smflow: 1
name: notify
hooks: hooks.lua
params: {break_it: false}
steps:
  train:
    run: "echo accuracy=0.93 >> $SMFLOW_OUTPUT; if ${params.break_it}; then echo disk full >&2; exit 3; fi"
    hooks: {on_failure: remember}
  chat:
    needs: [train]
    lua: {function: notify, args: {text: "new model, accuracy"}}
on_success: announce
on_failure: alarm
YAML

WEBHOOK_URL=$URL sm run p.yaml
expect_eq "exit" "$rc" 0
expect_eq "lua step posted" "$(posted 1 'r["method"], r["path"], r["content_type"], b["text"]')" \
  "('POST', '/', 'application/json', 'new model, accuracy 0.93')"
expect_eq "lua step outputs" "$(step_field chat outputs)" '{"header": "yes", "reply": true, "status": 200}'
expect_eq "on_success summary" "$(posted 2 'r["path"], b["text"]')" \
  "('/succeeded', 'chat.header=yes chat.reply=true chat.status=200 train.accuracy=0.93')"

WEBHOOK_URL=$URL sm run p.yaml --param break_it=true
expect_eq "failed run exit" "$rc" 1
expect_eq "on_failure posted" "$(posted 3 'r["path"]')" "/failed"
expect_contains "on_failure names the run" "$(posted 3 'b["text"]')" "*notify* run"
expect_contains "on_failure names step, class and message" "$(posted 3 'b["text"]')" \
  "train: AlgorithmError: command exited with status 3: disk full"
expect_eq "three requests in all" "$(wc -l <hooks.log)" 3

# A webhook that is down: the lua step fails with the transport error and FILE:LINE.
WEBHOOK_URL=http://127.0.0.1:1 sm run p.yaml
expect_eq "exit with the webhook down" "$rc" 1
expect_eq "class" "$(step_field chat error.class)" HookError
expect_contains "message" "$(step_field chat error.message)" "hooks.lua:5: smflow.http.request: POST http://127.0.0.1:1"
expect_contains "pipeline hook failure is logged" "$(cat err)" "hook 'alarm' (on_failure) failed"
finish

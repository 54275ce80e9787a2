#!/usr/bin/env bash
# hooks_lua_step.sh: `lua` steps are coroutines on the event loop — sleeps of
# parallel steps overlap and other steps keep running; a timeout stops a step
# that sleeps or waits for an HTTP answer; an interrupted or killed run resumes
# with a new attempt (at-least-once); misuse gives clear errors; and
# smflow.aws.call reaches a local SageMaker stand-in (moto) on the aws target.
source "$(dirname "$0")/lib/hooks.bash"
start_recorder

cat >hooks.lua <<'LUA'
function nap(step, args)
  local t0 = os.time()
  smflow.sleep(args.s)
  return {slept = args.s, id = step.id, attempt = step.attempt}
end

function ping(step, args)
  local res = smflow.http.request{method = "POST", url = env.HOOK_URL .. args.path,
                                  body = step.id .. " " .. step.attempt, timeout = args.timeout}
  smflow.sleep(args.after or 0)
  return {status = res.status}
end

function raw_yield(step) coroutine.yield(1) end
function returns_number(step) return 7 end
function inner_coroutine(step)
  local co = coroutine.wrap(function() smflow.sleep(0.1) end)
  co()
end
function sleepy_hook(step) smflow.sleep(1) end
LUA

# Overlapping sleeps, and a run step alongside.
cat >par.yaml <<'YAML'
smflow: 1
name: par
hooks: hooks.lua
steps:
  a: {lua: {function: nap, args: {s: 1}}}
  b: {lua: {function: nap, args: {s: 1}}}
  c: {lua: {function: nap, args: {s: 1}}}
  d: {run: "sleep 0.5; echo done"}
  e: {needs: [a, b, c], run: "echo ${steps.a.slept + steps.b.slept + steps.c.slept}"}
YAML
start=$(date +%s%N)
sm run par.yaml
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "parallel exit" "$rc" 0
[[ $ms -lt 2500 ]] || fail "three 1 s sleeps took ${ms} ms: they did not overlap"
expect_eq "outputs" "$(step_field b outputs)" '{"attempt": 1, "id": "b", "slept": 1}'
expect_contains "downstream" "$(cat "$T"/state/logs/*/e.1.log)" "3"

# Timeouts: in a sleep and in a slow HTTP exchange.
cat >to.yaml <<'YAML'
smflow: 1
name: to
hooks: hooks.lua
steps:
  sleeps: {timeout: 0.5s, lua: {function: nap, args: {s: 30}}}
  waits: {timeout: 0.5s, lua: {function: ping, args: {path: /slow, timeout: 60}}}
YAML
start=$(date +%s)
HOOK_URL=$URL sm run to.yaml
expect_eq "timeout exit" "$rc" 1
[[ $(( $(date +%s) - start )) -lt 10 ]] || fail "the timeouts did not stop the steps"
expect_eq "sleep timed out" "$(step_field sleeps error.class)" Timeout
expect_eq "http timed out" "$(step_field waits error.class)" Timeout
expect_eq "the slow request was sent" "$(posted 1 'r["path"]')" "/slow"

# Interrupt (SIGINT) during a sleep: exit 3; resume runs a new attempt.
cat >int.yaml <<'YAML'
smflow: 1
name: int
hooks: hooks.lua
steps:
  notify: {lua: {function: ping, args: {path: /int, after: 30}}}
YAML
HOOK_URL=$URL "$SMFLOW" --state-dir "$T/state" run int.yaml >out 2>err &
pid=$!
for _ in $(seq 100); do [[ $(grep -c /int hooks.log) -ge 1 ]] && break; sleep 0.05; done
kill -INT $pid
wait $pid
expect_eq "interrupted exit" "$?" 3
expect_eq "attempt 1 interrupted" "$(q "select result from attempts a join runs r on r.id=a.run_id where r.name='int' and attempt=1")" interrupted

# kill -9 during the sleep: the attempt had started, so resume runs it again
# (attempt 2; the webhook sees the request twice: lua steps are at-least-once).
sed -i 's/after: 30/after: 0.2/' int.yaml
HOOK_URL=$URL "$SMFLOW" --state-dir "$T/state" resume >out 2>err &
pid=$!
sleep 0.1
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
HOOK_URL=$URL sm resume --allow-changed
expect_eq "resume exit" "$rc" 0
expect_eq "notify succeeded" "$(step_field notify state)" succeeded
last=$(step_field notify attempts)
[[ $last -ge 2 ]] || fail "resume did not start a new attempt (attempts: $last)"
expect_eq "earlier attempts recorded" "$(q "select count(*) from attempts a join runs r on r.id=a.run_id where r.name='int' and a.result is not null and a.result != 'succeeded'")" $((last - 1))
[[ $(grep -c '"/int"' hooks.log) -ge 2 ]] || fail "the request was not sent again after the resume"

# Misuse.
cat >bad.yaml <<'YAML'
smflow: 1
name: bad
hooks: hooks.lua
steps:
  raw: {lua: raw_yield}
  num: {lua: returns_number}
  inner: {lua: inner_coroutine}
  hook: {hooks: {before: sleepy_hook}, run: "true"}
  aws_local: {lua: {function: ping_aws}}
  status: {lua: get_503}
  header: {lua: bad_header}
YAML
cat >>hooks.lua <<'LUA'
function ping_aws(step) return smflow.aws.call("sagemaker", "ListTrainingJobs", {}) end
function get_503(step)
  local r = smflow.http.request{url = env.HOOK_URL .. "/status/503"}
  return {status = r.status, ok = smflow.json.decode(r.body).ok}
end
function bad_header(step)
  smflow.http.request{url = env.HOOK_URL, headers = {["X-Count"] = 3}}
end
LUA
HOOK_URL=$URL sm run bad.yaml
expect_eq "misuse exit" "$rc" 1
expect_contains "raw yield" "$(step_field raw error.message)" "yielded with coroutine.yield: use smflow.sleep"
expect_contains "not a table" "$(step_field num error.message)" "function 'returns_number' must return a table (or nil), not a int"
expect_contains "inner coroutine" "$(step_field inner error.message)" "smflow.sleep is only available inside a lua step"
expect_contains "inner coroutine position" "$(step_field inner error.message)" "hooks.lua:17:"
expect_contains "sleep in a hook" "$(step_field hook error.message)" "smflow.sleep is only available inside a lua step"
expect_contains "aws on local" "$(step_field aws_local error.message)" "smflow.aws.call needs the aws target (this run's target is 'local')"
expect_eq "an HTTP error status is a result" "$(step_field status outputs)" '{"ok": true, "status": 503}'
expect_contains "header types" "$(step_field header error.message)" "hooks.lua:27: smflow.http.request: header 'X-Count' must be a string"
for s in raw num inner hook aws_local header; do
  expect_eq "$s class" "$(step_field $s error.class)" HookError
done

# smflow.aws.call against moto (skipped where moto_server is not installed).
if command -v moto_server >/dev/null; then
  MPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  moto_server -H 127.0.0.1 -p "$MPORT" >moto.log 2>&1 &
  MOTO_PID=$!
  trap 'kill $RECORDER_PID $MOTO_PID 2>/dev/null; rm -rf "$T"' EXIT
  for _ in $(seq 100); do curl -s "http://127.0.0.1:$MPORT/moto-api/" >/dev/null && break; sleep 0.1; done
  cat >>hooks.lua <<'LUA'
function sm(step)
  local ok, e = pcall(smflow.aws.call, "sagemaker", "DescribeTrainingJob", {TrainingJobName = "nope"})
  local list = smflow.aws.call("sagemaker", "ListTrainingJobs", {MaxResults = 5})
  return {jobs = #list.TrainingJobSummaries, code = e.code, text = tostring(e),
          has_request_id = e.request_id ~= nil}
end
LUA
  cat >aws.yaml <<'YAML'
smflow: 1
name: awscall
target: aws
region: us-east-1
role: arn:aws:iam::123456789012:role/SageMakerRole
hooks: hooks.lua
steps:
  call: {lua: sm}
YAML
  AWS_ENDPOINT_URL=http://127.0.0.1:$MPORT AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=secret \
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null sm run aws.yaml
  expect_eq "aws exit" "$rc" 0
  expect_eq "list" "$(step_field call outputs.jobs)" 0
  expect_eq "error code" "$(step_field call outputs.code)" ValidationException
  expect_contains "error text" "$(step_field call outputs.text)" "ValidationException: "
else
  echo "moto_server not installed: smflow.aws.call against a server not tested"
fi
finish

# qa2_hook_log.sh: smflow.log in a step's `before` hook is printed with the
# step's prefix and kept in the log of the attempt it prepared (SPEC: "kept in
# its log"), attempt by attempt, and `smflow logs` shows it.
source "$(dirname "$0")/lib/steps.bash"

cat >hooks.lua <<'LUA'
function prep(step)
  smflow.log("preparing attempt " .. step.attempt)
  return {env = {ATTEMPT = tostring(step.attempt)}}
end
LUA
cat >p.yaml <<'Y'
smflow: 1
name: hook-log
hooks: hooks.lua
steps:
  flaky:
    hooks: {before: prep}
    retry: {max_attempts: 2, backoff: 0s}
    run: {command: 'echo "ran attempt $ATTEMPT"; test "$ATTEMPT" = 2'}
Y
sm run p.yaml
expect_eq "run exit" "$rc" 0
expect_contains "stderr prefix" "$(cat "$T/err")" "[flaky] preparing attempt 1"
run_id=$(q "SELECT id FROM runs ORDER BY started_at DESC LIMIT 1")
l1=$(cat "$T/state/logs/$run_id/flaky.1.log")
l2=$(cat "$T/state/logs/$run_id/flaky.2.log")
expect_contains "attempt 1 log" "$l1" "preparing attempt 1"
expect_contains "attempt 2 log" "$l2" "preparing attempt 2"
[[ $l2 != *"preparing attempt 1"* ]] || fail "attempt 2's log has attempt 1's line"
[[ $(head -n 1 <<<"$l2") == "preparing attempt 2" ]] || fail "before line not first: $l2"
sm logs "$run_id" flaky
expect_contains "smflow logs" "$(cat "$T/out")" "preparing attempt 2"
finish

#!/usr/bin/env bash
# acceptance_resume_budget.sh: `retry.max_attempts` bounds the attempts of a step
# across an interruption: a run stopped (SIGINT, or kill -9) while a step waits
# to retry resumes with the attempts it has left, not with a new budget; a step
# that had failed for good gets a fresh budget on resume (docs/running.md).
source "$(dirname "$0")/lib/engine.bash"

cat >p.yaml <<'YAML'
smflow: 1
name: budget
steps:
  a:
    run: 'echo x >> tries; exit 1'
    retry: {max_attempts: 2, backoff: 10m, max_backoff: 10m}
YAML
# The backoff is long (full jitter draws from 0..10m) so that the stop comes
# while the step waits; a resume does not wait out the old delay.
# wait_for_wait: until step a is in retry_wait (at most 20 s).
wait_for_wait() {
  for _ in $(seq 200); do
    [[ $(step_field a state 2>/dev/null) == retry_wait ]] && return 0
    sleep 0.1
  done
  fail "step a never waited to retry"
}

for how in INT KILL; do
  rm -rf state tries
  "$SMFLOW" --state-dir "$T/state" run p.yaml >out 2>err &
  pid=$!
  wait_for_wait
  kill -"$how" "$pid"
  wait "$pid"
  expect_eq "$how: one try before the stop" "$(wc -l <tries)" 1
  sm resume
  expect_eq "$how: resume exit" "$rc" 1
  expect_eq "$how: one more try after resume (max_attempts 2)" "$(wc -l <tries)" 2
  expect_eq "$how: attempts" "$(step_field a attempts)" 2
  expect_contains "$how: the message counts both" "$(cat err)" "failed after 2 attempts"
done

# Failed for good: resume starts a fresh budget of 2 (a short backoff now, so
# the file changed: --allow-changed).
sed -i 's/backoff: 10m, max_backoff: 10m/backoff: 10ms, max_backoff: 10ms/' p.yaml
sm resume --allow-changed
expect_eq "fresh budget: exit" "$rc" 1
expect_eq "fresh budget: two more tries" "$(wc -l <tries)" 4
finish

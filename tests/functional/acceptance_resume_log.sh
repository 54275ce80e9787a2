#!/usr/bin/env bash
# acceptance_resume_log.sh: after a kill -9, resume says what it does with the
# attempt the killed smflow left without a result: it re-attaches to it (and,
# for a `run` step, records it lost and starts the next one) — it does not claim
# to start that attempt again.
source "$(dirname "$0")/lib/engine.bash"

cat >p.yaml <<'YAML'
smflow: 1
name: resumelog
steps:
  a: {run: 'echo a >> tries; sleep 2'}
YAML
"$SMFLOW" --state-dir "$T/state" run p.yaml >out 2>err &
pid=$!
for _ in $(seq 100); do [[ -s tries ]] && break; sleep 0.1; done
kill -9 "$pid"
wait "$pid"
sm resume
expect_eq "resume exit" "$rc" 0
expect_contains "re-attaches" "$(cat err)" "[a] re-attaching to attempt 1"
expect_contains "the lost attempt" "$(cat err)" "attempt 1 was lost"
expect_contains "the next attempt" "$(cat err)" "[a] started (attempt 2)"
[[ $(cat err) != *"started (attempt 1)"* ]] || fail "resume claims to start attempt 1 again"
finish

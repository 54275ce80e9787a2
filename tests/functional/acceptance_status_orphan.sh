#!/usr/bin/env bash
# acceptance_status_orphan.sh: `smflow status` of a run in progress, from another
# process, while it runs and after its smflow was killed -9: the run stays
# "running" in the state (nothing is guessed into it), and the human view says
# that no smflow runs it any more and how to go on; a live run gets no such note,
# nor one whose smflow holds the directory for it.
source "$(dirname "$0")/lib/engine.bash"

cat >p.yaml <<'YAML'
smflow: 1
name: orphan
steps:
  a: {run: 'echo a >> tries; sleep 3'}
  b: {needs: [a], run: "true"}
YAML
"$SMFLOW" --state-dir "$T/state" run p.yaml >run.out 2>run.err &
pid=$!
for _ in $(seq 100); do [[ -s tries ]] && break; sleep 0.1; done
sm status
expect_eq "live: exit" "$rc" 0
expect_contains "live: running" "$(head -1 out)" "running"
[[ $(cat out) != *"no smflow is running it"* ]] || fail "a live run is called orphaned"
expect_eq "live: step a running" "$(step_field a state)" running

kill -9 "$pid"
wait "$pid"
sm status
expect_eq "killed: exit" "$rc" 0
expect_contains "killed: still recorded running" "$(head -1 out)" "running"
expect_contains "killed: the note" "$(cat out)" "no smflow is running it any more"
expect_contains "killed: how to go on" "$(cat out)" "smflow resume "
sm status --json
expect_contains "json keeps the recorded status" "$(cat out)" '"status": "running"'

sm resume
expect_eq "resume" "$rc" 0
sm status
[[ $(cat out) != *"no smflow is running it"* ]] || fail "a finished run is called orphaned"
finish

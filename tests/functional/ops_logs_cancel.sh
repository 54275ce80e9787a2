#!/usr/bin/env bash
# ops_logs_cancel.sh: `smflow logs` (whole log, --follow until the attempt ends,
# --attempt, errors) and `smflow cancel` (of a running run: its smflow stops,
# processes are gone, the run is cancelled and cannot be resumed; of a run whose
# smflow was killed -9: the orphaned processes are stopped from the intents).
source "$(dirname "$0")/lib/engine.bash"

wait_for() { # wait_for FILE PATTERN
  for _ in $(seq 1 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  fail "timed out waiting for '$2' in $1"
}
newest_run() { "$SMFLOW" --state-dir "$T/state" runs --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["runs"][0]["id"])'; }

# ---- logs ----
cat >logs.yaml <<YAML
smflow: 1
name: logs
steps:
  ticker:
    run: "for i in 1 2 3 4 5 6 7 8; do echo tick \$i; sleep 0.2; done; echo started > $T/never; echo v=1 >> \$SMFLOW_OUTPUT"
    retry: {max_attempts: 1}
  flaky:
    run: "echo attempt-\$(cat $T/n 2>/dev/null || echo 0); echo 1 > $T/n; test -s $T/ok"
YAML
"$SMFLOW" --state-dir state run logs.yaml >bg.out 2>bg.err &
pid=$!
for _ in $(seq 1 100); do [[ -s state/state.db ]] && break; sleep 0.05; done
for _ in $(seq 1 100); do ls state/logs/*/ticker.1.log >/dev/null 2>&1 && break; sleep 0.05; done
rid=$(newest_run)
sm logs "$rid" ticker --follow
expect_eq "follow exit" "$rc" 0
expect_eq "follow printed to the end" "$(tr '\n' ' ' <out)" "tick 1 tick 2 tick 3 tick 4 tick 5 tick 6 tick 7 tick 8 "
alive $pid && expect_eq "attempt ended when follow returned" "$(q "select result from attempts where step_id='ticker'")" succeeded
wait $pid
sm logs "$rid" ticker
expect_eq "logs exit" "$rc" 0
expect_eq "whole log" "$(head -1 out) $(tail -1 out)" "tick 1 tick 8"
sm logs "$rid" flaky --attempt 1
expect_eq "attempt 1" "$(cat out)" "attempt-0"
sm logs "$rid" flaky --attempt 7
expect_eq "no such attempt" "$rc" 2
sm logs "$rid" nosuch
expect_eq "no such step" "$rc" 2
sm logs 20990101-000000-0000 ticker
expect_eq "no such run" "$rc" 2
sm logs "$rid"
expect_eq "missing STEP" "$rc" 2

# ---- cancel a running run ----
cat >long.yaml <<YAML
smflow: 1
name: long
steps:
  slow: {run: "echo \$\$ > $T/slow.pid; echo started >> $T/ledger; exec sleep 300"}
  other: {run: "echo \$\$ > $T/other.pid; exec sleep 301"}
  after: {needs: [slow], run: "echo after >> $T/ledger"}
YAML
"$SMFLOW" --state-dir state run long.yaml >bg.out 2>bg.err &
pid=$!
wait_for ledger started
for _ in $(seq 1 100); do [[ -s other.pid ]] && break; sleep 0.05; done
rid=$(newest_run)
sm cancel "$rid"
expect_eq "cancel exit" "$rc" 0
expect_contains "cancel message" "$(cat out)" "run $rid cancelled"
wait $pid
expect_eq "the run's smflow stopped (interrupted)" "$?" 3
alive "$(cat slow.pid)" && fail "slow's process is still running"
alive "$(cat other.pid)" && fail "other's process is still running"
expect_eq "run cancelled" "$(q "select status from runs where id='$rid'")" cancelled
sm status "$rid" --json
expect_eq "step states" "$(python3 -c 'import json,sys; print(" ".join(s["state"] for s in json.load(open(sys.argv[1]))["steps"]))' out)" \
  "cancelled cancelled cancelled"
grep -q after ledger && fail "a step after the cancel ran"
sm resume "$rid"
expect_eq "resume refuses a cancelled run" "$rc" 2
sm resume  # picks the newest unfinished run: the logs run, never the cancelled one
expect_eq "resume without id does not pick it" "$(q "select status from runs where id='$rid'")" cancelled
[[ "$(cat err)" == *"$rid"* ]] && fail "resume without an id took the cancelled run"
sm cancel "$rid"
expect_eq "cancel again" "$rc" 0
sm cancel 20990101-000000-0000
expect_eq "cancel unknown run" "$rc" 2
sm cancel
expect_eq "cancel without id" "$rc" 2

# ---- cancel after smflow was killed -9: the processes of open attempts ----
rm -f slow.pid other.pid ledger
"$SMFLOW" --state-dir state run long.yaml >bg.out 2>bg.err &
pid=$!
wait_for ledger started
for _ in $(seq 1 100); do [[ -s other.pid ]] && break; sleep 0.05; done
sleep 0.3  # the pid and start time are committed with the intent
rid=$(newest_run)
kill -9 $pid
wait $pid 2>/dev/null
alive "$(cat slow.pid)" || fail "slow's process should outlive a kill -9 of smflow"
# Another run holds the state dir now: cancelling the orphaned run must not stop it.
cat >hold.yaml <<YAML
smflow: 1
name: hold
steps:
  wait: {run: "echo held >> $T/held; exec sleep 302"}
YAML
"$SMFLOW" --state-dir state run hold.yaml >hold.out 2>hold.err &
hold_pid=$!
wait_for held held
sm cancel "$rid"
expect_eq "cancel while another run holds the state dir" "$rc" 4
expect_contains "why" "$(cat err)" "running another run"
alive $hold_pid || fail "cancel stopped the smflow of another run"
sm cancel "$(newest_run)"
expect_eq "cancel the holding run" "$rc" 0
wait $hold_pid
alive "$(cat slow.pid)" || fail "cancelling the other run stopped this run's process"
sm cancel "$rid"
expect_eq "cancel of an orphaned run" "$rc" 0
expect_contains "processes stopped" "$(cat out)" "2 processes stopped"
for _ in $(seq 1 40); do alive "$(cat slow.pid)" || break; sleep 0.05; done
alive "$(cat slow.pid)" && fail "orphaned slow process still running"
alive "$(cat other.pid)" && fail "orphaned other process still running"
expect_eq "attempts recorded cancelled" "$(q "select group_concat(result) from attempts where run_id='$rid'")" "cancelled,cancelled"
expect_contains "what was stopped" "$(q "select result_json from attempts where run_id='$rid' and step_id='slow'")" "\"pid\":$(cat slow.pid)"

# An attempt of a remote (aws) job that the target cannot stop from here: the
# attempt is recorded cancelled with the job left running, and a warning names it.
now=$(date +%s000)
q "insert into runs (id, pipeline_path, pipeline_sha256, name, target, status, started_at)
   values ('20260101-000000-aaaa', '$T/x.yaml', '', 'remote', 'aws', 'interrupted', $now);
   insert into steps (run_id, id, kind, state, attempts, seq)
   values ('20260101-000000-aaaa', 'train', 'fit', 'running', 1, 0);
   insert into attempts (run_id, step_id, attempt, intent_json, intent_at)
   values ('20260101-000000-aaaa', 'train', 1,
           '{\"attempt\":1,\"job_name\":\"train-20260101-000000-aaaa-train-1\",\"target\":{\"target\":\"aws\"}}', $now);"
sm cancel 20260101-000000-aaaa
expect_eq "cancel with a remote job" "$rc" 0
expect_contains "remote job named" "$(cat err)" "remote job train-20260101-000000-aaaa-train-1 was not stopped"
expect_contains "left running recorded" "$(q "select result_json from attempts where run_id='20260101-000000-aaaa'")" \
  '"left_running":"train-20260101-000000-aaaa-train-1"'
expect_eq "remote run cancelled" "$(q "select status from runs where id='20260101-000000-aaaa'")" cancelled

# A succeeded run has nothing to cancel.
sm run logs.yaml --only ticker
sm cancel "$(newest_run)"
expect_eq "cancel of a succeeded run" "$rc" 2
finish

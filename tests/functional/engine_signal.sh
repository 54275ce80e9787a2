#!/usr/bin/env bash
# engine_signal.sh: SIGINT/SIGTERM → exit 3 → resume completes; a second SIGINT
# exits at once; the single-writer lock (exit 4); resume refuses a changed
# pipeline unless --allow-changed.
source "$(dirname "$0")/lib/engine.bash"

cat >p.yaml <<YAML
smflow: 1
name: sig
steps:
  a: {run: "echo a >> $T/ledger; echo v=1 >> \$SMFLOW_OUTPUT"}
  b: {needs: [a], run: "echo b-start >> $T/ledger; sleep 2; echo b >> $T/ledger"}
  c: {needs: [b], run: "echo c \${steps.a.v} >> $T/ledger"}
YAML

wait_for() { # wait_for FILE PATTERN
  for _ in $(seq 1 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  fail "timed out waiting for '$2' in $1"
}

"$SMFLOW" --state-dir state run p.yaml >bg.out 2>bg.err &
pid=$!
wait_for ledger b-start
# While it runs: a second smflow on the same state dir is refused.
sm run p.yaml
expect_eq "locked state dir" "$rc" 4
expect_contains "lock message" "$(cat err)" "is locked by smflow (pid $pid)"
kill -INT $pid
wait $pid
expect_eq "exit after SIGINT" "$?" 3
expect_contains "resume hint" "$(cat bg.err)" "resume with: smflow resume"
grep -q '^b$' ledger && fail "b finished although it was interrupted"
expect_eq "b back to pending" "$(step_field b state)" pending
expect_eq "interrupted attempt" "$(q "select result from attempts where step_id='b'")" interrupted
expect_eq "run interrupted" "$(q "select status || ' ' || exit_code from runs")" "interrupted 3"

sm resume
expect_eq "resume exit" "$rc" 0
expect_eq "ledger after resume" "$(tr '\n' ' ' <ledger)" "a b-start b-start b c 1 "
expect_eq "a ran once" "$(grep -c '^a$' ledger)" 1
expect_eq "b attempts" "$(step_field b attempts)" 2
sm resume
expect_eq "nothing left to resume" "$rc" 2

# SIGTERM behaves the same; then a changed pipeline is refused.
rm -f ledger
"$SMFLOW" --state-dir state run p.yaml >bg.out 2>bg.err &
pid=$!
wait_for ledger b-start
kill -TERM $pid
wait $pid
expect_eq "exit after SIGTERM" "$?" 3
echo "# changed" >>p.yaml
sm resume
expect_eq "changed pipeline refused" "$rc" 2
expect_contains "changed message" "$(cat err)" "--allow-changed"
sm resume --allow-changed
expect_eq "resume --allow-changed" "$rc" 0
expect_eq "c ran after resume" "$(tail -1 ledger)" "c 1"

# A second SIGINT exits at once, killing the step's process.
rm -f ledger
cat >slow.yaml <<YAML
smflow: 1
name: slow
steps:
  s: {run: "echo \$\$ > $T/s.pid; echo started >> $T/ledger; trap '' TERM; sleep 20"}
YAML
"$SMFLOW" --state-dir state run slow.yaml >bg.out 2>bg.err &
pid=$!
wait_for ledger started
kill -INT $pid
sleep 0.3
kill -0 $pid 2>/dev/null || fail "the first SIGINT should wait for the step (it ignores SIGTERM)"
kill -INT $pid
wait $pid
expect_eq "exit after a second SIGINT" "$?" 3
sleep 0.2
if alive "$(cat s.pid)"; then fail "the step's process survived a second SIGINT"; fi
expect_eq "attempt left without a result" "$(q "select count(*) from attempts a join runs r on r.id = a.run_id where r.name = 'slow' and a.result is null")" 1
finish

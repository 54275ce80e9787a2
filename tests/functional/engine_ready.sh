#!/usr/bin/env bash
# engine_ready.sh: what the run's ready-set decides, as recorded by the engine —
# a dependant of a failed step is cancelled at once (while its other
# dependency still runs) and names the step that failed, its dependants name
# it as not started, skips name the skipped step and propagate, a "not
# selected" skip does not propagate, and --only and --from add up.
source "$(dirname "$0")/lib/engine.bash"

cat >p.yaml <<YAML
smflow: 1
name: ready
steps:
  boom: {run: "exit 3"}
  slow: {run: "sleep 1; echo slow >> $T/ledger"}
  join: {needs: [slow, boom], run: "echo join >> $T/ledger"}
  below: {needs: [join], run: "echo below >> $T/ledger"}
  gate: {when: "false", run: "echo gate >> $T/ledger"}
  after_gate: {needs: [gate, slow], run: "echo after_gate >> $T/ledger"}
YAML
sm run p.yaml
expect_eq "failed run exit" "$rc" 1
expect_eq "join cancelled" "$(step_field join state)" cancelled
expect_eq "join names the failed step" "$(step_field join error.message)" "upstream step 'boom' failed"
expect_eq "below cancelled" "$(step_field below state)" cancelled
expect_eq "below names join" "$(step_field below error.message)" "upstream step 'join' was not started"
expect_eq "slow still ran" "$(step_field slow state)" succeeded
# Cancelled at once: join's and below's cancellations are recorded before slow ends.
order=$(q "select step_id from events where type='state' and (step_id in ('join','below')
  and detail_json like '%\"to\":\"cancelled\"%' or step_id='slow'
  and detail_json like '%\"to\":\"succeeded\"%') order by seq" | tr '\n' ' ')
expect_eq "cancelled before slow finished" "$order" "join below slow "
expect_eq "gate skipped" "$(step_field gate state)" skipped
expect_eq "after_gate skipped" "$(step_field after_gate state)" skipped
expect_eq "after_gate names gate" "$(step_field after_gate error.message)" "upstream step 'gate' was skipped"
expect_eq "ledger" "$(sort ledger | tr '\n' ' ')" "slow "

# --only and --from add up; steps outside are "not selected" and their skip
# does not propagate to selected dependants.
rm -f ledger
cat >s.yaml <<YAML
smflow: 1
name: sel
steps:
  a: {run: "echo a >> $T/ledger"}
  b: {needs: [a], run: "echo b >> $T/ledger"}
  c: {needs: [b], run: "echo c >> $T/ledger"}
  d: {run: "echo d >> $T/ledger"}
  e: {needs: [d], run: "echo e >> $T/ledger"}
YAML
sm run s.yaml --only e --from b
expect_eq "selection exit" "$rc" 0
expect_eq "union of --only and --from" "$(sort ledger | tr '\n' ' ')" "b c e "
expect_eq "a not selected" "$(step_field a state)" skipped
expect_contains "a message" "$(step_field a error.message)" "not selected"
expect_eq "d not selected" "$(step_field d state)" skipped
expect_eq "e ran after an unselected step" "$(step_field e state)" succeeded
finish

#!/usr/bin/env bash
# engine_failure.sh: retries (a step failing twice then succeeding, attempts
# recorded), retry.on, the failure policy (independent branches continue,
# dependants are not started, exit 1), timeouts (the process is killed, class
# Timeout), `when:` skips and their propagation.
source "$(dirname "$0")/lib/engine.bash"

cat >p.yaml <<YAML
smflow: 1
name: failing
steps:
  flaky:
    retry: {max_attempts: 3, backoff: 0.05s}
    run: "n=\$(cat $T/cnt 2>/dev/null || echo 0); n=\$((n+1)); echo \$n > $T/cnt; echo attempt \$SMFLOW_ATTEMPT >> $T/ledger; [ \$n -ge 3 ] && echo ok=yes >> \$SMFLOW_OUTPUT"
  after_flaky:
    needs: [flaky]
    run: "echo ok is \${steps.flaky.ok}"
  broken:
    retry: {max_attempts: 2, backoff: 0.05s}
    run: "echo broken-ran >> $T/ledger; echo boom >&2; exit 7"
  child:
    needs: [broken]
    run: "echo child >> $T/ledger"
  grandchild:
    needs: [child]
    run: "echo grandchild >> $T/ledger"
  independent:
    run: "sleep 0.3; echo independent >> $T/ledger"
  slow:
    timeout: 0.5s
    run: "echo \$\$ > $T/slow.pid; exec sleep 30"
  no_retry_on_class:
    retry: {max_attempts: 3, backoff: 0.05s, on: [CapacityError]}
    run: "echo nrc >> $T/ledger; exit 1"
YAML
start=$(date +%s)
sm run p.yaml
expect_eq "exit of a failed run" "$rc" 1
[[ $(( $(date +%s) - start )) -lt 10 ]] || fail "the timeout did not stop the step"
expect_eq "flaky ran 3 times" "$(grep -c '^attempt' ledger)" 3
expect_eq "attempt numbers" "$(grep '^attempt' ledger | tr '\n' ' ')" "attempt 1 attempt 2 attempt 3 "
expect_eq "flaky succeeded" "$(step_field flaky state)" succeeded
expect_eq "flaky attempts" "$(step_field flaky attempts)" 3
expect_eq "attempt rows of flaky" "$(q "select group_concat(result) from attempts where step_id='flaky' order by attempt")" "failed,failed,succeeded"
expect_eq "after_flaky saw the output" "$(step_field after_flaky state)" succeeded
expect_eq "broken retried once" "$(grep -c broken-ran ledger)" 2
expect_eq "broken failed" "$(step_field broken state)" failed
expect_eq "broken class" "$(step_field broken error.class)" AlgorithmError
expect_contains "broken message" "$(step_field broken error.message)" "status 7: boom"
expect_eq "child not started" "$(step_field child state)" cancelled
expect_eq "grandchild not started" "$(step_field grandchild state)" cancelled
grep -q child ledger && fail "a dependant of a failed step ran"
expect_eq "independent branch ran" "$(grep -c independent ledger)" 1
expect_eq "slow timed out" "$(step_field slow error.class)" Timeout
pid=$(cat slow.pid)
if alive "$pid"; then fail "the timed-out process $pid is still alive"; fi
expect_eq "retry.on other class: not retried" "$(grep -c nrc ledger)" 1
expect_contains "summary names the run" "$(cat err)" "failed; see: smflow status"

# when: false skips the step and everything that needs it.
rm -f ledger
cat >w.yaml <<YAML
smflow: 1
name: when
params: {go: false, n: 3}
steps:
  a: {run: "echo k=v >> \$SMFLOW_OUTPUT"}
  gated:
    needs: [a]
    when: params.go and steps.a.k == "v"
    run: "echo gated >> $T/ledger"
  below: {needs: [gated], run: "echo below >> $T/ledger"}
  open:
    needs: [a]
    when: params.n > 2
    run: "echo open >> $T/ledger"
YAML
sm run w.yaml
expect_eq "when run exit" "$rc" 0
expect_eq "gated skipped" "$(step_field gated state)" skipped
expect_eq "skip propagates" "$(step_field below state)" skipped
expect_eq "open ran" "$(cat ledger)" open
sm run w.yaml --param go=true
expect_eq "when with --param exit" "$rc" 0
expect_eq "gated ran with go=true" "$(sort ledger | tr '\n' ' ')" "below gated open open "
finish

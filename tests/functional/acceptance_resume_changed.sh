#!/usr/bin/env bash
# acceptance_resume_changed.sh: resume of a run whose pipeline file changed
# (SPEC §6): refused (exit 2, nothing run) unless --allow-changed, even for a
# comment; with it, kept steps keep their outputs, new steps run, and a step
# that is no longer in the file and had not finished is recorded cancelled
# ("removed from the pipeline file"), so `status` agrees with the run's result.
source "$(dirname "$0")/lib/engine.bash"

cat >p.yaml <<'YAML'
smflow: 1
name: changed
steps:
  a:
    run: 'echo "v=1" >> "$SMFLOW_OUTPUT"; echo a >> tries'
  b:
    needs: [a]
    run: 'exit 1'
YAML
sm run p.yaml
expect_eq "first run fails" "$rc" 1
run_id=$(step_field a outputs.v >/dev/null; "$SMFLOW" --state-dir "$T/state" runs --json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["runs"][0]["id"])')

echo "# a comment" >>p.yaml
sm resume
expect_eq "changed file refused" "$rc" 2
expect_contains "says how to go on" "$(cat err)" "--allow-changed"
sm resume "$run_id"
expect_eq "changed file refused by id too" "$rc" 2
expect_eq "nothing ran" "$(wc -l <tries)" 1

cat >p.yaml <<'YAML'
smflow: 1
name: changed
steps:
  a:
    run: 'echo "v=1" >> "$SMFLOW_OUTPUT"; echo a >> tries'
  c:
    needs: [a]
    run: 'echo "w=${steps.a.v}" >> "$SMFLOW_OUTPUT"'
YAML
sm resume --allow-changed
expect_eq "allowed: exit" "$rc" 0
expect_eq "a kept, not run again" "$(wc -l <tries)" 1
expect_eq "c ran with a's outputs" "$(step_field c outputs.w)" 1
expect_eq "removed step b: state" "$(step_field b state)" cancelled
expect_contains "removed step b: why" "$(step_field b error.message)" "removed from the pipeline file"
sm status --json
expect_contains "run succeeded" "$(cat out)" '"status": "succeeded"'
finish

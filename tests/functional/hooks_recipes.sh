#!/usr/bin/env bash
# hooks_recipes.sh: recipes of docs/hooks.md, run as written there — gate a step
# on a metric (a `when:` calling a hooks function, and a `lua` gate step that
# fails with smflow.fail), compare with the newest approved model of the local
# registry (smflow.registry.latest) and compute the next version with
# smflow.semver, over five runs (one after a person rejected a version).
source "$(dirname "$0")/lib/hooks.bash"

cat >hooks.lua <<'LUA'
local semver = require "smflow.semver"

-- For `when:`: true when the evaluation's accuracy reaches the threshold.
function good_enough(evaluation, min)
  return tonumber(evaluation.accuracy) >= min
end

-- A gate step: fails the run's deploy branch with a readable reason.
function gate(step, args)
  local acc = tonumber(steps.evaluate.accuracy)
  if acc < args.min then
    smflow.fail(string.format("accuracy %.3f is below the gate %.3f", acc, args.min))
  end
  return {passed = true, margin = math.floor((acc - args.min) * 1000 + 0.5) / 1000}
end

-- Candidate against the newest approved version of the group in the model
-- registry (smflow.registry.latest), and the version it would get.
function compare(step, args)
  local cand = tonumber(steps.evaluate.accuracy)
  local approved = smflow.registry.latest(args.group)
  if approved == nil then
    return {promote = true, reason = "no approved model yet", version = "1.0.0"}
  end
  local champ = tonumber(approved.metadata.accuracy)
  return {promote = cand >= champ + args.min_gain,
          reason = string.format("candidate %.3f vs approved %.3f (v%d)", cand, champ,
                                 approved.version),
          version = semver.bump(approved.metadata.semver, args.part)}
end
LUA

cat >p.yaml <<'YAML'
smflow: 1
name: recipes
hooks: hooks.lua
params: {acc: 0.9, min_accuracy: 0.8}
steps:
  evaluate:
    run: "echo accuracy=${params.acc} >> $SMFLOW_OUTPUT"
  report:
    needs: [evaluate]
    when: good_enough(steps.evaluate, params.min_accuracy)
    run: "echo report for ${steps.evaluate.accuracy}"
  gate:
    needs: [evaluate]
    lua: {function: gate, args: {min: "${params.min_accuracy}"}}
  compare:
    needs: [evaluate, gate]
    lua: {function: compare, args: {group: churn, min_gain: 0.01, part: minor}}
  register:
    needs: [compare]
    when: steps.compare.promote
    register:
      model_package_group: churn
      model_data: model.tar.gz
      image_uri: local
      approval: Approved
      metadata: {accuracy: "${steps.evaluate.accuracy}", semver: "${steps.compare.version}"}
YAML

tar czf model.tar.gz hooks.lua

# Run 1: nothing approved yet: registered and approved as 1.0.0.
sm run p.yaml --param acc=0.9
expect_eq "run 1 exit" "$rc" 0
expect_eq "run 1 report (when: true)" "$(step_field report state)" succeeded
expect_eq "run 1 gate" "$(step_field gate outputs)" '{"margin": 0.1, "passed": true}'
expect_eq "run 1 reason" "$(step_field compare outputs.reason)" "no approved model yet"
expect_eq "run 1 registered" "$(step_field register outputs.version)" 1

# Run 2: worse than the approved model: not registered.
sm run p.yaml --param acc=0.85
expect_eq "run 2 exit" "$rc" 0
expect_eq "run 2 compare" "$(step_field compare outputs)" \
  '{"promote": false, "reason": "candidate 0.850 vs approved 0.900 (v1)", "version": "1.1.0"}'
expect_eq "run 2 register skipped" "$(step_field register state)" skipped

# Run 3: better: registered as version 2, semver 1.1.0.
sm run p.yaml --param acc=0.95
expect_eq "run 3 exit" "$rc" 0
expect_eq "run 3 registered" "$(step_field register outputs.version)" 2
expect_eq "run 3 semver" "$(step_field compare outputs.version)" 1.1.0

# A person rejects version 2: the comparison goes back to version 1.
"$SMFLOW" --state-dir "$T/state" models reject churn 2 >/dev/null || fail "models reject"
sm run p.yaml --param acc=0.905
expect_eq "run 3b exit" "$rc" 0
expect_eq "run 3b compares with v1" "$(step_field compare outputs.reason)" "candidate 0.905 vs approved 0.900 (v1)"
expect_eq "run 3b not enough gain" "$(step_field register state)" skipped

# Run 4: below the gate: report skipped by when:, the gate fails with its reason,
# compare and promote are not started.
sm run p.yaml --param acc=0.7
expect_eq "run 4 exit" "$rc" 1
expect_eq "run 4 report skipped" "$(step_field report state)" skipped
expect_eq "run 4 gate class" "$(step_field gate error.class)" HookError
expect_eq "run 4 gate message" "$(step_field gate error.message)" "accuracy 0.700 is below the gate 0.800"
expect_eq "run 4 compare not started" "$(step_field compare state)" cancelled
finish

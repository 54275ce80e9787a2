#!/usr/bin/env bash
# hooks_recipes.sh: recipes of docs/hooks.md, run as written there — gate a step
# on a metric (a `when:` calling a hooks function, and a `lua` gate step that
# fails with smflow.fail), compare with the last approved model (its record is
# the output of an earlier step) and compute the next version with
# smflow.semver, over three runs.
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

-- Candidate against the approved model (steps.champion has its record, or nothing).
function compare(step, args)
  local cand = tonumber(steps.evaluate.accuracy)
  local champ = steps.champion.accuracy and tonumber(steps.champion.accuracy)
  if champ == nil then
    return {promote = true, reason = "no approved model yet"}
  end
  local better = cand >= champ + args.min_gain
  return {promote = better,
          reason = string.format("candidate %.3f vs approved %.3f", cand, champ)}
end

-- The version the candidate would get: a bump of the approved one.
function next_version(step, args)
  local last = steps.champion.version
  if last == nil then return {version = "1.0.0"} end
  return {version = semver.bump(last, args.part)}
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
  champion:
    run: "if [ -f champion.env ]; then cat champion.env >> $SMFLOW_OUTPUT; fi"
  compare:
    needs: [evaluate, champion, gate]
    lua: {function: compare, args: {min_gain: 0.01}}
  version:
    needs: [champion]
    lua: {function: next_version, args: {part: minor}}
  promote:
    needs: [compare, version]
    when: steps.compare.promote
    run: "printf 'accuracy=%s\\nversion=%s\\n' ${steps.evaluate.accuracy} ${steps.version.version} > champion.env"
YAML

# Run 1: nothing approved yet: promoted as 1.0.0.
sm run p.yaml --param acc=0.9
expect_eq "run 1 exit" "$rc" 0
expect_eq "run 1 report (when: true)" "$(step_field report state)" succeeded
expect_eq "run 1 gate" "$(step_field gate outputs)" '{"margin": 0.1, "passed": true}'
expect_eq "run 1 reason" "$(step_field compare outputs.reason)" "no approved model yet"
expect_eq "run 1 approved" "$(cat champion.env | tr '\n' ' ')" "accuracy=0.9 version=1.0.0 "

# Run 2: worse than the approved model: not promoted, version computed anyway.
sm run p.yaml --param acc=0.85
expect_eq "run 2 exit" "$rc" 0
expect_eq "run 2 compare" "$(step_field compare outputs)" '{"promote": false, "reason": "candidate 0.850 vs approved 0.900"}'
expect_eq "run 2 version" "$(step_field version outputs.version)" 1.1.0
expect_eq "run 2 promote skipped" "$(step_field promote state)" skipped
expect_eq "run 2 approved unchanged" "$(cat champion.env | tr '\n' ' ')" "accuracy=0.9 version=1.0.0 "

# Run 3: better: promoted as 1.1.0.
sm run p.yaml --param acc=0.95
expect_eq "run 3 exit" "$rc" 0
expect_eq "run 3 approved" "$(cat champion.env | tr '\n' ' ')" "accuracy=0.95 version=1.1.0 "

# Run 4: below the gate: report skipped by when:, the gate fails with its reason,
# compare and promote are not started.
sm run p.yaml --param acc=0.7
expect_eq "run 4 exit" "$rc" 1
expect_eq "run 4 report skipped" "$(step_field report state)" skipped
expect_eq "run 4 gate class" "$(step_field gate error.class)" HookError
expect_eq "run 4 gate message" "$(step_field gate error.message)" "accuracy 0.700 is below the gate 0.800"
expect_eq "run 4 compare not started" "$(step_field compare state)" cancelled
expect_eq "run 4 approved unchanged" "$(cat champion.env | tr '\n' ' ')" "accuracy=0.95 version=1.1.0 "
finish

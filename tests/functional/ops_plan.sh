#!/usr/bin/env bash
# ops_plan.sh: `smflow plan` — the JSON document's structure, the actions run,
# cached, skipped and unknown, `${...}` kept for values that need outputs,
# secrets redacted, requests per target, the table, usage errors, and no side
# effects at all (no state directory is created).
source "$(dirname "$0")/lib/engine.bash"

mkdir -p proj/src
echo 'print("hi")' >proj/src/train.py
cat >proj/p.yaml <<'YAML'
smflow: 1
name: plan
params:
  flag: false
  bucket: bkt
vars:
  prefix: "s3://${params.bucket}/models/"
steps:
  code:
    upload: {source_dir: src, to: "${vars.prefix}code/"}
  prep:
    run:
      command: "echo out=${vars.prefix}data >> $SMFLOW_OUTPUT"
      env: {API_KEY: k1, MY_SECRET: k2, GH_TOKEN: k3, DB_PASSWORD: k4, PLAIN: visible}
    cache: true
  token:
    run: "curl -H 'Authorization: ${env.SMF_TEST_API_TOKEN}' http://127.0.0.1:9/"
  use:
    needs: [prep]
    run: "echo ${steps.prep.out}"
  gated:
    when: params.flag
    run: "echo gated"
  after_gated:
    needs: [gated]
    run: "echo after"
  maybe:
    needs: [prep]
    when: steps.prep.out ~= nil
    run: "echo maybe"
  below_maybe:
    needs: [maybe]
    run: "echo below"
YAML

# Run from the pipeline's directory: the default state dir would be proj/.smflow.
export SMF_TEST_API_TOKEN=tok-0123456789
cd proj
"$SMFLOW" plan p.yaml --json >../out 2>../err
rc=$?
cd "$T"
expect_eq "plan exit" "$rc" 0
[[ -e proj/.smflow ]] && fail "plan created proj/.smflow"
[[ -e .smflow ]] && fail "plan created ./.smflow"

check() { python3 - "$@" <<'PY'
import json, sys
doc = json.load(open("out"))
assert list(doc.keys()) == ["steps"], doc.keys()
steps = {s["id"]: s for s in doc["steps"]}
for s in doc["steps"]:
    # "outputs" when known (cached; an upload that would run)
    assert sorted(set(s.keys()) - {"outputs"}) == ["action", "id", "kind", "requests"], s.keys()
    assert s["action"] in ("run", "cached", "skipped", "unknown")
    for r in s["requests"]:
        # "when": a call made only on an answer plan cannot know
        assert sorted(set(r.keys()) - {"when"}) == ["body", "operation", "service"], r.keys()
print(" ".join(f'{i}={s["action"]}' for i, s in steps.items()))
env = steps["prep"]["requests"][0]["body"]["env"]
print(" ".join(f"{k}={v}" for k, v in env.items()))
print(steps["prep"]["requests"][0]["body"]["command"])
print(steps["use"]["requests"][0]["body"]["command"])
print(" ".join(r["service"] + ":" + r["operation"] for r in steps["code"]["requests"]))
print(steps["code"]["requests"][-1]["body"]["to"])
print(steps["token"]["requests"][0]["body"]["command"])
PY
}
mapfile -t lines < <(check)
expect_eq "actions" "${lines[0]:-}" \
  "code=run prep=run token=run use=unknown gated=skipped after_gated=skipped maybe=unknown below_maybe=unknown"
expect_eq "redacted env" "${lines[1]:-}" "API_KEY=*** MY_SECRET=*** GH_TOKEN=*** DB_PASSWORD=*** PLAIN=visible"
expect_eq "interpolated command" "${lines[2]:-}" 'echo out=s3://bkt/models/data >> $SMFLOW_OUTPUT'
expect_eq "output placeholder kept" "${lines[3]:-}" 'echo ${steps.prep.out}'
expect_eq "local upload request" "${lines[4]:-}" "local:StoreObject"
expect_eq "vars in bodies" "${lines[5]:-}" "s3://bkt/models/code/"
grep -q k1 out && fail "a secret value is in plan's output"
expect_eq "secret env value masked" "${lines[6]:-}" "curl -H 'Authorization: ***' http://127.0.0.1:9/"
grep -q tok-0123456789 out && fail "a secret environment value is in plan's output"

# --param reaches when:; the human table.
sm plan proj/p.yaml --param flag=true
expect_eq "table exit" "$rc" 0
expect_contains "table header" "$(cat out)" "ACTION"
expect_contains "gated runs with flag" "$(grep '^gated ' out)" " run "
expect_contains "table reason" "$(grep '^use ' out)" "needs outputs of earlier steps"

# After a run, the cached step's outputs are known to later steps.
sm run proj/p.yaml --only prep
expect_eq "run prep" "$rc" 0
sm plan proj/p.yaml --json
mapfile -t lines < <(check)
expect_contains "prep cached, use known" "${lines[0]:-}" "prep=cached token=run use=run"
expect_eq "output filled in" "${lines[3]:-}" "echo s3://bkt/models/data"
before=$(q "select count(*) from runs")
sm plan proj/p.yaml
expect_eq "plan adds no run" "$(q "select count(*) from runs")" "$before"

# The aws target: S3 and SageMaker calls; run steps stay local.
sm plan proj/p.yaml --target aws --json
expect_eq "aws plan exit" "$rc" 0
mapfile -t lines < <(check)
expect_eq "aws upload requests" "${lines[4]:-}" "s3:HeadObject s3:PutObject"

# A request that cannot be built (a fit without a role) makes the step
# "unknown", and the table says why.
printf 'smflow: 1\nname: norole\nsteps:\n  train:\n    fit: {image_uri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mine:1", instance_type: ml.m5.large}\n' >norole.yaml
AWS_REGION=eu-west-1 "$SMFLOW" plan norole.yaml --target aws >out 2>err
expect_eq "no-role plan exit" "$?" 0
expect_contains "no-role reason" "$(cat out)" "unknown  sagemaker:CreateTrainingJob"
expect_contains "no-role reason" "$(cat out)" "the run would fail: the aws target needs an execution role"

# Usage errors: exit 2, nothing written.
sm plan proj/p.yaml --target mars
expect_eq "bad target" "$rc" 2
printf 'smflow: 1\nname: bad\nsteps:\n  a: {run: "x", bogus: 1}\n' >bad.yaml
"$SMFLOW" plan bad.yaml >out 2>err
expect_eq "invalid pipeline" "$?" 2
expect_contains "diagnostic" "$(cat err)" "bad.yaml:4"
[[ -e .smflow ]] && fail "plan of an invalid pipeline created .smflow"
finish

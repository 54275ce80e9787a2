#!/usr/bin/env bash
# local_outputs.sh: on the local target every output SPEC §4 names for a step
# kind is present in `status --json` after the quickstart pipeline (upload,
# fit, evaluate, register, deploy): none is left out, even where the local
# target has nothing to put there (fit's image_uri without image_uri or
# framework is "").
source "$(dirname "$0")/lib/steps.bash"
quickstart_copy qs
sm run qs/pipeline.yaml
expect_eq "run exit" "$rc" 0
"$SMFLOW" --state-dir "$T/state" status --json >status.json
missing=$(python3 - status.json <<'PY'
import json, sys
want = {
    "code": ["uri", "sha256", "bytes", "reused"],
    "train": ["job_name", "job_arn", "model_data", "output_data", "image_uri", "metrics",
              "status", "billable_seconds"],
    "evaluate": ["job_name", "report_uri", "metrics"],
    "register": ["arn", "group", "version", "approval", "uri"],
    "deploy": ["endpoint", "endpoint_arn", "config", "model_name", "url"],
}
steps = {s["id"]: s for s in json.load(open(sys.argv[1]))["steps"]}
bad = []
for sid, keys in want.items():
    out = (steps.get(sid) or {}).get("outputs") or {}
    for k in keys:
        if k not in out or out[k] is None:
            bad.append("%s.%s" % (sid, k))
print(" ".join(bad))
PY
)
expect_eq "outputs missing" "$missing" ""
expect_eq "fit image_uri without an image" "$(step_field train outputs.image_uri)" ""
[[ $(step_field train outputs.billable_seconds) =~ ^[0-9]+$ ]] || fail "billable_seconds"
[[ $(step_field code outputs.sha256) =~ ^[0-9a-f]{64}$ ]] || fail "upload sha256"
expect_eq "register group" "$(step_field register outputs.group)" quickstart-models
finish

#!/usr/bin/env python3
"""Compare smflow's CreateTrainingJob bodies with the ones the SDK sent.

Usage: sdk_compare.py RECORDING SDK_DIR

For every CreateTrainingJob in moto's request log (smflow's requests), the
step is read from the smflow:step tag and SDK_DIR/STEP.json is the body the
SageMaker Python SDK sent for the same estimator (recorded by
tests/tools/sdk_record.py, unedited). Normalisation, on both sides: the
body's own TrainingJobName is replaced by {JOB} wherever it occurs (names
differ by design: smflow derives them from the run, the recording used fixed
ones). On smflow's side only, the smflow:* tags (its bookkeeping: run id,
step, attempt, fingerprint) are dropped, and Tags with them when nothing else
is left. Field order does not matter; presence, names, types and values do.
Every SDK file must have been matched by one request. Exit 1 on a difference.
"""
import base64
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from check_shapes import records  # noqa: E402


def normalise(value, job):
    if isinstance(value, dict):
        return {k: normalise(v, job) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, job) for v in value]
    if isinstance(value, str):
        return value.replace(job, "{JOB}")
    return value


def drop_own_tags(body):
    tags = [t for t in body.get("Tags", []) if not t["Key"].startswith("smflow:")]
    if tags:
        body["Tags"] = tags
    else:
        body.pop("Tags", None)
    return body


def diff(want, got, where, out):
    if isinstance(want, dict) and isinstance(got, dict):
        for k in sorted(set(want) | set(got)):
            if k not in got:
                out.append("%s.%s: missing (want %s)" % (where, k, json.dumps(want[k])))
            elif k not in want:
                out.append("%s.%s: unexpected %s" % (where, k, json.dumps(got[k])))
            else:
                diff(want[k], got[k], where + "." + k, out)
    elif isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for i, (w, g) in enumerate(zip(want, got)):
            diff(w, g, "%s[%d]" % (where, i), out)
    elif want != got or type(want) is not type(got):
        out.append("%s: want %s, got %s" % (where, json.dumps(want), json.dumps(got)))


def main():
    rec, exp_dir = sys.argv[1], sys.argv[2]
    expected = {os.path.basename(p)[:-5]: json.load(open(p))
                for p in glob.glob(os.path.join(exp_dir, "*.json"))}
    seen, problems = set(), []
    for r in records(rec):
        headers = {k.lower(): v for k, v in r.get("headers", {}).items()}
        if headers.get("x-amz-target") != "SageMaker.CreateTrainingJob":
            continue
        body = r.get("body") or ""
        if r.get("body_encoded"):
            body = base64.b64decode(body).decode()
        got = json.loads(body)
        tags = {t["Key"]: t["Value"] for t in got.get("Tags", [])}
        step = tags.get("smflow:step")
        if step not in expected:
            continue
        seen.add(step)
        got = normalise(drop_own_tags(got), got["TrainingJobName"])
        want = normalise(expected[step], expected[step]["TrainingJobName"])
        out = []
        diff(want, got, step, out)
        problems += out
        print("%s: %s" % (step, "same as the SDK" if not out else "%d differences" % len(out)))
    for step in sorted(set(expected) - seen):
        problems.append("%s: no CreateTrainingJob was recorded" % step)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

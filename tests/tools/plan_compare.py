#!/usr/bin/env python3
"""Compare the request bodies `smflow plan --json --target aws` showed with the
ones the run then sent (moto's request log).

Usage: plan_compare.py PLAN_JSON RECORDING STATUS_JSON ACCOUNT REGION OP... [--skip STEP]...

For every operation OP (e.g. CreateTrainingJob) and every planned step that has
a request of that operation, the recorded request of the same step (its
smflow:step tag, or for requests without it the planned job or group name) is found and the planned body, with its placeholders replaced
by the run's values, must equal it field by field:
  ${run.id}               the run's id (STATUS_JSON run.id)
  ${aws.account_id}       ACCOUNT
  ${aws.region}           REGION (the `aws` global of expressions, kept by plan)
  ${aws.default_bucket}   sagemaker-REGION-ACCOUNT
  ${request.fingerprint}  the smflow:fingerprint tag (or ClientToken) of the
                          recorded request
  ${steps.ID.KEY}         the step's output in STATUS_JSON (smflow status --json)
Steps given with --skip are left out (their bodies are not built offline, as a
deploy of a model_package). Exit 1 on a difference, or when a planned request has no recorded counterpart.
"""
import base64
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from check_shapes import records  # noqa: E402
from sdk_compare import diff  # noqa: E402


# The field that names what a request creates, first match wins.
NAMES = ("TrainingJobName", "ProcessingJobName", "ModelPackageGroupName", "ModelName",
         "EndpointConfigName", "EndpointName")


def recorded(rec, op):
    out = {}
    for r in records(rec):
        h = {k.lower(): v for k, v in r.get("headers", {}).items()}
        if h.get("x-amz-target") != "SageMaker." + op:
            continue
        body = r.get("body") or ""
        if r.get("body_encoded"):
            body = base64.b64decode(body).decode()
        got = json.loads(body)
        tags = {t["Key"]: t["Value"] for t in got.get("Tags", [])}
        out[tags.get("smflow:step")] = (got, tags)
        for field in NAMES:
            if field in got:
                out[got[field]] = (got, tags)
                break
    return out


def substitute(value, subs, outputs):
    if isinstance(value, dict):
        return {k: substitute(v, subs, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, subs, outputs) for v in value]
    if not isinstance(value, str):
        return value
    for k, v in subs.items():
        value = value.replace(k, v)

    def step_out(m):
        return str(outputs[m.group(1)][m.group(2)])

    return re.sub(r"\$\{steps\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)\}", step_out, value)


def main():
    plan = json.load(open(sys.argv[1]))
    rec = sys.argv[2]
    status = json.load(open(sys.argv[3]))
    account, region = sys.argv[4], sys.argv[5]
    outputs = {s["id"]: s.get("outputs", {}) for s in status["steps"]}
    problems, compared = [], 0
    args = sys.argv[6:]
    skip = {args[i + 1] for i, a in enumerate(args) if a == "--skip"}
    ops = [a for i, a in enumerate(args) if a != "--skip" and (i == 0 or args[i - 1] != "--skip")]
    for op in ops:
        sent = recorded(rec, op)
        for step in plan["steps"]:
            if step["id"] in skip:
                continue
            for req in step["requests"]:
                if req["operation"] != op:
                    continue
                if "error" in req:
                    problems.append("%s %s: plan error %s" % (step["id"], op, req["error"]))
                    continue
                # by the smflow:step tag, else (no smflow tags) by job name
                subs = {"${run.id}": status["run"]["id"]}
                b = req["body"]
                name = next((b[f] for f in NAMES if f in b), "")
                name = substitute(name, subs, outputs)
                got, tags = sent.get(step["id"]) or sent.get(name) or (None, None)
                if got is None:
                    problems.append("%s %s: not sent by the run" % (step["id"], op))
                    continue
                subs = {
                    "${run.id}": status["run"]["id"],
                    "${aws.default_bucket}": "sagemaker-%s-%s" % (region, account),
                    "${aws.account_id}": account,
                    "${aws.region}": region,
                    "${request.fingerprint}": tags.get("smflow:fingerprint",
                                                       got.get("ClientToken", "")),
                }
                want = substitute(req["body"], subs, outputs)
                out = []
                diff(want, got, "%s.%s" % (step["id"], op), out)
                problems += out
                compared += 1
                print("%s %s: %s" % (step["id"], op, "same" if not out else "%d differences" % len(out)))
    if compared == 0:
        problems.append("nothing compared")
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

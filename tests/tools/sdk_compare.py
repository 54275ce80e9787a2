#!/usr/bin/env python3
"""Compare smflow's SageMaker request bodies with the ones the SDK sent.

Usage: sdk_compare.py RECORDING SDK_DIR

RECORDING is moto's request log of an smflow run; SDK_DIR holds the bodies the
SageMaker Python SDK sent for the same configurations (recorded, unedited, by
tests/tools/sdk_record.py): STEP.json is a CreateTrainingJob (matched through
smflow's smflow:step tag), STEP.OP.json a CreateModel / CreateEndpointConfig /
CreateEndpoint / CreateModelPackage (matched by ModelName, the variant's
ModelName, EndpointName, ModelPackageGroupName). Every SDK file must match one
request. Field order does not matter; presence, names, types and values do.

Normalisation (both sides unless said):
- the body's own TrainingJobName becomes {JOB} wherever it occurs (smflow
  derives names from the run; the recording used fixed ones);
- EndpointConfigName becomes {CONFIG} (smflow makes a new config per deploy;
  the SDK names it after the endpoint);
- CreateModelPackage's ClientToken value becomes {TOKEN} (the SDK's is random);
- in CreateModelPackage, the name the inference code is stored under in the
  default bucket (s3://sagemaker-REGION-ACCOUNT/NAME/...) becomes {MODEL}: the
  SDK's register names it after the image and the clock (name_from_image),
  smflow after the run, step and attempt;
- smflow's side only: the smflow:* tags, and the run_id / pipeline / step /
  attempt keys of CustomerMetadataProperties (its bookkeeping), are dropped,
  with the field itself when only those were there.
KNOWN lists the documented, deliberate differences (docs/aws-target.md):
printed, not failed. Exit 1 on any other difference.
"""
import base64
import glob
import json
import os
import re
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
    if "Tags" not in body:
        return body
    tags = [t for t in body["Tags"] if not t["Key"].startswith("smflow:")]
    if tags or not body["Tags"]:
        body["Tags"] = tags
    else:
        del body["Tags"]
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


OWN_METADATA = ("run_id", "pipeline", "step", "attempt")
MATCH = {
    "CreateModel": lambda b: b.get("ModelName"),
    "CreateEndpointConfig": lambda b: b["ProductionVariants"][0].get("ModelName"),
    "CreateEndpoint": lambda b: b.get("EndpointName"),
    "CreateModelPackage": lambda b: b.get("ModelPackageGroupName"),
}
KNOWN = {}
CODE_NAME = re.compile(r"^(s3://sagemaker-[a-z0-9-]+-[0-9]{12}/)[^/]+/")


def code_name(value):
    if isinstance(value, dict):
        return {k: code_name(v) for k, v in value.items()}
    if isinstance(value, list):
        return [code_name(v) for v in value]
    if isinstance(value, str):
        return CODE_NAME.sub(r"\1{MODEL}/", value)
    return value


def drop_own(body):
    drop_own_tags(body)
    meta = body.get("CustomerMetadataProperties")
    if isinstance(meta, dict):
        meta = {k: v for k, v in meta.items() if k not in OWN_METADATA}
        if meta:
            body["CustomerMetadataProperties"] = meta
        else:
            del body["CustomerMetadataProperties"]
    return body


def common(body):
    body = dict(body)
    if "EndpointConfigName" in body:
        body["EndpointConfigName"] = "{CONFIG}"
    if "ClientToken" in body:
        body["ClientToken"] = "{TOKEN}"
    return body


def key_of(op, name, body):
    if op == "CreateTrainingJob":
        return name
    return (op, MATCH[op](body))


def main():
    rec, exp_dir = sys.argv[1], sys.argv[2]
    expected = {os.path.basename(p)[:-5]: json.load(open(p))
                for p in glob.glob(os.path.join(exp_dir, "*.json"))}
    by_key = {}
    for name, body in expected.items():
        op = name.split(".")[1] if "." in name else "CreateTrainingJob"
        by_key[key_of(op, name, body)] = name
    seen, problems = set(), []
    for r in records(rec):
        headers = {k.lower(): v for k, v in r.get("headers", {}).items()}
        op = (headers.get("x-amz-target") or "").replace("SageMaker.", "")
        if op != "CreateTrainingJob" and op not in MATCH:
            continue
        body = r.get("body") or ""
        if r.get("body_encoded"):
            body = base64.b64decode(body).decode()
        got = json.loads(body)
        if op == "CreateTrainingJob":
            tags = {t["Key"]: t["Value"] for t in got.get("Tags", [])}
            name = by_key.get(tags.get("smflow:step"))
        else:
            name = by_key.get(key_of(op, None, got))
        if name is None:
            continue
        seen.add(name)
        want, got = common(expected[name]), common(drop_own(got))
        if op == "CreateTrainingJob":
            got = normalise(got, got["TrainingJobName"])
            want = normalise(want, want["TrainingJobName"])
        if op == "CreateModelPackage":
            got, want = code_name(got), code_name(want)
        out = []
        diff(want, got, name, out)
        known = [o for o in out if o.split(":")[0] in KNOWN.get(name, ())]
        out = [o for o in out if o not in known]
        for k in known:
            print("known difference (docs/aws-target.md): " + k)
        problems += out
        print("%s: %s%s" % (name, "same as the SDK" if not out else "%d differences" % len(out),
                            " but for %d known ones" % len(known) if known else ""))
    for name in sorted(set(expected) - seen):
        problems.append("%s: no matching request was recorded" % name)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

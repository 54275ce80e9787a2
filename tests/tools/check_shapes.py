#!/usr/bin/env python3
"""Validate recorded JSON requests against botocore's service models.

Usage: check_shapes.py RECORDING [--service sagemaker --service logs]

RECORDING is moto's request log (GET /moto-api/recorder/download-recording:
one JSON object per line; parallel requests may share a line). Every request
with an X-Amz-Target header of a JSON service is checked against the input
shape of its operation in botocore's data/SERVICE/*/service-2.json(.gz):
required members, unknown members, types, enums, patterns, min/max lengths and
ranges, list lengths, map keys. Prints one line per problem; exit 1 if any.
"""
import base64
import gzip
import json
import os
import re
import sys

import botocore

PREFIX = {"SageMaker": "sagemaker", "Logs_20140328": "logs"}


def load_model(service):
    base = os.path.join(os.path.dirname(botocore.__file__), "data", service)
    version = sorted(os.listdir(base))[-1]
    for name in ("service-2.json.gz", "service-2.json"):
        path = os.path.join(base, version, name)
        if os.path.exists(path):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rt") as f:
                return json.load(f)
    raise SystemExit("no service model for " + service)


def records(path):
    dec = json.JSONDecoder()
    with open(path) as f:
        for line in f:
            line = line.strip()
            while line:
                obj, end = dec.raw_decode(line)
                yield obj
                line = line[end:].strip()


def check(model, shape_name, value, where, problems):
    shape = model["shapes"][shape_name]
    t = shape["type"]
    if t == "structure":
        if not isinstance(value, dict):
            problems.append("%s: expected an object (%s)" % (where, shape_name))
            return
        for req in shape.get("required", []):
            if req not in value:
                problems.append("%s: missing required member %s" % (where, req))
        for k, v in value.items():
            if k not in shape["members"]:
                problems.append("%s: unknown member %s of %s" % (where, k, shape_name))
                continue
            check(model, shape["members"][k]["shape"], v, where + "." + k, problems)
    elif t == "list":
        if not isinstance(value, list):
            problems.append("%s: expected a list" % where)
            return
        if "min" in shape and len(value) < shape["min"]:
            problems.append("%s: fewer than %d items" % (where, shape["min"]))
        if "max" in shape and len(value) > shape["max"]:
            problems.append("%s: more than %d items" % (where, shape["max"]))
        for i, v in enumerate(value):
            check(model, shape["member"]["shape"], v, "%s[%d]" % (where, i), problems)
    elif t == "map":
        if not isinstance(value, dict):
            problems.append("%s: expected a map" % where)
            return
        if "max" in shape and len(value) > shape["max"]:
            problems.append("%s: more than %d entries" % (where, shape["max"]))
        for k, v in value.items():
            check(model, shape["key"]["shape"], k, "%s{%s}" % (where, k), problems)
            check(model, shape["value"]["shape"], v, "%s[%s]" % (where, k), problems)
    elif t == "string":
        if not isinstance(value, str):
            problems.append("%s: expected a string, got %r" % (where, value))
            return
        if "enum" in shape and value not in shape["enum"]:
            problems.append("%s: %r is not one of %s" % (where, value, shape["enum"]))
        if "min" in shape and len(value) < shape["min"]:
            problems.append("%s: shorter than %d" % (where, shape["min"]))
        if "max" in shape and len(value) > shape["max"]:
            problems.append("%s: longer than %d" % (where, shape["max"]))
        if "pattern" in shape:
            try:
                ok = re.search(shape["pattern"], value) is not None
            except re.error:
                ok = True  # a Java-only construct: not checked here
            if not ok:
                problems.append("%s: %r does not match %s" % (where, value, shape["pattern"]))
    elif t in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append("%s: expected an integer, got %r" % (where, value))
            return
        if "min" in shape and value < shape["min"]:
            problems.append("%s: %d below %d" % (where, value, shape["min"]))
        if "max" in shape and value > shape["max"]:
            problems.append("%s: %d above %d" % (where, value, shape["max"]))
    elif t in ("float", "double"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.append("%s: expected a number" % where)
    elif t == "boolean":
        if not isinstance(value, bool):
            problems.append("%s: expected a boolean, got %r" % (where, value))
    elif t == "timestamp":
        pass
    else:
        problems.append("%s: unchecked shape type %s" % (where, t))


def main():
    path = sys.argv[1]
    models = {}
    problems = []
    checked = {}
    for r in records(path):
        headers = {k.lower(): v for k, v in r.get("headers", {}).items()}
        target = headers.get("x-amz-target")
        if not target or "." not in target:
            continue
        prefix, op = target.split(".", 1)
        service = PREFIX.get(prefix)
        if service is None:
            continue
        model = models.setdefault(service, load_model(service))
        body = r.get("body") or ""
        if r.get("body_encoded"):
            body = base64.b64decode(body).decode()
        value = json.loads(body or "{}")
        if op not in model["operations"]:
            problems.append("%s: unknown operation" % target)
            continue
        input_shape = model["operations"][op]["input"]["shape"]
        check(model, input_shape, value, op, problems)
        checked[op] = checked.get(op, 0) + 1
    for p in problems:
        print(p)
    print("checked: " + ", ".join("%s x%d" % kv for kv in sorted(checked.items())))
    sys.exit(1 if problems or not checked else 0)


if __name__ == "__main__":
    main()

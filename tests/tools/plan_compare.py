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
  ${upload.id}, ${part.etag}  the UploadId and part ETags the recorded calls carry
S3 operations (HeadObject, CreateBucket, PutObject, CreateMultipartUpload,
UploadPart, CompleteMultipartUpload) are matched by bucket, key and part
number; what the planned body says of the request's headers, query and XML body
(ContentLength, ContentType, ChecksumSHA256 or ChecksumCRC32, ChecksumAlgorithm,
SSE, PartNumber, UploadId, CreateBucketConfiguration, MultipartUpload.Parts)
must equal what was sent (an aws-chunked body, as sent over https: its decoded
length, and the checksum of its trailer), and every S3 call of those operations the run sent to a planned key must
have been planned.
Steps given with --skip are left out (their bodies are not built offline, as a
deploy of a model_package). Exit 1 on a difference, or when a planned request has no recorded counterpart.
"""
import base64
import json
import os
import re
import sys
import urllib.parse
import xml.etree.ElementTree as ET

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


S3_OPS = ("HeadObject", "CreateBucket", "PutObject", "CreateMultipartUpload", "UploadPart",
          "CompleteMultipartUpload")
# botocore member -> the header that carries it, per operation
S3_HEADERS = {
    "PutObject": {"ContentLength": "content-length", "ContentType": "content-type",
                  "ChecksumSHA256": "x-amz-checksum-sha256",
                  "ChecksumCRC32": "x-amz-checksum-crc32",
                  "ChecksumAlgorithm": "x-amz-sdk-checksum-algorithm",
                  "ServerSideEncryption": "x-amz-server-side-encryption",
                  "SSEKMSKeyId": "x-amz-server-side-encryption-aws-kms-key-id"},
    "CreateMultipartUpload": {"ContentType": "content-type",
                              "ChecksumAlgorithm": "x-amz-checksum-algorithm",
                              "ServerSideEncryption": "x-amz-server-side-encryption",
                              "SSEKMSKeyId": "x-amz-server-side-encryption-aws-kms-key-id"},
    "UploadPart": {"ContentLength": "content-length", "ChecksumSHA256": "x-amz-checksum-sha256",
                   "ChecksumCRC32": "x-amz-checksum-crc32",
                   "ChecksumAlgorithm": "x-amz-sdk-checksum-algorithm"},
}
CHECKSUMS = ("ChecksumSHA256", "ChecksumCRC32")


def aws_chunked(h, raw):
    """The headers of an aws-chunked request as if it had been sent plain: the
    decoded length as content-length, the trailer's fields as headers. The
    framing is checked on the way: the chunks must add up to the decoded length."""
    if "aws-chunked" not in h.get("content-encoding", ""):
        return h
    h = dict(h)
    pos, payload = 0, 0
    while True:
        eol = raw.index(b"\r\n", pos)
        size = int(raw[pos:eol].split(b";")[0], 16)
        pos = eol + 2
        if size == 0:
            break
        payload += size
        pos += size
        assert raw[pos:pos + 2] == b"\r\n", "aws-chunked: no CRLF after a chunk"
        pos += 2
    for line in raw[pos:].split(b"\r\n"):
        if line:
            name, value = line.decode().split(":", 1)
            h[name.strip().lower()] = value.strip()
    assert payload == int(h["x-amz-decoded-content-length"]), "aws-chunked: length"
    h["content-length"] = h["x-amz-decoded-content-length"]
    return h


def xml_children(el):
    return {c.tag.split("}")[-1]: c for c in el}


def s3_call(r):
    """A recorded S3 request as (operation, botocore-shaped body), or None."""
    h = {k.lower(): v for k, v in r.get("headers", {}).items()}
    if "x-amz-target" in h:
        return None
    u = urllib.parse.urlsplit(r["url"])
    parts = u.path.lstrip("/").split("/", 1)
    if not parts[0] or parts[0].startswith("moto-api"):
        return None
    bucket = urllib.parse.unquote(parts[0])
    key = urllib.parse.unquote(parts[1]) if len(parts) > 1 and parts[1] else None
    q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
    body = r.get("body") or ""
    raw = base64.b64decode(body) if r.get("body_encoded") else body.encode()
    m = r["method"]
    if key is None:
        if m != "PUT" or q:
            return None
        op, got = "CreateBucket", {"Bucket": bucket}
        if raw.strip():
            root = ET.fromstring(raw)
            loc = xml_children(root).get("LocationConstraint")
            if loc is not None:
                got["CreateBucketConfiguration"] = {"LocationConstraint": loc.text}
        return op, got
    got = {"Bucket": bucket, "Key": key}
    if m == "HEAD":
        op = "HeadObject"
    elif m == "PUT" and "partNumber" in q:
        op = "UploadPart"
        got["PartNumber"] = int(q["partNumber"])
        got["UploadId"] = q.get("uploadId")
    elif m == "PUT" and "x-amz-copy-source" not in h:
        op = "PutObject"
    elif m == "POST" and "uploads" in q:
        op = "CreateMultipartUpload"
    elif m == "POST" and "uploadId" in q:
        op = "CompleteMultipartUpload"
        got["UploadId"] = q["uploadId"]
        parts = []
        for p in ET.fromstring(raw):
            c = xml_children(p)
            part = {"PartNumber": int(c["PartNumber"].text), "ETag": c["ETag"].text}
            for member in CHECKSUMS:
                if member in c:
                    part[member] = c[member].text
            parts.append(part)
        got["MultipartUpload"] = {"Parts": parts}
    else:
        return None
    h = aws_chunked(h, raw)
    for member, header in S3_HEADERS.get(op, {}).items():
        if header in h:
            got[member] = int(h[header]) if member == "ContentLength" else h[header]
    return op, got


def compare_s3(plan, rec, subs, outputs, ops, skip):
    """Planned S3 calls against the recorded ones; returns (problems, compared)."""
    sent = [c for c in (s3_call(r) for r in records(rec)) if c and c[0] in ops]
    used = [False] * len(sent)
    problems, compared, planned_keys = [], 0, set()
    for step in plan["steps"]:
        if step["id"] in skip:
            continue
        for req in step["requests"]:
            if req["operation"] not in ops or req["service"] != "s3":
                continue
            op = req["operation"]
            want = substitute(req["body"], subs, outputs)
            planned_keys.add((want["Bucket"], want.get("Key")))
            where = "%s.%s%s" % (step["id"], op,
                                 "[%d]" % want["PartNumber"] if "PartNumber" in want else "")
            match = None
            for i, (sop, got) in enumerate(sent):
                if (not used[i] and sop == op and got["Bucket"] == want["Bucket"]
                        and got.get("Key") == want.get("Key")
                        and got.get("PartNumber") == want.get("PartNumber")):
                    match = i
                    break
            if match is None:
                problems.append("%s: not sent by the run" % where)
                continue
            used[match] = True
            got = sent[match][1]
            ids = {"${upload.id}": got.get("UploadId", "")}
            want = substitute(want, ids, outputs)
            if op == "CompleteMultipartUpload":
                for w, g in zip(want["MultipartUpload"]["Parts"], got["MultipartUpload"]["Parts"]):
                    if w.get("ETag") == "${part.etag}":
                        w["ETag"] = g["ETag"]
                    # Each part's checksum is the one its UploadPart sent: the
                    # client repeats it whether or not the answer echoes it.
            out = []
            diff(want, got, where, out)
            problems += out
            compared += 1
            print("%s: %s" % (where, "same" if not out else "%d differences" % len(out)))
    for i, (op, got) in enumerate(sent):
        if not used[i] and (got["Bucket"], got.get("Key")) in planned_keys:
            problems.append("%s %s/%s: sent by the run, not planned" % (op, got["Bucket"],
                                                                       got.get("Key")))
    return problems, compared


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
    s3_ops = [op for op in ops if op in S3_OPS]
    if s3_ops:
        subs = {
            "${aws.default_bucket}": "sagemaker-%s-%s" % (region, account),
            "${aws.account_id}": account,
            "${aws.region}": region,
        }
        p, c = compare_s3(plan, rec, subs, outputs, s3_ops, skip)
        problems += p
        compared += c
    for op in [op for op in ops if op not in S3_OPS]:
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

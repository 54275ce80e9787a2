"""mitmproxy addon for the aws target's tests (tests/functional/aws_target.sh).

Run: mitmdump --mode reverse:http://127.0.0.1:MOTO --listen-port P \
        --set keep_host_header=true -s tests/tools/aws_target_faults.py
Faults are keyed by markers in the JSON body (the job names carry them):
  CreateTrainingJob "fault-drop"  the first call reaches moto, its answer is
                                  dropped (the connection is killed): an
                                  ambiguous outcome
  any SageMaker call "storm"      the first STORM_COUNT calls (default 8) are
                                  answered 400 ThrottlingException, never
                                  reaching moto
"""
import os

from mitmproxy import http

counts = {}
STORM = int(os.environ.get("STORM_COUNT", "8"))


def _hit(key):
    counts[key] = counts.get(key, 0) + 1
    return counts[key]


def request(flow):
    target = flow.request.headers.get("X-Amz-Target", "")
    body = flow.request.get_text(strict=False) or ""
    if target.startswith("SageMaker.") and "storm" in body and _hit("storm") <= STORM:
        flow.response = http.Response.make(
            400, b'{"__type":"ThrottlingException","message":"Rate exceeded"}',
            {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "FAULT-STORM"})


def response(flow):
    target = flow.request.headers.get("X-Amz-Target", "")
    body = flow.request.get_text(strict=False) or ""
    if target == "SageMaker.CreateTrainingJob" and "fault-drop" in body:
        if _hit("drop") <= 1:
            flow.kill()

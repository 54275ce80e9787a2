"""mitmproxy addon: inject AWS faults in front of moto for the client's tests.

Run: mitmdump --mode reverse:http://127.0.0.1:MOTO --listen-port P \
        --set keep_host_header=true -s tests/tools/faults.py
Faults are keyed by markers in the request (S3 key or JSON body), so that each
test case meets its fault a known number of times:
  S3 key "fault-slowdown"        first 2 PUTs answered 503 SlowDown
  S3 key "fault-always"          every request answered 503 SlowDown
  S3 key "fault-reset"           first request: connection closed, nothing answered
  DescribeTrainingJob "fault-throttle"  first call answered 400 ThrottlingException
  CreateTrainingJob "fault-drop"  first call reaches moto, its answer is dropped
  CreateModel "fault-drop-model"  every answer is dropped after moto acted
  any request whose X-Amz-Date is more than 5 minutes off: 403 RequestTimeTooSkewed
"""
import calendar
import email.utils
import time

from mitmproxy import http

counts = {}


def _hit(key):
    counts[key] = counts.get(key, 0) + 1
    return counts[key]


def _s3_error(status, code, message, head=False):
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code>"
            "<Message>%s</Message><RequestId>FAULT-%s</RequestId></Error>" % (code, message, code))
    # Like S3, no body on an answer to HEAD (a body there would corrupt the connection).
    return http.Response.make(status, b"" if head else body.encode(), {
        "Content-Type": "application/xml",
        "x-amz-request-id": "FAULT-" + code,
        "Date": email.utils.formatdate(usegmt=True),
    })


def _skewed(flow):
    d = flow.request.headers.get("X-Amz-Date")
    if not d:
        return False
    try:
        t = calendar.timegm(time.strptime(d, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        return False
    return abs(t - time.time()) > 300


def request(flow):
    req = flow.request
    path = req.path
    target = req.headers.get("X-Amz-Target", "")
    body = req.get_text(strict=False) or ""
    if _skewed(flow):
        flow.response = _s3_error(403, "RequestTimeTooSkewed",
                                  "The difference between the request time and the current time is too large.",
                                  head=req.method == "HEAD")
    elif "fault-slowdown" in path and req.method == "PUT":
        if _hit("slowdown") <= 2:
            flow.response = _s3_error(503, "SlowDown", "Please reduce your request rate.")
    elif "fault-always" in path:
        flow.response = _s3_error(503, "SlowDown", "Please reduce your request rate.")
    elif "fault-reset" in path and req.method == "HEAD":
        if _hit("reset") <= 1:
            flow.kill()
    elif target.endswith(".DescribeTrainingJob") and "fault-throttle" in body:
        if _hit("throttle") <= 1:
            flow.response = http.Response.make(
                400, b'{"__type":"ThrottlingException","message":"Rate exceeded"}',
                {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "FAULT-THROTTLE"})


def response(flow):
    target = flow.request.headers.get("X-Amz-Target", "")
    body = flow.request.get_text(strict=False) or ""
    if target.endswith(".CreateTrainingJob") and "fault-drop" in body:
        if _hit("drop") <= 1:
            flow.kill()
    elif target.endswith(".CreateModel") and "fault-drop-model" in body:
        flow.kill()

"""mitmproxy addon for bench_aws_fit.sh: one line per request that passes,
"<unix time> <X-Amz-Target or METHOD>", into the file $TIMING_LOG."""
import os
import time

_out = open(os.environ["TIMING_LOG"], "a", buffering=1)


def request(flow):
    target = flow.request.headers.get("X-Amz-Target") or flow.request.method
    _out.write("%.6f %s\n" % (time.time(), target))

#!/usr/bin/env python3
"""botocore's SigV4Auth on the same request as bench_sigv4.c.

Prints the signature at the fixed time 20150830T123600Z (to check that both
signers agree), then "sigs/s N" for SigV4Auth.add_auth in process CPU time.
Usage: bench_sigv4.py ITERATIONS (body in $BENCH_BODY)."""
import os
import sys
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
body = os.environ["BENCH_BODY"].encode()
creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
headers = {"Content-Type": "application/x-amz-json-1.1",
           "X-Amz-Target": "SageMaker.CreateTrainingJob"}
req = AWSRequest(method="POST", url="https://api.sagemaker.eu-west-1.amazonaws.com/",
                 data=body, headers=headers)
signer = SigV4Auth(creds, "sagemaker", "eu-west-1")

# The same signature as the C driver, at its fixed time.
fixed = AWSRequest(method="POST", url="https://api.sagemaker.eu-west-1.amazonaws.com/",
                   data=body, headers=dict(headers))
fixed.context["timestamp"] = "20150830T123600Z"
fixed.headers["X-Amz-Date"] = "20150830T123600Z"
canonical = signer.canonical_request(fixed)
print("signature", signer.signature(signer.string_to_sign(fixed, canonical), fixed))

t0 = time.process_time()
for _ in range(iterations):
    signer.add_auth(req)
dt = time.process_time() - t0
print("sigs/s %.0f" % (iterations / dt))

"""boto3's client cost for the same DescribeTrainingJob loop as bench_aws.

Usage: python3 bench/bench_aws.py N NAME   (endpoint and keys from the environment)
Prints "wall=... cpu=... per_call_us=..." for the calls only (client creation excluded).
"""
import resource
import sys
import time

import boto3


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    n, name = int(sys.argv[1]), sys.argv[2]
    sm = boto3.client("sagemaker")
    sm.describe_training_job(TrainingJobName=name)  # warm up: model loading, connection
    w0, c0 = time.time(), cpu()
    for _ in range(n):
        sm.describe_training_job(TrainingJobName=name)
    c = cpu() - c0
    print("wall=%.3f cpu=%.3f per_call_us=%.1f calls=%d" % (time.time() - w0, c, c / n * 1e6, n))


if __name__ == "__main__":
    main()

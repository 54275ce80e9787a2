#!/usr/bin/env python3
"""Stand in for the scripts of jobs on moto: moto completes jobs at once and
runs nothing, so this loop writes what the containers would have written:
  - for every processing job, the report {"accuracy": 0.91} as evaluation.json
    under its output S3 URI;
  - for every training job, two CloudWatch log lines in the stream
    JOB/algo-1-1700000000 of /aws/sagemaker/TrainingJobs, and a model.tar.gz
    (one file, model.txt) at OUTPUT_PATH/JOB/output/model.tar.gz.
Stopped by its caller (kill)."""
import io
import json
import os
import tarfile
import time

import boto3

ep = os.environ["AWS_ENDPOINT_URL"]
sm = boto3.client("sagemaker", endpoint_url=ep)
s3 = boto3.client("s3", endpoint_url=ep)
logs = boto3.client("logs", endpoint_url=ep)
GROUP = "/aws/sagemaker/TrainingJobs"
done = set()
try:
    logs.create_log_group(logGroupName=GROUP)
except logs.exceptions.ResourceAlreadyExistsException:
    pass
while True:
    for j in sm.list_processing_jobs()["ProcessingJobSummaries"]:
        n = j["ProcessingJobName"]
        if n in done:
            continue
        d = sm.describe_processing_job(ProcessingJobName=n)
        uri = d["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"].rstrip("/")
        b, k = (uri + "/evaluation.json")[5:].split("/", 1)
        s3.put_object(Bucket=b, Key=k, Body=json.dumps({"accuracy": 0.91}).encode())
        done.add(n)
    for j in sm.list_training_jobs()["TrainingJobSummaries"]:
        n = j["TrainingJobName"]
        if n in done:
            continue
        stream = n + "/algo-1-1700000000"
        logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
        now = int(time.time() * 1000)
        logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=[
            {"timestamp": now, "message": "epoch 1 loss=0.50"},
            {"timestamp": now + 1, "message": "epoch 2 loss=0.25"}])
        out = sm.describe_training_job(TrainingJobName=n)["OutputDataConfig"]["S3OutputPath"]
        b, k = (out.rstrip("/") + "/" + n + "/output/model.tar.gz")[5:].split("/", 1)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            data = b"weights\n"
            info = tarfile.TarInfo("model.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        s3.put_object(Bucket=b, Key=k, Body=buf.getvalue())
        done.add(n)
    time.sleep(0.2)

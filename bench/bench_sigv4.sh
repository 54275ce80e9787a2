#!/usr/bin/env bash
# SigV4 signatures per second: smflow's signer (warm: reused EVP contexts and
# key cache; cold: a new signer per request) against botocore's SigV4Auth on
# the same SageMaker CreateTrainingJob request, in the same run. Both figures
# are process CPU time. Usage: bench/bench_sigv4.sh [build-dir]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
cmake --build "$build" --target bench_sigv4 >/dev/null
export BENCH_BODY='{"TrainingJobName":"smflow-fit-3f9a1c","AlgorithmSpecification":{"TrainingImage":"763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-training:2.1-cpu-py310","TrainingInputMode":"File"},"RoleArn":"arn:aws:iam::123456789012:role/SageMakerRole","InputDataConfig":[{"ChannelName":"train","DataSource":{"S3DataSource":{"S3DataType":"S3Prefix","S3Uri":"s3://my-bucket/data/train/","S3DataDistributionType":"FullyReplicated"}}}],"OutputDataConfig":{"S3OutputPath":"s3://my-bucket/output/"},"ResourceConfig":{"InstanceType":"ml.m5.xlarge","InstanceCount":1,"VolumeSizeInGB":30},"StoppingCondition":{"MaxRuntimeInSeconds":3600},"HyperParameters":{"epochs":"10","lr":"0.001","sagemaker_program":"train.py","sagemaker_submit_directory":"s3://my-bucket/code/source.tar.gz"}}'
c_warm=$("$build/bench/bench_sigv4" 300000)
c_cold=$("$build/bench/bench_sigv4" 30000 cold)
py=$(python3 "$here/bench_sigv4.py" 20000)
sig_c=$(awk '/^signature/{print $2}' <<<"$c_warm")
sig_py=$(awk '/^signature/{print $2}' <<<"$py")
if [[ "$sig_c" != "$sig_py" ]]; then
  echo "signatures differ: smflow $sig_c, botocore $sig_py" >&2
  exit 1
fi
warm=$(awk '/^sigs/{print $2}' <<<"$c_warm")
cold=$(awk '/^sigs/{print $2}' <<<"$c_cold")
boto=$(awk '/^sigs/{print $2}' <<<"$py")
echo "same signature from both: $sig_c"
printf 'smflow (warm signer)      %10.0f sigs/s\n' "$warm"
printf 'smflow (new signer each) %10.0f sigs/s\n' "$cold"
printf 'botocore SigV4Auth       %10.0f sigs/s\n' "$boto"
awk -v a="$warm" -v b="$boto" -v c="$cold" \
  'BEGIN { printf "ratio smflow/botocore: %.1fx (warm), %.1fx (new signer each)\n", a / b, c / b }'

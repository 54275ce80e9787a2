#!/usr/bin/env bash
# acceptance_aws_cache.sh: a second identical run on the aws target (moto with
# signature checking, requests recorded): the upload is reused, and a fit with
# `cache: true` whose code is that upload's (content-addressed) archive is
# served from the cache — no CreateTrainingJob, `cached_from` names the first
# run, `plan` says "cached". Changed code is a new archive: the fit runs again.
# A fit reading an S3 object that no upload of the run made has no digest on
# the aws target: it is not cacheable and runs every time (docs/).
source "$(dirname "$0")/lib/aws.bash"
aws_test_init acceptance_aws_cache moto_server aws curl
: "${smflow:?}"
cd "$tmp"
aws_test_moto "$tmp/moto"
ep=$AWS_ENDPOINT_URL
export SMFLOW_AWS_POLL_MS=200 SMFLOW_AWS_POLL_MAX_MS=500
die() { echo "acceptance_aws_cache: $*" >&2; exit 1; }
rec_start() {
  curl -sf -X POST "$ep/moto-api/recorder/reset-recording" >/dev/null
  curl -sf -X POST "$ep/moto-api/recorder/start-recording" >/dev/null
}
# creates: CreateTrainingJob requests recorded since rec_start
creates() {
  curl -sf "$ep/moto-api/recorder/download-recording" | grep -o 'SageMaker.CreateTrainingJob' | wc -l
}
# puts: uploads of the code archive since rec_start
puts() {
  curl -sf "$ep/moto-api/recorder/download-recording" | python3 -c '
import json, sys
sys.path.insert(0, sys.argv[1])
from check_shapes import records
for r in records(sys.argv[2]):
    if r.get("method") == "PUT" and "/qa4-bucket/code/" in r.get("url", ""):
        print(r["url"])
' "$src/tests/tools" /dev/stdin | wc -l
}
aws --endpoint-url "$ep" s3 mb s3://qa4-bucket >/dev/null
mkdir -p w/code
echo 'print("train")' >w/code/train.py
cat >w/p.yaml <<'Y'
smflow: 1
name: qa4cache
target: aws
role: arn:aws:iam::123456789012:role/SageMakerRole
steps:
  code:
    upload: {source_dir: code, to: "s3://qa4-bucket/code/"}
  train:
    needs: [code]
    cache: true
    fit:
      entry_point: train.py
      source: "${steps.code.uri}"
      framework: sklearn
      framework_version: "1.2-1"
      instance_type: ml.m5.large
      hyperparameters: {depth: 3}
  other:
    cache: true
    fit:
      entry_point: train.py
      source: "s3://qa4-bucket/elsewhere/sourcedir.tar.gz"
      image_uri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/train:1"
      instance_type: ml.m5.large
Y
# status_of STEP FIELD: a field of the newest run's step
status_of() {
  "$smflow" status --state-dir w/.smflow --json |
    python3 -c 'import json, sys; print([s for s in json.load(sys.stdin)["steps"] if s["id"] == sys.argv[1]][0][sys.argv[2]])' "$1" "$2"
}

rec_start
"$smflow" run w/p.yaml >run1.out 2>&1 || die "first run: exit $?: $(cat run1.out)"
[ "$(creates)" = 2 ] || die "first run: $(creates) CreateTrainingJob, want 2"
first=$("$smflow" runs --state-dir w/.smflow --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["runs"][0]["id"])')

"$smflow" plan w/p.yaml --json >plan.json
python3 - plan.json <<'PY' || die "plan: $(cat plan.json)"
import json, sys
s = {x["id"]: x for x in json.load(open(sys.argv[1]))["steps"]}
assert s["train"]["action"] == "cached", s["train"]
assert s["other"]["action"] == "run", s["other"]
PY

echo "== the second run"
rec_start
"$smflow" run w/p.yaml >run2.out 2>&1 || die "second run: exit $?: $(cat run2.out)"
[ "$(creates)" = 1 ] || die "second run: $(creates) CreateTrainingJob, want 1 (other only)"
[ "$(puts)" = 0 ] || die "second run: the archive was uploaded again"
[ "$(status_of code outputs | grep -c "'reused': True")" = 1 ] || die "second run: upload not reused"
case "$(status_of train cached_from)" in "$first/train/1") ;;
  *) die "second run: train cached_from $(status_of train cached_from), want $first/train/1" ;; esac
[ "$(status_of other cached_from)" = None ] || die "second run: other was served from the cache"
grep -q "\[other\] not cacheable: no digest for s3://qa4-bucket/elsewhere/sourcedir.tar.gz" run2.out ||
  die "second run: no reason for other: $(cat run2.out)"

echo "== changed code"
echo 'print("train v2")' >w/code/train.py
rec_start
"$smflow" run w/p.yaml >run3.out 2>&1 || die "third run: exit $?: $(cat run3.out)"
[ "$(creates)" = 2 ] || die "changed code: $(creates) CreateTrainingJob, want 2"
[ "$(status_of train cached_from)" = None ] || die "changed code: train was served from the cache"
echo "acceptance_aws_cache: ok"

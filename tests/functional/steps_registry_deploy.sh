#!/usr/bin/env bash
# steps_registry_deploy.sh: register and deploy on the local target.
# - versions count up per group across runs; copy_to puts the artifact at
#   COPY_TO/GROUP/VERSION/model.tar.gz;
# - wait_for_approval: `smflow models approve` from another process while the
#   run waits lets it go on; reject fails it (ClientError); no decision in time
#   fails it with class Timeout;
# - deploy from a model package (its ARN) with a smoke test;
# - a failing smoke test on an existing endpoint restores what it served; on a
#   new endpoint it leaves nothing behind;
# - a user's `serve:` command instead of the bundled model server.
source "$(dirname "$0")/lib/steps.bash"
export SMFLOW_REGISTRY_POLL_MS=100
quickstart_copy qs
sm run qs/pipeline.yaml
expect_eq "quickstart" "$rc" 0
model=$(step_field train outputs.model_data)
report=$(step_field evaluate outputs.report_uri)
qs_model=$(q "SELECT model_data FROM endpoints WHERE name='quickstart'")

cat >qs/reg.yaml <<Y
smflow: 1
name: reg
params: {wait: 60s, approve_by: person}
steps:
  register:
    register:
      model_package_group: churn
      model_data: "$model"
      image_uri: local
      approval: PendingManualApproval
      description: "candidate"
      metrics: "$report"
      metadata: {approved_by: "\${params.approve_by}"}
      copy_to: "s3://smflow-test/registry/"
      wait_for_approval: "\${params.wait}"
  serve:
    needs: [register]
    deploy:
      endpoint: churn
      model_package: "\${steps.register.arn}"
      entry_point: inference.py
      source_dir: code
      instance_type: ml.m5.large
      smoke_test: {body: sample.csv, content_type: text/csv, expect_status: 200}
Y

# wait_for_approval: run <approve|reject> → waits for the pending version, decides it.
decide() {
  local v
  "$SMFLOW" --state-dir "$T/state" run qs/reg.yaml "${@:2}" >reg.out 2>reg.err &
  local smf=$!
  for _ in $(seq 1 200); do
    v=$(q "SELECT MAX(version) FROM model_packages WHERE grp='churn' AND approval='PendingManualApproval'" 2>/dev/null)
    [[ -n $v ]] && grep -q "waiting for approval" reg.err && break
    sleep 0.05
  done
  [[ $1 == none ]] || "$SMFLOW" --state-dir "$T/state" models "$1" churn "$v" >/dev/null ||
    fail "models $1 churn $v"
  wait $smf
  rc=$?
}

decide approve
expect_eq "approved run" "$rc" 0
expect_eq "register state" "$(step_field register state)" succeeded
expect_eq "version 1" "$(step_field register outputs.version)" 1
expect_eq "approval output" "$(step_field register outputs.approval)" Approved
expect_eq "copy uri" "$(step_field register outputs.uri)" "s3://smflow-test/registry/churn/1/model.tar.gz"
cmp -s "$T/state/store/smflow-test/registry/churn/1/model.tar.gz" \
  "$T/state/store/quickstart-bucket/${model#s3://quickstart-bucket/}" || fail "copy_to content"
expect_eq "deployed from the package" "$(step_field serve state)" succeeded
sm invoke churn --body qs/sample.csv --content-type text/csv
expect_eq "invoke churn" "$rc" 0
expect_eq "package model" "$(q "SELECT model_data FROM endpoints WHERE name='churn'")" "$model"
expect_eq "metadata" "$(q "SELECT json_extract(metadata_json, '$.approved_by') FROM model_packages WHERE grp='churn' AND version=1")" person

decide reject
expect_eq "rejected run" "$rc" 1
expect_eq "rejected state" "$(step_field register state)" failed
expect_eq "rejected class" "$(q "SELECT error_class FROM steps WHERE id='register' ORDER BY rowid DESC LIMIT 1")" ClientError
expect_eq "version 2" "$(q "SELECT approval FROM model_packages WHERE grp='churn' AND version=2")" Rejected

decide none --param wait=1s
expect_eq "timed-out run" "$rc" 1
expect_eq "timeout class" "$(q "SELECT error_class FROM steps WHERE id='register' ORDER BY rowid DESC LIMIT 1")" Timeout
expect_eq "versions" "$(q "SELECT COUNT(*) FROM model_packages WHERE grp='churn'")" 3
expect_eq "quickstart group untouched" "$(q "SELECT COUNT(*) FROM model_packages WHERE grp='quickstart-models'")" 1

# A failing smoke test on an existing endpoint: the previous model serves again.
cat >qs/bad.yaml <<Y
smflow: 1
name: bad
steps:
  redeploy:
    deploy:
      endpoint: quickstart
      model_data: "$model"
      entry_point: inference.py
      source_dir: code
      instance_type: ml.m5.large
      environment: {MARK: bad}
      smoke_test: {body: sample.csv, content_type: text/plain}
  fresh:
    deploy:
      endpoint: fresh
      model_data: "$model"
      entry_point: inference.py
      source_dir: code
      instance_type: ml.m5.large
      smoke_test: {body: sample.csv, content_type: text/plain}
Y
sm run qs/bad.yaml
expect_eq "bad smoke run" "$rc" 1
expect_eq "smoke class" "$(q "SELECT error_class FROM steps WHERE id='redeploy'")" ClientError
expect_contains "smoke message" "$(q "SELECT error_message FROM steps WHERE id='redeploy'")" "smoke test"
expect_contains "restored" "$(cat "$T/err")" "serves its previous model again"
sm invoke quickstart --body qs/sample.csv --content-type text/csv
expect_eq "quickstart still serves" "$rc" 0
expect_eq "quickstart's model" "$(q "SELECT model_data FROM endpoints WHERE name='quickstart'")" "$qs_model"
spec=$(q "SELECT spec_json FROM endpoints WHERE name='quickstart'")
[[ $spec != *MARK* ]] || fail "the failed deploy's spec is still recorded: $spec"
sm endpoints
[[ $(cat "$T/out") != *fresh* ]] || fail "the new endpoint with a failed smoke test was kept"
# A user's serve command ({port} and {model_dir} substituted).
cat >qs/serve.py <<'PY'
import http.server, os, sys
port, model_dir = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        self.send_response(200 if self.path == "/ping" else 404)
        self.end_headers()
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n)
        out = b"custom:" + str(len(body)).encode() + b":" + str(os.path.isdir(model_dir)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(out)
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
cat >qs/custom.yaml <<Y
smflow: 1
name: custom
steps:
  serve:
    deploy:
      endpoint: custom
      model_data: "$model"
      instance_type: ml.m5.large
      serve: [python3, serve.py, "{port}", "{model_dir}"]
      smoke_test: {body: sample.csv, content_type: text/csv}
Y
sm run qs/custom.yaml
expect_eq "custom serve run" "$rc" 0
[[ $rc == 0 ]] || tail -5 "$T/err"
printf 'abc' >three.txt
sm invoke custom --body three.txt --content-type text/plain
expect_eq "custom invoke" "$(cat "$T/out")" "custom:3:True"
sm endpoints delete custom
expect_eq "custom delete" "$rc" 0
finish

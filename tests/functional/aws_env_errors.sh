#!/usr/bin/env bash
# aws_env_errors.sh: a run on the aws target whose environment is incomplete
# (no credentials, no region, an unreadable or malformed config file, the
# account not reachable) exits 4 with the reason before any step starts and
# records no run; a selection of run steps only still runs.
source "$(dirname "$0")/lib/engine.bash"
cat >p.yaml <<'Y'
smflow: 1
name: envfail
target: aws
role: arn:aws:iam::123456789012:role/R
steps:
  a: {run: "echo a >> ledger"}
  f:
    needs: [a]
    fit:
      entry_point: train.py
      source: "s3://bucket-x/code/sourcedir.tar.gz"
      image_uri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/train:1"
      instance_type: ml.m5.large
Y
mkdir -p home cfgdir
printf '[default\nregion = eu-west-1\n' >bad.cfg
# env_run WHAT ENV...: `run p.yaml` with only the given environment.
env_run() {
  local what=$1
  shift
  rm -rf "$T/state" ledger
  env -i PATH="$PATH" HOME="$T/home" AWS_EC2_METADATA_DISABLED=true "$@" \
    "$SMFLOW" --state-dir "$T/state" run p.yaml >"$T/out" 2>"$T/err"
  rc=$?
  expect_eq "$what: exit" "$rc" 4
  [[ -f ledger ]] && fail "$what: a step started"
  expect_eq "$what: no run recorded" "$(q 'select count(*) from runs' 2>/dev/null || echo 0)" 0
}
env_run "no credentials" AWS_REGION=eu-west-1
expect_contains "no credentials: message" "$(cat err)" "no AWS credentials found"
expect_contains "no credentials: names the step" "$(cat err)" "step 'f' needs it"
env_run "no region" AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=secret
expect_contains "no region: message" "$(cat err)" "no AWS region"
env_run "config is a directory" AWS_CONFIG_FILE="$T/cfgdir" AWS_REGION=eu-west-1 \
  AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=secret
expect_contains "config is a directory: message" "$(cat err)" "cfgdir"
env_run "malformed config" AWS_CONFIG_FILE="$T/bad.cfg" AWS_ACCESS_KEY_ID=AKIDTEST \
  AWS_SECRET_ACCESS_KEY=secret
expect_contains "malformed config: message" "$(cat err)" "bad.cfg:1"
env_run "account unreachable" AWS_REGION=eu-west-1 AWS_ENDPOINT_URL=http://127.0.0.1:9 \
  AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=secret
expect_contains "account unreachable: message" "$(cat err)" "STS GetCallerIdentity: "
[[ "$(cat err)" == *": :"* ]] && fail "account unreachable: a doubled prefix: $(cat err)"

# STS says no: "Service Operation: HTTP status Code: message (request id X)", once.
cat >sts.py <<'PY'
import http.server, sys
BODY = (b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
        b'<Type>Sender</Type><Code>InvalidClientTokenId</Code>'
        b'<Message>The security token included in the request is invalid.</Message></Error>'
        b'<RequestId>4fd9a4c3-sts-req</RequestId></ErrorResponse>')
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(403)
        self.send_header("Content-Type", "text/xml")
        self.send_header("x-amzn-RequestId", "4fd9a4c3-sts-req")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
PY
python3 sts.py >sts.port &
sts_pid=$!
for _ in $(seq 1 50); do [[ -s sts.port ]] && break; sleep 0.1; done
env_run "credentials refused" AWS_REGION=eu-west-1 AWS_ENDPOINT_URL_STS="http://127.0.0.1:$(cat sts.port)" \
  AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=secret
kill "$sts_pid" 2>/dev/null
wait "$sts_pid" 2>/dev/null
expect_contains "credentials refused: message" "$(cat err)" \
  "STS GetCallerIdentity: HTTP 403 InvalidClientTokenId: The security token included in the request is invalid. (request id 4fd9a4c3-sts-req)"
expect_eq "credentials refused: the call named once" "$(grep -o GetCallerIdentity err | wc -l)" 1

# Only run steps selected: the target is not needed.
rm -rf "$T/state" ledger
env -i PATH="$PATH" HOME="$T/home" AWS_REGION=eu-west-1 AWS_EC2_METADATA_DISABLED=true \
  "$SMFLOW" --state-dir "$T/state" run p.yaml --only a >"$T/out" 2>"$T/err"
expect_eq "run step only: exit" "$?" 0
expect_eq "run step only: ran" "$(cat ledger)" a
finish

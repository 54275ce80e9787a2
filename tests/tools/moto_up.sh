#!/usr/bin/env bash
# moto_up.sh: start moto_server on a free loopback port with SigV4 checking on,
# create an IAM user with an Allow-* policy and an access key, and print
# `export` lines for the environment (endpoint, key, secret, region, pid).
#
# Usage: eval "$(tests/tools/moto_up.sh LOGDIR)"; ...; kill "$SMF_MOTO_PID"
# With SMF_MOTO_TLS=1 moto serves https with a certificate from a throwaway CA
# made in LOGDIR (tests/tools/tls_ca.sh); AWS_CA_BUNDLE is exported with it.
# The first three requests are allowed unsigned (INITIAL_NO_AUTH_ACTION_COUNT=3):
# exactly the three IAM calls below. Every later request is signature-checked.
set -euo pipefail
logdir=${1:-$(mktemp -d)}
mkdir -p "$logdir"
region=${SMF_TEST_REGION:-eu-west-1}
scheme=http
tls_args=()
if [ "${SMF_MOTO_TLS:-0}" = 1 ]; then
  "$(dirname "$0")/tls_ca.sh" "$logdir" moto
  scheme=https
  tls_args=(--ssl-cert "$logdir/moto-cert.pem" --ssl-key "$logdir/moto-key.pem")
  export AWS_CA_BUNDLE=$logdir/moto-ca.pem
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

for try in 1 2 3 4 5; do
  port=$(free_port)
  INITIAL_NO_AUTH_ACTION_COUNT=3 moto_server -H 127.0.0.1 -p "$port" "${tls_args[@]}" \
    >"$logdir/moto.log" 2>&1 &
  pid=$!
  up=0
  for _ in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    if python3 - "$port" <<'PY' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.2)
s.close()
PY
    then up=1; break; fi
    sleep 0.1
  done
  if [ "$up" = 1 ]; then break; fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if grep -q "in use" "$logdir/moto.log"; then continue; fi
  echo "moto_up: moto_server did not start (see $logdir/moto.log)" >&2
  exit 1
done

endpoint="$scheme://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=bootstrap AWS_SECRET_ACCESS_KEY=bootstrap AWS_DEFAULT_REGION=$region
unset AWS_SESSION_TOKEN AWS_PROFILE
aws="aws --endpoint-url $endpoint --region $region --output text"
$aws iam create-user --user-name smflow-test >/dev/null
$aws iam put-user-policy --user-name smflow-test --policy-name allow-all \
  --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}' \
  >/dev/null
read -r key secret < <($aws iam create-access-key --user-name smflow-test \
  --query 'AccessKey.[AccessKeyId,SecretAccessKey]')

# A role to assume (STS tests); moto checks that it exists when its session keys are used.
AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret $aws iam create-role --role-name smflow-test \
  --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}' \
  >/dev/null
AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret $aws iam put-role-policy --role-name smflow-test \
  --policy-name allow-all \
  --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}' \
  >/dev/null

cat <<EOT
export SMF_MOTO_PID=$pid
export SMF_MOTO_PORT=$port
export AWS_ENDPOINT_URL=$endpoint
export AWS_ACCESS_KEY_ID=$key
export AWS_SECRET_ACCESS_KEY='$secret'
export AWS_DEFAULT_REGION=$region
export AWS_REGION=$region
EOT
if [ "$scheme" = https ]; then
  echo "export AWS_CA_BUNDLE=$AWS_CA_BUNDLE"
fi

#!/usr/bin/env bash
# aws_client.sh: the asynchronous AWS client against moto with signature
# checking on (tests/tools/moto_up.sh), checked with the AWS CLI, then through
# mitmproxy injecting faults (tests/tools/faults.py).
source "$(dirname "$0")/lib/aws.bash"
aws_test_init aws_client moto_server aws mitmdump faketime
it=${SMF_BUILD_DIR:?}/tests/aws/aws_it

aws_test_moto "$tmp"

echo "== every operation"
"$it" basic
echo "== wrong secret"
"$it" badsecret
echo "== 200 requests in flight"
"$it" concurrent 200

echo "== 64 MiB multipart upload, read back with the AWS CLI"
head -c $((64 * 1024 * 1024 + 4321)) /dev/urandom >"$tmp/big.bin"
"$it" upload "$tmp/big.bin" smf-it "big/data file.bin"
aws --endpoint-url "$AWS_ENDPOINT_URL" s3 cp "s3://smf-it/big/data file.bin" "$tmp/back.bin" --quiet
cmp "$tmp/big.bin" "$tmp/back.bin"
"$it" download smf-it "big/data file.bin" "$tmp/back2.bin"
cmp "$tmp/big.bin" "$tmp/back2.bin"
# A small file goes up as one PutObject with its checksum.
head -c 1000 /dev/urandom >"$tmp/small.bin"
"$it" upload "$tmp/small.bin" smf-it small.bin
aws --endpoint-url "$AWS_ENDPOINT_URL" s3 cp s3://smf-it/small.bin "$tmp/small.back" --quiet
cmp "$tmp/small.bin" "$tmp/small.back"

echo "== faults through mitmproxy"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mitmdump --mode "reverse:http://127.0.0.1:$SMF_MOTO_PORT" --listen-port "$port" \
  --set keep_host_header=true -s "$src/tests/tools/faults.py" -q >"$tmp/mitm.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), timeout=0.2)" 2>/dev/null; then
    break
  fi
  sleep 0.1
done
"$it" faults "http://127.0.0.1:$port"
echo "== clock skew (the client runs 15 minutes behind)"
# faketime is an LD_PRELOAD library: let an ASan build of the driver run after it.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
  faketime -f "-15m" "$it" skew "http://127.0.0.1:$port"

echo "== web identity (unsigned, like the SDKs)"
# moto with signature checks refuses unsigned requests: allow exactly one.
curl -sf -X POST -H 'Content-Type: text/plain' -d 1 "$AWS_ENDPOINT_URL/moto-api/reset-auth" >/dev/null
"$it" webid
echo "aws_client: ok"

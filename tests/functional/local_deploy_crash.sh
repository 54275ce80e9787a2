# local_deploy_crash.sh: smflow is killed (SIGKILL) while a model server it
# started has not answered /ping yet. The server was noted (pid and start time)
# when it was spawned, so `endpoints delete` stops it although no endpoint was
# ever recorded, and a resumed run stops it before it deploys a new one.
source "$(dirname "$0")/lib/steps.bash"
mkdir -p qs "$T/state/store/crash-bucket/m"
echo '{"w": 1}' >model.json
tar czf "$T/state/store/crash-bucket/m/model.tar.gz" model.json

# The server sleeps (never answers /ping) until $T/ready exists; then it serves.
cat >qs/serve.py <<PY
import http.server, os, sys, time
port = int(sys.argv[1])
if not os.path.exists("$T/ready"):
    time.sleep(120)
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        self.send_response(200 if self.path == "/ping" else 404)
        self.end_headers()
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
cat >qs/slow.yaml <<Y
smflow: 1
name: slow
target: local
steps:
  serve:
    deploy:
      endpoint: slow
      model_data: "s3://crash-bucket/m/model.tar.gz"
      instance_type: ml.m5.large
      serve: [python3, "$T/qs/serve.py", "{port}", "{model_dir}"]
Y

# start_and_kill: run the pipeline, SIGKILL smflow once its server is noted; echo the server's pid.
start_and_kill() {
  local smf note="" i
  "$SMFLOW" --state-dir "$T/state" -q run qs/slow.yaml >"$T/bg.out" 2>&1 &
  smf=$!
  for ((i = 0; i < 200; i++)); do
    note=$(ls "$T"/state/endpoints/slow/*/server.json 2>/dev/null | head -1)
    [[ -n $note ]] && break
    sleep 0.05
  done
  kill -KILL "$smf" 2>/dev/null
  wait "$smf" 2>/dev/null
  [[ -n $note ]] || { fail "no server.json was written"; return; }
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$note"
}

pid=$(start_and_kill)
EXTRA_PIDS="$pid"
[[ -n $pid ]] && alive "$pid" || fail "the starting server should outlive smflow (pid '$pid')"
sm endpoints delete slow
expect_eq "delete of an endpoint that was starting" "$rc" 0
expect_contains "delete output" "$(cat "$T/out")" "endpoint slow deleted"
wait_gone "$pid" || fail "endpoints delete left the starting server $pid running"

sm endpoints delete slow
expect_eq "delete again: no such endpoint" "$rc" 1
expect_contains "delete again" "$(cat "$T/err")" "no endpoint named 'slow'"

pid=$(start_and_kill)
EXTRA_PIDS="$EXTRA_PIDS $pid"
[[ -n $pid ]] && alive "$pid" || fail "the second starting server should outlive smflow"
touch "$T/ready"
sm resume
expect_eq "resume" "$rc" 0
[[ $rc == 0 ]] || tail -5 "$T/err"
wait_gone "$pid" || fail "the resumed run left the starting server $pid running"
new=$(q "SELECT pid FROM endpoints WHERE name='slow'")
[[ -n $new && $new != "$pid" ]] && alive "$new" || fail "the resumed deploy serves (pid '$new')"
finish

# hooks.bash: helpers of the hooks_*.sh tests (sourced): engine.bash plus a
# local webhook stand-in.
source "$(dirname "${BASH_SOURCE[0]}")/engine.bash"
HOOKS_LIB=$(realpath "$(dirname "${BASH_SOURCE[0]}")")

# start_recorder: lib/recorder.py on a free loopback port; sets $PORT and
# $URL; requests land as JSON lines in $T/hooks.log.
start_recorder() {
  python3 "$HOOKS_LIB/recorder.py" "$T/port" "$T/hooks.log" &
  RECORDER_PID=$!
  trap 'kill $RECORDER_PID 2>/dev/null; rm -rf "$T"' EXIT
  for _ in $(seq 100); do
    [[ -s $T/port ]] && break
    sleep 0.05
  done
  PORT=$(cat "$T/port")
  URL="http://127.0.0.1:$PORT"
}

# posted N FIELD: a field (python expression on `b`, the decoded JSON body) of the Nth request.
posted() {
  python3 -c 'import json,sys
lines=open(sys.argv[1]).read().splitlines()
r=json.loads(lines[int(sys.argv[2])-1])
try: b=json.loads(r["body"])
except ValueError: b=None
print(eval(sys.argv[3]))' "$T/hooks.log" "$1" "$2"
}

# engine.bash: helpers for the engine's functional tests (sourced, not a test).
set -u
: "${SMFLOW:?path of the smflow binary}"
SMFLOW=$(realpath "$SMFLOW")
T=$(mktemp -d /tmp/smf-func-XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"
failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# expect_eq WHAT GOT WANT
expect_eq() {
  if [[ "$2" != "$3" ]]; then
    fail "$1: got '$2', want '$3'"
  fi
}

# expect_contains WHAT HAYSTACK NEEDLE
expect_contains() {
  if [[ "$2" != *"$3"* ]]; then
    fail "$1: '$3' not in: $2"
  fi
}

# sm ARGS...: run smflow with the test's state dir; stdout in $T/out, stderr in $T/err, exit in $rc.
sm() {
  "$SMFLOW" --state-dir "$T/state" "$@" >"$T/out" 2>"$T/err"
  rc=$?
}

# q SQL: query the state database.
q() {
  sqlite3 "$T/state/state.db" "$1"
}

# stored_archive STEP: the path of the code archive a step's local job stored.
stored_archive() {
  local job
  job=$(q "SELECT json_extract(intent_json, '$.job_name') FROM attempts WHERE step_id='$1'")
  echo "$T/state/store/sagemaker-us-east-1-000000000000/$job/source/sourcedir.tar.gz"
}
# mtime_ms FILE
mtime_ms() { python3 -c 'import os, sys; print(os.stat(sys.argv[1]).st_mtime_ns // 1000000)' "$1"; }
# started_ms STEP
started_ms() { q "SELECT started_at FROM steps WHERE id='$1'"; }

# step_field STEP FIELD: a field of a step of the newest run, from `status --json`.
step_field() {
  "$SMFLOW" --state-dir "$T/state" status --json |
    python3 -c 'import json,sys; d=json.load(sys.stdin); s=[x for x in d["steps"] if x["id"]==sys.argv[1]][0]; v=s
for k in sys.argv[2].split("."): v=v[k] if v is not None else None
print(v if not isinstance(v,(dict,list)) else json.dumps(v))' "$1" "$2"
}

# http_probe_pipeline: h.yaml, one `lua` step whose hook (hooks.lua) makes an
# HTTP request to a closed loopback port through the http module.
http_probe_pipeline() {
cat >hooks.lua <<'LUA'
function get()
  local r = smflow.http.request{url = "http://127.0.0.1:9/"}
  return {status = r.status}
end
LUA
cat >h.yaml <<'YAML'
smflow: 1
name: http
hooks: hooks.lua
steps:
  get: {lua: get}
YAML
}

# alive PID: the process exists and is not a zombie (PID 1 of a container may not reap).
alive() {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $st && $st != Z ]]
}

finish() {
  if [[ $failures -ne 0 ]]; then
    echo "--- last stderr:"
    cat "$T/err" 2>/dev/null | tail -30
    echo "$failures failure(s)"
    exit 1
  fi
  echo "ok"
  exit 0
}

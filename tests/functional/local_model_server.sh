# local_model_server.sh: share/smflow/model_server.py as the local target starts
# it (python3 -S): an inference script whose package is reachable only through
# a .pth file of a site directory still loads (the server falls back to the full
# site set-up), and bad arguments are refused with the usage.
source "$SMF_SOURCE_DIR/tests/functional/lib/engine.bash"
server="$SMF_SOURCE_DIR/share/smflow/model_server.py"

# A user site directory (PYTHONUSERBASE) whose .pth file adds $T/extra to sys.path.
site=$(PYTHONUSERBASE="$T/userbase" python3 -c 'import site; print(site.getusersitepackages())')
mkdir -p "$site" "$T/extra" "$T/model/code"
echo "$T/extra" >"$site/smf-extra.pth"
cat >"$T/extra/smf_extra_scale.py" <<'PY'
FACTOR = 3
PY
cat >"$T/model/code/inference.py" <<'PY'
import smf_extra_scale


def model_fn(model_dir):
    return smf_extra_scale.FACTOR


def predict_fn(data, model):
    return [v * model for v in data]
PY

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PYTHONUSERBASE="$T/userbase" python3 -S "$server" --port "$port" --model-dir "$T/model" \
  >"$T/server.log" 2>&1 &
pid=$!
code=000
for _ in $(seq 1 200); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ping" || true)
  [[ $code == 200 ]] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
expect_eq "ping with a package behind a .pth file" "$code" 200
body=$(curl -s -H 'Content-Type: application/json' -d '[1, 2]' "http://127.0.0.1:$port/invocations")
expect_eq "prediction through the package" "$body" "[3, 6]"
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
[[ $failures -eq 0 ]] || cat "$T/server.log"

# Arguments.
out=$(python3 -S "$server" --port 2>&1)
expect_eq "missing value exit" "$?" 1
expect_contains "missing value" "$out" "--port needs a value"
out=$(python3 -S "$server" --colour=blue 2>&1)
expect_contains "unknown argument" "$out" "unknown argument '--colour=blue'"
out=$(python3 -S "$server" --port=x 2>&1)
expect_contains "port not a number" "$out" "--port must be a number"

finish

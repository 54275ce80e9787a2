# qa2_model_server_handlers.sh: the model server calls the user's handlers as the
# SageMaker inference toolkit's Transformer does: a JSON or CSV body reaches
# input_fn as str (so str methods such as split work), any handler may take the
# request context as one more argument, pre_model_fn and model_warmup_fn run
# around model_fn, and transform_fn together with input_fn is refused.
source "$SMF_SOURCE_DIR/tests/functional/lib/engine.bash"
server="$SMF_SOURCE_DIR/share/smflow/model_server.py"
mkdir -p "$T/model/code" "$T/bad/code"
cat >"$T/model/code/inference.py" <<'PY'
import json

STEPS = []


def pre_model_fn(model_dir):
    STEPS.append("pre")


def model_fn(model_dir, context):
    STEPS.append("model")
    return {"dir": context.system_properties["model_dir"]}


def model_warmup_fn(model_dir, model):
    STEPS.append("warmup")


def input_fn(body, content_type):
    if content_type == "text/csv":
        return [float(x) for x in body.strip().split(",")]
    return json.loads(body)


def predict_fn(data, model, context):
    return {"sum": sum(data), "body_type": "str", "steps": STEPS,
            "same_dir": model["dir"] == context.system_properties["model_dir"]}
PY
cat >"$T/bad/code/inference.py" <<'PY'
def model_fn(model_dir):
    return 1


def input_fn(body, content_type):
    return body


def transform_fn(model, body, content_type, accept):
    return body
PY

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port=$(free_port)
python3 -S "$server" --port "$port" --model-dir "$T/model" >"$T/server.log" 2>&1 &
pid=$!
code=000
for _ in $(seq 1 200); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ping" || true)
  [[ $code == 200 ]] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
expect_eq "ping" "$code" 200
url="http://127.0.0.1:$port/invocations"
body=$(curl -s -H 'Content-Type: text/csv' --data-binary '1,2,3' "$url")
expect_eq "csv body as str, context handlers" "$body" \
  '{"sum": 6.0, "body_type": "str", "steps": ["pre", "model", "warmup"], "same_dir": true}'
body=$(curl -s -H 'Content-Type: application/json' --data-binary '[1, 2]' "$url")
expect_contains "json body as str" "$body" '"sum": 3,'
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
[[ $failures -eq 0 ]] || cat "$T/server.log"

port=$(free_port)
timeout 20 python3 -S "$server" --port "$port" --model-dir "$T/bad" >"$T/bad.log" 2>&1
expect_eq "transform_fn with input_fn: the server does not start" "$?" 1
expect_contains "transform_fn with input_fn: why" "$(cat "$T/bad.log")" \
  "Cannot use transform_fn implementation in conjunction with"

finish

#!/usr/bin/env python3
"""smflow's local model server: SageMaker's serving contract on a loopback port.

    python3 model_server.py --port PORT --model-dir DIR [--host 127.0.0.1]

GET /ping answers 200 once the model is loaded. POST /invocations runs the
inference toolkit's handler chain with the user's inference script:
model_fn(model_dir) once at start-up, then per request
input_fn(body, content_type) -> predict_fn(data, model) -> output_fn(prediction, accept),
or transform_fn(model, body, content_type, accept) when the script defines it.
As in the toolkit, a JSON or CSV body reaches input_fn/transform_fn as str (other
types as bytes), every handler may take one more argument, the request context,
and pre_model_fn(model_dir) / model_warmup_fn(model_dir, model) run around
model_fn when defined.
A missing handler falls back to a default as the toolkit's default handlers do:
JSON and CSV decoding and encoding, and prediction by model.predict(data) or
model(data). The script is SAGEMAKER_PROGRAM inside SAGEMAKER_SUBMIT_DIRECTORY
(as the SageMaker SDK sets them for a repacked model: DIR/code), else
DIR/code/inference.py when present. Errors answer 500 with the message;
unsupported content types 415, unsupported accept types 406.

Python 3 standard library only. Part of smflow.
"""
import csv
import importlib
import io
import json
import os
import signal
import sys
import threading
import traceback
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

JSON = "application/json"
CSV = "text/csv"


class HandlerError(Exception):
    """An error with the HTTP status it answers."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _media_type(value, default):
    value = (value or "").split(";")[0].strip().lower()
    if value in ("", "*/*"):
        return default
    return value


def _number(text):
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def default_input_fn(body, content_type):
    """JSON -> the decoded value; CSV -> a list of rows of numbers (or strings)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    if content_type == JSON:
        return json.loads(body)
    if content_type == CSV:
        rows = [[_number(cell.strip()) for cell in row]
                for row in csv.reader(io.StringIO(body)) if row]
        return rows
    raise HandlerError(415, "unsupported content type %s (the default input_fn reads %s and %s)"
                       % (content_type, JSON, CSV))


def default_predict_fn(data, model):
    if hasattr(model, "predict"):
        return model.predict(data)
    if callable(model):
        return model(data)
    raise HandlerError(500, "the model has no predict() and is not callable: "
                            "define predict_fn(data, model) in the inference script")


def _plain(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def default_output_fn(prediction, accept):
    prediction = _plain(prediction)
    if accept == JSON:
        return json.dumps(prediction), JSON
    if accept == CSV:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        rows = prediction if isinstance(prediction, (list, tuple)) else [prediction]
        for row in rows:
            writer.writerow(row if isinstance(row, (list, tuple)) else [row])
        return out.getvalue(), CSV
    raise HandlerError(406, "unsupported accept type %s (the default output_fn writes %s and %s)"
                       % (accept, JSON, CSV))


def default_model_fn(model_dir):
    raise HandlerError(500, "no model_fn(model_dir) in the inference script (%s)" % model_dir)


def add_site_packages():
    """Started with -S (smflow does, to start faster): put the site directories on
    sys.path without running their .pth files, so that the user's script still
    finds its third-party packages."""
    if not sys.flags.no_site:
        return
    import site
    for path in site.getsitepackages() + [site.getusersitepackages()]:
        if os.path.isdir(path) and path not in sys.path:
            sys.path.append(path)


def load_model(model_dir):
    """Model(model_dir); when a module is not found without the .pth files of the
    site directories (started with -S), run the full site set-up and try again."""
    try:
        return Model(model_dir)
    except ImportError:
        if not sys.flags.no_site:
            raise
    import site
    site.main()
    importlib.invalidate_caches()
    return Model(model_dir)


def load_user_module(model_dir):
    program = os.environ.get("SAGEMAKER_PROGRAM", "")
    code_dir = os.environ.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
    if not code_dir or not os.path.isdir(code_dir):
        code_dir = os.path.join(model_dir, "code")
    if not program and os.path.exists(os.path.join(code_dir, "inference.py")):
        program = "inference.py"
    if not program:
        return None
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)
    module_name = program[:-3] if program.endswith(".py") else program
    return importlib.import_module(module_name)


# The content types whose body the toolkit decodes (UTF-8) before input_fn.
UTF8_TYPES = (JSON, CSV)


class Context:
    """What a handler's optional last argument sees (the serving context)."""

    def __init__(self, model_dir):
        self.model_name = "model"
        self.system_properties = {"model_dir": model_dir, "gpu_id": None}


def _arity(func, default):
    """len(inspect.signature(func).parameters), without importing inspect (slow
    to import) for plain functions and methods."""
    code = getattr(func, "__code__", None)
    if code is not None and not code.co_flags & 0x0C:  # no *args / **kwargs
        bound = 1 if getattr(func, "__self__", None) is not None else 0
        return code.co_argcount + code.co_kwonlyargcount - bound
    import inspect
    try:
        return len(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return default


def call_handler(func, context, *args):
    """The toolkit's _run_handler_function: the handler takes the arguments,
    or the arguments and the context."""
    count = _arity(func, len(args))
    if count == len(args) + 1:
        return func(*args, context)
    if count != len(args):
        raise TypeError("%s takes %d arguments but %d were given"
                        % (getattr(func, "__name__", func), count, len(args)))
    return func(*args)


class Model:
    """The user's handlers bound with the defaults, and the loaded model."""

    def __init__(self, model_dir):
        self.module = load_user_module(model_dir)
        self.context = Context(model_dir)
        get = lambda name, dflt: getattr(self.module, name, dflt) if self.module else dflt
        self.transform_fn = get("transform_fn", None)
        if self.transform_fn and any(get(n, None) for n in ("input_fn", "predict_fn", "output_fn")):
            raise ValueError("Cannot use transform_fn implementation in conjunction with "
                             "input_fn, predict_fn, and/or output_fn implementation")
        self.input_fn = get("input_fn", default_input_fn)
        self.predict_fn = get("predict_fn", default_predict_fn)
        self.output_fn = get("output_fn", default_output_fn)
        pre_model_fn, warmup_fn = get("pre_model_fn", None), get("model_warmup_fn", None)
        if pre_model_fn is not None:
            call_handler(pre_model_fn, self.context, model_dir)
        self.model = call_handler(get("model_fn", default_model_fn), self.context, model_dir)
        if warmup_fn is not None:
            call_handler(warmup_fn, self.context, model_dir, self.model)
        self.default_accept = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", JSON)

    def invoke(self, body, content_type, accept):
        content_type = _media_type(content_type, JSON)
        accept = _media_type(accept, self.default_accept)
        if content_type in UTF8_TYPES and isinstance(body, (bytes, bytearray)):
            body = bytes(body).decode("utf-8")
        ctx = self.context
        if self.transform_fn is not None:
            result = call_handler(self.transform_fn, ctx, self.model, body, content_type, accept)
        else:
            data = call_handler(self.input_fn, ctx, body, content_type)
            prediction = call_handler(self.predict_fn, ctx, data, self.model)
            result = call_handler(self.output_fn, ctx, prediction, accept)
        if isinstance(result, tuple) and len(result) == 2:
            payload, out_type = result
        else:
            payload, out_type = result, accept
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        elif not isinstance(payload, (bytes, bytearray)):
            payload = json.dumps(_plain(payload)).encode("utf-8")
        return bytes(payload), out_type


class Handler(BaseHTTPRequestHandler):
    server_version = "smflow-model-server/1"
    protocol_version = "HTTP/1.1"
    model = None

    def _reply(self, status, body, content_type="text/plain; charset=utf-8"):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/ping":
            self._reply(200 if Handler.model is not None else 503, "")
        elif self.path == "/execution-parameters":
            self._reply(200, json.dumps({"MaxConcurrentTransforms": 1,
                                         "BatchStrategy": "MULTI_RECORD",
                                         "MaxPayloadInMB": 6}), JSON)
        else:
            self._reply(404, "not found: %s\n" % self.path)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path != "/invocations":
            self._reply(404, "not found: %s\n" % self.path)
            return
        try:
            payload, out_type = Handler.model.invoke(
                body, self.headers.get("Content-Type"), self.headers.get("Accept"))
            self._reply(200, payload, out_type)
        except HandlerError as e:
            self._reply(e.status, "%s\n" % e)
        except Exception as e:  # the user's handler failed: 500 with the message
            traceback.print_exc()
            self._reply(500, "%s: %s\n" % (type(e).__name__, e))

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


USAGE = "usage: model_server.py [--port PORT] [--host HOST] [--model-dir DIR]"


def parse_args(argv):
    """--port, --host, --model-dir (also as --opt=value). Not argparse: its
    import is a noticeable part of the server's start-up."""
    opts = {"port": os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"), "host": "127.0.0.1",
            "model_dir": os.environ.get("SM_MODEL_DIR", "/opt/ml/model")}
    i = 0
    while i < len(argv):
        name, eq, value = argv[i].partition("=")
        key = name[2:].replace("-", "_") if name.startswith("--") else ""
        if key not in opts:
            sys.exit(USAGE if name in ("-h", "--help") else "%s\nunknown argument %r" % (USAGE, argv[i]))
        if not eq:
            i += 1
            if i == len(argv):
                sys.exit("%s\n%s needs a value" % (USAGE, name))
            value = argv[i]
        opts[key] = value
        i += 1
    try:
        opts["port"] = int(opts["port"])
    except ValueError:
        sys.exit("%s\n--port must be a number" % USAGE)
    return types.SimpleNamespace(**opts)


def main():
    args = parse_args(sys.argv[1:])
    add_site_packages()
    Handler.model = load_model(args.model_dir)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM,
                  lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    print("serving %s on http://%s:%d" % (args.model_dir, args.host, args.port), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

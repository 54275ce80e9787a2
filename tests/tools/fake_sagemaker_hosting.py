#!/usr/bin/env python3
"""A stand-in for SageMaker's hosting API where moto has none (UpdateEndpoint).

Usage: fake_sagemaker_hosting.py LOGFILE
Binds 127.0.0.1 on a free port, prints it on stdout, serves until killed.
JSON 1.1 (X-Amz-Target SageMaker.*): CreateModel, CreateEndpointConfig,
DescribeEndpointConfig, CreateEndpoint, UpdateEndpoint, DescribeEndpoint,
DeleteEndpoint, DeleteEndpointConfig, DeleteModel. The endpoint "existing" is in service with the config
"existing-old" (model "existing-old-model") from the start. A model whose image
contains "broken" makes its configs fail: an endpoint updated to one goes
Updating, then Failed with a FailureReason (so that the caller must restore the
previous config). SageMaker Runtime's InvokeEndpoint (POST
/endpoints/NAME/invocations) answers 200 "ok", or 424 ModelError when the
endpoint's model image contains "modelerror", after 20 s when it contains
"slow". Every request is appended to
LOGFILE as moto's recorder writes it (headers, body), for
tests/tools/check_shapes.py.
Signatures are not checked here (moto checks them in the other tests).
"""
import http.server
import json
import socketserver
import sys
import threading
import time

LOG = open(sys.argv[1], "a", buffering=1)
lock = threading.Lock()
models = {}
configs = {"existing-old": {"broken": False, "models": ["existing-old-model"]}}
endpoints = {"existing": {"config": "existing-old", "status": "InService", "polls": 0,
                          "reason": None}}


def arn(kind, name):
    return "arn:aws:sagemaker:eu-west-1:123456789012:%s/%s" % (kind, name)


def handle(op, b):
    if op == "CreateModel":
        if b["ModelName"] in models:
            return 400, {"__type": "ValidationException", "message": "Cannot create already existing model"}
        image = b["PrimaryContainer"].get("Image", "")
        models[b["ModelName"]] = {"broken": "broken" in image, "modelerror": "modelerror" in image,
                                  "slow": "slow" in image}
        return 200, {"ModelArn": arn("model", b["ModelName"])}
    if op == "CreateEndpointConfig":
        broken = any(models.get(v["ModelName"], {}).get("broken") for v in b["ProductionVariants"])
        configs[b["EndpointConfigName"]] = {
            "broken": broken, "models": [v["ModelName"] for v in b["ProductionVariants"]]}
        return 200, {"EndpointConfigArn": arn("endpoint-config", b["EndpointConfigName"])}
    if op == "DescribeEndpointConfig":
        c = configs.get(b["EndpointConfigName"])
        if c is None:
            return 400, {"__type": "ValidationException", "message": "Could not find endpoint configuration"}
        return 200, {"EndpointConfigName": b["EndpointConfigName"],
                     "EndpointConfigArn": arn("endpoint-config", b["EndpointConfigName"]),
                     "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": m}
                                            for m in c["models"]],
                     "CreationTime": 0}
    if op in ("CreateEndpoint", "UpdateEndpoint"):
        name, cfg = b["EndpointName"], b["EndpointConfigName"]
        if cfg not in configs:
            return 400, {"__type": "ValidationException", "message": "Could not find endpoint configuration"}
        if op == "CreateEndpoint" and name in endpoints:
            return 400, {"__type": "ValidationException", "message": "Cannot create already existing endpoint"}
        if op == "UpdateEndpoint" and name not in endpoints:
            return 400, {"__type": "ValidationException", "message": "Could not find endpoint"}
        endpoints[name] = {"config": cfg, "status": "Creating" if op == "CreateEndpoint" else "Updating",
                           "polls": 0, "reason": None}
        return 200, {"EndpointArn": arn("endpoint", name)}
    if op == "DescribeEndpoint":
        e = endpoints.get(b["EndpointName"])
        if e is None:
            return 400, {"__type": "ValidationException", "message": "Could not find endpoint \"%s\"." % b["EndpointName"]}
        if e["status"] in ("Creating", "Updating"):
            e["polls"] += 1
            if e["polls"] >= 2:
                if configs[e["config"]]["broken"]:
                    e["status"], e["reason"] = "Failed", "The primary container for production variant AllTraffic did not pass the ping health check."
                else:
                    e["status"] = "InService"
        out = {"EndpointName": b["EndpointName"], "EndpointArn": arn("endpoint", b["EndpointName"]),
               "EndpointConfigName": e["config"], "EndpointStatus": e["status"],
               "CreationTime": 0, "LastModifiedTime": 0}
        if e["reason"]:
            out["FailureReason"] = e["reason"]
        return 200, out
    if op == "DeleteEndpoint":
        endpoints.pop(b["EndpointName"], None)
        return 200, {}
    if op == "DeleteEndpointConfig":
        configs.pop(b["EndpointConfigName"], None)
        return 200, {}
    if op == "DeleteModel":
        models.pop(b["ModelName"], None)
        return 200, {}
    return 400, {"__type": "UnknownOperationException", "message": op}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def invoke(self, name):
        e = endpoints.get(name)
        cfg = configs.get(e["config"], {}) if e else {}
        if e is None:
            status, out, ctype = 400, json.dumps({"__type": "ValidationError", "message": "Endpoint %s not found." % name}), "application/json"
        elif any(models.get(m, {}).get("modelerror") for m in cfg.get("models", [])):
            status, out, ctype = 424, json.dumps({"__type": "ModelError", "message": "Received server error (500) from model"}), "application/json"
        else:
            status, out, ctype = 200, "ok", "text/plain"
        data = out.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("x-amzn-RequestId", "fake-invoke-%d" % status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode(errors="replace")
        target = self.headers.get("X-Amz-Target", "")
        if self.path.startswith("/endpoints/") and self.path.endswith("/invocations"):
            with lock:
                e = endpoints.get(self.path.split("/")[2])
                ms = configs.get(e["config"], {}).get("models", []) if e else []
                slow = any(models.get(m, {}).get("slow") for m in ms)
            if slow:
                time.sleep(20)
            with lock:
                LOG.write(json.dumps({"headers": dict(self.headers), "method": "POST",
                                      "url": self.path, "body": body, "body_encoded": False}) + "\n")
                self.invoke(self.path.split("/")[2])
            return
        with lock:
            LOG.write(json.dumps({"headers": dict(self.headers), "method": "POST", "url": self.path,
                                  "body": body, "body_encoded": False}) + "\n")
            status, out = handle(target.split(".", 1)[-1], json.loads(body or "{}"))
        data = json.dumps(out).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-RequestId", "fake-%d" % len(data))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


srv = Server(("127.0.0.1", 0), Handler)
print(srv.server_address[1], flush=True)
srv.serve_forever()

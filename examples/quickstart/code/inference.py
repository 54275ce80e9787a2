"""Inference handlers for the quickstart model, in the SageMaker inference
toolkit's shape: model_fn, input_fn, predict_fn, output_fn.

Requests: text/csv (one example of four features per line) or
application/json ({"instances": [[f1, f2, f3, f4], ...]} or a list of rows).
Responses: application/json {"predictions": [{"label": 0|1, "probability": p}]}
or text/csv (label,probability per line).
"""
import csv
import io
import json
import math
import os


def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.json")) as f:
        return json.load(f)


def input_fn(body, content_type):
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    if content_type == "text/csv":
        return [[float(v) for v in row] for row in csv.reader(io.StringIO(body)) if row]
    if content_type == "application/json":
        data = json.loads(body)
        return data["instances"] if isinstance(data, dict) else data
    raise ValueError("unsupported content type: %s" % content_type)


def predict_fn(data, model):
    out = []
    for row in data:
        if len(row) != len(model["weights"]):
            raise ValueError("expected %d features, got %d" % (len(model["weights"]), len(row)))
        z = sum(w * x for w, x in zip(model["weights"], row)) + model["bias"]
        p = 1.0 / (1.0 + math.exp(-max(min(z, 30), -30)))
        out.append({"label": 1 if p >= 0.5 else 0, "probability": round(p, 6)})
    return out


def output_fn(prediction, accept):
    if accept == "text/csv":
        return "".join("%d,%s\n" % (p["label"], p["probability"]) for p in prediction), accept
    return json.dumps({"predictions": prediction}), "application/json"

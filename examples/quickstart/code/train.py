"""Logistic regression in pure Python, written as a SageMaker script-mode
training script: hyperparameters arrive as command-line arguments, data and
model locations through the SM_* environment variables.
"""
import argparse
import csv
import glob
import json
import math
import os


def load(channel_dir):
    xs, ys = [], []
    for path in sorted(glob.glob(os.path.join(channel_dir, "**", "*.csv"), recursive=True)):
        with open(path) as f:
            for row in csv.reader(f):
                if row:
                    ys.append(float(row[0]))
                    xs.append([float(v) for v in row[1:]])
    return xs, ys


def sigmoid(z):
    if z < -30:
        return 0.0
    if z > 30:
        return 1.0
    return 1.0 / (1.0 + math.exp(-z))


def train(xs, ys, epochs, lr):
    n_features = len(xs[0])
    w = [0.0] * n_features
    b = 0.0
    n = len(xs)
    for epoch in range(1, epochs + 1):
        gw = [0.0] * n_features
        gb = 0.0
        loss = 0.0
        for x, y in zip(xs, ys):
            p = sigmoid(sum(wi * xi for wi, xi in zip(w, x)) + b)
            err = p - y
            for i in range(n_features):
                gw[i] += err * x[i]
            gb += err
            p = min(max(p, 1e-12), 1 - 1e-12)
            loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
        w = [wi - lr * g / n for wi, g in zip(w, gw)]
        b -= lr * gb / n
        if epoch % 20 == 0 or epoch == epochs:
            print("epoch=%d loss=%.6f" % (epoch, loss / n), flush=True)
    return w, b


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    args = parser.parse_args()
    xs, ys = load(args.train)
    if not xs:
        raise SystemExit("no training data in %s" % args.train)
    print("training on %d rows with %d features" % (len(xs), len(xs[0])), flush=True)
    w, b = train(xs, ys, args.epochs, args.learning_rate)
    with open(os.path.join(args.model_dir, "model.json"), "w") as f:
        json.dump({"weights": w, "bias": b}, f)


if __name__ == "__main__":
    main()

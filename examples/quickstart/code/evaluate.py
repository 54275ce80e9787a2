"""Evaluates the quickstart model: reads MODEL_DIR/model.json and the test CSV
files, writes OUTPUT_DIR/evaluation.json = {"accuracy": ...}.

    evaluate.py --model-dir DIR --output-dir DIR --test DIR
"""
import argparse
import csv
import glob
import json
import math
import os


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--test", required=True)
    args = parser.parse_args()
    with open(os.path.join(args.model_dir, "model.json")) as f:
        model = json.load(f)
    correct = total = 0
    for path in sorted(glob.glob(os.path.join(args.test, "**", "*.csv"), recursive=True)):
        with open(path) as f:
            for row in csv.reader(f):
                if not row:
                    continue
                label = float(row[0])
                z = sum(w * float(v) for w, v in zip(model["weights"], row[1:])) + model["bias"]
                pred = 1.0 if 1.0 / (1.0 + math.exp(-max(min(z, 30), -30))) >= 0.5 else 0.0
                correct += pred == label
                total += 1
    accuracy = correct / total if total else 0.0
    print("accuracy=%.4f on %d rows" % (accuracy, total))
    with open(os.path.join(args.output_dir, "evaluation.json"), "w") as f:
        json.dump({"accuracy": accuracy, "rows": total}, f)


if __name__ == "__main__":
    main()

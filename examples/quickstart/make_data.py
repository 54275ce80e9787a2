"""Deterministic synthetic binary-classification data for the quickstart.

    python3 make_data.py --out data [--rows 1200] [--seed 7]

Writes OUT/train/train.csv and OUT/test/test.csv (80/20 split), one example per
line: label first (0 or 1), then four features, no header (the layout of
SageMaker's built-in CSV algorithms). Standard library only.
"""
import argparse
import math
import os
import random

WEIGHTS = [1.5, -2.0, 0.75, 0.5]
BIAS = -0.25


def make_rows(n, seed):
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        x = [round(rng.gauss(0.0, 1.0), 4) for _ in WEIGHTS]
        z = sum(w * v for w, v in zip(WEIGHTS, x)) + BIAS + rng.gauss(0.0, 0.5)
        p = 1.0 / (1.0 + math.exp(-z))
        rows.append([1 if p >= 0.5 else 0] + x)
    return rows


def write(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        for row in rows:
            f.write(",".join(str(v) for v in row) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="data")
    parser.add_argument("--rows", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rows = make_rows(args.rows, args.seed)
    cut = int(len(rows) * 0.8)
    write(os.path.join(args.out, "train", "train.csv"), rows[:cut])
    write(os.path.join(args.out, "test", "test.csv"), rows[cut:])
    print("wrote %d training and %d test rows to %s" % (cut, len(rows) - cut, args.out))


if __name__ == "__main__":
    main()

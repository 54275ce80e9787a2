"""Sleeps --seconds (a hyperparameter), then writes a model and prints a metric.
Prints its pid so that tests can check the process that runs it."""
import argparse
import os
import time

p = argparse.ArgumentParser()
p.add_argument("--seconds", type=float, default=1.0)
args = p.parse_args()
print("started pid=%d" % os.getpid(), flush=True)
time.sleep(args.seconds)
with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w") as f:
    f.write('{"slept": %s}\n' % args.seconds)
print("loss=0.125", flush=True)

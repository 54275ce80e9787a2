"""An evaluation script that reports what it was given: its arguments, the
extracted model files and the input files, plus a nested metric."""
import json
import os
import sys

args = sys.argv[1:]
model_dir = args[args.index("--model-dir") + 1]
output_dir = args[args.index("--output-dir") + 1]
test_dir = args[args.index("--test") + 1]
report = {
    "argv": args,
    "cwd": os.getcwd(),
    "model_files": sorted(os.listdir(model_dir)),
    "test_files": sorted(os.listdir(test_dir)),
    "score": 0.5,
    "nested": {"auc": {"value": 0.75}},
}
with open(os.path.join(output_dir, "report.json"), "w") as f:
    json.dump(report, f)
with open(os.path.join(output_dir, "extra.txt"), "w") as f:
    f.write("also stored\n")

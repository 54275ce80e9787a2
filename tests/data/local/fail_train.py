"""A training script that fails the SageMaker way: reason in output/failure, exit 3."""
import os
import sys

print("about to fail")
with open(os.path.join(os.environ["SM_OUTPUT_DIR"], "failure"), "w") as f:
    f.write("bad input: no rows in the train channel\n")
sys.exit(3)

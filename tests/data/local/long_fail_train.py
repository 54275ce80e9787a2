"""A training script whose output/failure is longer than SageMaker's 1024-character FailureReason."""
import os
import sys

with open(os.path.join(os.environ["SM_OUTPUT_DIR"], "failure"), "w") as f:
    f.write("x" * 1007 + "\u00e9" * 200 + "\n")
sys.exit(3)

# qa2_entry_point_paths.sh: an entry point given as a path (scripts/train.py) with
# no source_dir, as the SageMaker SDK handles it: only that file is packed, at the
# archive's root, and sagemaker_program / SAGEMAKER_PROGRAM is its basename.
# - fit: the job runs train.py from code/, SM_USER_ENTRY_POINT=train.py;
# - deploy: the script is placed in the model's code/ and served.
source "$(dirname "$0")/lib/steps.bash"

mkdir -p scripts/more serve data
printf '1\n' >data/x.csv
cat >scripts/train.py <<'PY'
import json, os
hp = json.load(open(os.path.join(os.environ["SM_INPUT_CONFIG_DIR"], "hyperparameters.json")))
print("program=%s entry=%s module=%s files=%s" % (
    json.loads(hp["sagemaker_program"]), os.environ["SM_USER_ENTRY_POINT"],
    os.environ["SM_MODULE_NAME"], ",".join(sorted(os.listdir(".")))))
json.dump({"w": 3}, open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w"))
PY
echo "unused" >scripts/more/other.txt
cat >serve/predictor.py <<'PY'
import json, os


def model_fn(model_dir):
    return json.load(open(os.path.join(model_dir, "model.json")))["w"]


def predict_fn(data, model):
    return {"out": [x * model for x in data], "program": os.environ["SAGEMAKER_PROGRAM"]}
PY
cat >p.yaml <<'Y'
smflow: 1
name: entry-paths
steps:
  train:
    fit:
      entry_point: scripts/train.py
      inputs: data
      instance_type: ml.m5.large
  deploy:
    needs: [train]
    deploy:
      endpoint: entry-paths
      model_data: "${steps.train.model_data}"
      entry_point: serve/predictor.py
      instance_type: ml.m5.large
      initial_instance_count: 1
Y
sm run p.yaml
expect_eq "run exit" "$rc" 0
expect_contains "fit: program, entry point, module, code" "$(cat "$T/out" "$T/err")" \
  "program=train.py entry=train.py module=train files=train.py"
echo '[1, 2]' >req.json
sm invoke entry-paths --body req.json
expect_eq "invoke exit" "$rc" 0
expect_eq "deploy: the lone script is served" "$(cat "$T/out")" \
  '{"out": [3, 6], "program": "predictor.py"}'
finish

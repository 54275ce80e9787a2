# qa2fix_tf_model_dir.sh: a TensorFlow fit on the local target gets the model_dir
# hyperparameter the SDK adds and the aws request builder sends: the spec's
# model_dir, else /opt/ml/model with mpi, else OUTPUT_PATH/JOB_NAME/model. It is
# a user hyperparameter for the toolkit (SM_HPS, --model_dir); other frameworks
# get none.
source "$(dirname "$0")/lib/steps.bash"

mkdir -p code data
printf '1\n' >data/x.csv
cat >code/check.py <<'PY'
import json, os, sys
want = os.environ["WANT_MODEL_DIR"].replace("{job}", os.environ["SM_TRAINING_ENV"] and json.loads(os.environ["SM_TRAINING_ENV"])["job_name"])
hp = json.load(open(os.path.join(os.environ["SM_INPUT_CONFIG_DIR"], "hyperparameters.json")))
hps = json.loads(os.environ["SM_HPS"])
problems = []
if want == "none":
    if "model_dir" in hp or "model_dir" in hps:
        problems.append("unexpected model_dir %r" % hp.get("model_dir"))
else:
    if hp.get("model_dir") != json.dumps(want):
        problems.append("hyperparameters.json model_dir %r, want %r" % (hp.get("model_dir"), json.dumps(want)))
    if hps.get("model_dir") != want:
        problems.append("SM_HPS model_dir %r" % hps.get("model_dir"))
    if "--model_dir" not in sys.argv or sys.argv[sys.argv.index("--model_dir") + 1] != want:
        problems.append("argv %r" % sys.argv[1:])
if problems:
    open(os.path.join(os.environ["SM_OUTPUT_DIR"], "failure"), "w").write("; ".join(problems))
    sys.exit(1)
PY
cat >p.yaml <<'Y'
smflow: 1
name: tf-model-dir
x-fit: &fit
  entry_point: check.py
  source_dir: code
  inputs: data
  instance_type: ml.m5.large
  framework: tensorflow
  framework_version: "2.14.1"
  py_version: py310
  output_path: "s3://smflow-test/models/"
steps:
  default:
    fit:
      <<: *fit
      environment: {WANT_MODEL_DIR: "s3://smflow-test/models/{job}/model"}
  given:
    fit:
      <<: *fit
      model_dir: /opt/ml/custom
      environment: {WANT_MODEL_DIR: /opt/ml/custom}
  mpi:
    fit:
      <<: *fit
      distribution: {mpi: {enabled: true}}
      environment: {WANT_MODEL_DIR: /opt/ml/model}
  sklearn:
    fit:
      <<: *fit
      framework: sklearn
      framework_version: "1.2-1"
      py_version: py3
      environment: {WANT_MODEL_DIR: none}
Y
sm run p.yaml
expect_eq "run exit" "$rc" 0
for s in default given mpi sklearn; do
  expect_eq "$s" "$(step_field $s state)" succeeded
  [[ $(step_field $s state) == succeeded ]] || step_field $s error.message
done
finish

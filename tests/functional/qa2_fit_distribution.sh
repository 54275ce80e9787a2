# qa2_fit_distribution.sh: a fit's `distribution` becomes the hyperparameters the
# SageMaker SDK adds (JSON-encoded in hyperparameters.json, as the toolkit reads
# them: SM_FRAMEWORK_PARAMS, not in SM_HPS nor in the arguments), and the
# toolkit's distribution properties follow (SM_DISTRIBUTION_INSTANCE_GROUPS,
# distribution_hosts) - torch_distributed included, as in the current toolkit.
source "$(dirname "$0")/lib/steps.bash"

mkdir -p code data
printf '1\n' >data/x.csv
cat >code/check.py <<'PY'
import json, os, sys
want_hp = json.loads(os.environ["WANT_HP"])
hp = json.load(open(os.path.join(os.environ["SM_INPUT_CONFIG_DIR"], "hyperparameters.json")))
problems = []
for k, v in want_hp.items():
    if hp.get(k) != json.dumps(v):
        problems.append("hyperparameters.json %s: %r, want %r" % (k, hp.get(k), json.dumps(v)))
fw = json.loads(os.environ["SM_FRAMEWORK_PARAMS"])
if fw != want_hp:
    problems.append("SM_FRAMEWORK_PARAMS %r, want %r" % (fw, want_hp))
if json.loads(os.environ["SM_HPS"]) != {"lr": 0.1}:
    problems.append("SM_HPS %s" % os.environ["SM_HPS"])
if sys.argv[1:] != ["--lr", "0.1"]:
    problems.append("argv %r" % sys.argv[1:])
groups = json.loads(os.environ["SM_DISTRIBUTION_INSTANCE_GROUPS"])
if groups != ["homogeneousCluster"]:
    problems.append("SM_DISTRIBUTION_INSTANCE_GROUPS %r" % groups)
te = json.loads(os.environ["SM_TRAINING_ENV"])
if te["distribution_hosts"] != ["algo-1", "algo-2"]:
    problems.append("distribution_hosts %r" % te["distribution_hosts"])
if problems:
    open(os.path.join(os.environ["SM_OUTPUT_DIR"], "failure"), "w").write("; ".join(problems))
    sys.exit(1)
PY
cat >p.yaml <<'Y'
smflow: 1
name: fit-distribution
x-fit: &fit
  entry_point: check.py
  source_dir: code
  inputs: data
  instance_count: 2
  framework: pytorch
  framework_version: "2.1"
  py_version: py310
  hyperparameters: {lr: 0.1}
steps:
  torchrun:
    fit:
      <<: *fit
      instance_type: ml.p4d.24xlarge
      distribution: {torch_distributed: {enabled: true}}
      environment:
        WANT_HP: '{"sagemaker_torch_distributed_enabled": true, "sagemaker_instance_type": "ml.p4d.24xlarge"}'
  mpi:
    fit:
      <<: *fit
      instance_type: ml.m5.large
      distribution: {mpi: {enabled: true, processes_per_host: 2, custom_mpi_options: "-x NCCL_DEBUG=INFO"}}
      environment:
        WANT_HP: '{"sagemaker_mpi_enabled": true, "sagemaker_mpi_num_of_processes_per_host": 2, "sagemaker_mpi_custom_mpi_options": "-x NCCL_DEBUG=INFO"}'
  smddp:
    fit:
      <<: *fit
      instance_type: ml.p4d.24xlarge
      distribution: {smdistributed: {dataparallel: {enabled: true}}}
      environment:
        WANT_HP: '{"sagemaker_distributed_dataparallel_enabled": true, "sagemaker_instance_type": "ml.p4d.24xlarge", "sagemaker_distributed_dataparallel_custom_mpi_options": ""}'
  ps:
    fit:
      <<: *fit
      instance_type: ml.m5.large
      distribution: {parameter_server: {enabled: true}}
      environment:
        WANT_HP: '{"sagemaker_parameter_server_enabled": true}'
Y
sm run p.yaml
expect_eq "run exit" "$rc" 0
for s in torchrun mpi smddp ps; do
  expect_eq "state of $s" "$(step_field "$s" state)" succeeded
  [[ $(step_field "$s" state) == succeeded ]] || echo "$s: $(step_field "$s" error.message)"
done
# framework + framework_version + py_version: the output image_uri is the image
# the SDK's image_uris.retrieve gives (resolved offline on every target).
expect_eq "image_uri (gpu)" "$(step_field torchrun outputs.image_uri)" \
  "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1-gpu-py310"
expect_eq "image_uri (cpu)" "$(step_field mpi outputs.image_uri)" \
  "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1-cpu-py310"
finish

"""Checks the SageMaker training toolkit's contract from inside a local job.

Every expectation is computed here independently (Python's own json.dumps and
str(), the toolkit's documented rules) and compared with what smflow provided:
the /opt/ml layout, the config files, every SM_* variable and the arguments.
Any mismatch is written to output/failure and the script exits 1.
Used by tests/unit/test_local_training.c; part of smflow's test suite.
"""
import json
import os
import sys

JOB = "contract-job-1"
SUBMIT = "s3://smflow-test/code/sourcedir.tar.gz"
HPS = {"epochs": 10, "learning-rate": 0.1, "eps": 1e-05, "flag": True,
       "optimizer": "adam", "layers": [1, 2], "opts": {"a": 1}, "k": 3}
HOSTS = ["algo-1", "algo-2"]
GROUP = "homogeneousCluster"

base = os.path.dirname(os.getcwd())
problems = []


def check(name, got, want):
    if got != want:
        problems.append("%s: got %r, want %r" % (name, got, want))


def compact(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def env(name):
    return os.environ.get(name, "<unset %s>" % name)


def read_json(rel):
    with open(os.path.join(base, rel)) as f:
        return json.load(f)


# Layout and config files, as the platform writes them.
check("cwd", os.getcwd(), os.path.join(base, "code"))
for d in ["input/config", "input/data/train", "input/data/test", "model", "output/data", "code"]:
    check("dir " + d, os.path.isdir(os.path.join(base, d)), True)
hp_file = read_json("input/config/hyperparameters.json")
want_hp_file = {k: json.dumps(v) for k, v in HPS.items()}
want_hp_file.update({
    "sagemaker_submit_directory": json.dumps(SUBMIT),
    "sagemaker_program": json.dumps("contract_train.py"),
    "sagemaker_container_log_level": "20",
    "sagemaker_job_name": json.dumps(JOB),
    "sagemaker_region": json.dumps("us-east-1"),
})
check("hyperparameters.json", hp_file, want_hp_file)
check("1e-05 encoding", hp_file.get("eps"), "1e-05")
check("string encoding", hp_file.get("optimizer"), '"adam"')
rc = read_json("input/config/resourceconfig.json")
host = rc.get("current_host")
check("current_host in hosts", host in HOSTS, True)
check("resourceconfig", rc, {
    "current_host": host, "current_instance_type": "ml.m5.large", "current_group_name": GROUP,
    "hosts": HOSTS, "network_interface_name": "eth0",
    "instance_groups": [{"instance_group_name": GROUP, "instance_type": "ml.m5.large",
                         "hosts": HOSTS}]})
idc = read_json("input/config/inputdataconfig.json")
check("inputdataconfig", idc, {
    "train": {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated",
              "RecordWrapperType": "None"},
    "test": {"ContentType": "text/csv", "TrainingInputMode": "File",
             "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}})

# Channels: every object under the prefix at its key's remainder.
def read(path):
    with open(path) as f:
        return f.read()

check("SM_CHANNEL_TRAIN", env("SM_CHANNEL_TRAIN"), os.path.join(base, "input/data/train"))
check("SM_CHANNEL_TEST", env("SM_CHANNEL_TEST"), os.path.join(base, "input/data/test"))
try:
    check("train/a.csv", read(os.path.join(env("SM_CHANNEL_TRAIN"), "a.csv")), "1,2\n")
    check("train/nested/b.csv", read(os.path.join(env("SM_CHANNEL_TRAIN"), "nested/b.csv")), "3,4\n")
    check("test/st/c.csv", read(os.path.join(env("SM_CHANNEL_TEST"), "st/c.csv")), "5,6\n")
except OSError as e:
    problems.append("channel files: %s" % e)

# The toolkit's environment (Environment.to_env_vars).
user_hps = HPS
check("SM_HPS", env("SM_HPS"), compact(user_hps))
for k, v in user_hps.items():
    check("SM_HP_" + k.upper(), env("SM_HP_" + k.upper()), v if isinstance(v, str) else compact(v))
check("SM_HP_EPOCHS", env("SM_HP_EPOCHS"), "10")
check("SM_HP_LEARNING-RATE", env("SM_HP_LEARNING-RATE"), "0.1")
check("SM_CHANNELS", env("SM_CHANNELS"), '["test","train"]')
check("SM_HOSTS", env("SM_HOSTS"), compact(HOSTS))
check("SM_CURRENT_HOST", env("SM_CURRENT_HOST"), host)
check("SM_NUM_GPUS", env("SM_NUM_GPUS"), "0")
check("SM_NUM_CPUS", env("SM_NUM_CPUS"), str(os.cpu_count()))
check("SM_MODEL_DIR", env("SM_MODEL_DIR"), os.path.join(base, "model"))
check("SM_OUTPUT_DATA_DIR", env("SM_OUTPUT_DATA_DIR"), os.path.join(base, "output/data"))
check("SM_OUTPUT_DIR", env("SM_OUTPUT_DIR"), os.path.join(base, "output"))
check("SM_OUTPUT_INTERMEDIATE_DIR", env("SM_OUTPUT_INTERMEDIATE_DIR"),
      os.path.join(base, "output/intermediate"))
check("SM_INPUT_DIR", env("SM_INPUT_DIR"), os.path.join(base, "input"))
check("SM_INPUT_CONFIG_DIR", env("SM_INPUT_CONFIG_DIR"), os.path.join(base, "input/config"))
check("SM_RESOURCE_CONFIG", env("SM_RESOURCE_CONFIG"), compact(rc))
check("SM_INPUT_DATA_CONFIG", env("SM_INPUT_DATA_CONFIG"), compact(idc))
check("SM_MODULE_NAME", env("SM_MODULE_NAME"), "contract_train")
check("SM_USER_ENTRY_POINT", env("SM_USER_ENTRY_POINT"), "contract_train.py")
check("SM_MODULE_DIR", env("SM_MODULE_DIR"), SUBMIT)
check("SM_FRAMEWORK_PARAMS", env("SM_FRAMEWORK_PARAMS"), "{}")
check("SM_FRAMEWORK_MODULE", env("SM_FRAMEWORK_MODULE"), "")
check("SM_LOG_LEVEL", env("SM_LOG_LEVEL"), "20")
check("SM_NETWORK_INTERFACE_NAME", env("SM_NETWORK_INTERFACE_NAME"), "eth0")
check("SM_CURRENT_INSTANCE_TYPE", env("SM_CURRENT_INSTANCE_TYPE"), "ml.m5.large")
check("SM_CURRENT_INSTANCE_GROUP", env("SM_CURRENT_INSTANCE_GROUP"), GROUP)
check("SM_CURRENT_INSTANCE_GROUP_HOSTS", env("SM_CURRENT_INSTANCE_GROUP_HOSTS"), compact(HOSTS))
check("SM_INSTANCE_GROUPS", env("SM_INSTANCE_GROUPS"), compact([GROUP]))
check("SM_INSTANCE_GROUPS_DICT", env("SM_INSTANCE_GROUPS_DICT"), compact(
    {GROUP: {"instance_group_name": GROUP, "instance_type": "ml.m5.large", "hosts": HOSTS}}))
check("SM_DISTRIBUTION_INSTANCE_GROUPS", env("SM_DISTRIBUTION_INSTANCE_GROUPS"), "[]")
check("SM_IS_HETERO", env("SM_IS_HETERO"), "false")
check("TRAINING_JOB_NAME", env("TRAINING_JOB_NAME"), JOB)
check("TRAINING_JOB_ARN", env("TRAINING_JOB_ARN"),
      "arn:aws:sagemaker:us-east-1:000000000000:training-job/" + JOB)
check("SAGEMAKER_JOB_NAME", env("SAGEMAKER_JOB_NAME"), JOB)
check("CURRENT_HOST", env("CURRENT_HOST"), host)
check("SAGEMAKER_REGION", env("SAGEMAKER_REGION"), "us-east-1")
check("user environment", env("MY_SETTING"), "hello world")
check("PYTHONPATH", env("PYTHONPATH").split(":")[0], os.path.join(base, "code"))

# Arguments: mapping.to_cmd_args (sorted names, -k for one letter, str() values).
def arg_value(v):
    if hasattr(v, "items"):
        return ",".join("%s=%s" % (k, x) for k, x in sorted(v.items()))
    return str(v)

want_args = []
for k in sorted(user_hps):
    want_args += ["--" + k if len(k) > 1 else "-" + k, arg_value(user_hps[k])]
check("argv", sys.argv[1:], want_args)
check("argv spelling", sys.argv[1:5], ["--epochs", "10", "--eps", "1e-05"])
check("SM_USER_ARGS", env("SM_USER_ARGS"), compact(want_args))

# SM_TRAINING_ENV: every property of the toolkit's Environment.
te_text = env("SM_TRAINING_ENV")
try:
    te = json.loads(te_text)
except ValueError:
    te = {}
    problems.append("SM_TRAINING_ENV is not JSON: %r" % te_text)
check("SM_TRAINING_ENV canonical", te_text, compact(te))
props = ["additional_framework_parameters", "channel_input_dirs", "current_host",
         "current_instance_group", "current_instance_group_hosts", "current_instance_type",
         "distribution_hosts", "distribution_instance_groups", "framework_module", "hosts",
         "hyperparameters", "input_config_dir", "input_data_config", "input_dir",
         "instance_groups", "instance_groups_dict", "is_hetero", "is_master",
         "is_modelparallel_enabled", "is_smddpmprun_installed", "is_smddprun_installed",
         "job_name", "log_level", "master_hostname", "model_dir",
         "module_dir", "module_name", "network_interface_name", "num_cpus", "num_gpus",
         "num_neurons", "output_data_dir", "output_dir", "output_intermediate_dir",
         "resource_config", "topology", "user_entry_point"]
check("SM_TRAINING_ENV keys", sorted(te), props)
check("te.hyperparameters", te.get("hyperparameters"), user_hps)
check("te.channel_input_dirs", te.get("channel_input_dirs"),
      {"train": os.path.join(base, "input/data/train"), "test": os.path.join(base, "input/data/test")})
check("te.job_name", te.get("job_name"), JOB)
check("te.is_master", te.get("is_master"), host == "algo-1")
check("te.master_hostname", te.get("master_hostname"), "algo-1")
check("te.log_level", te.get("log_level"), 20)
check("te.num_cpus", te.get("num_cpus"), os.cpu_count())
check("te.module_dir", te.get("module_dir"), SUBMIT)
check("te.resource_config", te.get("resource_config"), rc)
check("te.distribution_hosts", te.get("distribution_hosts"), [])
check("te.num_neurons", te.get("num_neurons"), 0)
check("SM_NUM_NEURONS", env("SM_NUM_NEURONS"), "0")
check("te.is_smddprun_installed", te.get("is_smddprun_installed"), False)
check("te.is_smddpmprun_installed", te.get("is_smddpmprun_installed"), False)
check("te.topology", te.get("topology"), [])
check("no SM_TOPOLOGY without a topology", "SM_TOPOLOGY" in os.environ, False)

if problems:
    with open(os.path.join(base, "output/failure"), "w") as f:
        f.write("contract violated on %s:\n%s\n" % (host, "\n".join(problems)))
    sys.exit(1)

with open(os.path.join(env("SM_MODEL_DIR"), "model.json"), "w") as f:
    json.dump({"host": host, "epochs": HPS["epochs"]}, f)
with open(os.path.join(env("SM_OUTPUT_DATA_DIR"), "note.txt"), "w") as f:
    f.write("written by %s\n" % host)
print("loss=0.5")
print("progress on %s" % host, file=sys.stderr)
print("loss=0.25", flush=True)

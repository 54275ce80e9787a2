#!/usr/bin/env python3
"""Record the SageMaker requests the SageMaker Python SDK v2 sends.

Usage: sdk_record.py OUT_DIR

Needs `import sagemaker` to work (PYTHONPATH pointing at an SDK v2 checkout's
src/ and its dependencies; see tests/data/aws/sdk-recorded/PROVENANCE.md) and
moto_server on PATH. Starts moto on a free loopback port, drives the SDK for
the estimator configurations of tests/data/aws/sdk/pipeline.yaml and the
model/endpoint configurations of tests/data/aws/sdk-recorded/, and writes the
exact JSON body of every CreateTrainingJob / CreateModel /
CreateEndpointConfig / CreateEndpoint / CreateModelPackage to
OUT_DIR/NAME.json (captured by a botocore before-call hook, so it is what went
on the wire). Nothing is edited in the bodies.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

REGION = "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
B = "s3://smflow-test-bucket"
SRC = B + "/code/sourcedir.tar.gz"
KMS = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
RECORDED = ("CreateTrainingJob", "CreateModel", "CreateEndpointConfig",
            "CreateEndpoint", "CreateModelPackage")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_moto(workdir):
    port = free_port()
    log = open(os.path.join(workdir, "moto.log"), "w")
    proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=log, cwd=workdir)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, "http://127.0.0.1:%d" % port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("moto_server did not start")


class Recorder:
    def __init__(self):
        self.current = None
        self.bodies = {}

    def hook(self, model, params, **_):
        op = model.name
        if op in RECORDED and self.current:
            name = self.current if op in ("CreateTrainingJob",) else \
                "%s.%s" % (self.current, op)
            self.bodies[name] = json.loads(params["body"])


def trainings(sm):
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.pytorch import PyTorch
    from sagemaker.sklearn import SKLearn
    from sagemaker.tensorflow import TensorFlow

    common = dict(role=ROLE, sagemaker_session=sm, output_path=B + "/out/")
    fw = dict(entry_point="train.py", source_dir=SRC, **common)
    pt = dict(framework_version="2.1", py_version="py310", **fw)
    tf = dict(framework_version="2.13", py_version="py310", **fw)
    yield "pytorch_basic", PyTorch(
        instance_type="ml.p3.2xlarge", instance_count=1,
        hyperparameters={"epochs": 10, "lr": 0.1, "wd": 1e-05, "scale": 2.0,
                         "amp": True, "optimizer": "adam", "layers": [64, 32],
                         "sched": {"name": "cosine", "warmup": 5}},
        metric_definitions=[{"Name": "train:loss", "Regex": "loss=([0-9.]+)"}],
        **pt), {
        "train": B + "/data/train/",
        "test": TrainingInput(B + "/data/test/", content_type="text/csv",
                              compression="Gzip", distribution="ShardedByS3Key",
                              input_mode="FastFile")}
    yield "tensorflow_mpi", TensorFlow(
        instance_type="ml.p3.8xlarge", instance_count=2, volume_size=100,
        max_run=7200, input_mode="Pipe",
        distribution={"mpi": {"enabled": True, "processes_per_host": 4,
                              "custom_mpi_options": "-x NCCL_DEBUG=INFO"}},
        **tf), B + "/data/train/"
    yield "tensorflow_ps", TensorFlow(
        instance_type="ml.c5.xlarge", instance_count=2,
        distribution={"parameter_server": {"enabled": True}}, **tf), None
    yield "pytorch_secure_spot", PyTorch(
        instance_type="ml.g5.xlarge", instance_count=1, max_run=3600,
        use_spot_instances=True, max_wait=10800,
        checkpoint_s3_uri=B + "/ckpt/", checkpoint_local_path="/opt/ml/checkpoints",
        output_kms_key=KMS, volume_kms_key=KMS,
        subnets=["subnet-0123456789abcdef0"],
        security_group_ids=["sg-0123456789abcdef0"],
        enable_network_isolation=True, encrypt_inter_container_traffic=True,
        environment={"MY_FLAG": "on"}, tags=[{"Key": "team", "Value": "ml"}],
        **pt), None
    # with a distribution the SDK refuses "2.1" (smdataparallel's list of
    # versions is checked): "2.1.0" resolves to the same image
    for name, dist in (("pytorch_ddp", {"pytorchddp": {"enabled": True}}),
                       ("torch_distributed", {"torch_distributed": {"enabled": True}})):
        yield name, PyTorch(instance_type="ml.g5.12xlarge", instance_count=2,
                            distribution=dist, **dict(pt, framework_version="2.1.0")), None
    yield "smddp", PyTorch(
        instance_type="ml.p4d.24xlarge", instance_count=2,
        distribution={"smdistributed": {"dataparallel": {"enabled": True}}},
        **dict(pt, framework_version="2.1.0")), None
    yield "sklearn_quiet", SKLearn(
        framework_version="1.2-1", instance_type="ml.m5.large", instance_count=1,
        hyperparameters={"max_depth": 5}, debugger_hook_config=False,
        disable_profiler=True, **fw), None
    yield "xgboost_image", Estimator(
        image_uri="141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        instance_type="ml.m5.xlarge", instance_count=1,
        hyperparameters={"num_round": 100, "objective": "binary:logistic"},
        **common), {"train": TrainingInput(B + "/data/train.csv",
                                           content_type="text/csv",
                                           s3_data_type="S3Prefix")}


def record_trainings(sm, rec):
    for name, est, inputs in trainings(sm):
        rec.current = name
        est.fit(inputs=inputs, job_name="sdkrec-" + name.replace("_", "-"),
                wait=False, logs=False)


IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
MODEL = B + "/models/model.tar.gz"


def record_hosting(sm, rec, code_dir):
    """deploy/register steps of tests/data/aws/sdk/pipeline.yaml."""
    from sagemaker.model import Model, ModelPackage
    from sagemaker.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.pytorch import PyTorchModel
    from sagemaker.sklearn import SKLearnModel
    from sagemaker.xgboost import XGBoostModel

    rec.current = "deploy_image"
    Model(image_uri=IMAGE, model_data=MODEL, role=ROLE, name="sdkparity-image-model",
          sagemaker_session=sm).deploy(
        initial_instance_count=1, instance_type="ml.m5.large",
        endpoint_name="sdkparity-image", wait=False)
    rec.current = "deploy_sklearn"
    SKLearnModel(model_data=MODEL, role=ROLE, entry_point="inference.py",
                 source_dir=code_dir, framework_version="1.2-1",
                 name="sdkparity-sklearn-model", sagemaker_session=sm).deploy(
        initial_instance_count=1, instance_type="ml.m5.large",
        endpoint_name="sdkparity-sklearn", wait=False)
    rec.current = "deploy_xgboost"
    XGBoostModel(model_data=MODEL, role=ROLE, entry_point="inference.py",
                 source_dir=code_dir, framework_version="1.7-1",
                 name="sdkparity-xgboost-model", sagemaker_session=sm).deploy(
        initial_instance_count=1, instance_type="ml.m5.large",
        endpoint_name="sdkparity-xgboost", wait=False)
    rec.current = "deploy_pytorch"
    PyTorchModel(model_data=MODEL, role=ROLE, entry_point="inference.py",
                 source_dir=code_dir, framework_version="2.1", py_version="py310",
                 name="sdkparity-pytorch-model", sagemaker_session=sm).deploy(
        initial_instance_count=1, instance_type="ml.m5.large",
        endpoint_name="sdkparity-pytorch", wait=False)
    rec.current = "register_image"
    sm.sagemaker_client.create_model_package_group(ModelPackageGroupName="sdkparity-models")
    pkg = Model(image_uri=IMAGE, model_data=MODEL, role=ROLE, sagemaker_session=sm).register(
        content_types=["text/csv"], response_types=["text/csv"],
        inference_instances=["ml.m5.large"], transform_instances=["ml.m5.large"],
        model_package_group_name="sdkparity-models", approval_status="Approved",
        description="registered by the parity pipeline",
        model_metrics=ModelMetrics(model_statistics=MetricsSource(
            content_type="application/json", s3_uri=B + "/reports/evaluation.json")))
    rec.current = "register_sklearn"
    sm.sagemaker_client.create_model_package_group(
        ModelPackageGroupName="sdkparity-sklearn-models")
    SKLearnModel(model_data=MODEL, role=ROLE, entry_point="inference.py",
                 source_dir=code_dir, framework_version="1.2-1",
                 sagemaker_session=sm).register(
        content_types=["text/csv"], response_types=["text/csv"],
        inference_instances=["ml.m5.large"], transform_instances=["ml.m5.large"],
        model_package_group_name="sdkparity-sklearn-models", approval_status="Approved")
    rec.current = "deploy_pkg"
    ModelPackage(role=ROLE, model_package_arn=pkg.model_package_arn,
                 name="sdkparity-pkg-model", sagemaker_session=sm).deploy(
        initial_instance_count=1, instance_type="ml.m5.large",
        endpoint_name="sdkparity-pkg", wait=False)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp()
    proc, ep = start_moto(work)
    try:
        os.environ.update(AWS_ENDPOINT_URL=ep, AWS_ACCESS_KEY_ID="testing",
                          AWS_SECRET_ACCESS_KEY="testing",
                          AWS_DEFAULT_REGION=REGION)
        import boto3
        import sagemaker
        bs = boto3.Session(region_name=REGION)
        bs.client("s3").create_bucket(
            Bucket="smflow-test-bucket",
            CreateBucketConfiguration={"LocationConstraint": REGION})
        # PyTorchModel repacks: the model must exist (a small archive)
        import io
        import tarfile
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            info = tarfile.TarInfo("model.pkl")
            info.size = 8
            tar.addfile(info, io.BytesIO(b"weights\n"))
        bs.client("s3").put_object(Bucket="smflow-test-bucket", Key="models/model.tar.gz",
                                   Body=buf.getvalue())
        rec = Recorder()
        # the name the SDK derives (sagemaker-REGION-ACCOUNT), given because
        # the SDK asks STS at its public endpoint for the account
        sm = sagemaker.Session(boto_session=bs,
                               default_bucket="sagemaker-%s-123456789012" % REGION)
        sm.sagemaker_client.meta.events.register("before-call.sagemaker.*", rec.hook)
        record_trainings(sm, rec)
        code = os.path.join(work, "code")
        os.makedirs(code)
        with open(os.path.join(code, "inference.py"), "w") as f:
            f.write("def model_fn(model_dir):\n    return None\n")
        record_hosting(sm, rec, code)
        for name, body in sorted(rec.bodies.items()):
            with open(os.path.join(out, name + ".json"), "w") as f:
                json.dump(body, f, indent=1)
                f.write("\n")
            print("recorded", name)
        print("sagemaker", sagemaker.__version__, "python", sys.version.split()[0])
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    main()

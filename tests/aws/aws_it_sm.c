// aws_it_sm.c: the SageMaker operations against moto. moto 5.2 does not
// implement StopTrainingJob, StopProcessingJob or UpdateEndpoint (it answers 500
// NotImplementedError), so those wrappers are not exercised here.
#include <jansson.h>
#include <string.h>

#include "aws_it.h"

static json_t *role(void)
{
  return json_string("arn:aws:iam::123456789012:role/smflow-test");
}

json_t *it_training_body(const char *name)
{
  return json_pack(
      "{s:s, s:{s:s, s:s}, s:o, s:{s:s}, s:{s:s, s:i, s:i}, s:{s:i}}", "TrainingJobName", name,
      "AlgorithmSpecification", "TrainingImage", "123.dkr.ecr.eu-west-1.amazonaws.com/x:1",
      "TrainingInputMode", "File", "RoleArn", role(), "OutputDataConfig", "S3OutputPath",
      "s3://smf-it/out", "ResourceConfig", "InstanceType", "ml.m5.large", "InstanceCount", 1,
      "VolumeSizeInGB", 10, "StoppingCondition", "MaxRuntimeInSeconds", 3600);
}

static void expect_ok(struct aws_client *c, const char *op, json_t *body, const char *key)
{
  struct smf_error err = SMF_ERROR_INIT;
  json_t *r = it_sm(c, op, body, &err);
  if (!r) {
    fprintf(stderr, "%s failed: %s\n", op, err.message);
    exit(1);
  }
  if (key && !json_object_get(r, key)) {
    fprintf(stderr, "%s: answer without %s: %s\n", op, key, json_dumps(r, 0));
    exit(1);
  }
  json_decref(r);
}

// Wrappers through the typed entry points (one per operation).
#define IT_SYNC(fn)                                                          \
  static json_t *sync_##fn(struct aws_client *c, json_t *body)               \
  {                                                                          \
    struct it_json j = {0};                                                  \
    struct smf_error err = SMF_ERROR_INIT;                                   \
    CHECK_OK(aws_sagemaker_##fn(c, body, NULL, it_json_cb, &j, &err), &err); \
    it_wait(&j.done);                                                        \
    if (!j.res) {                                                            \
      fprintf(stderr, #fn ": %s\n", j.err.message);                          \
      exit(1);                                                               \
    }                                                                        \
    json_decref(body);                                                       \
    return j.res;                                                            \
  }
IT_SYNC(create_training_job)
IT_SYNC(describe_training_job)
IT_SYNC(list_training_jobs)
IT_SYNC(describe_endpoint)
IT_SYNC(describe_model_package)

void it_sagemaker(struct aws_client *c)
{
  json_t *r = sync_create_training_job(c, it_training_body("smf-it-train-1"));
  CHECK(json_string_value(json_object_get(r, "TrainingJobArn")) != NULL);
  json_decref(r);
  r = sync_describe_training_job(c, json_pack("{s:s}", "TrainingJobName", "smf-it-train-1"));
  CHECK(strcmp(json_string_value(json_object_get(r, "TrainingJobName")), "smf-it-train-1") == 0);
  CHECK(json_string_value(json_object_get(r, "TrainingJobStatus")) != NULL);
  json_decref(r);
  r = sync_list_training_jobs(c, json_object());
  CHECK(json_array_size(json_object_get(r, "TrainingJobSummaries")) >= 1);
  json_decref(r);
  // A missing job: the service's error code, message and request id.
  struct smf_error err = SMF_ERROR_INIT;
  r = it_sm(c, "DescribeTrainingJob", json_pack("{s:s}", "TrainingJobName", "nope"), &err);
  CHECK(r == NULL);
  CHECK(err.http_status == 400);
  CHECK(strcmp(err.aws_code, "ValidationException") == 0 || strcmp(err.aws_code, "ResourceNotFound") == 0);
  printf("describe missing job: %s\n", err.message);

  expect_ok(c, "CreateProcessingJob",
            json_pack("{s:s, s:{s:{s:s, s:i, s:i}}, s:{s:s}, s:o}", "ProcessingJobName",
                      "smf-it-proc-1", "ProcessingResources", "ClusterConfig", "InstanceType",
                      "ml.m5.large", "InstanceCount", 1, "VolumeSizeInGB", 10, "AppSpecification",
                      "ImageUri", "123.dkr.ecr.eu-west-1.amazonaws.com/x:1", "RoleArn", role()),
            "ProcessingJobArn");
  expect_ok(c, "DescribeProcessingJob", json_pack("{s:s}", "ProcessingJobName", "smf-it-proc-1"),
            "ProcessingJobStatus");

  expect_ok(c, "CreateModel",
            json_pack("{s:s, s:{s:s, s:s}, s:o}", "ModelName", "smf-it-model", "PrimaryContainer",
                      "Image", "123.dkr.ecr.eu-west-1.amazonaws.com/x:1", "ModelDataUrl",
                      "s3://smf-it/model.tar.gz", "ExecutionRoleArn", role()),
            "ModelArn");
  expect_ok(c, "CreateEndpointConfig",
            json_pack("{s:s, s:[{s:s, s:s, s:i, s:s}]}", "EndpointConfigName", "smf-it-epc",
                      "ProductionVariants", "VariantName", "main", "ModelName", "smf-it-model",
                      "InitialInstanceCount", 1, "InstanceType", "ml.m5.large"),
            "EndpointConfigArn");
  expect_ok(c, "CreateEndpoint",
            json_pack("{s:s, s:s}", "EndpointName", "smf-it-ep", "EndpointConfigName", "smf-it-epc"),
            "EndpointArn");
  r = sync_describe_endpoint(c, json_pack("{s:s}", "EndpointName", "smf-it-ep"));
  CHECK(json_string_value(json_object_get(r, "EndpointStatus")) != NULL);
  json_decref(r);

  expect_ok(c, "CreateModelPackageGroup",
            json_pack("{s:s}", "ModelPackageGroupName", "smf-it-group"), "ModelPackageGroupArn");
  expect_ok(c, "DescribeModelPackageGroup",
            json_pack("{s:s}", "ModelPackageGroupName", "smf-it-group"), "ModelPackageGroupName");
  r = it_sm(c, "CreateModelPackage",
            json_pack("{s:s, s:s, s:{s:[{s:s}], s:[s], s:[s]}}", "ModelPackageGroupName",
                      "smf-it-group", "ModelApprovalStatus", "PendingManualApproval",
                      "InferenceSpecification", "Containers", "Image",
                      "123.dkr.ecr.eu-west-1.amazonaws.com/x:1", "SupportedContentTypes",
                      "text/csv", "SupportedResponseMIMETypes", "text/csv"),
            &err);
  CHECK_OK(r ? 0 : -1, &err);
  const char *arn = json_string_value(json_object_get(r, "ModelPackageArn"));
  CHECK(arn != NULL);
  json_t *d = sync_describe_model_package(c, json_pack("{s:s}", "ModelPackageName", arn));
  CHECK(json_string_value(json_object_get(d, "ModelApprovalStatus")) != NULL);
  json_decref(d);
  expect_ok(c, "UpdateModelPackage",
            json_pack("{s:s, s:s}", "ModelPackageArn", arn, "ModelApprovalStatus", "Approved"),
            "ModelPackageArn");
  json_decref(r);
  r = it_sm(c, "ListModelPackages", json_pack("{s:s}", "ModelPackageGroupName", "smf-it-group"),
            &err);
  CHECK_OK(r ? 0 : -1, &err);
  CHECK(json_array_size(json_object_get(r, "ModelPackageSummaryList")) == 1);
  json_decref(r);
  expect_ok(c, "DeleteEndpoint", json_pack("{s:s}", "EndpointName", "smf-it-ep"), NULL);
  printf("sagemaker: ok\n");
}

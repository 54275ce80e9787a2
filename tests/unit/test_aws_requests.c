// test_aws_requests.c: the aws target's pure parts: failure classes, the spec
// fingerprint, the SDK's Debugger/Profiler exceptions by region and instance,
// and the CreateProcessingJob / CreateModel / CreateModelPackage bodies.
#include <stdlib.h>
#include <string.h>

#include "target/aws/awst.h"
#include "test.h"

static struct smf_arena arena = SMF_ARENA_INIT;

static struct dsl_node *str(const char *s)
{
  return dsl_node_str(&arena, s, strlen(s));
}

static char *dump(const json_t *j)
{
  return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
}

static const struct awst_env env = {.region = "eu-west-1",
                                    .account = "123456789012",
                                    .role = "arn:aws:iam::123456789012:role/R",
                                    .default_bucket = "sagemaker-eu-west-1-123456789012"};

TEST(failure_classes)
{
  ASSERT_EQ(awst_failure_class("CapacityError: Unable to provision requested ML compute capacity",
                               "Starting"),
            SMF_CLASS_CAPACITY);
  ASSERT_EQ(awst_failure_class("InternalServerError: We encountered an internal error", NULL),
            SMF_CLASS_INTERNAL_SERVER);
  ASSERT_EQ(awst_failure_class("ResourceLimitExceeded: account-level service limit", NULL),
            SMF_CLASS_RESOURCE_LIMIT);
  ASSERT_EQ(awst_failure_class("Job was interrupted", "Interrupted"), SMF_CLASS_SPOT_INTERRUPTION);
  ASSERT_EQ(awst_failure_class("Training job exceeded MaxRuntimeInSeconds", "MaxRuntimeExceeded"),
            SMF_CLASS_TIMEOUT);
  ASSERT_EQ(awst_failure_class("ClientError: Data download failed", "Downloading"),
            SMF_CLASS_CLIENT);
  ASSERT_EQ(awst_failure_class("AlgorithmError: ExecuteUserScriptError", "Training"),
            SMF_CLASS_ALGORITHM);
  ASSERT_EQ(awst_failure_class(NULL, NULL), SMF_CLASS_ALGORITHM);
  struct smf_error e = SMF_ERROR_INIT;
  snprintf(e.aws_code, sizeof(e.aws_code), "ThrottlingException");
  ASSERT_EQ(awst_api_class(&e), SMF_CLASS_THROTTLING);
  snprintf(e.aws_code, sizeof(e.aws_code), "ValidationException");
  ASSERT_EQ(awst_api_class(&e), SMF_CLASS_CLIENT);
  e.http_status = 503;
  snprintf(e.aws_code, sizeof(e.aws_code), "ServiceUnavailable");
  ASSERT_EQ(awst_api_class(&e), SMF_CLASS_INTERNAL_SERVER);
}

static struct target_training_job fit_job(struct dsl_node *spec, const char *itype)
{
  return (struct target_training_job){.job_name = "pt-1",
                                      .entry_point = "train.py",
                                      .submit_dir_uri = "s3://b/code.tar.gz",
                                      .region = "eu-west-1",
                                      .output_path = "s3://b/out/",
                                      .spec = spec,
                                      .resources = {.instance_type = itype, .instance_count = 1}};
}

static struct dsl_node *pytorch_spec(void)
{
  struct dsl_node *spec = dsl_node_new(&arena, DSL_MAP);
  dsl_map_set(&arena, spec, "framework", str("pytorch"));
  dsl_map_set(&arena, spec, "framework_version", str("2.1"));
  dsl_map_set(&arena, spec, "py_version", str("py310"));
  return spec;
}

TEST(fingerprint_ignores_tags)
{
  struct target_training_job job = fit_job(pytorch_spec(), "ml.g5.xlarge");
  json_t *a = NULL, *b = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(awst_training_request(&env, &job, &a, NULL, &err), 0);
  struct target_kv tag = {"team", "ml"};
  job.tags = &tag;
  job.n_tags = 1;
  ASSERT_EQ(awst_training_request(&env, &job, &b, NULL, &err), 0);
  char *fa = awst_fingerprint(a), *fb = awst_fingerprint(b);
  ASSERT_STREQ(fa, fb);
  ASSERT_EQ(strlen(fa), 32);
  job.resources.instance_count = 2;
  json_t *c = NULL;
  ASSERT_EQ(awst_training_request(&env, &job, &c, NULL, &err), 0);
  char *fc = awst_fingerprint(c);
  ASSERT(strcmp(fa, fc) != 0);
  free(fa);
  free(fb);
  free(fc);
  json_decref(a);
  json_decref(b);
  json_decref(c);
}

TEST(debugger_and_profiler_exceptions)
{
  struct awst_env no_dbg = env;
  no_dbg.region = "eu-central-2";  // fw_utils.DEBUGGER_UNSUPPORTED_REGIONS
  struct target_training_job job = fit_job(pytorch_spec(), "ml.g5.xlarge");
  job.region = "eu-central-2";
  json_t *body = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(awst_training_request(&no_dbg, &job, &body, NULL, &err), 0);
  ASSERT(json_object_get(body, "DebugHookConfig") == NULL);
  char *p = dump(json_object_get(body, "ProfilerConfig"));
  ASSERT_STREQ(p, "{\"DisableProfiler\":true}");
  free(p);
  json_decref(body);
  // Trainium: the constructor turns the profiler off; Debugger stays.
  job = fit_job(pytorch_spec(), "ml.trn1.32xlarge");
  struct dsl_node *spec = dsl_node_new(&arena, DSL_MAP);
  dsl_map_set(&arena, spec, "framework", str("pytorch"));
  job.spec = spec;
  job.image_uri = "123.dkr.ecr.eu-west-1.amazonaws.com/neuron:1";
  ASSERT_EQ(awst_training_request(&env, &job, &body, NULL, &err), 0);
  ASSERT(json_object_get(body, "DebugHookConfig") != NULL);
  p = dump(json_object_get(body, "ProfilerConfig"));
  ASSERT_STREQ(p, "{\"DisableProfiler\":true}");
  free(p);
  json_decref(body);
}

TEST(role_is_required)
{
  struct awst_env no_role = env;
  no_role.role = NULL;
  struct target_training_job job = fit_job(pytorch_spec(), "ml.g5.xlarge");
  json_t *body = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(awst_training_request(&no_role, &job, &body, NULL, &err), SMF_EINVAL);
  ASSERT_EQ(err.klass, SMF_CLASS_CLIENT);
  ASSERT_CONTAINS(err.message, "role");
}

TEST(processing_request)
{
  struct target_proc_input in[] = {{"test", "s3://b/data/test/"}};
  struct target_processing_job job = {
      .job_name = "ev-1",
      .image_uri = "img:1",
      .entry_point = "evaluate.py",
      .code_uri = "s3://b/code/sourcedir.tar.gz",
      .model_uri = "s3://b/m/model.tar.gz",
      .inputs = in,
      .n_inputs = 1,
      .report = "evaluation.json",
      .output_uri = "s3://b/ev-1/out",
      .resources = {.instance_type = "ml.m5.large", .instance_count = 1}};
  json_t *body = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(awst_processing_request(&env, &job, &body, NULL, &err), 0);
  json_t *app = json_object_get(body, "AppSpecification");
  json_t *ep = json_object_get(app, "ContainerEntrypoint");
  ASSERT_STREQ(json_string_value(json_array_get(ep, 0)), "/bin/sh");
  ASSERT_STREQ(json_string_value(json_array_get(ep, 3)),
               "/opt/ml/processing/input/code/evaluate.py");
  ASSERT_CONTAINS(json_string_value(json_array_get(ep, 2)), "exec python3");
  char *args = dump(json_object_get(app, "ContainerArguments"));
  ASSERT_STREQ(args,
               "[\"--model-dir\",\"/opt/ml/processing/model\",\"--output-dir\","
               "\"/opt/ml/processing/output\",\"--test\",\"/opt/ml/processing/input/test\"]");
  free(args);
  json_t *ins = json_object_get(body, "ProcessingInputs");
  ASSERT_EQ(json_array_size(ins), 3);
  ASSERT_STREQ(json_string_value(json_object_get(json_object_get(json_array_get(ins, 1), "S3Input"),
                                                 "LocalPath")),
               "/opt/ml/processing/model");
  json_t *out = json_array_get(
      json_object_get(json_object_get(body, "ProcessingOutputConfig"), "Outputs"), 0);
  ASSERT_STREQ(json_string_value(json_object_get(json_object_get(out, "S3Output"), "S3Uri")),
               "s3://b/ev-1/out");
  json_decref(body);
  job.model_uri = "model.tar.gz";  // neither an S3 URI nor a local (absolute) path
  ASSERT_EQ(awst_processing_request(&env, &job, &body, NULL, &err), SMF_EINVAL);
  ASSERT_CONTAINS(err.message, "s3://");
}

TEST(model_and_package_requests)
{
  struct dsl_node *spec = dsl_node_new(&arena, DSL_MAP);
  dsl_map_set(&arena, spec, "framework", str("sklearn"));
  dsl_map_set(&arena, spec, "framework_version", str("1.2-1"));
  struct target_kv e = {"MY", "1"};
  struct target_endpoint_spec es = {.endpoint = "ep",
                                    .model_name = "m-1",
                                    .config_name = "c-1",
                                    .model_data = "s3://b/m.tar.gz",
                                    .entry_point = "code/inf.py",
                                    .instance_type = "ml.m5.large",
                                    .initial_instance_count = 2,
                                    .environment = &e,
                                    .n_environment = 1,
                                    .spec = spec};
  json_t *model = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(awst_model_request(&env, &es, &model, &err), 0);
  char *m = dump(model);
  ASSERT_STREQ(m,
               "{\"ExecutionRoleArn\":\"arn:aws:iam::123456789012:role/R\",\"ModelName\":"
               "\"m-1\",\"PrimaryContainer\":{\"Environment\":{\"MY\":\"1\","
               "\"SAGEMAKER_CONTAINER_LOG_LEVEL\":\"20\",\"SAGEMAKER_PROGRAM\":\"inf.py\","
               "\"SAGEMAKER_REGION\":\"eu-west-1\",\"SAGEMAKER_SUBMIT_DIRECTORY\":"
               "\"s3://sagemaker-eu-west-1-123456789012/m-1/sourcedir.tar.gz\"},"
               "\"Image\":\"141502667606.dkr.ecr.eu-west-1."
               "amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3\",\"ModelDataUrl\":"
               "\"s3://b/m.tar.gz\"}}");
  free(m);
  json_decref(model);
  json_t *cfg = awst_endpoint_config_request(&es);
  char *c = dump(cfg);
  ASSERT_STREQ(c,
               "{\"EndpointConfigName\":\"c-1\",\"ProductionVariants\":[{"
               "\"InitialInstanceCount\":2,\"InitialVariantWeight\":1,\"InstanceType\":"
               "\"ml.m5.large\",\"ModelName\":\"m-1\",\"VariantName\":\"AllTraffic\"}]}");
  free(c);
  json_decref(cfg);

  struct dsl_node *rs = dsl_node_new(&arena, DSL_MAP);
  dsl_map_set(&arena, rs, "framework", str("sklearn"));
  dsl_map_set(&arena, rs, "framework_version", str("1.2-1"));
  struct dsl_node *ct = dsl_node_new(&arena, DSL_SEQ);
  dsl_seq_push(&arena, ct, str("text/csv"));
  dsl_map_set(&arena, rs, "content_types", ct);
  dsl_map_set(&arena, rs, "response_types", ct);
  struct target_kv meta = {"git", "abc123"};
  struct target_model_package pkg = {.group = "g",
                                     .approval = "Approved",
                                     .model_data = "s3://b/m.tar.gz",
                                     .image_uri = "sklearn",
                                     .metrics_uri = "s3://b/ev.json",
                                     .metadata = &meta,
                                     .n_metadata = 1,
                                     .spec = rs};
  json_t *pb = NULL;
  ASSERT_EQ(awst_model_package_request(&env, &pkg, &pb, &err), 0);
  // ClientToken: deterministic for the same package, another for other metadata.
  const char *tok = json_string_value(json_object_get(pb, "ClientToken"));
  ASSERT(tok != NULL && strlen(tok) == 32 && strspn(tok, "0123456789abcdef") == 32);
  json_t *again = NULL, *other = NULL;
  ASSERT_EQ(awst_model_package_request(&env, &pkg, &again, &err), 0);
  ASSERT_STREQ(json_string_value(json_object_get(again, "ClientToken")), tok);
  struct target_kv meta2 = {"git", "def456"};
  pkg.metadata = &meta2;
  ASSERT_EQ(awst_model_package_request(&env, &pkg, &other, &err), 0);
  ASSERT(strcmp(json_string_value(json_object_get(other, "ClientToken")), tok) != 0);
  json_decref(again);
  json_decref(other);
  json_object_del(pb, "ClientToken");
  char *p = dump(pb);
  ASSERT_STREQ(p,
               "{\"CertifyForMarketplace\":false,\"CustomerMetadataProperties\":{\"git\":"
               "\"abc123\"},\"InferenceSpecification\":{\"Containers\":[{\"Environment\":{"
               "\"SAGEMAKER_CONTAINER_LOG_LEVEL\":\"20\",\"SAGEMAKER_PROGRAM\":\"\","
               "\"SAGEMAKER_REGION\":\"eu-west-1\",\"SAGEMAKER_SUBMIT_DIRECTORY\":\"\"},"
               "\"Framework\":\"SKLEARN\",\"Image\":\"141502667606.dkr.ecr.eu-west-1.amazonaws.com/"
               "sagemaker-scikit-learn:1.2-1-cpu-py3\",\"ModelDataUrl\":\"s3://b/m.tar.gz\"}],"
               "\"SupportedContentTypes\":[\"text/csv\"],\"SupportedResponseMIMETypes\":"
               "[\"text/csv\"]},\"ModelApprovalStatus\":\"Approved\",\"ModelMetrics\":{"
               "\"Bias\":{},\"Explainability\":{},"
               "\"ModelQuality\":{\"Statistics\":{\"ContentType\":\"application/json\","
               "\"S3Uri\":\"s3://b/ev.json\"}}},\"ModelPackageGroupName\":\"g\","
               "\"SkipModelValidation\":\"None\"}");
  free(p);
  json_decref(pb);
}

// Where each model class puts an entry point's code (SDK v2.257.6).
TEST(code_modes)
{
  ASSERT_EQ(awst_code_mode("sklearn", "1.2-1", NULL, true), AWST_CODE_NONE);
  ASSERT_EQ(awst_code_mode("sklearn", "1.2-1", "inf.py", true), AWST_CODE_UPLOAD);
  ASSERT_EQ(awst_code_mode("xgboost", "1.7-1", "inf.py", false), AWST_CODE_UPLOAD);
  ASSERT_EQ(awst_code_mode("pytorch", "2.1", "inf.py", true), AWST_CODE_REPACK);
  ASSERT_EQ(awst_code_mode("pytorch", "1.10.0", "inf.py", true), AWST_CODE_REPACK);
  ASSERT_EQ(awst_code_mode("pytorch", "1.1.0", "inf.py", true), AWST_CODE_UPLOAD);
  ASSERT_EQ(awst_code_mode("mxnet", "1.3.0", "inf.py", true), AWST_CODE_UPLOAD);
  ASSERT_EQ(awst_code_mode("mxnet", "1.8.0", "inf.py", true), AWST_CODE_REPACK);
  ASSERT_EQ(awst_code_mode("tensorflow", "2.13", "inf.py", false), AWST_CODE_REPACK);
  ASSERT_EQ(awst_code_mode("huggingface", "4.36", "inf.py", false), AWST_CODE_REPACK);
  ASSERT_EQ(awst_code_mode(NULL, NULL, "inf.py", true), AWST_CODE_REPACK);
  ASSERT_EQ(awst_code_mode(NULL, NULL, "inf.py", false), AWST_CODE_UPLOAD);
}

static char *model_body(struct target_endpoint_spec *es)
{
  json_t *model = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(awst_model_request(&env, es, &model, &err), 0);
  char *m = model ? dump(model) : smf_xstrdup("");
  json_decref(model);
  return m;
}

TEST(model_request_per_framework)
{
  // PyTorchModel >= 1.2 repacks: the model at MODEL_NAME/model.tar.gz, code in it.
  struct dsl_node *pt = dsl_node_new(&arena, DSL_MAP);
  dsl_map_set(&arena, pt, "framework", str("pytorch"));
  dsl_map_set(&arena, pt, "framework_version", str("2.1"));
  dsl_map_set(&arena, pt, "source_dir", str("code"));
  struct target_endpoint_spec es = {.endpoint = "ep",
                                    .model_name = "m-2",
                                    .config_name = "c-2",
                                    .model_data = "s3://b/m.tar.gz",
                                    .entry_point = "sub/inf.py",
                                    .source_dir = "/abs/code",
                                    .image_uri = "img:1",
                                    .spec = pt};
  char *m = model_body(&es);
  ASSERT_CONTAINS(m, "\"SAGEMAKER_PROGRAM\":\"inf.py\"");
  ASSERT_CONTAINS(m, "\"SAGEMAKER_SUBMIT_DIRECTORY\":\"/opt/ml/model/code\"");
  ASSERT_CONTAINS(m, "\"ModelDataUrl\":\"s3://sagemaker-eu-west-1-123456789012/m-2/model.tar.gz\"");
  free(m);
  // SKLearnModel with a source_dir: the program as written, the code beside the model.
  dsl_map_set(&arena, pt, "framework", str("sklearn"));
  m = model_body(&es);
  ASSERT_CONTAINS(m, "\"SAGEMAKER_PROGRAM\":\"sub/inf.py\"");
  ASSERT_CONTAINS(m,
                  "\"SAGEMAKER_SUBMIT_DIRECTORY\":\"s3://sagemaker-eu-west-1-123456789012/m-2/"
                  "sourcedir.tar.gz\"");
  ASSERT_CONTAINS(m, "\"ModelDataUrl\":\"s3://b/m.tar.gz\"");
  free(m);
  // TensorFlowModel: repacked, and no script-mode environment at all.
  dsl_map_set(&arena, pt, "framework", str("tensorflow"));
  m = model_body(&es);
  ASSERT_CONTAINS(m, "\"Environment\":{}");
  ASSERT_CONTAINS(m, "\"ModelDataUrl\":\"s3://sagemaker-eu-west-1-123456789012/m-2/model.tar.gz\"");
  free(m);
  // ModelPackage.deploy: Containers [{ModelPackageName}], Environment only when given.
  struct target_kv e = {"MY", "1"};
  struct target_endpoint_spec pk = {
      .endpoint = "ep",
      .model_name = "m-3",
      .config_name = "c-3",
      .model_package_arn = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/g/1"};
  m = model_body(&pk);
  ASSERT_STREQ(m,
               "{\"Containers\":[{\"ModelPackageName\":\"arn:aws:sagemaker:eu-west-1:"
               "123456789012:model-package/g/1\"}],\"ExecutionRoleArn\":\"arn:aws:iam::"
               "123456789012:role/R\",\"ModelName\":\"m-3\"}");
  free(m);
  pk.environment = &e;
  pk.n_environment = 1;
  m = model_body(&pk);
  ASSERT_CONTAINS(m, "\"Containers\":[{\"Environment\":{\"MY\":\"1\"},\"ModelPackageName\"");
  free(m);
  pk.entry_point = "inf.py";  // a package brings its own code
  json_t *model = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT(awst_model_request(&env, &pk, &model, &err) != 0);
  ASSERT(model == NULL);
  ASSERT_CONTAINS(err.message, "drop entry_point");
}

// register with an entry point: the same placement as deploy, under the
// package's model_name, and Framework for the framework models.
TEST(package_request_code)
{
  struct dsl_node *rs = dsl_node_new(&arena, DSL_MAP);
  dsl_map_set(&arena, rs, "framework", str("pytorch"));
  dsl_map_set(&arena, rs, "framework_version", str("2.1"));
  dsl_map_set(&arena, rs, "py_version", str("py310"));
  dsl_map_set(&arena, rs, "entry_point", str("inference.py"));
  dsl_map_set(&arena, rs, "source_dir", str("code"));
  struct dsl_node *inst = dsl_node_new(&arena, DSL_SEQ);
  dsl_seq_push(&arena, inst, str("ml.m5.large"));
  dsl_map_set(&arena, rs, "inference_instances", inst);
  struct target_model_package pkg = {.group = "g",
                                     .model_name = "pytorch-RUN-reg-1",
                                     .model_data = "s3://b/m.tar.gz",
                                     .image_uri = "pytorch",
                                     .spec = rs};
  json_t *pb = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(awst_model_package_request(&env, &pkg, &pb, &err), 0);
  char *p = dump(json_object_get(pb, "InferenceSpecification"));
  ASSERT_CONTAINS(p, "\"Framework\":\"PYTORCH\"");
  ASSERT_CONTAINS(p,
                  "\"ModelDataUrl\":\"s3://sagemaker-eu-west-1-123456789012/"
                  "pytorch-RUN-reg-1/model.tar.gz\"");
  ASSERT_CONTAINS(p, "\"SAGEMAKER_SUBMIT_DIRECTORY\":\"/opt/ml/model/code\"");
  free(p);
  json_decref(pb);
  // the generic model with an entry point alone: uploaded, no Framework
  struct dsl_node *gs = dsl_node_new(&arena, DSL_MAP);
  dsl_map_set(&arena, gs, "entry_point", str("serve/inference.py"));
  pkg.spec = gs;
  pkg.image_uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mine:1";
  ASSERT_EQ(awst_model_package_request(&env, &pkg, &pb, &err), 0);
  p = dump(json_object_get(pb, "InferenceSpecification"));
  ASSERT(strstr(p, "Framework") == NULL);
  ASSERT_CONTAINS(p, "\"ModelDataUrl\":\"s3://b/m.tar.gz\"");
  ASSERT_CONTAINS(p, "\"SAGEMAKER_PROGRAM\":\"inference.py\"");
  ASSERT_CONTAINS(p,
                  "\"SAGEMAKER_SUBMIT_DIRECTORY\":\"s3://sagemaker-eu-west-1-123456789012/"
                  "pytorch-RUN-reg-1/sourcedir.tar.gz\"");
  free(p);
  json_decref(pb);
}

int main(void)
{
  RUN_TEST(failure_classes);
  RUN_TEST(fingerprint_ignores_tags);
  RUN_TEST(debugger_and_profiler_exceptions);
  RUN_TEST(role_is_required);
  RUN_TEST(processing_request);
  RUN_TEST(model_and_package_requests);
  RUN_TEST(code_modes);
  RUN_TEST(model_request_per_framework);
  RUN_TEST(package_request_code);
  smf_arena_free(&arena);
  return TEST_REPORT();
}

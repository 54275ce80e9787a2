// request_other.c: the requests of evaluate (CreateProcessingJob, as
// SageMaker Pipelines' ProcessingStep runs a script processor), deploy
// (CreateModel with the SDK's Model.prepare_container_def environment,
// CreateEndpointConfig with sagemaker.production_variant) and register
// (CreateModelPackage as Session.get_create_model_package_request builds it
// for model.register). See docs/aws-target.md for what is not SDK-identical.
#include <stdlib.h>
#include <string.h>

#include "smflow/util.h"
#include "target/aws/awst.h"

#define PROC_ROOT "/opt/ml/processing"

// The processing container extracts the packed code and the model archive
// (SageMaker only downloads them), then runs the entry point with the
// arguments, exactly like the local target does.
static const char proc_wrapper[] =
    "set -e; cd " PROC_ROOT
    "/input/code; "
    "for f in *.tar.gz; do [ -f \"$f\" ] && tar -xzf \"$f\"; done; "
    "if [ -d " PROC_ROOT "/model ]; then cd " PROC_ROOT
    "/model; "
    "for f in *.tar.gz; do [ -f \"$f\" ] && tar -xzf \"$f\"; done; fi; "
    "exec python3 \"$0\" \"$@\"";

static json_t *proc_input(const char *name, const char *uri, const char *local)
{
  return json_pack("{s:s, s:b, s:{s:s, s:s, s:s, s:s, s:s, s:s}}", "InputName", name, "AppManaged",
                   0, "S3Input", "S3Uri", uri, "LocalPath", local, "S3DataType", "S3Prefix",
                   "S3InputMode", "File", "S3DataDistributionType", "FullyReplicated",
                   "S3CompressionType", "None");
}

static json_t *kv_object(const struct target_kv *kv, size_t n)
{
  json_t *o = json_object();
  for (size_t i = 0; i < n; i++) {
    json_object_set_new(o, kv[i].key, json_string(kv[i].value ? kv[i].value : ""));
  }
  return o;
}

static int need_s3(const char *what, const char *uri, struct smf_error *err)
{
  // Local paths are uploaded to the default bucket before the job (stage.c).
  if (uri &&
      (smf_str_startswith(uri, "s3://") || uri[0] == '/' || smf_str_startswith(uri, "file://"))) {
    return 0;
  }
  SMF_ERR_SET(err, SMF_EINVAL, "%s: expected an s3:// URI or a local path, got %s", what,
              uri ? uri : "(none)");
  err->klass = SMF_CLASS_CLIENT;
  return SMF_EINVAL;
}

static json_t *proc_app(const struct target_processing_job *job, const char *image)
{
  json_t *args = json_pack("[s, s, s, s]", "--model-dir", PROC_ROOT "/model", "--output-dir",
                           PROC_ROOT "/output");
  for (size_t i = 0; i < job->n_inputs; i++) {
    json_array_append_new(args, json_sprintf("--%s", job->inputs[i].name));
    json_array_append_new(args, json_sprintf(PROC_ROOT "/input/%s", job->inputs[i].name));
  }
  char *entry = smf_xasprintf(PROC_ROOT "/input/code/%s", job->entry_point);
  json_t *app = json_pack("{s:s, s:[s, s, s, s], s:o}", "ImageUri", image, "ContainerEntrypoint",
                          "/bin/sh", "-c", proc_wrapper, entry, "ContainerArguments", args);
  free(entry);
  return app;
}

static json_t *proc_inputs(const struct target_processing_job *job, struct smf_error *err)
{
  json_t *in = json_array();
  if (need_s3("evaluate code", job->code_uri, err) != 0) {
    goto fail;
  }
  json_array_append_new(in, proc_input("code", job->code_uri, PROC_ROOT "/input/code"));
  if (job->model_uri) {
    if (need_s3("evaluate model", job->model_uri, err) != 0) {
      goto fail;
    }
    json_array_append_new(in, proc_input("model", job->model_uri, PROC_ROOT "/model"));
  }
  for (size_t i = 0; i < job->n_inputs; i++) {
    if (need_s3(job->inputs[i].name, job->inputs[i].uri, err) != 0) {
      goto fail;
    }
    char *local = smf_xasprintf(PROC_ROOT "/input/%s", job->inputs[i].name);
    json_array_append_new(in, proc_input(job->inputs[i].name, job->inputs[i].uri, local));
    free(local);
  }
  return in;
fail:
  json_decref(in);
  return NULL;
}

int awst_processing_request(const struct awst_env *env, const struct target_processing_job *job,
                            json_t **out, char **image_out, struct smf_error *err)
{
  *out = NULL;
  if (env->role == NULL) {
    SMF_ERR_SET(err, SMF_EINVAL, "the aws target needs an execution role: set `role:`");
    err->klass = SMF_CLASS_CLIENT;
    return SMF_EINVAL;
  }
  char *image = NULL;
  int rc = 0;
  if (job->image_uri) {
    image = smf_xstrdup(job->image_uri);
  } else {
    // SKLearnProcessor / FrameworkProcessor retrieve their image with the training scope.
    rc = awst_image_uri(env->share_dir, awst_spec_str(job->spec, "framework"),
                        awst_spec_str(job->spec, "framework_version"),
                        awst_spec_str(job->spec, "py_version"), job->resources.instance_type,
                        env->region, AWST_SCOPE_TRAINING, false, &image, err);
    if (rc != 0) {
      err->klass = SMF_CLASS_CLIENT;
      return rc;
    }
  }
  json_t *inputs = proc_inputs(job, err);
  if (inputs == NULL || (rc = need_s3("evaluate output", job->output_uri, err)) != 0 ||
      (!smf_str_startswith(job->output_uri, "s3://") &&
       (rc = SMF_ERR_SET(err, SMF_EINVAL, "evaluate output: expected an s3:// URI")) != 0)) {
    json_decref(inputs);
    free(image);
    return err->code;
  }
  const struct target_resources *r = &job->resources;
  json_t *body = json_pack(
      "{s:s, s:{s:{s:i, s:s, s:i}}, s:o, s:s, s:o, s:{s:[{s:s, s:b, s:{s:s, s:s, s:s}}]}}",
      "ProcessingJobName", job->job_name, "ProcessingResources", "ClusterConfig", "InstanceCount",
      r->instance_count > 0 ? r->instance_count : 1, "InstanceType",
      r->instance_type ? r->instance_type : "ml.m5.large", "VolumeSizeInGB",
      r->volume_size_gb > 0 ? r->volume_size_gb : 30, "AppSpecification", proc_app(job, image),
      "RoleArn", env->role, "ProcessingInputs", inputs, "ProcessingOutputConfig", "Outputs",
      "OutputName", "evaluation", "AppManaged", 0, "S3Output", "S3Uri", job->output_uri,
      "LocalPath", PROC_ROOT "/output", "S3UploadMode", "EndOfJob");
  if (r->max_run_ms > 0) {
    json_object_set_new(
        body, "StoppingCondition",
        json_pack("{s:I}", "MaxRuntimeInSeconds", (json_int_t)(r->max_run_ms / 1000)));
  }
  if (job->n_environment) {
    json_object_set_new(body, "Environment", kv_object(job->environment, job->n_environment));
  }
  char *fp = awst_fingerprint(body);
  json_object_set_new(body, "Tags", awst_tags(job->tags, job->n_tags, fp));
  free(fp);
  *out = body;
  if (image_out) {
    *image_out = image;
  } else {
    free(image);
  }
  return 0;
}

// ---- hosting ---------------------------------------------------------------------

// The container's Environment: the user's, plus what Model._script_mode_env_vars
// adds once _upload_code has placed the code (mode; `name`: where it went).
// The generic Model adds them only with an entry point, TensorFlowModel never
// (_get_container_env), the other framework models always.
static void script_env(json_t *envj, const struct awst_env *env, const char *fw,
                       enum awst_code mode, const char *entry_point, bool has_dir, const char *name)
{
  if (fw ? strcmp(fw, "tensorflow") == 0 : entry_point == NULL) {
    return;
  }
  const char *ep = entry_point ? entry_point : "";
  const char *slash = strrchr(ep, '/');
  // UploadedCode.script_name: as written with a source_dir, else the basename
  const char *program = mode == AWST_CODE_UPLOAD && has_dir ? ep : slash ? slash + 1 : ep;
  char *dir = mode == AWST_CODE_REPACK   ? smf_xstrdup("/opt/ml/model/code")
              : mode == AWST_CODE_UPLOAD ? awst_sourcedir_uri(env->default_bucket, name)
                                         : smf_xstrdup("");
  json_object_set_new(envj, "SAGEMAKER_PROGRAM", json_string(program));
  json_object_set_new(envj, "SAGEMAKER_SUBMIT_DIRECTORY", json_string(dir));
  json_object_set_new(envj, "SAGEMAKER_CONTAINER_LOG_LEVEL", json_string("20"));
  json_object_set_new(envj, "SAGEMAKER_REGION", json_string(env->region));
  free(dir);
}

// ModelPackage._create_sagemaker_model: the version by name, the environment
// only when one is given; Session._create_model_request puts a container with
// a ModelPackageName in `Containers`.
static json_t *model_package_container(const struct target_endpoint_spec *spec,
                                       struct smf_error *err)
{
  if (spec->entry_point) {
    SMF_ERR_SET(err, SMF_EINVAL,
                "model_package %s: a registered version is deployed with its own container; "
                "drop entry_point / source_dir (or deploy model_data)",
                spec->model_package_arn);
    err->klass = SMF_CLASS_CLIENT;
    return NULL;
  }
  json_t *c = json_pack("{s:s}", "ModelPackageName", spec->model_package_arn);
  if (spec->n_environment) {
    json_object_set_new(c, "Environment", kv_object(spec->environment, spec->n_environment));
  }
  return json_pack("[o]", c);
}

int awst_model_request(const struct awst_env *env, const struct target_endpoint_spec *spec,
                       json_t **out, struct smf_error *err)
{
  *out = NULL;
  if (env->role == NULL) {
    SMF_ERR_SET(err, SMF_EINVAL, "the aws target needs an execution role: set `role:`");
    err->klass = SMF_CLASS_CLIENT;
    return SMF_EINVAL;
  }
  if (spec->model_package_arn) {
    json_t *containers = model_package_container(spec, err);
    if (containers == NULL) {
      return err->code;
    }
    json_t *body = json_pack("{s:s, s:s, s:o}", "ModelName", spec->model_name, "ExecutionRoleArn",
                             env->role, "Containers", containers);
    if (spec->n_tags) {
      json_object_set_new(body, "Tags", awst_tags(spec->tags, spec->n_tags, NULL));
    }
    *out = body;
    return 0;
  }
  const char *fw = awst_spec_str(spec->spec, "framework");
  char *image = NULL;
  int rc = 0;
  if (spec->image_uri) {
    image = smf_xstrdup(spec->image_uri);
  } else if ((rc =
                  awst_image_uri(env->share_dir, fw, awst_spec_str(spec->spec, "framework_version"),
                                 awst_spec_str(spec->spec, "py_version"), spec->instance_type,
                                 env->region, AWST_SCOPE_INFERENCE, false, &image, err)) != 0) {
    err->klass = SMF_CLASS_CLIENT;
    return rc;
  }
  // A lone entry point arrives as source_dir = the file: the spec says which.
  bool has_dir =
      spec->spec ? awst_spec_str(spec->spec, "source_dir") != NULL : spec->source_dir != NULL;
  enum awst_code mode = awst_code_mode(fw, awst_spec_str(spec->spec, "framework_version"),
                                       spec->entry_point, has_dir);
  json_t *envj = kv_object(spec->environment, spec->n_environment);
  script_env(envj, env, fw, mode, spec->entry_point, has_dir, spec->model_name);
  json_t *container = json_pack("{s:s, s:o}", "Image", image, "Environment", envj);
  if (spec->model_data) {
    char *data = mode == AWST_CODE_REPACK ? awst_repack_uri(env->default_bucket, spec->model_name)
                                          : smf_xstrdup(spec->model_data);
    json_object_set_new(container, "ModelDataUrl", json_string(data));
    free(data);
  }
  json_t *body = json_pack("{s:s, s:s, s:o}", "ModelName", spec->model_name, "ExecutionRoleArn",
                           env->role, "PrimaryContainer", container);
  if (spec->n_tags) {
    json_object_set_new(body, "Tags", awst_tags(spec->tags, spec->n_tags, NULL));
  }
  free(image);
  *out = body;
  return 0;
}

json_t *awst_endpoint_config_request(const struct target_endpoint_spec *spec)
{
  json_t *body =
      json_pack("{s:s, s:[{s:s, s:s, s:i, s:i, s:s}]}", "EndpointConfigName", spec->config_name,
                "ProductionVariants", "ModelName", spec->model_name, "VariantName", "AllTraffic",
                "InitialVariantWeight", 1, "InitialInstanceCount",
                spec->initial_instance_count > 0 ? spec->initial_instance_count : 1, "InstanceType",
                spec->instance_type ? spec->instance_type : "ml.m5.large");
  if (spec->n_tags) {
    json_object_set_new(body, "Tags", awst_tags(spec->tags, spec->n_tags, NULL));
  }
  return body;
}

// ---- registry --------------------------------------------------------------------

static json_t *strlist(const struct dsl_node *spec, const char *key)
{
  const struct dsl_node *n = spec ? dsl_map_get(spec, key) : NULL;
  if (n == NULL || n->type != DSL_SEQ || n->u.seq.n == 0) {
    return NULL;
  }
  json_t *a = json_array();
  for (size_t i = 0; i < n->u.seq.n; i++) {
    const struct dsl_node *x = n->u.seq.items[i];
    json_array_append_new(a, json_string(x->type == DSL_STR ? x->u.str.s : x->text));
  }
  return a;
}

static json_t *pkg_container(const struct awst_env *env, const struct target_model_package *pkg,
                             struct smf_error *err)
{
  const struct dsl_node *s = pkg->spec;
  char *image = NULL;
  if (pkg->image_uri && strchr(pkg->image_uri, '/')) {  // not a framework name
    image = smf_xstrdup(pkg->image_uri);
  } else if (awst_image_uri(env->share_dir, awst_spec_str(s, "framework"),
                            awst_spec_str(s, "framework_version"), awst_spec_str(s, "py_version"),
                            NULL, env->region, AWST_SCOPE_INFERENCE, false, &image, err) != 0) {
    const struct dsl_node *inst = s ? dsl_map_get(s, "inference_instances") : NULL;
    const char *itype =
        inst && inst->type == DSL_SEQ && inst->u.seq.n ? inst->u.seq.items[0]->u.str.s : NULL;
    smf_error_clear(err);
    if (awst_image_uri(env->share_dir, awst_spec_str(s, "framework"),
                       awst_spec_str(s, "framework_version"), awst_spec_str(s, "py_version"), itype,
                       env->region, AWST_SCOPE_INFERENCE, false, &image, err) != 0) {
      return NULL;
    }
  }
  json_t *envj = json_object();
  const struct dsl_node *e = s ? dsl_map_get(s, "environment") : NULL;
  for (size_t i = 0; e && e->type == DSL_MAP && i < e->u.map.n; i++) {
    const struct dsl_node *v = e->u.map.pairs[i].value;
    json_object_set_new(envj, e->u.map.pairs[i].key,
                        json_string(v->type == DSL_STR ? v->u.str.s : v->text));
  }
  const char *fw = awst_spec_str(s, "framework");
  const char *ep = awst_spec_str(s, "entry_point");
  bool has_dir = awst_spec_str(s, "source_dir") != NULL;
  enum awst_code mode = awst_code_mode(fw, awst_spec_str(s, "framework_version"), ep, has_dir);
  const char *name = pkg->model_name ? pkg->model_name : pkg->group;
  script_env(envj, env, fw, mode, ep, has_dir, name);
  json_t *c = json_pack("{s:s, s:o}", "Image", image, "Environment", envj);
  if (pkg->model_data) {
    char *data = mode == AWST_CODE_REPACK ? awst_repack_uri(env->default_bucket, name)
                                          : smf_xstrdup(pkg->model_data);
    json_object_set_new(c, "ModelDataUrl", json_string(data));
    free(data);
  }
  // The framework models' register passes framework=NAME.upper() (HuggingFace's
  // comes from its image, and is not sent here).
  static const char *const named[] = {"sklearn", "xgboost", "pytorch", "tensorflow", "mxnet"};
  for (size_t i = 0; fw && i < SMF_ARRAY_LEN(named); i++) {
    if (strcmp(fw, named[i]) == 0) {
      char up[16];
      size_t n = 0;
      for (; fw[n] && n + 1 < sizeof(up); n++) {
        up[n] = (char)(fw[n] >= 'a' && fw[n] <= 'z' ? fw[n] - 'a' + 'A' : fw[n]);
      }
      up[n] = '\0';
      json_object_set_new(c, "Framework", json_string(up));
    }
  }
  free(image);
  return c;
}

int awst_model_package_request(const struct awst_env *env, const struct target_model_package *pkg,
                               json_t **out, struct smf_error *err)
{
  *out = NULL;
  json_t *c = pkg_container(env, pkg, err);
  if (c == NULL) {
    err->klass = SMF_CLASS_CLIENT;
    return err->code ? err->code : SMF_EINVAL;
  }
  json_t *inf = json_pack("{s:[o]}", "Containers", c);
  const char *keys[][2] = {{"content_types", "SupportedContentTypes"},
                           {"response_types", "SupportedResponseMIMETypes"},
                           {"inference_instances", "SupportedRealtimeInferenceInstanceTypes"},
                           {"transform_instances", "SupportedTransformInstanceTypes"}};
  for (size_t i = 0; i < SMF_ARRAY_LEN(keys); i++) {
    json_t *l = strlist(pkg->spec, keys[i][0]);
    if (l) {
      json_object_set_new(inf, keys[i][1], l);
    }
  }
  json_t *body = json_pack(
      "{s:s, s:o, s:b, s:s, s:s}", "ModelPackageGroupName", pkg->group, "InferenceSpecification",
      inf, "CertifyForMarketplace", 0, "ModelApprovalStatus",
      pkg->approval ? pkg->approval : "PendingManualApproval", "SkipModelValidation", "None");
  if (pkg->description) {
    json_object_set_new(body, "ModelPackageDescription", json_string(pkg->description));
  }
  if (pkg->metrics_uri) {
    // ModelMetrics._to_request_dict always adds (empty) Bias and Explainability.
    json_object_set_new(
        body, "ModelMetrics",
        json_pack("{s:{s:{s:s, s:s}}, s:{}, s:{}}", "ModelQuality", "Statistics", "ContentType",
                  "application/json", "S3Uri", pkg->metrics_uri, "Bias", "Explainability"));
  }
  if (pkg->n_metadata) {
    json_object_set_new(body, "CustomerMetadataProperties",
                        kv_object(pkg->metadata, pkg->n_metadata));
  }
  // The idempotency token botocore fills in with a random UUID; here the
  // body's fingerprint, so a retried attempt (same run, step and attempt in
  // the metadata) cannot register a second version.
  char *token = awst_fingerprint(body);
  json_object_set_new(body, "ClientToken", json_string(token));
  free(token);
  *out = body;
  return 0;
}

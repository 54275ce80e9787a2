// request_training.c: the CreateTrainingJob request exactly as the SageMaker
// Python SDK v2 (2.257) builds it for the same Script Mode estimator:
// session._get_train_request over _TrainingJob._get_train_args, with the
// Framework estimators' hyperparameters(), _distribution_configuration,
// TensorFlow's model_dir, and the Debugger/Profiler defaults of
// _prepare_debugger_for_training / _prepare_profiler_for_training (see
// docs/aws-target.md for the parity table and the places of doubt).
#include <stdlib.h>
#include <string.h>

#include "smflow/hash.h"
#include "smflow/util.h"
#include "target/aws/awst.h"
#include "target/pyjson.h"

// fw_utils.DEBUGGER_UNSUPPORTED_REGIONS (= PROFILER_UNSUPPORTED_REGIONS in 2.257).
static const char *const rt_no_debugger_regions[] = {
    "us-iso-east-1", "us-isob-east-1", "ap-southeast-3", "ap-southeast-4", "eu-south-2",
    "me-central-1",  "ap-south-2",     "eu-central-2",   "us-gov-east-1",
};

const char *awst_spec_str(const struct dsl_node *spec, const char *key)
{
  const struct dsl_node *n = spec ? dsl_map_get(spec, key) : NULL;
  if (n == NULL || n->type == DSL_NULL) {
    return NULL;
  }
  return n->type == DSL_STR ? n->u.str.s : n->text;
}

int awst_s3_split(const char *uri, char **bucket, char **key, struct smf_error *err)
{
  *bucket = *key = NULL;
  if (uri == NULL || !smf_str_startswith(uri, "s3://") || uri[5] == '/' || uri[5] == '\0') {
    return SMF_ERR_SET(err, SMF_EINVAL, "not an S3 URI (s3://BUCKET/KEY): %s",
                       uri ? uri : "(none)");
  }
  size_t n = strcspn(uri + 5, "/");
  *bucket = smf_xstrndup(uri + 5, n);
  *key = smf_xstrdup(uri[5 + n] ? uri + 6 + n : "");
  return 0;
}

static bool rt_region_listed(const char *region)
{
  for (size_t i = 0; i < SMF_ARRAY_LEN(rt_no_debugger_regions); i++) {
    if (strcmp(region, rt_no_debugger_regions[i]) == 0) {
      return false;
    }
  }
  return true;
}

// Version(a) >= Version(b) on dotted numbers ("2.13" >= "1.15").
static bool rt_version_ge(const char *a, const char *b)
{
  while (*a || *b) {
    long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);
    if (x != y) {
      return x > y;
    }
    a += *a == '.';
    b += *b == '.';
    if ((*a && (*a < '0' || *a > '9')) || (*b && (*b < '0' || *b > '9'))) {
      break;
    }
  }
  return true;
}

// EstimatorBase.CONTAINER_CODE_CHANNEL_SOURCEDIR_PATH.
#define RT_CODE_CHANNEL_PATH "/opt/ml/input/data/code/sourcedir.tar.gz"

// Network isolation with an entry point: the SDK passes the code as a channel.
static bool rt_isolated(const struct target_training_job *job)
{
  return job->spec && dsl_map_bool(job->spec, "enable_network_isolation", false) &&
         job->entry_point && job->submit_dir_uri;
}

static bool rt_enabled(const struct dsl_node *dist, const char *key)
{
  const struct dsl_node *d = dsl_map_get(dist, key);
  return d && d->type == DSL_MAP && dsl_map_bool(d, "enabled", false);
}

// HyperParameters: the user's values, sagemaker_* and the framework's keys.
static int rt_hyperparameters(const struct target_training_job *job, const char *region,
                              json_t *body, struct smf_error *err)
{
  json_t *hps = json_object();
  if (job->entry_point) {
    struct target_hps enc;
    struct target_training_job j2 = *job;
    if (rt_isolated(job)) {  // the code comes in through the `code` channel
      j2.submit_dir_uri = RT_CODE_CHANNEL_PATH;
    }
    int rc = target_hps_encode(&j2, region, &enc, err);
    if (rc != 0) {
      json_decref(hps);
      return rc;
    }
    for (size_t i = 0; i < enc.n; i++) {
      json_object_set_new(hps, enc.items[i].name, json_string(enc.items[i].json));
    }
    target_hps_free(&enc);
  } else if (job->hyperparameters && job->hyperparameters->type == DSL_MAP) {
    // The generic Estimator without code keeps the values and sends str(v).
    for (size_t i = 0; i < job->hyperparameters->u.map.n; i++) {
      const struct dsl_pair *p = &job->hyperparameters->u.map.pairs[i];
      json_t *v = target_node_to_json(p->value);
      struct smf_buf b = {0};
      target_py_str(v, &b);
      json_object_set_new(hps, p->key, json_string(smf_buf_cstr(&b)));
      smf_buf_free(&b);
      json_decref(v);
    }
  }
  // The distribution keys and TensorFlow's model_dir come in through
  // job->framework_hyperparameters (src/steps/fit_dist.c), encoded above with the
  // user's values: one rule for both targets.
  if (json_object_size(hps) > 0) {
    json_object_set_new(body, "HyperParameters", hps);
  } else {
    json_decref(hps);
  }
  return 0;
}

static json_t *rt_channels(const struct target_training_job *job, struct smf_error *err)
{
  json_t *arr = json_array();
  for (size_t i = 0; i < job->n_channels; i++) {
    const struct target_channel *c = &job->channels[i];
    bool local = c->uri && (c->uri[0] == '/' || smf_str_startswith(c->uri, "file://"));
    if (c->uri == NULL || !(smf_str_startswith(c->uri, "s3://") || local)) {
      SMF_ERR_SET(err, SMF_EINVAL, "channel '%s': expected an s3:// URI or a local path, got %s",
                  c->name, c->uri ? c->uri : "(none)");
      err->klass = SMF_CLASS_CLIENT;
      json_decref(arr);
      return NULL;
    }
    json_t *s3 = json_pack(
        "{s:s, s:s, s:s}", "S3DataType", c->s3_data_type ? c->s3_data_type : "S3Prefix", "S3Uri",
        c->uri, "S3DataDistributionType", c->distribution ? c->distribution : "FullyReplicated");
    json_t *ch =
        json_pack("{s:s, s:{s:o}}", "ChannelName", c->name, "DataSource", "S3DataSource", s3);
    if (c->compression) {
      json_object_set_new(ch, "CompressionType", json_string(c->compression));
    }
    if (c->content_type) {
      json_object_set_new(ch, "ContentType", json_string(c->content_type));
    }
    if (c->input_mode) {
      json_object_set_new(ch, "InputMode", json_string(c->input_mode));
    }
    json_array_append_new(arr, ch);
  }
  if (rt_isolated(job)) {  // _Job._load_config's code channel, a plain TrainingInput
    json_array_append_new(
        arr, json_pack("{s:s, s:{s:{s:s, s:s, s:s}}}", "ChannelName", "code", "DataSource",
                       "S3DataSource", "S3DataType", "S3Prefix", "S3Uri", job->submit_dir_uri,
                       "S3DataDistributionType", "FullyReplicated"));
  }
  return arr;
}

json_t *awst_tags(const struct target_kv *kv, size_t n, const char *fp)
{
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    json_array_append_new(
        arr, json_pack("{s:s, s:s}", "Key", kv[i].key, "Value", kv[i].value ? kv[i].value : ""));
  }
  if (fp) {
    json_array_append_new(arr, json_pack("{s:s, s:s}", "Key", "smflow:fingerprint", "Value", fp));
  }
  return arr;
}

char *awst_fingerprint(const json_t *body)
{
  json_t *copy = json_deep_copy(body);
  json_object_del(copy, "Tags");
  char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
  char hex[SMF_HASH_HEX_SIZE];
  smf_hash_hex(SMF_HASH_SHA256, text, strlen(text), hex);
  free(text);
  json_decref(copy);
  return smf_xstrndup(hex, 32);
}

static bool rt_spot(const struct dsl_node *spec, int64_t *max_wait_s)
{
  const struct dsl_node *spot = spec ? dsl_map_get(spec, "spot") : NULL;
  *max_wait_s = 0;
  if (spot == NULL || spot->type != DSL_MAP || !dsl_map_bool(spot, "enabled", true)) {
    return false;
  }
  const struct dsl_node *mw = dsl_map_get(spot, "max_wait");
  int64_t ms = 0;
  if (mw && mw->type == DSL_INT) {
    ms = mw->u.i * 1000;
  } else if (mw && mw->type == DSL_STR) {
    smf_duration_parse(mw->u.str.s, &ms);
  }
  *max_wait_s = ms / 1000;
  return true;
}

static json_t *rt_strlist(const struct dsl_node *seq)
{
  json_t *a = json_array();
  for (size_t i = 0; seq && seq->type == DSL_SEQ && i < seq->u.seq.n; i++) {
    const struct dsl_node *n = seq->u.seq.items[i];
    json_array_append_new(a, json_string(n->type == DSL_STR ? n->u.str.s : n->text));
  }
  return a;
}

// VpcConfig, network isolation, encryption, spot, checkpoints.
static void rt_security(const struct target_training_job *job, json_t *body, json_t *stop)
{
  const struct dsl_node *s = job->spec;
  const struct dsl_node *sub = s ? dsl_map_get(s, "subnets") : NULL;
  const struct dsl_node *sg = s ? dsl_map_get(s, "security_group_ids") : NULL;
  if (sub && sg && sub->type == DSL_SEQ && sg->type == DSL_SEQ && sub->u.seq.n && sg->u.seq.n) {
    json_object_set_new(
        body, "VpcConfig",
        json_pack("{s:o, s:o}", "Subnets", rt_strlist(sub), "SecurityGroupIds", rt_strlist(sg)));
  }
  if (s && dsl_map_bool(s, "enable_network_isolation", false)) {
    json_object_set_new(body, "EnableNetworkIsolation", json_true());
  }
  if (s && dsl_map_bool(s, "encrypt_inter_container_traffic", false)) {
    json_object_set_new(body, "EnableInterContainerTrafficEncryption", json_true());
  }
  int64_t max_wait = 0;
  if (rt_spot(s, &max_wait)) {
    json_object_set_new(body, "EnableManagedSpotTraining", json_true());
    if (max_wait > 0) {
      json_object_set_new(stop, "MaxWaitTimeInSeconds", json_integer(max_wait));
    }
  }
  if (job->checkpoint_s3_uri) {
    json_t *cc = json_pack("{s:s}", "S3Uri", job->checkpoint_s3_uri);
    if (job->checkpoint_local_path) {
      json_object_set_new(cc, "LocalPath", json_string(job->checkpoint_local_path));
    }
    json_object_set_new(body, "CheckpointConfig", cc);
  }
}

// DebugHookConfig and ProfilerConfig with the SDK's defaults and exceptions.
static void rt_debugger(const struct awst_env *env, const struct target_training_job *job,
                        const char *fw, json_t *body)
{
  const struct dsl_node *s = job->spec;
  bool debugger = !(s && !dsl_map_bool(s, "debugger", true)) && rt_region_listed(env->region);
  bool is_dl = fw && (strcmp(fw, "pytorch") == 0 || strcmp(fw, "tensorflow") == 0);
  if (debugger && is_dl && job->checkpoint_s3_uri && job->checkpoint_local_path) {
    debugger = false;  // Framework: SMDebug does not support checkpointing + distribution ({})
  }
  const struct dsl_node *dist = s ? dsl_map_get(s, "distribution") : NULL;
  if (debugger && fw && strcmp(fw, "tensorflow") == 0 && dist &&
      rt_enabled(dist, "parameter_server")) {
    debugger = false;
  }
  if (debugger) {
    json_object_set_new(
        body, "DebugHookConfig",
        json_pack("{s:s, s:[]}", "S3OutputPath", job->output_path, "CollectionConfigurations"));
  }
  const char *itype = job->resources.instance_type;
  bool trn = itype && smf_str_startswith(itype, "ml.trn");
  bool profiler =
      !(s && !dsl_map_bool(s, "profiler", true)) && rt_region_listed(env->region) && !trn;
  json_object_set_new(
      body, "ProfilerConfig",
      profiler ? json_pack("{s:s, s:b}", "S3OutputPath", job->output_path, "DisableProfiler", 0)
               : json_pack("{s:b}", "DisableProfiler", 1));
}

static json_t *rt_algorithm(const struct target_training_job *job, const char *fw,
                            const char *image)
{
  json_t *alg = json_pack("{s:s, s:s}", "TrainingInputMode",
                          job->input_mode ? job->input_mode : "File", "TrainingImage", image);
  if (job->n_metric_definitions) {
    json_t *md = json_array();
    for (size_t i = 0; i < job->n_metric_definitions; i++) {
      json_array_append_new(md, json_pack("{s:s, s:s}", "Name", job->metric_definitions[i].name,
                                          "Regex", job->metric_definitions[i].regex));
    }
    json_object_set_new(alg, "MetricDefinitions", md);
  }
  const char *v = awst_spec_str(job->spec, "framework_version");
  bool metrics = fw && v &&
                 ((strcmp(fw, "pytorch") == 0 && rt_version_ge(v, "1.3")) ||
                  (strcmp(fw, "tensorflow") == 0 && rt_version_ge(v, "1.15")));
  if (metrics) {
    json_object_set_new(alg, "EnableSageMakerMetricsTimeSeries", json_true());
  }
  return alg;
}

// The image: image_uri as given, else image_uris.retrieve for training.
static int rt_image(const struct awst_env *env, const struct target_training_job *job,
                    const char *fw, char **out, struct smf_error *err)
{
  if (job->image_uri) {
    *out = smf_xstrdup(job->image_uri);
    return 0;
  }
  const struct dsl_node *dist = job->spec ? dsl_map_get(job->spec, "distribution") : NULL;
  int rc = awst_image_uri(env->share_dir, fw, awst_spec_str(job->spec, "framework_version"),
                          awst_spec_str(job->spec, "py_version"), job->resources.instance_type,
                          env->region, AWST_SCOPE_TRAINING,
                          dist && dsl_map_get(dist, "smdistributed") != NULL, out, err);
  if (rc != 0) {
    err->klass = SMF_CLASS_CLIENT;
  }
  return rc;
}

static json_t *rt_resources(const struct target_training_job *job)
{
  const struct target_resources *r = &job->resources;
  json_t *rc =
      json_pack("{s:i, s:i, s:s}", "VolumeSizeInGB", r->volume_size_gb > 0 ? r->volume_size_gb : 30,
                "InstanceCount", r->instance_count > 0 ? r->instance_count : 1, "InstanceType",
                r->instance_type ? r->instance_type : "ml.m5.large");
  const char *vk = awst_spec_str(job->spec, "volume_kms_key");
  if (vk) {
    json_object_set_new(rc, "VolumeKmsKeyId", json_string(vk));
  }
  return rc;
}

int awst_training_request(const struct awst_env *env, const struct target_training_job *job,
                          json_t **out, char **image_out, struct smf_error *err)
{
  *out = NULL;
  const char *fw = awst_spec_str(job->spec, "framework");
  const char *role = job->role_arn ? job->role_arn : env->role;
  if (role == NULL) {
    SMF_ERR_SET(err, SMF_EINVAL,
                "the aws target needs an execution role: set `role:` in the "
                "pipeline");
    err->klass = SMF_CLASS_CLIENT;
    return SMF_EINVAL;
  }
  char *image = NULL;
  int rc = rt_image(env, job, fw, &image, err);
  if (rc != 0) {
    return rc;
  }
  json_t *body = json_object();
  json_object_set_new(body, "TrainingJobName", json_string(job->job_name));
  json_object_set_new(body, "AlgorithmSpecification", rt_algorithm(job, fw, image));
  json_object_set_new(body, "RoleArn", json_string(role));
  json_t *odc = json_pack("{s:s}", "S3OutputPath", job->output_path);
  if (job->output_kms_key) {
    json_object_set_new(odc, "KmsKeyId", json_string(job->output_kms_key));
  }
  json_object_set_new(body, "OutputDataConfig", odc);
  json_object_set_new(body, "ResourceConfig", rt_resources(job));
  int64_t max_run = job->resources.max_run_ms > 0 ? job->resources.max_run_ms / 1000 : 86400;
  json_t *stop = json_pack("{s:I}", "MaxRuntimeInSeconds", (json_int_t)max_run);
  json_object_set_new(body, "StoppingCondition", stop);
  if (job->n_channels || rt_isolated(job)) {
    json_t *ch = rt_channels(job, err);
    if (ch == NULL) {
      goto fail;
    }
    json_object_set_new(body, "InputDataConfig", ch);
  }
  if ((rc = rt_hyperparameters(job, env->region, body, err)) != 0) {
    goto fail;
  }
  if (job->n_environment) {
    json_t *e = json_object();
    for (size_t i = 0; i < job->n_environment; i++) {
      json_object_set_new(e, job->environment[i].key, json_string(job->environment[i].value));
    }
    json_object_set_new(body, "Environment", e);
  }
  rt_security(job, body, stop);
  rt_debugger(env, job, fw, body);
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
fail:
  json_decref(body);
  free(image);
  return err->code ? err->code : SMF_EINVAL;
}

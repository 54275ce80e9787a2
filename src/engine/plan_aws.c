// plan_aws.c: real aws request bodies for `smflow plan`.
//
// The step kind describes the job (attempt 1) from a step_ctx that has no
// loop, state or target connection: the run id and account are unique sentinel words of the
// same length as the real values (so job names are cut exactly as in a run),
// replaced by ${run.id} / ${aws.account_id} / ${aws.default_bucket} in the
// finished body. The aws request builder then makes the body it would send.
#include "engine/plan_aws.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "smflow/aws.h"
#include "steps/common.h"
#include "steps/kinds.h"
#include "target/aws/awst.h"

// Same length as a run id (YYYYMMDD-HHMMSS-xxxx) and an account id (12 digits).
#define PA_RUN_WORD "SMFPLANRUNIDWORDXXXX"
#define PA_ACCOUNT_WORD PLAN_AWS_ACCOUNT_WORD

struct pa_sub {
  const char *from, *to;
};

static char *pa_replace(const char *s, const struct pa_sub *subs, size_t n)
{
  struct smf_buf b = SMF_BUF_INIT;
  while (*s) {
    size_t i = 0;
    while (i < n && strncmp(s, subs[i].from, strlen(subs[i].from)) != 0) {
      i++;
    }
    if (i < n) {
      smf_buf_puts(&b, subs[i].to);
      s += strlen(subs[i].from);
    } else {
      smf_buf_append(&b, s++, 1);
    }
  }
  char *out = smf_xstrdup(smf_buf_cstr(&b));
  smf_buf_free(&b);
  return out;
}

// Every string (and object key) of j with the sentinels replaced.
static json_t *pa_placeholders(json_t *j, const struct pa_sub *subs, size_t n)
{
  if (json_is_string(j)) {
    char *s = pa_replace(json_string_value(j), subs, n);
    json_t *out = json_string(s);
    free(s);
    return out;
  }
  if (json_is_array(j)) {
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v)
    {
      json_array_append_new(out, pa_placeholders(v, subs, n));
    }
    return out;
  }
  if (json_is_object(j)) {
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
      char *key = pa_replace(k, subs, n);
      json_object_set_new(out, key, pa_placeholders(v, subs, n));
      free(key);
    }
    return out;
  }
  return json_incref(j);
}

static json_t *pa_find(json_t *requests, const char *op)
{
  size_t i;
  json_t *r;
  json_array_foreach(requests, i, r)
  {
    if (strcmp(json_string_value(json_object_get(r, "operation")), op) == 0) {
      return r;
    }
  }
  return NULL;
}

void plan_aws_region(const struct dsl_pipeline *p, char *out, size_t n)
{
  struct aws_shared_config *sc = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  if (p->region && *p->region) {
    snprintf(out, n, "%s", p->region);
    return;
  }
  if (aws_shared_config_load(NULL, &sc, &err) != 0 || aws_region_resolve(sc, out, n, &err) != 0) {
    snprintf(out, n, "us-east-1");
  }
  aws_shared_config_free(sc);
}

// The PutObject of the packed code: where it goes and what is packed.
static void pa_code_body(json_t *req, const char *code_uri)
{
  char *bucket = NULL, *key = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  json_t *old = json_object_get(req, "body");
  if (req == NULL || code_uri == NULL || awst_s3_split(code_uri, &bucket, &key, &err) != 0) {
    return;
  }
  json_object_set_new(req, "body",
                      json_pack("{s:s, s:s, s:O?, s:O?}", "Bucket", bucket, "Key", key,
                                "source_dir", json_object_get(old, "source_dir"), "entry_point",
                                json_object_get(old, "entry_point")));
  free(bucket);
  free(key);
}

// Every request's body with the sentinels as placeholders.
static void pa_all(json_t *requests, const struct pa_sub *subs, size_t n)
{
  size_t i;
  json_t *r;
  json_array_foreach(requests, i, r)
  {
    json_object_set_new(r, "body", pa_placeholders(json_object_get(r, "body"), subs, n));
  }
}

// The built body with the sentinels as placeholders, in place of the request's.
static void pa_set_body(json_t *req, json_t *body, const struct pa_sub *subs, size_t n)
{
  json_t *tags = json_object_get(body, "Tags");
  size_t i;
  json_t *tag;
  json_array_foreach(tags, i, tag)
  {
    const char *k = json_string_value(json_object_get(tag, "Key"));
    if (k && strcmp(k, "smflow:fingerprint") == 0) {
      json_object_set_new(tag, "Value", json_string(PLAN_AWS_FINGERPRINT));
    }
  }
  if (json_object_get(body, "ClientToken")) {  // CreateModelPackage: the body's fingerprint
    json_object_set_new(body, "ClientToken", json_string(PLAN_AWS_FINGERPRINT));
  }
  json_object_set_new(req, "body", pa_placeholders(body, subs, n));
}

// Build the body of a fit, evaluate or register step's main request (*op);
// *code_uri: where its code goes.
static int pa_build(const struct awst_env *env, struct step_ctx *ctx, json_t **body,
                    const char **op, const char **code_uri, struct smf_error *err)
{
  if (ctx->def->kind == DSL_KIND_FIT) {
    struct target_training_job job;
    step_fit_plan(ctx, ctx->target, &job);
    *code_uri = job.submit_dir_uri;
    *op = "CreateTrainingJob";
    return awst_training_request(env, &job, body, NULL, err);
  }
  if (ctx->def->kind == DSL_KIND_REGISTER) {
    struct target_model_package pkg;
    step_register_plan(ctx, &pkg);
    *op = "CreateModelPackage";
    return awst_model_package_request(env, &pkg, body, err);
  }
  struct target_processing_job job;
  step_evaluate_plan(ctx, &job);
  *code_uri = job.code_uri;
  *op = "CreateProcessingJob";
  return awst_processing_request(env, &job, body, NULL, err);
}

// register: CreateModelPackageGroup as the registry sends it (no description).
static void pa_group(json_t *requests, const struct dsl_node *spec)
{
  json_t *req = pa_find(requests, "CreateModelPackageGroup");
  if (req) {
    json_object_set_new(
        req, "body",
        json_pack("{s:s}", "ModelPackageGroupName", dsl_map_str(spec, "model_package_group", "")));
  }
}

// deploy: CreateModel (the model's data where the model class puts it, or the
// model_package's ARN: as written, `${steps.ID.arn}`, or for GROUP/VERSION the
// ARN that version has), CreateEndpointConfig, CreateEndpoint.
static int pa_deploy(const struct awst_env *env, struct step_ctx *ctx, json_t *requests,
                     struct smf_error *err)
{
  struct target_endpoint_spec sp;
  step_deploy_plan(ctx, &sp);
  const char *ref = dsl_map_str(ctx->spec, "model_package", NULL);
  char *arn = NULL;
  if (ref && !smf_str_startswith(ref, "arn:") && strstr(ref, "${") == NULL) {
    arn = smf_xasprintf("arn:%s:sagemaker:%s:%s:model-package/%s", aws_partition_of(env->region),
                        env->region, env->account, ref);
  }
  sp.model_package_arn = arn ? arn : ref;
  json_t *model = NULL;
  int rc = awst_model_request(env, &sp, &model, err);
  free(arn);
  if (rc != 0) {
    return rc;
  }
  json_t *config = awst_endpoint_config_request(&sp);
  json_t *bodies[3] = {model, config,
                       awst_endpoint_request(sp.endpoint, sp.config_name, config)};
  static const char *const ops[3] = {"CreateModel", "CreateEndpointConfig", "CreateEndpoint"};
  for (int i = 0; i < 3; i++) {
    json_t *req = pa_find(requests, ops[i]);
    if (req) {
      json_object_set(req, "body", bodies[i]);
    }
    json_decref(bodies[i]);
  }
  return 0;
}

json_t *plan_aws_placeholders(const struct dsl_pipeline *p, json_t *j)
{
  char region[64];
  plan_aws_region(p, region, sizeof(region));
  char *bucket = smf_xasprintf("sagemaker-%s-%s", region, PA_ACCOUNT_WORD);
  const struct pa_sub subs[] = {{bucket, PLAN_AWS_BUCKET}, {PA_ACCOUNT_WORD, PLAN_AWS_ACCOUNT}};
  json_t *out = pa_placeholders(j, subs, SMF_ARRAY_LEN(subs));
  free(bucket);
  return out;
}

void plan_aws_bodies(struct eng *e, const struct dsl_step *d, const struct dsl_node *spec,
                     json_t *requests)
{
  const struct dsl_pipeline *p = e->p;
  if (spec == NULL || spec->type != DSL_MAP) {
    return;
  }
  bool described = d->kind == DSL_KIND_FIT || d->kind == DSL_KIND_EVALUATE ||
                   d->kind == DSL_KIND_REGISTER || d->kind == DSL_KIND_DEPLOY;
  if (!described) {
    return;
  }
  char region[64];
  plan_aws_region(p, region, sizeof(region));
  char account[] = PA_ACCOUNT_WORD;
  char *role = p->role ? smf_xstrdup(p->role) : NULL;
  struct target t = {.region = region, .account_id = account, .role = role};
  struct step_ctx ctx = {.run_id = PA_RUN_WORD,
                         .step_id = d->id,
                         .attempt = 1,
                         .pipeline_dir = p->dir,
                         .def = d,
                         .spec = spec,
                         .arena = &e->arena,
                         .log_fd = -1,
                         .pipeline_name = p->name,
                         .git_sha = e->git_sha,
                         .target = &t};
  char *bucket = smf_xasprintf("sagemaker-%s-%s", region, PA_ACCOUNT_WORD);
  char *unknown = smf_xasprintf("%s/${", p->dir);
  struct awst_env env = {
      .region = region, .account = PA_ACCOUNT_WORD, .role = role, .default_bucket = bucket};
  const struct pa_sub subs[] = {
      {bucket, PLAN_AWS_BUCKET},
      {PA_ACCOUNT_WORD, PLAN_AWS_ACCOUNT},
      {PA_RUN_WORD, PLAN_AWS_RUN_ID},
      {unknown, "${"},
  };
  json_t *body = NULL;
  const char *code_uri = NULL, *op = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  if (d->kind == DSL_KIND_DEPLOY) {
    if (pa_deploy(&env, &ctx, requests, &err) != 0) {
      json_object_set_new(pa_find(requests, "CreateModel"), "error", json_string(err.message));
    }
    pa_all(requests, subs, SMF_ARRAY_LEN(subs));
  } else if (pa_build(&env, &ctx, &body, &op, &code_uri, &err) != 0) {
    json_object_set_new(pa_find(requests, op), "error", json_string(err.message));
  } else if (pa_find(requests, op)) {
    pa_set_body(pa_find(requests, op), body, subs, SMF_ARRAY_LEN(subs));
  }
  if (d->kind == DSL_KIND_REGISTER) {
    pa_group(requests, spec);
  }
  json_t *code = pa_find(requests, "PutObject");
  if (code) {
    pa_code_body(code, code_uri);
    json_object_set_new(code, "body",
                        pa_placeholders(json_object_get(code, "body"), subs, SMF_ARRAY_LEN(subs)));
  }
  json_decref(body);
  free(bucket);
  free(unknown);
  free(role);
}

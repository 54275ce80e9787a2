// fit.c: the `fit` step kind (SPEC §4): a training job with the SageMaker
// Python SDK's Estimator semantics, described target-neutrally
// (struct target_training_job) and run by the target.
//
// Code: `source` (an upload step's sourcedir URI) is used as it is; otherwise
// source_dir (+ dependencies), or the entry point file alone, is packed
// reproducibly on the thread pool and stored at code_location, by default
// s3://BUCKET-OF-OUTPUT_PATH/JOB_NAME/source/sourcedir.tar.gz, as the SDK does.
// output_path defaults to s3://sagemaker-REGION-000000000000/ (the SDK's default
// bucket with the local target's account).
//
// Job name: BASE-RUNID-STEP-ATTEMPT (see step_job_name), in the attempt's
// intent before anything starts, so that resume re-attaches by name and every
// retry is a new job.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "steps/job.h"
#include "target/aws/awst.h"
#include "steps/kinds.h"
#include "steps/prepack.h"

struct fit {
  struct step_job sj;  // first: freed through it
  struct target_training_job job;
};

// "s3://BUCKET" of an s3 URI (arena), or NULL for other locations.
static const char *fit_bucket_of(struct step_ctx *ctx, const char *uri)
{
  if (!smf_str_startswith(uri, "s3://")) {
    return NULL;
  }
  size_t n = strcspn(uri + 5, "/");
  return smf_arena_printf(ctx->arena, "s3://%.*s", (int)n, uri + 5);
}

static const char *fit_output_path(struct step_ctx *ctx)
{
  const char *p = dsl_map_str(ctx->spec, "output_path", NULL);
  return p ? step_path(ctx, p) : step_default_bucket_uri(ctx);
}

static const char *fit_code_uri(struct step_ctx *ctx, const char *job_name)
{
  const char *loc = dsl_map_str(ctx->spec, "code_location", NULL);
  if (loc) {
    loc = step_path(ctx, loc);
    size_t n = strlen(loc);
    return smf_arena_printf(ctx->arena, "%.*s/%s/source/sourcedir.tar.gz",
                            (int)(n && loc[n - 1] == '/' ? n - 1 : n), loc, job_name);
  }
  const char *out = fit_output_path(ctx);
  const char *bucket = fit_bucket_of(ctx, out);
  if (bucket == NULL) {  // a path: beside the output
    size_t n = strlen(out);
    bucket = smf_arena_strndup(ctx->arena, out, n && out[n - 1] == '/' ? n - 1 : n);
  }
  return smf_arena_printf(ctx->arena, "%s/%s/source/sourcedir.tar.gz", bucket, job_name);
}

// `inputs`: a URI (the channel `training`) or a map channel → URI | {uri, ...}.
static void fit_channels(struct step_ctx *ctx, struct target_training_job *j)
{
  const struct dsl_node *in = dsl_map_get(ctx->spec, "inputs");
  if (in == NULL) {
    return;
  }
  size_t n = in->type == DSL_MAP ? in->u.map.n : 1;
  struct target_channel *ch = smf_arena_alloc(ctx->arena, (n + 1) * sizeof(*ch));
  if (in->type != DSL_MAP) {
    ch[0] =
        (struct target_channel){.name = "training", .uri = step_path(ctx, step_scalar(ctx, in))};
  }
  for (size_t i = 0; in->type == DSL_MAP && i < n; i++) {
    const struct dsl_node *v = in->u.map.pairs[i].value;
    ch[i].name = in->u.map.pairs[i].key;
    if (v->type != DSL_MAP) {
      ch[i].uri = step_path(ctx, step_scalar(ctx, v));
      continue;
    }
    ch[i].uri = step_path(ctx, dsl_map_str(v, "uri", NULL));
    ch[i].input_mode = dsl_map_str(v, "input_mode", NULL);
    ch[i].content_type = dsl_map_str(v, "content_type", NULL);
    ch[i].compression = dsl_map_str(v, "compression", NULL);
    ch[i].distribution = dsl_map_str(v, "distribution", NULL);
    ch[i].s3_data_type = dsl_map_str(v, "s3_data_type", NULL);
  }
  j->channels = ch;
  j->n_channels = n;
}

static void fit_metric_defs(struct step_ctx *ctx, struct target_training_job *j)
{
  const struct dsl_node *md = dsl_map_get(ctx->spec, "metric_definitions");
  size_t n = md && md->type == DSL_SEQ ? md->u.seq.n : 0;
  struct target_metric_def *d = smf_arena_alloc(ctx->arena, (n + 1) * sizeof(*d));
  for (size_t i = 0; i < n; i++) {
    d[i].name = dsl_map_str(md->u.seq.items[i], "name", "");
    d[i].regex = dsl_map_str(md->u.seq.items[i], "regex", "");
  }
  j->metric_definitions = d;
  j->n_metric_definitions = n;
}

// The user's tags plus smflow's bookkeeping tags (reserved prefix smflow:).
static void fit_tags(struct step_ctx *ctx, const struct dsl_node *tags,
                     const struct target_kv **out, size_t *n_out)
{
  size_t n = 0;
  struct target_kv *user = step_kvs(ctx, tags, &n);
  struct target_kv *kv = smf_arena_alloc(ctx->arena, (n + 4) * sizeof(*kv));
  memcpy(kv, user, n * sizeof(*kv));
  kv[n++] = (struct target_kv){"smflow:run-id", ctx->run_id};
  kv[n++] = (struct target_kv){"smflow:step", ctx->step_id};
  kv[n++] = (struct target_kv){"smflow:attempt", smf_arena_printf(ctx->arena, "%d", ctx->attempt)};
  *out = kv;
  *n_out = n;
}

/// image_uri, else the framework's training image as the SDK's
/// image_uris.retrieve resolves it (offline, the aws target's tables), so that
/// the output image_uri is there on every target; NULL when not resolvable
/// (the local target does not need an image).
static const char *fit_image_uri(struct step_ctx *ctx, const struct target *t,
                                 const struct dsl_node *s)
{
  const char *given = dsl_map_str(s, "image_uri", NULL);
  const char *fw = dsl_map_str(s, "framework", NULL);
  if (given || fw == NULL) {
    return given;
  }
  const struct dsl_node *dist = dsl_map_get(s, "distribution");
  char *uri = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  if (awst_image_uri(NULL, fw, dsl_map_str(s, "framework_version", NULL),
                     dsl_map_str(s, "py_version", NULL), dsl_map_str(s, "instance_type", NULL),
                     t->region, AWST_SCOPE_TRAINING, dsl_map_get(dist, "smdistributed") != NULL,
                     &uri, &err) != 0) {
    return NULL;
  }
  const char *out = smf_arena_strdup(ctx->arena, uri);
  free(uri);
  return out;
}

/// The job description of this attempt (everything in ctx->arena).
static void fit_describe(struct step_ctx *ctx, struct target *t, const char *job_name,
                         const char *code_uri, struct target_training_job *j)
{
  const struct dsl_node *s = ctx->spec;
  memset(j, 0, sizeof(*j));
  j->job_name = job_name;
  j->image_uri = fit_image_uri(ctx, t, s);
  // Without source_dir (or source) only the entry point file is packed, at the
  // archive's root: sagemaker_program is its basename, as the SDK sets it.
  const char *ep = dsl_map_str(s, "entry_point", NULL);
  const char *slash =
      ep && !dsl_map_get(s, "source_dir") && !dsl_map_get(s, "source") ? strrchr(ep, '/') : NULL;
  j->entry_point = slash ? slash + 1 : ep;
  j->submit_dir_uri = code_uri;
  j->command = step_argv(ctx, dsl_map_get(s, "command"), &j->n_command);
  j->hyperparameters = dsl_map_get(s, "hyperparameters");
  j->region = t->region;
  j->input_mode = dsl_map_str(s, "input_mode", NULL);
  fit_channels(ctx, j);
  j->output_path = fit_output_path(ctx);
  j->framework_hyperparameters = step_fit_framework_hps(ctx, s, j->output_path, job_name);
  j->output_kms_key = dsl_map_str(s, "output_kms_key", NULL);
  j->checkpoint_s3_uri = dsl_map_str(s, "checkpoint_s3_uri", NULL);
  j->checkpoint_local_path = dsl_map_str(s, "checkpoint_local_path", NULL);
  j->resources.instance_type = dsl_map_str(s, "instance_type", NULL);
  j->resources.instance_count = (int)dsl_map_int(s, "instance_count", 1);
  j->resources.volume_size_gb = (int)dsl_map_int(s, "volume_size", 0);
  const struct dsl_node *mr = dsl_map_get(s, "max_run");
  int64_t ms = 0;
  if (mr && mr->type == DSL_INT) {
    ms = mr->u.i * 1000;
  } else if (mr && mr->type == DSL_STR && smf_duration_parse(mr->u.str.s, &ms) != 0) {
    ms = 0;
  }
  j->resources.max_run_ms = ms;
  j->environment = step_kvs(ctx, dsl_map_get(s, "environment"), &j->n_environment);
  fit_tags(ctx, dsl_map_get(s, "tags"), &j->tags, &j->n_tags);
  fit_metric_defs(ctx, j);
  j->spec = s;
}

static struct dsl_node *fit_outputs(struct step_job *sj, const struct target_job_result *r)
{
  struct step_ctx *ctx = sj->ctx;
  struct dsl_node *out = dsl_node_new(ctx->arena, DSL_MAP);
  step_out_str(ctx, out, "job_name", r->job_name ? r->job_name : sj->job_name);
  step_out_str(ctx, out, "job_arn", r->job_arn);
  step_out_str(ctx, out, "model_data", r->model_data);
  step_out_str(ctx, out, "output_data", r->output_data);
  // Every output SPEC names is present: with neither image_uri nor a resolvable
  // framework the local target runs `command` without an image, so "".
  step_out_str(ctx, out, "image_uri", r->image_uri ? r->image_uri : "");
  dsl_map_set(ctx->arena, out, "metrics", step_job_metrics(ctx, r));
  step_out_str(ctx, out, "status", target_job_status_name(r->status));
  dsl_map_set(ctx->arena, out, "billable_seconds", dsl_node_int(ctx->arena, r->billable_seconds));
  return out;
}

static char *fit_intent(struct step_ctx *ctx)
{
  return step_job_intent(ctx, step_job_name(ctx, step_job_base(ctx)));
}

static struct fit *fit_new(struct step_ctx *ctx, struct target *t, const char *job_name,
                           const char *code_uri)
{
  struct fit *f = smf_xcalloc(1, sizeof(*f));
  step_job_init(&f->sj, ctx, t, false);
  f->sj.job_name = job_name;
  f->sj.code_uri = code_uri;
  f->sj.outputs = fit_outputs;
  fit_describe(ctx, t, job_name, code_uri, &f->job);
  f->sj.desc = &f->job;
  return f;
}

// Where the attempt's code is: `source` as it is, the packed code's location
// when there is an entry point, else NULL (the image's own command).
static const char *fit_code_of(struct step_ctx *ctx, const char *job_name)
{
  const char *source = dsl_map_str(ctx->spec, "source", NULL);
  if (source) {
    return step_path(ctx, source);
  }
  return dsl_map_get(ctx->spec, "entry_point") ? fit_code_uri(ctx, job_name) : NULL;
}

void step_fit_plan(struct step_ctx *ctx, struct target *t, struct target_training_job *j)
{
  const char *name = step_job_name(ctx, step_job_base(ctx));
  fit_describe(ctx, t, name, fit_code_of(ctx, name), j);
}

static int fit_start(struct step_ctx *ctx, struct smf_error *err)
{
  struct target *t = step_target(ctx, err);
  if (t == NULL) {
    return err->code;
  }
  const char *name = step_job_name(ctx, step_job_base(ctx));
  const char *source = dsl_map_str(ctx->spec, "source", NULL);
  bool has_code = dsl_map_get(ctx->spec, "entry_point") != NULL;
  struct fit *f = fit_new(ctx, t, name, fit_code_of(ctx, name));
  int rc = source || !has_code ? step_job_launch(&f->sj, err) : step_job_stage_code(&f->sj, err);
  if (rc != 0) {
    step_job_free(&f->sj, NULL);
  }
  return rc;
}

static int fit_resume(struct step_ctx *ctx, const char *intent_json, struct smf_error *err)
{
  struct target *t = step_target(ctx, err);
  if (t == NULL) {
    return err->code;
  }
  json_t *intent = step_intent_parse(intent_json);
  const char *name = json_string_value(json_object_get(intent, "job_name"));
  const char *code = json_string_value(json_object_get(intent, "code_uri"));
  struct fit *f = fit_new(ctx, t, smf_arena_strdup(ctx->arena, name ? name : "unknown"),
                          code ? smf_arena_strdup(ctx->arena, code) : NULL);
  int rc = step_job_resume(&f->sj, intent, err);
  json_decref(intent);
  if (rc != 0) {
    step_job_free(&f->sj, NULL);
  }
  return rc;
}

const struct step_kind step_kind_fit = {
    .name = "fit",
    .kind = DSL_KIND_FIT,
    .intent = fit_intent,
    .start = fit_start,
    .resume = fit_resume,
    .cancel = step_job_kind_cancel,
    .free = step_job_kind_free,
    .prepare = step_prepack_prepare,
};

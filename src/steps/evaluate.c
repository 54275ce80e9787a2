// evaluate.c: the `evaluate` step kind (SPEC §4): the way SageMaker Pipelines'
// ProcessingStep + PropertyFile evaluate a model. The target runs the script
// with `--model-dir DIR` (the model.tar.gz extracted safely), `--output-dir DIR`
// and `--NAME DIR` per input; the report (default evaluation.json) written to
// the output directory is stored with the other outputs under
// s3://sagemaker-REGION-000000000000/JOB_NAME/output/ and parsed into `metrics`.
//
// Code: `source` (an upload step's URI), or `source_dir` (+ dependencies) or
// the entry point file alone packed reproducibly and stored like fit's code.
#include <stdlib.h>
#include <string.h>

#include "steps/job.h"
#include "steps/kinds.h"
#include "steps/prepack.h"

struct evaluate {
  struct step_job sj;  // first: freed through it
  struct target_processing_job job;
};

// `source` as it is; otherwise the code is packed and stored at
// s3://sagemaker-REGION-000000000000/JOB_NAME/source/sourcedir.tar.gz, as the
// SDK's processors upload their code.
static const char *eval_code_uri(struct step_ctx *ctx, const char *job_name)
{
  const char *source = dsl_map_str(ctx->spec, "source", NULL);
  if (source) {
    return step_path(ctx, source);
  }
  return smf_arena_printf(ctx->arena, "%s%s/source/sourcedir.tar.gz", step_default_bucket_uri(ctx),
                          job_name);
}

static void eval_inputs(struct step_ctx *ctx, struct target_processing_job *j)
{
  const struct dsl_node *in = dsl_map_get(ctx->spec, "inputs");
  size_t n = in == NULL ? 0 : in->type == DSL_MAP ? in->u.map.n : 1;
  struct target_proc_input *v = smf_arena_alloc(ctx->arena, (n + 1) * sizeof(*v));
  if (in && in->type != DSL_MAP) {
    v[0] = (struct target_proc_input){"training", step_path(ctx, step_scalar(ctx, in))};
  }
  for (size_t i = 0; in && in->type == DSL_MAP && i < n; i++) {
    const struct dsl_node *x = in->u.map.pairs[i].value;
    v[i].name = in->u.map.pairs[i].key;
    v[i].uri =
        step_path(ctx, x->type == DSL_MAP ? dsl_map_str(x, "uri", NULL) : step_scalar(ctx, x));
  }
  j->inputs = v;
  j->n_inputs = n;
}

static void eval_describe(struct step_ctx *ctx, const char *job_name, const char *code_uri,
                          struct target_processing_job *j)
{
  const struct dsl_node *s = ctx->spec;
  memset(j, 0, sizeof(*j));
  j->job_name = job_name;
  j->image_uri = dsl_map_str(s, "image_uri", NULL);
  const char *ep = dsl_map_str(s, "entry_point", NULL);
  const char *slash =
      ep && !dsl_map_get(s, "source_dir") && !dsl_map_get(s, "source") ? strrchr(ep, '/') : NULL;
  j->entry_point = slash ? slash + 1 : ep;  // a lone file is placed by its basename
  j->code_uri = code_uri;
  j->command = step_argv(ctx, dsl_map_get(s, "command"), &j->n_command);
  j->model_uri = step_path(ctx, dsl_map_str(s, "model", NULL));
  eval_inputs(ctx, j);
  j->report = dsl_map_str(s, "report", "evaluation.json");
  j->output_uri = smf_arena_printf(ctx->arena, "%s%s/output/evaluation",
                                   step_default_bucket_uri(ctx), job_name);
  j->resources.instance_type = dsl_map_str(s, "instance_type", NULL);
  j->resources.instance_count = (int)dsl_map_int(s, "instance_count", 1);
  j->resources.volume_size_gb = (int)dsl_map_int(s, "volume_size", 0);
  int64_t ms = 0;
  const struct dsl_node *mr = dsl_map_get(s, "max_run");
  if (mr && mr->type == DSL_INT) {
    ms = mr->u.i * 1000;
  } else if (mr && mr->type == DSL_STR && smf_duration_parse(mr->u.str.s, &ms) != 0) {
    ms = 0;
  }
  j->resources.max_run_ms = ms;
  j->environment = step_kvs(ctx, dsl_map_get(s, "environment"), &j->n_environment);
  j->spec = s;
  j->tags = step_kvs(ctx, dsl_map_get(s, "tags"), &j->n_tags);
}

static struct dsl_node *eval_outputs(struct step_job *sj, const struct target_job_result *r)
{
  struct step_ctx *ctx = sj->ctx;
  struct dsl_node *out = dsl_node_new(ctx->arena, DSL_MAP);
  step_out_str(ctx, out, "job_name", r->job_name ? r->job_name : sj->job_name);
  step_out_str(ctx, out, "report_uri", r->report_uri);
  json_t *report = r->report_json ? json_loads(r->report_json, 0, NULL) : NULL;
  dsl_map_set(ctx->arena, out, "metrics",
              report ? step_json_node(ctx, report) : step_job_metrics(ctx, r));
  json_decref(report);
  return out;
}

static char *eval_intent(struct step_ctx *ctx)
{
  return step_job_intent(ctx, step_job_name(ctx, step_job_base(ctx)));
}

static struct evaluate *eval_new(struct step_ctx *ctx, struct target *t, const char *name)
{
  struct evaluate *e = smf_xcalloc(1, sizeof(*e));
  step_job_init(&e->sj, ctx, t, true);
  e->sj.job_name = name;
  e->sj.code_uri = eval_code_uri(ctx, name);
  e->sj.outputs = eval_outputs;
  eval_describe(ctx, name, e->sj.code_uri, &e->job);
  e->sj.desc = &e->job;
  return e;
}

void step_evaluate_plan(struct step_ctx *ctx, struct target_processing_job *j)
{
  const char *name = step_job_name(ctx, step_job_base(ctx));
  eval_describe(ctx, name, eval_code_uri(ctx, name), j);
}

static int eval_start(struct step_ctx *ctx, struct smf_error *err)
{
  struct target *t = step_target(ctx, err);
  if (t == NULL) {
    return err->code;
  }
  struct evaluate *e = eval_new(ctx, t, step_job_name(ctx, step_job_base(ctx)));
  int rc = dsl_map_get(ctx->spec, "source") ? step_job_launch(&e->sj, err)
                                            : step_job_stage_code(&e->sj, err);
  if (rc != 0) {
    step_job_free(&e->sj, NULL);
  }
  return rc;
}

static int eval_resume(struct step_ctx *ctx, const char *intent_json, struct smf_error *err)
{
  struct target *t = step_target(ctx, err);
  if (t == NULL) {
    return err->code;
  }
  json_t *intent = step_intent_parse(intent_json);
  const char *name = json_string_value(json_object_get(intent, "job_name"));
  struct evaluate *e = eval_new(ctx, t, smf_arena_strdup(ctx->arena, name ? name : "unknown"));
  int rc = step_job_resume(&e->sj, intent, err);
  json_decref(intent);
  if (rc != 0) {
    step_job_free(&e->sj, NULL);
  }
  return rc;
}

const struct step_kind step_kind_evaluate = {
    .name = "evaluate",
    .kind = DSL_KIND_EVALUATE,
    .intent = eval_intent,
    .start = eval_start,
    .resume = eval_resume,
    .cancel = step_job_kind_cancel,
    .free = step_job_kind_free,
    .prepare = step_prepack_prepare,
};

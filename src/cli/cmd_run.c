// cmd_run.c: `smflow run PIPELINE.yaml ...` — load, check, run on the engine.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/run_common.h"
#include "smflow/dag.h"
#include "smflow/dsl.h"
#include "smflow/engine.h"
#include "smflow/log.h"
#include "smflow/state.h"
#include "smflow/util.h"

struct run_args {
  const char *pipeline;
  struct cli_params params;
  const char **only;
  size_t n_only;
  const char *from;
  const char *target;
  int max_parallel;
  bool dry_run;
};

static int run__parse(struct cli_ctx *ctx, int argc, char **argv, struct run_args *a)
{
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i];
    bool has_value = strcmp(o, "--param") == 0 || strcmp(o, "--target") == 0 ||
                     strcmp(o, "--max-parallel") == 0 || strcmp(o, "--only") == 0 ||
                     strcmp(o, "--from") == 0;
    if (has_value && i + 1 >= argc) {
      return cli_usage_error(ctx, "%s needs a value", o);
    }
    if (strcmp(o, "--param") == 0) {
      if (cli_params_add(&a->params, argv[++i]) != 0) {
        return cli_usage_error(ctx, "--param expects NAME=VALUE, not '%s'", argv[i]);
      }
    } else if (strcmp(o, "--target") == 0) {
      a->target = argv[++i];
      if (strcmp(a->target, "local") != 0 && strcmp(a->target, "aws") != 0) {
        return cli_usage_error(ctx, "--target must be local or aws, not '%s'", a->target);
      }
    } else if (strcmp(o, "--max-parallel") == 0) {
      char *end = NULL;
      long v = strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 1 || v > 100000) {
        return cli_usage_error(ctx, "--max-parallel expects a positive number, not '%s'",
                               argv[i]);
      }
      a->max_parallel = (int)v;
    } else if (strcmp(o, "--only") == 0) {
      a->only = smf_xrealloc(a->only, (a->n_only + 1) * sizeof(*a->only));
      a->only[a->n_only++] = argv[++i];
    } else if (strcmp(o, "--from") == 0) {
      a->from = argv[++i];
    } else if (strcmp(o, "--dry-run") == 0) {
      a->dry_run = true;
    } else if (strcmp(o, "--detach") == 0) {
      return cli_usage_error(ctx, "--detach is not supported yet");
    } else if (o[0] == '-' && o[1] != '\0') {
      return cli_usage_error(ctx, "unknown option '%s'", o);
    } else if (a->pipeline == NULL) {
      a->pipeline = o;
    } else {
      return cli_usage_error(ctx, "unexpected argument '%s'", o);
    }
  }
  if (a->pipeline == NULL) {
    return cli_usage_error(ctx, "missing PIPELINE.yaml");
  }
  return 0;
}

// --dry-run: the selected steps in the order they could start; nothing is written.
static int run__dry(const struct dsl_pipeline *p, const struct eng_options *opt)
{
  struct dag *g = dag_new(p->n_steps);
  for (size_t i = 0; i < p->n_steps; i++) {
    for (size_t k = 0; k < p->steps[i].n_needs; k++) {
      dag_add_edge(g, p->steps[i].need_idx[k], i);
    }
  }
  size_t *cycle = NULL, n_cycle = 0;
  dag_finalize(g, &cycle, &n_cycle);
  free(cycle);
  const size_t *topo = dag_topo(g);
  const struct dsl_step *from = opt->from ? dsl_pipeline_step(p, opt->from) : NULL;
  for (size_t k = 0; k < p->n_steps; k++) {
    const struct dsl_step *s = &p->steps[topo[k]];
    bool sel = opt->n_only == 0 && from == NULL;
    for (size_t j = 0; j < opt->n_only && !sel; j++) {
      sel = strcmp(opt->only[j], s->id) == 0;
    }
    sel = sel || (from && (from == s || dag_is_upstream(g, from->index, s->index)));
    printf("%s %s (%s)%s\n", sel ? "would run" : "would skip", s->id, dsl_kind_name(s->kind),
           s->when && sel ? " if its when: holds" : "");
  }
  dag_free(g);
  return CLI_EXIT_OK;
}

static int run__execute(struct cli_ctx *ctx, struct run_args *a, const struct dsl_pipeline *p,
                        const struct eng_options *opt)
{
  char *dir = cli_state_dir(ctx, a->pipeline);
  struct smf_error err = SMF_ERROR_INIT;
  struct state *st = NULL;
  int rc = state_open(dir, STATE_OPEN_WRITE, &st, &err);
  if (rc != 0) {
    fprintf(stderr, "error: %s\n", err.message);
    free(dir);
    return CLI_EXIT_ENV;
  }
  char run_id[32] = "";
  rc = eng_run(st, p, opt, run_id, &err);
  cli_run_stats(st);
  state_close(st);
  rc = cli_run_report(ctx, dir, run_id, rc, &err);
  free(dir);
  return rc;
}

int cli_cmd_run(struct cli_ctx *ctx, int argc, char **argv)
{
  struct run_args a = {0};
  int rc = run__parse(ctx, argc, argv, &a);
  struct dsl_pipeline *p = NULL;
  if (rc == 0) {
    rc = cli_run_load(ctx, a.pipeline, a.params.items, a.params.n, &p);
  }
  struct eng_options opt = {.max_parallel = a.max_parallel, .only = a.only, .n_only = a.n_only,
                            .from = a.from, .target = a.target, .json = ctx->json,
                            .params = a.params.items, .n_params = a.params.n};
  struct smf_error err = SMF_ERROR_INIT;
  if (rc == 0 && eng_options_check(p, &opt, &err) != 0) {
    rc = cli_usage_error(ctx, "%s", err.message);
  }
  if (rc == 0) {
    rc = a.dry_run ? run__dry(p, &opt) : run__execute(ctx, &a, p, &opt);
  }
  dsl_pipeline_free(p);
  cli_params_free(&a.params);
  free(a.only);
  return rc;
}

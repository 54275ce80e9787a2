// pipeline.c: loading a pipeline file for a command, and printing its diagnostics.
// After dsl_load, a check pass resolves every step's framework +
// framework_version + py_version as the SDK's image_uris.retrieve does (the aws
// target's offline tables, used by fit on both targets): an unsupported
// combination is a diagnostic at the offending node, whatever the target.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "smflow/dsl.h"
#include "smflow/engine.h"
#include "smflow/error.h"
#include "smflow/util.h"
#include "target/aws/awst.h"

void cli_diags_print(const struct cli_ctx *ctx, const struct dsl_diags *d, const char *path,
                     FILE *f)
{
  const char *bold = cli_sgr(ctx, CLI_SGR_BOLD), *red = cli_sgr(ctx, CLI_SGR_RED);
  const char *off = cli_sgr(ctx, CLI_SGR_RESET);
  for (size_t i = 0; i < d->n; i++) {
    const struct dsl_diag *g = &d->items[i];
    const char *file = g->path != NULL ? g->path : path;
    if (g->line > 0) {
      fprintf(f, "%s%s:%u:%u:%s %s\n", bold, file, g->line, g->col, off, g->message);
    } else {
      fprintf(f, "%s%s:%s %s\n", bold, file, off, g->message);
    }
  }
  if (d->n > 0) {
    fprintf(f, "%serror:%s %zu problem%s in %s\n", red, off, d->n, d->n == 1 ? "" : "s", path);
  }
}

// A scalar's text when it is known before the run (no ${...}); else NULL.
static const struct dsl_node *pl_literal(const struct dsl_node *spec, const char *key)
{
  const struct dsl_node *n = dsl_map_get(spec, key);
  return n && n->text && !n->has_expr ? n : NULL;
}

// Check one step's image combination; an unsupported one adds a diagnostic.
static void pl_check_image(const struct dsl_pipeline *p, const struct dsl_step *st,
                           struct dsl_diags *diags)
{
  const struct dsl_node *s = st->spec;
  const struct dsl_node *fw = pl_literal(s, "framework");
  const struct dsl_node *ver = pl_literal(s, "framework_version");
  const struct dsl_node *py = pl_literal(s, "py_version");
  const struct dsl_node *it = pl_literal(s, "instance_type");
  if (fw == NULL || dsl_map_get(s, "image_uri") != NULL ||
      (dsl_map_get(s, "framework_version") && ver == NULL) ||
      (dsl_map_get(s, "py_version") && !py)) {
    return;  // an explicit image, or a part only known at run time
  }
  enum awst_scope scope = st->kind == DSL_KIND_FIT ? AWST_SCOPE_TRAINING : AWST_SCOPE_INFERENCE;
  const struct dsl_node *dist = dsl_map_get(s, "distribution");
  char *uri = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  int rc = awst_image_uri(NULL, fw->text, ver ? ver->text : NULL, py ? py->text : NULL,
                          it ? it->text : NULL, "us-east-1", scope,
                          dist && dsl_map_get(dist, "smdistributed") != NULL, &uri, &err);
  free(uri);
  if (rc != SMF_EVALIDATE) {
    return;
  }
  // Only what the combination itself decides: data missing for a framework, a
  // region, or an instance type known at run time only are left to the run.
  const struct dsl_node *at = NULL;
  if (strstr(err.message, "Python version")) {
    at = py ? py : ver;
  } else if (smf_str_startswith(err.message, "unsupported processor")) {
    at = it;
  } else if (smf_str_startswith(err.message, "unsupported ")) {
    at = ver ? ver : fw;
  } else if (strstr(err.message, " images") && !strstr(err.message, "region")) {
    at = fw;
  }
  if (at != NULL) {
    dsl_diags_add(diags, p->path, at->mark, "step '%s': %s", st->id, err.message);
  }
}

static void pl_check_images(const struct dsl_pipeline *p, struct dsl_diags *diags)
{
  for (size_t i = 0; i < p->n_steps; i++) {
    enum dsl_kind k = p->steps[i].kind;
    if (k == DSL_KIND_FIT || k == DSL_KIND_EVALUATE || k == DSL_KIND_REGISTER ||
        k == DSL_KIND_DEPLOY) {
      pl_check_image(p, &p->steps[i], diags);
    }
  }
}

int cli_pipeline_load(const struct cli_ctx *ctx, const char *path,
                      const struct dsl_param_override *ov, size_t n_ov, struct dsl_pipeline **out)
{
  struct dsl_diags diags = {0};
  *out = NULL;
  int rc = dsl_load(path, ov, n_ov, out, &diags);
  if (rc == 0) {
    pl_check_images(*out, &diags);
    eng_hooks_check(*out, &diags);
    dsl_diags_sort(&diags);
    rc = diags.n > 0 ? SMF_EVALIDATE : 0;
  }
  cli_diags_print(ctx, &diags, path, stderr);
  if (rc != 0 && diags.n == 0) {
    // Every failure should come with a diagnostic; never fail silently.
    fprintf(stderr, "%serror:%s %s: %s\n", cli_sgr(ctx, CLI_SGR_RED), cli_sgr(ctx, CLI_SGR_RESET),
            path, smf_strerror(rc));
  }
  dsl_diags_free(&diags);
  if (rc != 0) {
    dsl_pipeline_free(*out);
    *out = NULL;
    return CLI_EXIT_USAGE;
  }
  return CLI_EXIT_OK;
}

// pipeline.c: loading a pipeline file for a command, and printing its diagnostics.
#include <stdio.h>

#include "cli/cli.h"
#include "smflow/dsl.h"
#include "smflow/error.h"

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

int cli_pipeline_load(const struct cli_ctx *ctx, const char *path,
                      const struct dsl_param_override *ov, size_t n_ov, struct dsl_pipeline **out)
{
  struct dsl_diags diags = {0};
  *out = NULL;
  int rc = dsl_load(path, ov, n_ov, out, &diags);
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
